"""Video to tracks: detect, compensate camera motion (`camera`), track
players (`tracker`) and the ball (`ball`), name teams, map to the pitch,
write MOT and CSV (`writers`) and an annotated video (`drawing`).

`track_video` makes two passes over the file: the first detects and
tracks (online, frame by frame), the second draws the annotated video once
every track's team is known and short gaps are filled.
"""

import os
import sys
import time

import numpy as np

from tfsports import progress as progress_lib
from tfsports.data import crops as crops_lib
from tfsports.metrics import boxes as boxes_lib
from tfsports.data import video_io
from tfsports.tracking import ball as ball_lib
from tfsports.tracking import camera as camera_lib
from tfsports.tracking import drawing
from tfsports.tracking import tracker as tracker_lib
from tfsports.tracking import writers

PLAYER, BALL = 0, 1


def track_frames(frames, detector, fps, config=None, ball_detector=None, cmc=True,
                 athletes=None, progress=None, total=None):
  """The online pass over frames (uint8 [H, W, 3] RGB in order).

  athletes: optionally `AthleteFeatures`, for appearance in the tracker's
  cost and jersey numbers.

  Returns {tracks {frame: float32 [K, 5] (id, x, y, w, h)} after gap
  filling, ball {frame: (x, y, interpolated)}, camera {frame: affine [2, 3]
  from frame 0's pixels to this frame's}, crops {track id: [uint8 crops]}
  (a few per track, for team colours), jerseys {track id: number} (a
  majority of confident reads), num_frames, seconds}.
  """
  tracker = tracker_lib.Tracker(config, fps)
  motion = camera_lib.CameraMotion() if cmc else None
  ball_tracker = None
  camera = np.eye(2, 3)
  out, ball, cameras, crops, reads = {}, {}, {}, {}, {}
  start = time.perf_counter()
  meter = progress_lib.Progress("track", total, out=progress) if progress is not None else None
  num_detections = 0
  t = -1
  for t, frame in enumerate(frames):
    if ball_tracker is None:
      ball_tracker = ball_lib.BallTracker(fps, frame.shape[1])
    step = motion(frame) if motion is not None else None
    if step is not None:
      camera = camera_lib.compose(step, camera)
    cameras[t] = camera
    det = detector(frame)
    players = det[det[:, 5] == PLAYER]
    balls = det[det[:, 5] == BALL]
    num_detections += len(players)
    if ball_detector is not None:
      extra = ball_detector(frame)
      balls = np.concatenate([balls, extra[extra[:, 5] == BALL]])
    embeddings = jerseys = None
    if athletes is not None:
      embeddings, jerseys = athletes(frame, players[:, :4])
    ids, boxes = tracker.step(players[:, :4], players[:, 4], step, embeddings)
    if jerseys is not None and len(ids):
      _read_jerseys(ids, boxes, players[:, :4], jerseys, reads)
    if len(ids):
      out[t] = np.concatenate([ids[:, None], boxes], 1).astype(np.float32)
      _sample_crops(frame, ids, boxes, t, crops)
    centres = np.stack([balls[:, 0] + balls[:, 2] / 2, balls[:, 1] + balls[:, 3] / 2,
                        balls[:, 4]], 1)
    found = ball_tracker.update(centres, step)
    if found is not None:
      ball[t] = found
    if meter is not None:
      meter.update(t + 1)
  seconds = time.perf_counter() - start
  if meter is not None:
    meter.done()
  c = tracker.config
  return {"tracks": tracker_lib.interpolate_gaps(out, int(round(c.interpolate_seconds * fps))),
          "ball": ball_lib.fill_ball_gaps(ball, ball_tracker.max_gap if ball_tracker else 1),
          "camera": cameras, "crops": crops, "num_frames": t + 1, "seconds": seconds,
          "num_detections": num_detections,
          "jerseys": {i: max(set(v), key=v.count) for i, v in reads.items()}}


def _read_jerseys(ids, boxes, detections, jerseys, reads):
  # A track's box is its filtered estimate; its detection is the one that
  # overlaps it most.
  iou = boxes_lib.iou_matrix(boxes, detections)
  for i, row in zip(ids.tolist(), iou):
    j = int(np.argmax(row))
    if row[j] > 0.5 and jerseys[j] >= 0:
      reads.setdefault(i, []).append(int(jerseys[j]))


CROPS_PER_TRACK = 6
CROP_SIZE = (48, 24)


def _sample_crops(frame, ids, boxes, t, crops):
  # Every 5th frame, up to a few crops per track: enough for a kit colour.
  if t % 5:
    return
  height, width = frame.shape[:2]
  for i, (x, y, w, h) in zip(ids.tolist(), boxes):
    if len(crops.get(i, ())) >= CROPS_PER_TRACK or h < 12:
      continue
    if x < 0 or y < 0 or x + w > width or y + h > height:
      continue          # cut by the frame edge: the torso may be missing
    crop = crops_lib.crop_box(frame, x, y, w, h, CROP_SIZE)
    if crop is not None:
      crops.setdefault(i, []).append(crop)




def track_video(video_path, out_dir, detector, config=None, ball_detector=None, cmc=True,
                annotate=True, pitch_points=None, athletes=None, progress=sys.stderr):
  """Tracks VIDEO_PATH into OUT_DIR: tracks.txt (MOT), tracks.csv (with
  team, and pitch metres given `pitch_points`), ball.csv and, with
  `annotate`, annotated.mp4. Returns a summary dict. Raises
  `video_io.VideoReadError` for a file that is not a readable video."""
  info = video_io.probe(video_path)
  homography = camera_lib.parse_pitch_points(pitch_points) if pitch_points else None
  result = track_frames(video_io.iter_frames(video_path), detector, info.fps, config,
                        ball_detector, cmc, athletes, progress=progress, total=info.num_frames)
  teams, colours = drawing.team_colours(result["crops"])
  paths = writers.write_outputs(result, out_dir, info.fps, homography, teams)
  if annotate:
    paths["video"] = drawing.write_annotated(video_path, result, os.path.join(out_dir, "annotated.mp4"),
                                     info.fps, teams, colours, progress)
  lengths = {}
  for rows in result["tracks"].values():
    for i in rows[:, 0]:
      lengths[int(i)] = lengths.get(int(i), 0) + 1
  per_frame = [len(r) for r in result["tracks"].values()]
  return {"paths": paths, "num_frames": result["num_frames"], "num_tracks": len(lengths),
          "mean_track_length": float(np.mean(list(lengths.values()))) if lengths else 0.0,
          "mean_tracked_per_frame": float(np.sum(per_frame) / max(result["num_frames"], 1)),
          "ball_frames": len(result["ball"]), "fps": result["num_frames"] / result["seconds"],
          "num_detections": result["num_detections"],
          "teams": {int(k): int(v) for k, v in teams.items()}}

"""Video to tracks: detect, compensate camera motion, track players and the
ball, name teams, map to the pitch, write MOT, CSV and an annotated video.

`track_video` makes two passes over the file: the first detects and
tracks (online, frame by frame), the second draws the annotated video once
every track's team is known and short gaps are filled.
"""

import csv
import dataclasses
import os
import sys
import time

import cv2
import numpy as np

from tfsports import progress as progress_lib
from tfsports.athletes import teams as teams_lib
from tfsports.data import crops as crops_lib
from tfsports.data import mot
from tfsports.data import video_io
from tfsports.tracking import tracker as tracker_lib

PLAYER, BALL = 0, 1


class CameraMotion:
  """Frame-to-frame camera motion by sparse optical flow: corners of the
  previous frame followed by pyramidal Lucas-Kanade, and a similarity
  transform (rotation, uniform scale, shift) fitted by RANSAC, so players
  moving against the background are outliers. Works on frames at most
  `work_width` wide; returns affines in full-frame pixels."""

  def __init__(self, work_width=640):
    self.work_width = work_width
    self.previous = None

  def __call__(self, frame):
    """affine float [2, 3] from the previous frame's pixels to this one's
    (identity on the first frame or when too few points are followed)."""
    scale = min(1.0, self.work_width / frame.shape[1])
    gray = cv2.cvtColor(cv2.resize(frame, None, fx=scale, fy=scale,
                                   interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    previous, self.previous = self.previous, gray
    identity = np.eye(2, 3)
    if previous is None:
      return identity
    points = cv2.goodFeaturesToTrack(previous, maxCorners=300, qualityLevel=0.01,
                                     minDistance=8)
    if points is None or len(points) < 8:
      return identity
    moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, gray, points, None)
    ok = status.reshape(-1) == 1
    if ok.sum() < 8:
      return identity
    # A still camera: codec noise alone would make the chained motion
    # drift, which the pitch mapping would then carry.
    if np.median(np.abs(moved[ok] - points[ok])) < 0.1:
      return identity
    affine, _ = cv2.estimateAffinePartial2D(points[ok], moved[ok], method=cv2.RANSAC,
                                            ransacReprojThreshold=1.0)
    if affine is None:
      return identity
    affine[:, 2] /= scale
    return affine


class AthleteFeatures:
  """The athletes model (`tfsports.athletes`) on each player box: its
  re-identification embedding for the tracker's appearance cost, and its
  jersey number where it is confident (both digits at least
  `jersey_confidence`). model: the athletes export's .tflite file."""

  def __init__(self, model, jersey_confidence=0.8, num_threads=2):
    from tfsports.serving import interpreters
    if not os.path.isfile(model):
      raise FileNotFoundError(f"{model}: no such athletes TFLite model")
    self.interpreter = interpreters.load_interpreter(model, num_threads)
    self.fn = self.interpreter.get_signature_runner()
    self.crop_size = tuple(int(d) for d in self.interpreter.get_input_details()[0]["shape"][1:3])
    self.jersey_confidence = jersey_confidence
    blank = np.zeros((1,) + self.crop_size + (3,), np.uint8)
    self.embedding_dim = self.fn(crops=blank)["embedding"].shape[-1]

  def __call__(self, frame, boxes):
    """(embeddings float32 [N, D], jerseys int [N], -1 where unsure). A box
    too small to crop gets a zero embedding (equally far from every track)
    and no jersey."""
    dim = self.embedding_dim
    embeddings, jerseys = [], []
    for box in boxes:
      crop = crops_lib.crop_box(frame, *box, self.crop_size)
      if crop is None:
        embeddings.append(np.zeros(dim, np.float32))
        jerseys.append(-1)
        continue
      out = self.fn(crops=crop[None])
      embeddings.append(out["embedding"][0])
      tens, units = _softmax(out["tens"][0]), _softmax(out["units"][0])
      sure = min(tens.max(), units.max()) >= self.jersey_confidence
      jerseys.append(int(tens.argmax() * 10 + units.argmax()) if sure else -1)
    return (np.asarray(embeddings, np.float32).reshape(len(boxes), dim),
            np.asarray(jerseys, int))


def _softmax(logits):
  e = np.exp(logits - logits.max())
  return e / e.sum()


def compose(a, b):
  """The affine doing b, then a (both [2, 3])."""
  return (np.vstack([a, [0, 0, 1]]) @ np.vstack([b, [0, 0, 1]]))[:2]


@dataclasses.dataclass(frozen=True)
class BallConfig:
  """gate: how far from its predicted place (a fraction of the frame
  width, per frame since last seen) the ball may be found; acquire_score:
  the least score that starts a ball track; max_gap_seconds: longest gap
  filled by interpolation."""
  gate: float = 0.06
  min_score: float = 0.2
  acquire_score: float = 0.4
  max_gap_seconds: float = 0.4


class BallTracker:
  """At most one ball: each frame keeps the candidate nearest the ball's
  constant-velocity prediction inside the gate, or, when the ball has been
  lost longer than the longest fillable gap, the best candidate scoring at
  least `acquire_score`."""

  def __init__(self, fps, width, config=BallConfig()):
    self.config = config
    self.width = width
    self.max_gap = max(1, int(round(config.max_gap_seconds * fps)))
    self.position = None
    self.velocity = np.zeros(2)
    self.missed = 0

  def update(self, candidates, camera_motion=None):
    """candidates float [N, 3] (x, y, score) of ball centres; returns the
    ball (x, y) or None."""
    c = self.config
    candidates = candidates[candidates[:, 2] >= c.min_score]
    if self.position is not None and camera_motion is not None:
      self.position = camera_motion[:, :2] @ self.position + camera_motion[:, 2]
      self.velocity = camera_motion[:, :2] @ self.velocity
    pick = None
    if self.position is not None and self.missed <= self.max_gap and len(candidates):
      predicted = self.position + self.velocity * (self.missed + 1)
      dist = np.linalg.norm(candidates[:, :2] - predicted, axis=1)
      inside = dist <= c.gate * self.width * (self.missed + 1)
      if inside.any():
        pick = candidates[np.flatnonzero(inside)[np.argmin(dist[inside])], :2]
    if pick is None and (self.position is None or self.missed > self.max_gap):
      strong = candidates[candidates[:, 2] >= c.acquire_score]
      if len(strong):
        pick = strong[np.argmax(strong[:, 2]), :2]
        self.velocity = np.zeros(2)
        self.position, self.missed = None, 0
    if pick is None:
      self.missed += 1
      return None
    if self.position is not None:
      self.velocity = (pick - self.position) / (self.missed + 1)
    self.position, self.missed = pick.astype(np.float64), 0
    return tuple(float(v) for v in pick)


def fill_ball_gaps(ball, max_gap):
  """{frame: (x, y)} -> {frame: (x, y, interpolated)} with gaps of at most
  `max_gap` frames filled linearly."""
  frames = sorted(ball)
  out = {t: (*ball[t], False) for t in frames}
  for a, b in zip(frames, frames[1:]):
    if 1 < b - a <= max_gap:
      for t in range(a + 1, b):
        f = (t - a) / (b - a)
        out[t] = (ball[a][0] * (1 - f) + ball[b][0] * f,
                  ball[a][1] * (1 - f) + ball[b][1] * f, True)
  return dict(sorted(out.items()))


def parse_pitch_points(text):
  """'u,v,X,Y;...' (image pixels of the first frame; pitch metres) ->
  image-to-pitch homography [3, 3]. Needs 4 or more pairs."""
  try:
    pairs = np.array([[float(v) for v in p.split(",")] for p in text.split(";") if p.strip()])
  except ValueError:
    raise ValueError(f"pitch points must be 'u,v,X,Y;...', got {text!r}") from None
  if pairs.ndim != 2 or pairs.shape[1] != 4 or len(pairs) < 4:
    raise ValueError(f"need at least 4 point pairs 'u,v,X,Y', got {len(pairs)}")
  homography, _ = cv2.findHomography(pairs[:, :2], pairs[:, 2:])
  if homography is None:
    raise ValueError("the pitch points are degenerate (collinear?)")
  return homography


def to_pitch(homography, camera_to_first, points):
  """Image points [N, 2] of a frame -> pitch metres [N, 2], through the
  camera motion back to the first frame, where the points were given."""
  p = np.asarray(points, np.float64).reshape(-1, 2)
  back = np.linalg.inv(np.vstack([camera_to_first, [0, 0, 1]]))[:2]
  p = p @ back[:, :2].T + back[:, 2]
  q = np.concatenate([p, np.ones((len(p), 1))], 1) @ homography.T
  return q[:, :2] / q[:, 2:]


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
  motion = CameraMotion() if cmc else None
  ball_tracker = None
  camera = np.eye(2, 3)
  out, ball, cameras, crops, reads = {}, {}, {}, {}, {}
  start = time.perf_counter()
  meter = progress_lib.Progress("track", total, out=progress) if progress is not None else None
  num_detections = 0
  t = -1
  for t, frame in enumerate(frames):
    if ball_tracker is None:
      ball_tracker = BallTracker(fps, frame.shape[1])
    step = motion(frame) if motion is not None else None
    if step is not None:
      camera = compose(step, camera)
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
          "ball": fill_ball_gaps(ball, ball_tracker.max_gap if ball_tracker else 1),
          "camera": cameras, "crops": crops, "num_frames": t + 1, "seconds": seconds,
          "num_detections": num_detections,
          "jerseys": {i: max(set(v), key=v.count) for i, v in reads.items()}}


def _read_jerseys(ids, boxes, detections, jerseys, reads):
  # A track's box is its filtered estimate; its detection is the one that
  # overlaps it most.
  iou = tracker_lib.iou_matrix(boxes, detections)
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


def team_colours(crops):
  """Two teams by kit colour over the tracks' crops: ({track id: team},
  [(r, g, b) per team]); empty when there are fewer than two tracks."""
  ids = [i for i, c in crops.items() for _ in c]
  if len(set(ids)) < 2:
    return {}, []
  result = teams_lib.assign_teams(np.stack([c for i in crops for c in crops[i]]), ids)
  lab = np.clip(result["centres"], 0, 255).astype(np.uint8)[None]
  rgb = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)[0]
  return result["track_team"], [tuple(int(v) for v in c) for c in rgb]


def write_outputs(result, out_dir, fps, homography=None, teams=None):
  """Writes OUT_DIR/tracks.txt (MOT), tracks.csv and ball.csv; returns
  their paths. Positions in metres where a homography is given (pitch
  x, y of the player's feet: the bottom centre of the box)."""
  teams = teams or {}
  jerseys = result.get("jerseys", {})
  os.makedirs(out_dir, exist_ok=True)
  paths = {"mot": os.path.join(out_dir, "tracks.txt"),
           "csv": os.path.join(out_dir, "tracks.csv"),
           "ball": os.path.join(out_dir, "ball.csv")}
  mot.write_mot(paths["mot"] + ".partial", result["tracks"])
  os.replace(paths["mot"] + ".partial", paths["mot"])
  with open(paths["csv"] + ".partial", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["frame", "time_s", "track_id", "x", "y", "w", "h", "team", "jersey",
                "pitch_x_m", "pitch_y_m"])
    for t, rows in result["tracks"].items():
      pitch = (to_pitch(homography, result["camera"][t],
                        np.stack([rows[:, 1] + rows[:, 3] / 2, rows[:, 2] + rows[:, 4]], 1))
               if homography is not None else [("", "")] * len(rows))
      for (i, x, y, bw, bh), (px, py) in zip(rows, pitch):
        w.writerow([t + 1, f"{t / fps:.3f}", int(i), f"{x:.1f}", f"{y:.1f}", f"{bw:.1f}",
                    f"{bh:.1f}", teams.get(int(i), ""), jerseys.get(int(i), ""),
                    f"{px:.2f}" if px != "" else "", f"{py:.2f}" if py != "" else ""])
  os.replace(paths["csv"] + ".partial", paths["csv"])
  with open(paths["ball"] + ".partial", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["frame", "time_s", "x", "y", "interpolated", "pitch_x_m", "pitch_y_m"])
    for t, (x, y, filled) in result["ball"].items():
      px, py = (to_pitch(homography, result["camera"][t], [(x, y)])[0]
                if homography is not None else ("", ""))
      w.writerow([t + 1, f"{t / fps:.3f}", f"{x:.1f}", f"{y:.1f}", int(filled),
                  f"{px:.2f}" if px != "" else "", f"{py:.2f}" if py != "" else ""])
  os.replace(paths["ball"] + ".partial", paths["ball"])
  return paths


UNKNOWN_TEAM = (255, 255, 255)
BALL_TRAIL = 15


def annotate_frame(frame, rows, ball_trail, teams, colours):
  """Draws boxes in team colours with ids, and the ball's recent trail, on a
  copy of frame."""
  out = frame.copy()
  thick = max(1, round(frame.shape[0] / 360))
  for i, x, y, w, h in rows:
    team = teams.get(int(i))
    colour = colours[team] if team is not None and team < len(colours) else UNKNOWN_TEAM
    cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), colour, thick)
    cv2.putText(out, str(int(i)), (int(x), int(y) - 2 * thick), cv2.FONT_HERSHEY_SIMPLEX,
                0.4 * thick, colour, thick, cv2.LINE_AA)
  if ball_trail:
    pts = np.round(np.array(ball_trail)).astype(np.int32)
    cv2.polylines(out, [pts.reshape(-1, 1, 2)], False, (255, 220, 0), thick, cv2.LINE_AA)
    cv2.circle(out, tuple(int(v) for v in pts[-1]), 3 * thick, (255, 60, 0), thick,
               cv2.LINE_AA)
  return out


def write_annotated(video_path, result, path, fps, teams, colours, progress=None):
  """Second pass: the annotated H.264 video."""
  empty = np.zeros((0, 5), np.float32)
  trail = []
  with video_io.VideoWriter(path, fps=fps) as writer:
    for t, frame in enumerate(video_io.iter_frames(video_path)):
      if t >= result["num_frames"]:
        break
      if t in result["ball"]:
        trail = (trail + [result["ball"][t][:2]])[-BALL_TRAIL:]
      elif trail:
        trail = trail[1:]
      image = annotate_frame(frame, result["tracks"].get(t, empty), trail, teams, colours)
      writer.write(image[:image.shape[0] // 2 * 2, :image.shape[1] // 2 * 2])
  if progress is not None:
    print(f"track: wrote {path}", file=progress)
  return path


def track_video(video_path, out_dir, detector, config=None, ball_detector=None, cmc=True,
                annotate=True, pitch_points=None, athletes=None, progress=sys.stderr):
  """Tracks VIDEO_PATH into OUT_DIR: tracks.txt (MOT), tracks.csv (with
  team, and pitch metres given `pitch_points`), ball.csv and, with
  `annotate`, annotated.mp4. Returns a summary dict. Raises
  `video_io.VideoReadError` for a file that is not a readable video."""
  info = video_io.probe(video_path)
  homography = parse_pitch_points(pitch_points) if pitch_points else None
  result = track_frames(video_io.iter_frames(video_path), detector, info.fps, config,
                        ball_detector, cmc, athletes, progress=progress, total=info.num_frames)
  teams, colours = team_colours(result["crops"])
  paths = write_outputs(result, out_dir, info.fps, homography, teams)
  if annotate:
    paths["video"] = write_annotated(video_path, result, os.path.join(out_dir, "annotated.mp4"),
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

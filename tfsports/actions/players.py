"""Actions per tracked player: detect and track the players of a video
(`tracking.pipeline`), crop each track at the action model's frame rate
and size, and label each track's windows with the action classifier.

Three passes over the file, each holding one frame (and one window per
live track) at a time:
  1. detection and tracking at the video's own rate;
  2. each track's crops at the model's rate, cut into windows of the
     model's length (a track that is lost ends its window early; a partial
     window of at least `MIN_FRAMES` frames is padded by repeating its last
     frame, as in training) and classified, with the pose stream on a
     larger crop where the model has one;
  3. the annotated video: each box with its track id and, under it, the
     action of the window that covers the frame.

Outputs (written whole, then renamed, so a failed run leaves none):
  OUT/actions.csv    track_id, start_s, end_s, action, score
  OUT/tracks.txt     the tracks (MOT Challenge)
  OUT/annotated.mp4  with `annotate`
"""

import csv
import os

import cv2
import numpy as np

from tfsports.data import mot
from tfsports.data import video_io

MIN_FRAMES = 2
MARGIN = 0.15
POSE_SCALE = 2          # the pose crop is this many times the model's size


def crop_to_aspect(frame, box, size, margin=MARGIN):
  """The box grown by `margin` and to the aspect of `size` (height, width)
  about its centre, cut from the frame (edges repeated where it runs off)
  and resized: uint8 [height, width, 3]."""
  x, y, w, h = [float(v) for v in box]
  out_h, out_w = size
  w, h = w * (1 + margin), h * (1 + margin)
  if h / max(w, 1e-6) > out_h / out_w:
    w = h * out_w / out_h
  else:
    h = w * out_h / out_w
  cx, cy = x + float(box[2]) / 2, y + float(box[3]) / 2
  # An affine warp reads outside the frame as the edge, so the player stays
  # centred when the box touches the border.
  sx, sy = out_w / max(w, 1e-6), out_h / max(h, 1e-6)
  m = np.array([[sx, 0, out_w / 2 - sx * cx], [0, sy, out_h / 2 - sy * cy]], np.float32)
  return cv2.warpAffine(frame, m, (out_w, out_h), flags=cv2.INTER_AREA,
                        borderMode=cv2.BORDER_REPLICATE)


def sampled_frames(path, fps):
  """(source frame index, frame) at `fps` (`video_io.resample_fps`)."""
  info = video_io.probe(path)
  return video_io.resample_fps(enumerate(video_io.iter_frames(path)), info.fps or 25.0, fps)


class _Window:
  def __init__(self, start):
    self.start, self.frames, self.pose_crops, self.sources = start, [], [], []


def track_windows(path, tracks, fps, size, num_frames, pose_size=None):
  """Each track's windows of crops at `fps`, in the order they end: yields
  (track_id, start, end, frames uint8 [num_frames, H, W, 3], pose_crops
  uint8 [num_frames, H2, W2, 3] or None, sources) where start and end count
  sampled frames, `sources` are the source frame indices the window covers,
  and a window cut short by a lost track (at least `MIN_FRAMES` frames) is
  padded by repeating its last crop. `tracks`: {source frame: float32 [K, 5]
  (id, x, y, w, h)}; `size` and `pose_size` are (height, width)."""
  open_windows = {}

  def close(track_id, window, k_end):
    if len(window.frames) < MIN_FRAMES:
      return None
    pad = num_frames - len(window.frames)
    frames = np.stack(window.frames + [window.frames[-1]] * pad)
    pose_crops = (np.stack(window.pose_crops + [window.pose_crops[-1]] * pad)
                  if pose_size else None)
    return (int(track_id), window.start, k_end, frames, pose_crops, window.sources)

  k = -1
  for k, (n, frame) in enumerate(sampled_frames(path, fps)):
    here = {int(r[0]): r[1:] for r in tracks.get(n, np.zeros((0, 5)))}
    for track_id in [i for i in open_windows if i not in here]:
      done = close(track_id, open_windows.pop(track_id), k)
      if done:
        yield done
    for track_id, box in here.items():
      window = open_windows.setdefault(track_id, _Window(k))
      window.frames.append(crop_to_aspect(frame, box, size))
      if pose_size:
        window.pose_crops.append(crop_to_aspect(frame, box, pose_size))
      window.sources.append(n)
      if len(window.frames) == num_frames:
        done = close(track_id, open_windows.pop(track_id), k + 1)
        if done:
          yield done
  for track_id, window in open_windows.items():
    done = close(track_id, window, k + 1)
    if done:
      yield done


def label_tracks(path, tracks, classifier):
  """Rows {track_id, start_s, end_s, action, score, first, last} (first and
  last: source frame indices) of each track's windows. `tracks`: {source
  frame: float32 [K, 5] (id, x, y, w, h)}."""
  from tfsports.actions import pose_stream
  fps = getattr(classifier, "fps", None) or video_io.probe(path).fps or 25.0
  size = tuple(classifier.image_size)
  poser = getattr(classifier, "poser", None)
  pose_size = (size[0] * POSE_SCALE, size[1] * POSE_SCALE) if poser is not None else None
  names = classifier.class_names
  rows = []
  for track_id, start, end, frames, pose_crops, sources in track_windows(
      path, tracks, fps, size, classifier.num_frames, pose_size):
    keypoints = None if poser is None else pose_stream.pose_features(poser(pose_crops))
    probs = classifier.classify(frames, keypoints)
    k = int(np.argmax(probs))
    rows.append({"track_id": track_id, "start_s": round(start / fps, 3),
                 "end_s": round(end / fps, 3),
                 "action": names[k] if names else str(k), "score": round(float(probs[k]), 4),
                 "first": sources[0], "last": sources[-1]})
  return sorted(rows, key=lambda r: (r["track_id"], r["start_s"]))


def write_csv(rows, path):
  partial = path + ".partial"
  with open(partial, "w", newline="") as f:
    out = csv.writer(f)
    out.writerow(["track_id", "start_s", "end_s", "action", "score"])
    for r in rows:
      out.writerow([r["track_id"], f"{r['start_s']:.3f}", f"{r['end_s']:.3f}", r["action"],
                    f"{r['score']:.4f}"])
  os.replace(partial, path)


def action_at(rows):
  """{(track id, source frame): (action, score)} for every frame a window
  covers, from its first to its last source frame."""
  out = {}
  for r in rows:
    for n in range(r["first"], r["last"] + 1):
      out[(r["track_id"], n)] = (r["action"], r["score"])
  return out


def draw_actions(frame, boxes, actions, n):
  out = frame.copy()
  thick = max(1, round(frame.shape[0] / 360))
  for i, x, y, w, h in boxes:
    i = int(i)
    cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), (255, 200, 0), thick)
    cv2.putText(out, str(i), (int(x), int(y) - 2 * thick), cv2.FONT_HERSHEY_SIMPLEX,
                0.4 * thick, (255, 200, 0), thick, cv2.LINE_AA)
    label = actions.get((i, n))
    if label:
      cv2.putText(out, f"{label[0]} {label[1]:.2f}", (int(x), int(y + h) + 12 * thick),
                  cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick, (255, 255, 255), thick, cv2.LINE_AA)
  return out


def write_annotated(path, tracks, rows, out_path):
  info = video_io.probe(path)
  actions = action_at(rows)
  with video_io.VideoWriter(out_path, fps=info.fps or 25.0) as writer:
    for n, frame in enumerate(video_io.iter_frames(path)):
      writer.write(draw_actions(frame, tracks.get(n, ()), actions, n))
  return out_path


def classify_players(path, out_dir, classifier, detector, tracker_config=None,
                     annotate=True, progress=None):
  """Detects, tracks and labels the players of a video into OUT_DIR (see
  the module docstring). Returns a summary dict. Raises
  `video_io.VideoReadError` for a file that is not a readable video."""
  from tfsports.tracking import pipeline
  info = video_io.probe(path)
  result = pipeline.track_frames(video_io.iter_frames(path), detector, info.fps or 25.0,
                                 tracker_config, progress=progress, total=info.num_frames)
  tracks = result["tracks"]
  rows = label_tracks(path, tracks, classifier)
  os.makedirs(out_dir, exist_ok=True)
  paths = {"actions": os.path.join(out_dir, "actions.csv"),
           "tracks": os.path.join(out_dir, "tracks.txt")}
  write_csv(rows, paths["actions"])
  partial = paths["tracks"] + ".partial"
  mot.write_mot(partial, tracks)
  os.replace(partial, paths["tracks"])
  if annotate:
    paths["video"] = write_annotated(path, tracks, rows, os.path.join(out_dir, "annotated.mp4"))
  counts = {}
  for r in rows:
    counts[r["action"]] = counts.get(r["action"], 0) + 1
  return {"paths": paths, "num_frames": result["num_frames"],
          "num_tracks": len({int(i) for r in tracks.values() for i in r[:, 0]}),
          "num_windows": len(rows), "actions": counts}

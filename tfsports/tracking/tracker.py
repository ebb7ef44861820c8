"""Online multi-object tracking, ByteTrack-style (Zhang et al. 2022).

Each frame: every track's box is predicted by a constant-velocity Kalman
filter; high-confidence detections are matched to all live tracks (tracked
and recently lost) by IoU through `scipy.optimize.linear_sum_assignment`;
low-confidence detections are then matched to the tracks still unmatched
that were tracked on the previous frame, which keeps players through
occlusion without starting tracks on clutter. Rules:

- birth: an unmatched high detection of at least `new_track_score` starts a
  tentative track; it is confirmed, and given the next id, after `min_hits`
  consecutive matches (at once on the first frame). Only confirmed tracks
  are reported.
- loss: a track with no match is lost and keeps being predicted;
- removal: a lost track is dropped after `max_lost_seconds`, a tentative
  track at its first miss.

Boxes are pixel (x, y, w, h) with (x, y) the top-left corner, as in MOT files.
"""

import dataclasses

import numpy as np
from scipy import optimize

from tfsports import config as config_lib


@dataclasses.dataclass(frozen=True)
class TrackerConfig(config_lib.Config):
  """Scores split at `high_score`; detections under `low_score` are
  ignored. `match_iou` / `low_match_iou`: the least IoU of a first- /
  second-stage match."""
  high_score: float = 0.5
  low_score: float = 0.1
  new_track_score: float = 0.6
  match_iou: float = 0.2
  low_match_iou: float = 0.5
  min_hits: int = 2
  max_lost_seconds: float = 1.0

  def __post_init__(self):
    if not 0 <= self.low_score <= self.high_score <= 1:
      raise ValueError("need 0 <= low_score <= high_score <= 1")
    if self.min_hits < 1 or self.max_lost_seconds < 0:
      raise ValueError("need min_hits >= 1 and max_lost_seconds >= 0")


config_lib.register_presets(TrackerConfig, {"default": TrackerConfig()})


def iou_matrix(a, b):
  """IoU of boxes a [N, 4] and b [M, 4], (x, y, w, h) -> [N, M]."""
  a = np.asarray(a, np.float64).reshape(-1, 4)
  b = np.asarray(b, np.float64).reshape(-1, 4)
  ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
  bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
  w = np.clip(np.minimum(ax2[:, None], bx2) - np.maximum(a[:, None, 0], b[:, 0]), 0, None)
  h = np.clip(np.minimum(ay2[:, None], by2) - np.maximum(a[:, None, 1], b[:, 1]), 0, None)
  inter = w * h
  union = (a[:, 2] * a[:, 3])[:, None] + b[:, 2] * b[:, 3] - inter
  return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def match(cost, max_cost):
  """Minimum-cost pairs with cost <= max_cost: (pairs [K, 2], unmatched
  rows, unmatched columns)."""
  rows, cols = cost.shape
  if rows == 0 or cols == 0:
    return np.zeros((0, 2), int), list(range(rows)), list(range(cols))
  r, c = optimize.linear_sum_assignment(cost)
  keep = cost[r, c] <= max_cost
  pairs = np.stack([r[keep], c[keep]], axis=1)
  return (pairs, sorted(set(range(rows)) - set(pairs[:, 0])),
          sorted(set(range(cols)) - set(pairs[:, 1])))


class KalmanBox:
  """Constant-velocity Kalman filter of a box's centre and size
  (cx, cy, w, h and their velocities), noise proportional to the box's
  height as in ByteTrack."""

  POSITION_STD = 1.0 / 20
  VELOCITY_STD = 1.0 / 160

  def __init__(self, box):
    x, y, w, h = box
    self.mean = np.array([x + w / 2, y + h / 2, w, h, 0, 0, 0, 0], np.float64)
    s = max(h, 1.0)
    std = np.array([2 * self.POSITION_STD * s] * 4 + [10 * self.VELOCITY_STD * s] * 4)
    self.cov = np.diag(std ** 2)
    self.F = np.eye(8)
    self.F[:4, 4:] = np.eye(4)
    self.H = np.eye(4, 8)

  def predict(self):
    s = max(self.mean[3], 1.0)
    q = np.array([self.POSITION_STD * s] * 4 + [self.VELOCITY_STD * s] * 4) ** 2
    self.mean = self.F @ self.mean
    self.cov = self.F @ self.cov @ self.F.T + np.diag(q)

  def update(self, box):
    x, y, w, h = box
    z = np.array([x + w / 2, y + h / 2, w, h])
    r = np.diag((np.array([self.POSITION_STD * max(self.mean[3], 1.0)] * 4)) ** 2)
    s = self.H @ self.cov @ self.H.T + r
    gain = self.cov @ self.H.T @ np.linalg.inv(s)
    self.mean = self.mean + gain @ (z - self.H @ self.mean)
    self.cov = (np.eye(8) - gain @ self.H) @ self.cov

  @property
  def box(self):
    cx, cy, w, h = self.mean[:4]
    w, h = max(w, 1e-3), max(h, 1e-3)
    return np.array([cx - w / 2, cy - h / 2, w, h])


class Track:
  def __init__(self, track_id, box, frame):
    self.id = track_id
    self.kalman = KalmanBox(box)
    self.hits = 1
    self.last_frame = frame
    self.confirmed = False

  @property
  def box(self):
    return self.kalman.box


class Tracker:
  """Feed one frame of detections at a time to `update`.

      tracker = Tracker(TrackerConfig(), fps=25)
      for boxes, scores in frames:        # float [N, 4] (x, y, w, h), [N]
        for track_id, box in tracker.update(boxes, scores): ...
  """

  def __init__(self, config=None, fps=25.0):
    if fps <= 0:
      raise ValueError(f"fps must be positive, got {fps}")
    self.config = config or TrackerConfig()
    self.max_lost = max(1, int(round(self.config.max_lost_seconds * fps)))
    self.tracks = []
    self.frame = -1
    self._next_id = 1

  def update(self, boxes, scores):
    """Returns [(track id, box (x, y, w, h))] of the confirmed tracks matched
    on this frame."""
    c = self.config
    self.frame += 1
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    scores = np.asarray(scores, np.float64).reshape(-1)
    if len(boxes) != len(scores):
      raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
    for t in self.tracks:
      t.kalman.predict()
    high = np.flatnonzero(scores >= c.high_score)
    low = np.flatnonzero((scores >= c.low_score) & (scores < c.high_score))
    # Stage 1: high detections against every live track.
    live = list(self.tracks)
    predicted = np.array([t.box for t in live]).reshape(-1, 4)
    pairs, left_tracks, left_high = match(1 - iou_matrix(predicted, boxes[high]),
                                          1 - c.match_iou)
    matched = [(live[i], high[j]) for i, j in pairs]
    # Stage 2: low detections against the unmatched tracks tracked last frame.
    recent = [live[i] for i in left_tracks if live[i].last_frame == self.frame - 1]
    predicted = np.array([t.box for t in recent]).reshape(-1, 4)
    pairs, _, _ = match(1 - iou_matrix(predicted, boxes[low]), 1 - c.low_match_iou)
    matched += [(recent[i], low[j]) for i, j in pairs]
    out = []
    for track, d in matched:
      track.kalman.update(boxes[d])
      consecutive = track.last_frame == self.frame - 1
      track.hits = track.hits + 1 if consecutive else 1
      track.last_frame = self.frame
      if track.hits >= c.min_hits and not track.confirmed:
        self._confirm(track)
      if track.confirmed:
        out.append((track.id, track.box))
    # Removal: tentative tracks at their first miss, lost ones after max_lost.
    self.tracks = [t for t in self.tracks
                   if t.last_frame == self.frame
                   or (t.confirmed and self.frame - t.last_frame <= self.max_lost)]
    for j in left_high:
      d = high[j]
      if scores[d] >= c.new_track_score:
        track = Track(None, boxes[d], self.frame)
        if self.frame == 0 or c.min_hits <= 1:
          self._confirm(track)
          out.append((track.id, track.box))
        self.tracks.append(track)
    return sorted(out, key=lambda item: item[0])

  def _confirm(self, track):
    # Ids are given on confirmation, so clutter that never confirms leaves
    # no gaps in the reported ids.
    track.confirmed = True
    track.id = self._next_id
    self._next_id += 1


def track_detections(detections, num_frames=None, config=None, fps=25.0):
  """Tracks a whole detection set.

  detections: {frame index: float [N, 5] rows (x, y, w, h, score)}.
  Returns {frame index: float32 [K, 5] rows (id, x, y, w, h)}, as
  `data.mot.write_mot` takes.
  """
  tracker = Tracker(config, fps)
  last = max(detections, default=-1) if num_frames is None else num_frames - 1
  out = {}
  for t in range(last + 1):
    d = np.asarray(detections.get(t, np.zeros((0, 5))), np.float64).reshape(-1, 5)
    rows = [(i, *box) for i, box in tracker.update(d[:, :4], d[:, 4])]
    if rows:
      out[t] = np.asarray(rows, np.float32)
  return out

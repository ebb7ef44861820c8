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
from tfsports.metrics.boxes import iou_matrix


@dataclasses.dataclass(frozen=True)
class TrackerConfig(config_lib.Config):
  """Scores split at `high_score`; detections under `low_score` are
  ignored. `match_iou` / `low_match_iou`: the least IoU of a first- /
  second-stage match. With appearance embeddings, the first stage's cost
  is 1 - IoU plus `appearance_weight` times the cosine distance to the
  track's embedding (a moving average with `appearance_momentum`); IoU
  still gates which pairs may match."""
  high_score: float = 0.5
  low_score: float = 0.1
  new_track_score: float = 0.6
  match_iou: float = 0.1
  low_match_iou: float = 0.3
  min_hits: int = 2
  max_lost_seconds: float = 1.0
  interpolate_seconds: float = 0.5
  appearance_weight: float = 0.5
  appearance_momentum: float = 0.9

  def __post_init__(self):
    if not 0 <= self.low_score <= self.high_score <= 1:
      raise ValueError("need 0 <= low_score <= high_score <= 1")
    if self.min_hits < 1 or self.max_lost_seconds < 0:
      raise ValueError("need min_hits >= 1 and max_lost_seconds >= 0")


config_lib.register_presets(TrackerConfig, {
    "default": TrackerConfig(),
    # For the bundled CenterNet on real footage, whose player peaks mostly
    # score 0.2-0.5 (synthetic-heavy training leaves it under-confident
    # there); chosen by looking at real frames: there are no real player
    # labels to tune on.
    "centernet": TrackerConfig(high_score=0.25, low_score=0.1, new_track_score=0.3),
})


def match(cost, max_cost):
  """Minimum-cost pairs with cost <= max_cost, by
  `scipy.optimize.linear_sum_assignment`: (matched rows [K], matched columns
  [K], unmatched rows, unmatched columns), int arrays."""
  num_rows, num_cols = cost.shape
  if num_rows == 0 or num_cols == 0:
    return _NONE, _NONE, np.arange(num_rows), np.arange(num_cols)
  r, c = optimize.linear_sum_assignment(cost)
  keep = cost[r, c] <= max_cost
  r, c = r[keep], c[keep]
  free_rows = np.ones(num_rows, bool)
  free_rows[r] = False
  free_cols = np.ones(num_cols, bool)
  free_cols[c] = False
  return r, c, np.flatnonzero(free_rows), np.flatnonzero(free_cols)


_NONE = np.zeros(0, int)


class KalmanBoxes:
  """Kalman filters of many boxes: constant velocity for the centre, a
  random walk for the size (a size velocity only amplifies detector jitter,
  and measured worse on real player motion), with noise proportional to
  each box's height as in ByteTrack.

  With that noise no two coordinates mix, so each centre coordinate is a
  2x2 filter of (value, velocity) and each size coordinate a scalar filter.
  A filter is one row of `state` [N, 14]: centre (2), size (2), velocity
  (2), then the variances of centre (2), centre-velocity covariances (2),
  velocity variances (2) and size variances (2); all tracks are predicted
  and updated at once.
  """

  POSITION_STD = 1.0 / 20
  VELOCITY_STD = 1.0 / 80
  MEASUREMENT_STD = 1.0 / 20
  C, S, V, PP, PV, VV, SS = (slice(i, i + 2) for i in range(0, 14, 2))

  def __init__(self):
    self.state = np.zeros((0, 14))

  def __len__(self):
    return len(self.state)

  def add(self, boxes):
    """Starts filters at boxes [K, 4] (x, y, w, h)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    new = np.zeros((len(boxes), 14))
    h = np.maximum(boxes[:, 3:4], 1.0)
    new[:, self.C] = boxes[:, :2] + boxes[:, 2:] / 2
    new[:, self.S] = boxes[:, 2:]
    new[:, self.PP] = new[:, self.SS] = (2 * self.POSITION_STD * h) ** 2
    new[:, self.VV] = (10 * self.VELOCITY_STD * h) ** 2
    self.state = np.concatenate([self.state, new])

  def keep(self, mask):
    self.state = self.state[mask]

  def warp(self, affine):
    """Moves every filter by a camera motion: affine float [2, 3] maps
    previous-frame pixels to this frame's (centres and velocities by its
    linear part, sizes by its scale)."""
    m, t = np.asarray(affine, np.float64)[:, :2], np.asarray(affine, np.float64)[:, 2]
    x = self.state
    x[:, self.C] = x[:, self.C] @ m.T + t
    x[:, self.V] = x[:, self.V] @ m.T
    x[:, self.S] *= np.sqrt(abs(np.linalg.det(m)))

  def predict(self):
    x = self.state
    h = np.maximum(x[:, 3:4], 1.0)
    q = (self.POSITION_STD * h) ** 2
    x[:, self.C] += x[:, self.V]
    x[:, self.PP] += 2 * x[:, self.PV] + x[:, self.VV] + q
    x[:, self.PV] += x[:, self.VV]
    x[:, self.VV] += (self.VELOCITY_STD * h) ** 2
    x[:, self.SS] += q

  def update(self, rows, boxes):
    """Corrects filters `rows` [K] with measured boxes [K, 4] (x, y, w, h)."""
    if len(rows) == 0:
      return
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    x = self.state[rows]
    pp, pv, ss = x[:, self.PP], x[:, self.PV], x[:, self.SS]
    r = (self.MEASUREMENT_STD * np.maximum(x[:, 3:4], 1.0)) ** 2
    kp, kv, ks = pp / (pp + r), pv / (pp + r), ss / (ss + r)
    innovation = boxes[:, :2] + boxes[:, 2:] / 2 - x[:, self.C]
    x[:, self.C] += kp * innovation
    x[:, self.V] += kv * innovation
    x[:, self.S] += ks * (boxes[:, 2:] - x[:, self.S])
    x[:, self.VV] -= kv * pv
    x[:, self.PP] = (1 - kp) * pp
    x[:, self.PV] = (1 - kp) * pv
    x[:, self.SS] = (1 - ks) * ss
    self.state[rows] = x

  @property
  def boxes(self):
    """float [N, 4] (x, y, w, h) of every filter's current estimate."""
    wh = np.maximum(self.state[:, self.S], 1e-3)
    return np.concatenate([self.state[:, self.C] - wh / 2, wh], axis=1)


class Tracker:
  """Feed one frame of detections at a time to `update`.

      tracker = Tracker(TrackerConfig(), fps=25)
      for boxes, scores in frames:        # float [N, 4] (x, y, w, h), [N]
        for track_id, box in tracker.update(boxes, scores): ...

  Tracks are parallel arrays (ids, consecutive hits, last matched frames,
  and their Kalman filters) so that a frame costs a few array operations,
  not a loop over tracks.
  """

  def __init__(self, config=None, fps=25.0):
    if fps <= 0:
      raise ValueError(f"fps must be positive, got {fps}")
    self.config = config or TrackerConfig()
    self.max_lost = max(1, int(round(self.config.max_lost_seconds * fps)))
    self.kalman = KalmanBoxes()
    self.ids = np.zeros(0, int)        # 0 while tentative
    self.hits = np.zeros(0, int)
    self.last = np.zeros(0, int)
    self.embeddings = np.zeros((0, 0))
    self.frame = -1
    self._next_id = 1

  def update(self, boxes, scores, camera_motion=None):
    """Returns [(track id, box (x, y, w, h))] of the confirmed tracks matched
    on this frame, by id. camera_motion: optionally the affine [2, 3] from
    the previous frame's pixels to this one's (camera-motion compensation,
    applied to the predicted tracks before matching)."""
    ids, boxes = self.step(boxes, scores, camera_motion)
    return list(zip(ids.tolist(), boxes))

  def step(self, boxes, scores, camera_motion=None, embeddings=None):
    """As `update`, as arrays: ids int [K] ascending, boxes float [K, 4].
    embeddings: optionally float [N, D], unit length, one per detection
    (appearance, e.g. the athletes model's re-identification embedding)."""
    c = self.config
    self.frame += 1
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    scores = np.asarray(scores, np.float64).reshape(-1)
    if len(boxes) != len(scores):
      raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
    if embeddings is not None:
      embeddings = np.asarray(embeddings, np.float64)
      if embeddings.ndim != 2 or len(embeddings) != len(boxes):
        raise ValueError(f"{len(boxes)} boxes but embeddings of shape {embeddings.shape}")
    self.kalman.predict()
    if camera_motion is not None:
      self.kalman.warp(camera_motion)
    predicted = self.kalman.boxes
    high = np.flatnonzero(scores >= c.high_score)
    low = np.flatnonzero((scores >= c.low_score) & (scores < c.high_score))
    # Stage 1: high detections against every live track.
    cost = 1 - iou_matrix(predicted, boxes[high])
    max_cost = 1 - c.match_iou
    if embeddings is not None and c.appearance_weight and len(self.embeddings):
      distance = 1 - self.embeddings @ embeddings[high].T
      cost = np.where(cost <= max_cost, cost + c.appearance_weight * distance, 1e6)
      max_cost += 2 * c.appearance_weight
    rows, cols, left_tracks, left_high = match(cost, max_cost)
    dets = high[cols]
    # Stage 2: low detections against the unmatched tracks tracked last frame.
    recent = left_tracks[self.last[left_tracks] == self.frame - 1]
    if len(recent) and len(low):
      r2, c2, _, _ = match(1 - iou_matrix(predicted[recent], boxes[low]), 1 - c.low_match_iou)
      rows, dets = np.concatenate([rows, recent[r2]]), np.concatenate([dets, low[c2]])
    self.kalman.update(rows, boxes[dets])
    if embeddings is not None:
      self._update_embeddings(rows, embeddings[dets])
    self.hits[rows] = np.where(self.last[rows] == self.frame - 1, self.hits[rows] + 1, 1)
    self.last[rows] = self.frame
    self._confirm(rows[(self.hits[rows] >= c.min_hits) & (self.ids[rows] == 0)])
    # Removal: tentative tracks at their first miss, lost ones after max_lost.
    alive = (self.last == self.frame) | ((self.ids > 0)
                                         & (self.frame - self.last <= self.max_lost))
    if not alive.all():
      self.kalman.keep(alive)
      self.ids, self.hits, self.last = self.ids[alive], self.hits[alive], self.last[alive]
      if len(self.embeddings):
        self.embeddings = self.embeddings[alive]
    # Birth: unmatched high detections confident enough.
    born = high[left_high]
    born = born[scores[born] >= c.new_track_score]
    if len(born):
      n = len(born)
      self.kalman.add(boxes[born])
      self.ids = np.concatenate([self.ids, np.zeros(n, int)])
      self.hits = np.concatenate([self.hits, np.ones(n, int)])
      self.last = np.concatenate([self.last, np.full(n, self.frame)])
      if embeddings is not None:
        self.embeddings = np.concatenate([self.embeddings.reshape(-1, embeddings.shape[1]),
                                          embeddings[born]])
      if self.frame == 0 or c.min_hits <= 1:
        self._confirm(np.arange(len(self.ids) - n, len(self.ids)))
    shown = np.flatnonzero((self.last == self.frame) & (self.ids > 0))
    shown = shown[np.argsort(self.ids[shown])]
    return self.ids[shown], self.kalman.boxes[shown]

  def _update_embeddings(self, rows, new):
    if not len(rows):
      return
    m = self.config.appearance_momentum
    mixed = m * self.embeddings[rows] + (1 - m) * new
    self.embeddings[rows] = mixed / np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True),
                                               1e-12)

  def _confirm(self, rows):
    # Ids are given on confirmation, so clutter that never confirms leaves
    # no gaps in the reported ids.
    rows = np.sort(rows)
    self.ids[rows] = np.arange(self._next_id, self._next_id + len(rows))
    self._next_id += len(rows)


def interpolate_gaps(tracks, max_gap):
  """Fills each track's gaps of at most `max_gap` frames linearly between
  the boxes on either side: a dropped detection in the middle of a track is
  a missed box, not a player who left. tracks, and the result: {frame index:
  float32 [K, 5] rows (id, x, y, w, h)}."""
  rows = [np.concatenate([np.full((len(r), 1), t), r], 1) for t, r in tracks.items() if len(r)]
  if not rows or max_gap < 2:
    return tracks
  rows = np.concatenate(rows)
  rows = rows[np.lexsort((rows[:, 0], rows[:, 1]))]        # by id, then frame
  nxt = rows[1:]
  gap = nxt[:, 0] - rows[:-1, 0]
  fill = np.flatnonzero((nxt[:, 1] == rows[:-1, 1]) & (gap > 1) & (gap <= max_gap))
  added = []
  for i in fill:
    a = (np.arange(1, gap[i]) / gap[i])[:, None]
    added.append(rows[i] * (1 - a) + rows[i + 1] * a)
  out = {t: list(r) for t, r in tracks.items()}
  for row in np.concatenate(added) if added else []:
    out.setdefault(int(round(row[0])), []).append(row[1:])
  return {t: np.asarray(out[t], np.float32).reshape(-1, 5) for t in sorted(out)}


def track_detections(detections, num_frames=None, config=None, fps=25.0):
  """Tracks a whole detection set, then fills gaps of up to
  `config.interpolate_seconds` in each track.

  detections: {frame index: float [N, 5] rows (x, y, w, h, score)}.
  Returns {frame index: float32 [K, 5] rows (id, x, y, w, h)}, as
  `data.mot.write_mot` takes.
  """
  tracker = Tracker(config, fps)
  last = max(detections, default=-1) if num_frames is None else num_frames - 1
  out = {}
  empty = np.zeros((0, 5))
  for t in range(last + 1):
    d = np.asarray(detections.get(t, empty), np.float64).reshape(-1, 5)
    ids, boxes = tracker.step(d[:, :4], d[:, 4])
    if len(ids):
      out[t] = np.concatenate([ids[:, None], boxes], 1).astype(np.float32)
  return interpolate_gaps(out, int(round(tracker.config.interpolate_seconds * fps)))

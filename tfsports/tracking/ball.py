"""The ball track: at most one ball, gated by its constant-velocity
prediction, and its short gaps filled by interpolation."""

import dataclasses

import numpy as np


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

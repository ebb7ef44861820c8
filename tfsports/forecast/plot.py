"""Pitch drawings of observed paths and sampled futures (OpenCV, no
matplotlib): the pitch outline (no other markings: they differ by sport),
each agent's observed path thick in its team's colour, the sampled futures
thin and translucent around it."""

import cv2
import numpy as np

TEAM_COLOURS = {0: (235, 140, 40), 1: (60, 60, 225), -1: (170, 170, 170)}   # BGR


class PitchCanvas:
  """Metres to pixels for a pitch (length, width), or the bounds of
  `points` [N, 2] where the pitch is unknown or too small for them."""

  def __init__(self, pitch, points, width_px=1000, margin_px=40):
    points = np.asarray(points, np.float64).reshape(-1, 2)
    lo, hi = points.min(0) - 2, points.max(0) + 2
    if pitch is not None:
      lo, hi = np.minimum(lo, 0), np.maximum(hi, pitch)
    self.lo, self.pitch = lo, pitch
    self.scale = (width_px - 2 * margin_px) / max(hi[0] - lo[0], 1e-3)
    self.margin = margin_px
    size = np.ceil((hi - lo) * self.scale + 2 * margin_px).astype(int)
    self.image = np.full((size[1], size[0], 3), (40, 100, 40), np.uint8)
    if pitch is not None:
      cv2.rectangle(self.image, self.px((0, 0)), self.px(pitch), (230, 230, 230), 2,
                    cv2.LINE_AA)

  def px(self, point):
    p = (np.asarray(point, np.float64) - self.lo) * self.scale + self.margin
    return int(round(p[0])), int(round(p[1]))

  def polyline(self, points, colour, thickness, image=None):
    pts = np.array([self.px(p) for p in points], np.int32)
    cv2.polylines(self.image if image is None else image, [pts], False, colour, thickness,
                  cv2.LINE_AA)


def draw_forecast(observed, observed_mask, futures, team, pitch=None, title="", truth=None,
                  truth_mask=None):
  """observed float [A, To, 2], observed_mask bool [A, To], futures float
  [K, A, H, 2] (the first future frame follows the last observed one), team
  [A] -> BGR uint8 image. truth float [A, H, 2] with truth_mask bool
  [A, H]: what really happened, drawn in white where known."""
  observed, futures = np.asarray(observed), np.asarray(futures)
  canvas = PitchCanvas(pitch, np.concatenate([observed[observed_mask], futures.reshape(-1, 2)]))
  fan = canvas.image.copy()
  for a in range(len(observed)):
    colour = TEAM_COLOURS.get(int(team[a]), TEAM_COLOURS[-1])
    start = observed[a][observed_mask[a]][-1:]
    for k in range(len(futures)):
      canvas.polyline(np.concatenate([start, futures[k, a]]), colour, 1, image=fan)
  cv2.addWeighted(fan, 0.55, canvas.image, 0.45, 0, dst=canvas.image)
  for a in range(len(observed) if truth is not None else 0):
    path = np.concatenate([observed[a][observed_mask[a]][-1:], truth[a][truth_mask[a]]])
    if len(path) > 1:
      canvas.polyline(path, (255, 255, 255), 1)
  for a in range(len(observed)):
    colour = TEAM_COLOURS.get(int(team[a]), TEAM_COLOURS[-1])
    path = observed[a][observed_mask[a]]
    canvas.polyline(path, colour, 3)
    cv2.circle(canvas.image, canvas.px(path[-1]), 5, colour, -1, cv2.LINE_AA)
    cv2.circle(canvas.image, canvas.px(path[-1]), 5, (255, 255, 255), 1, cv2.LINE_AA)
  _caption(canvas.image, title)
  return canvas.image


def draw_filled(xy, valid, filled, team, pitch=None, title=""):
  """xy float [A, T, 2], valid bool [A, T] (observed), filled bool [A, T]
  (frames the model filled) -> BGR uint8 image: observed paths in team
  colours, filled stretches in yellow."""
  canvas = PitchCanvas(pitch, xy[valid | filled])
  for a in range(len(xy)):
    colour = TEAM_COLOURS.get(int(team[a]), TEAM_COLOURS[-1])
    for mask, c, w in ((valid[a], colour, 2), (filled[a], (0, 230, 255), 3)):
      idx = np.flatnonzero(mask)
      for run in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1):
        if len(run):
          lo, hi = max(run[0] - 1, 0), min(run[-1] + 1, len(mask) - 1)
          span = np.arange(lo, hi + 1)
          span = span[valid[a, span] | filled[a, span]]
          canvas.polyline(xy[a, span], c, w)
  _caption(canvas.image, title)
  return canvas.image


def _caption(image, text):
  for i, line in enumerate(text.split("\n")):
    cv2.putText(image, line, (10, 22 + 20 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
                (255, 255, 255), 1, cv2.LINE_AA)

"""Box overlap, shared by the tracker, the detector's evaluation and the
tracking metrics."""

import numpy as np


def iou_matrix(a, b):
  """IoU of boxes a [N, 4] and b [M, 4], (x, y, w, h) -> float64 [N, M]."""
  a = np.asarray(a, np.float64).reshape(-1, 4)
  b = np.asarray(b, np.float64).reshape(-1, 4)
  ax, ay, aw, ah = a[:, 0, None], a[:, 1, None], a[:, 2, None], a[:, 3, None]
  bx, by, bw, bh = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
  w = np.minimum(ax + aw, bx + bw) - np.maximum(ax, bx)
  h = np.minimum(ay + ah, by + bh) - np.maximum(ay, by)
  inter = np.maximum(w, 0) * np.maximum(h, 0)
  union = aw * ah + bw * bh - inter
  return inter / np.maximum(union, 1e-9)

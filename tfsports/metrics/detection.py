"""Detection metrics: AP at one IoU threshold, and TrackNet's ball
precision, recall and F1 within a pixel tolerance."""

import numpy as np

from tfsports.metrics.boxes import iou_matrix


def average_precision(detections, labels, iou=0.5):
  """VOC-style AP (all-point interpolation) at one IoU threshold.

  detections: per image float [N, 5] (x, y, w, h, score); labels: per image
  float [M, 4]. Each label matches at most one detection, greedily by score.
  """
  scored, total = [], sum(len(l) for l in labels)
  for d, l in zip(detections, labels):
    d = d[np.argsort(-d[:, 4])]
    taken = np.zeros(len(l), bool)
    overlaps = iou_matrix(d[:, :4], l)
    for i in range(len(d)):
      j = int(np.argmax(np.where(taken, -1, overlaps[i]))) if len(l) else -1
      hit = j >= 0 and not taken[j] and overlaps[i, j] >= iou
      if hit:
        taken[j] = True
      scored.append((d[i, 4], hit))
  if not total:
    return float("nan")
  scored.sort(key=lambda s: -s[0])
  hits = np.array([h for _, h in scored], float)
  tp = np.cumsum(hits)
  recall = np.concatenate([[0], tp / total])
  precision = np.concatenate([[1], tp / np.arange(1, len(hits) + 1)])
  precision = np.maximum.accumulate(precision[::-1])[::-1]
  return float(np.sum((recall[1:] - recall[:-1]) * precision[1:]))


def ball_scores(predicted, visible, xy, tolerance=5.0):
  """TrackNet's precision, recall and F1: a frame's prediction is a true
  positive within `tolerance` pixels of a visible ball, a false positive
  farther away or when the ball is not visible; a visible ball with no
  prediction is a false negative; an invisible ball with none is a true
  negative. predicted: float [T, 2], NaN where no ball was reported."""
  reported = ~np.isnan(predicted[:, 0])
  dist = np.linalg.norm(predicted - xy, axis=1)
  tp = int(np.sum(reported & visible & (dist <= tolerance)))
  fp = int(np.sum(reported & ~(visible & (dist <= tolerance))))
  fn = int(np.sum(~reported & visible))
  tn = int(np.sum(~reported & ~visible))
  precision = tp / max(tp + fp, 1)
  recall = tp / max(tp + fn, 1)
  return {"precision": precision, "recall": recall,
          "f1": 2 * precision * recall / max(precision + recall, 1e-9),
          "tp": tp, "fp": fp, "fn": fn, "tn": tn}

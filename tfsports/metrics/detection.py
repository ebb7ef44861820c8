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


def coco_scores(detections, labels, sizes, ignore=None):
  """COCO AP through pycocotools for one class.

  detections: per image float [N, 5] (x, y, w, h, score) in pixels; labels:
  per image float [M, 4]; sizes: per image (height, width). `ignore`: per
  image bool [M], labels that neither count as misses nor make hits false
  positives (COCO's iscrowd). Returns AP50, AP50:95, AP75 and the number
  of labels and detections; NaN APs when there are no labels."""
  from pycocotools import coco as coco_lib
  from pycocotools import cocoeval
  images, annotations, results = [], [], []
  for i, (d, l, (h, w)) in enumerate(zip(detections, labels, sizes)):
    images.append({"id": i, "height": int(h), "width": int(w)})
    flags = ignore[i] if ignore is not None else np.zeros(len(l), bool)
    for box, crowd in zip(np.asarray(l, float).reshape(-1, 4), flags):
      annotations.append({"id": len(annotations) + 1, "image_id": i, "category_id": 1,
                          "bbox": [float(v) for v in box], "area": float(box[2] * box[3]),
                          "iscrowd": int(bool(crowd))})
    for row in np.asarray(d, float).reshape(-1, 5):
      results.append({"image_id": i, "category_id": 1, "bbox": [float(v) for v in row[:4]],
                      "score": float(row[4])})
  counted = sum(1 for a in annotations if not a["iscrowd"])
  if not counted:
    return {"ap50": float("nan"), "ap50_95": float("nan"), "ap75": float("nan"),
            "labels": 0, "detections": len(results)}
  truth = coco_lib.COCO()
  truth.dataset = {"images": images, "annotations": annotations,
                   "categories": [{"id": 1, "name": "object"}]}
  with _quiet():
    truth.createIndex()
    found = truth.loadRes(results) if results else None
    if found is None:
      return {"ap50": 0.0, "ap50_95": 0.0, "ap75": 0.0, "labels": counted, "detections": 0}
    evaluation = cocoeval.COCOeval(truth, found, "bbox")
    # Sports frames hold more people than COCO's default cap of 100.
    evaluation.params.maxDets = [1, 10, 300]
    evaluation.evaluate()
    evaluation.accumulate()
  # precision [IoU thresholds, recall points, classes, area ranges, max
  # detections]: all areas, the largest cap (summarize() asks for a cap of
  # 100 that is not there).
  precision = evaluation.eval["precision"][:, :, 0, 0, -1]
  ap = lambda p: float(np.mean(p[p > -1])) if np.any(p > -1) else 0.0
  thresholds = list(np.round(evaluation.params.iouThrs, 2))
  return {"ap50_95": ap(precision), "ap50": ap(precision[thresholds.index(0.5)]),
          "ap75": ap(precision[thresholds.index(0.75)]),
          "labels": counted, "detections": len(results)}


def _quiet():
  import contextlib
  import io
  return contextlib.redirect_stdout(io.StringIO())


def centre_scores(detections, labels, sizes, radius=0.01):
  """AP with a hit meaning a detection's centre within `radius` of the
  image diagonal of a label's centre (the ball, whose box is a few pixels:
  IoU punishes a 2-pixel offset as a miss). Also the precision and recall
  curve's best F1 and its threshold. Inputs as `coco_scores`."""
  scored, total = [], sum(len(l) for l in labels)
  for d, l, (h, w) in zip(detections, labels, sizes):
    d = np.asarray(d, float).reshape(-1, 5)
    l = np.asarray(l, float).reshape(-1, 4)
    d = d[np.argsort(-d[:, 4])]
    tol = radius * np.hypot(h, w)
    taken = np.zeros(len(l), bool)
    dc = d[:, :2] + d[:, 2:4] / 2
    lc = l[:, :2] + l[:, 2:4] / 2
    for i in range(len(d)):
      dist = np.linalg.norm(lc - dc[i], axis=1) if len(l) else np.zeros(0)
      dist = np.where(taken, np.inf, dist)
      j = int(np.argmin(dist)) if len(l) else -1
      hit = j >= 0 and dist[j] <= tol
      if hit:
        taken[j] = True
      scored.append((d[i, 4], hit))
  if not total:
    return {"ap": float("nan"), "labels": 0}
  scored.sort(key=lambda s: -s[0])
  hits = np.array([h for _, h in scored], float)
  scores = np.array([s for s, _ in scored], float)
  tp = np.cumsum(hits)
  recall = tp / total
  precision = tp / np.arange(1, len(hits) + 1)
  envelope = np.maximum.accumulate(precision[::-1])[::-1]
  ap = float(np.sum(np.diff(np.concatenate([[0], recall])) * envelope)) if len(hits) else 0.0
  f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-9) if len(hits) else [0.0]
  best = int(np.argmax(f1)) if len(hits) else 0
  return {"ap": ap, "labels": int(total), "best_f1": float(np.max(f1)),
          "best_f1_threshold": float(scores[best]) if len(hits) else float("nan")}


def precision_recall(detections, labels, threshold, iou=0.5):
  """Precision and recall of the detections scoring at least `threshold`,
  a hit being IoU >= `iou` with a label not matched yet."""
  tp = fp = 0
  total = sum(len(l) for l in labels)
  for d, l in zip(detections, labels):
    d = np.asarray(d, float).reshape(-1, 5)
    d = d[d[:, 4] >= threshold]
    d = d[np.argsort(-d[:, 4])]
    l = np.asarray(l, float).reshape(-1, 4)
    taken = np.zeros(len(l), bool)
    overlaps = iou_matrix(d[:, :4], l) if len(l) and len(d) else np.zeros((len(d), len(l)))
    for i in range(len(d)):
      o = np.where(taken, -1, overlaps[i]) if len(l) else np.zeros(0)
      j = int(np.argmax(o)) if len(l) else -1
      if j >= 0 and o[j] >= iou:
        taken[j] = True
        tp += 1
      else:
        fp += 1
  return {"threshold": float(threshold), "precision": tp / max(tp + fp, 1),
          "recall": tp / max(total, 1), "tp": tp, "fp": fp, "labels": int(total)}

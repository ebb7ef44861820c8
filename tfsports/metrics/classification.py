"""Classification metrics with the baselines a figure needs beside it."""

import numpy as np


def confusion_matrix(labels, predictions, num_classes):
  """int64 [K, K]: rows are the true class, columns the prediction."""
  m = np.zeros((num_classes, num_classes), np.int64)
  np.add.at(m, (np.asarray(labels, np.int64), np.asarray(predictions, np.int64)), 1)
  return m


def summary(labels, predictions, class_names):
  """Top-1 next to chance (1/K) and the majority-class rate of the same
  labels, the confusion matrix and its class names."""
  labels = np.asarray(labels, np.int64)
  predictions = np.asarray(predictions, np.int64)
  k = len(class_names)
  counts = np.bincount(labels, minlength=k) if len(labels) else np.zeros(k, np.int64)
  return {"top1": float(np.mean(predictions == labels)) if len(labels) else float("nan"),
          "chance": 1.0 / k,
          "majority": float(counts.max() / max(len(labels), 1)),
          "num_clips": int(len(labels)),
          "class_names": list(class_names),
          "confusion_matrix": confusion_matrix(labels, predictions, k).tolist()}


def format_confusion(report):
  """The confusion matrix as aligned text with the class names."""
  names = report["class_names"]
  width = max(6, max(map(len, names)) + 1)
  lines = [" " * width + "".join(f"{n[:width - 1]:>{width}}" for n in names)]
  for name, row in zip(names, report["confusion_matrix"]):
    lines.append(f"{name:<{width}}" + "".join(f"{v:>{width}d}" for v in row))
  return "\n".join(lines)

"""Multi-object tracking scores (HOTA, IDF1, MOTA) through TrackEval.

The metrics themselves are TrackEval's (Luiten et al., the reference
implementation of HOTA, also used by MOTChallenge and SportsMOT); this module
only turns box dictionaries into the per-sequence data TrackEval's metrics
take. TrackEval's packaging asks for opencv-python, which would clash with
opencv-python-headless, so install it without its dependencies (its metrics
need only numpy and scipy):

    pip install --no-deps trackeval==1.3.0
"""

import contextlib
import io

import numpy as np

from tfsports.metrics.boxes import iou_matrix

# The three TrackEval metric families and the figures reported from them.
SUMMARY = {"HOTA": "HOTA", "DetA": "HOTA", "AssA": "HOTA", "IDF1": "Identity",
           "MOTA": "CLEAR", "IDSW": "CLEAR"}


def _trackeval():
  try:
    # TrackEval prints a line for each optional dataset it cannot import.
    with contextlib.redirect_stdout(io.StringIO()):
      from trackeval import metrics
  except ImportError:
    raise ImportError("tracking metrics need TrackEval: pip install --no-deps "
                      "trackeval==1.3.0") from None
  return {"HOTA": metrics.HOTA, "CLEAR": metrics.CLEAR, "Identity": metrics.Identity}


def sequence_data(gt, tracks, num_frames=None):
  """TrackEval's per-sequence data from ground truth and tracker output,
  each {frame index: [N, 5] rows (id, x, y, w, h)}. Ids are renumbered
  from 0 as TrackEval expects; every ground-truth box counts (no distractor
  classes in sports ground truth)."""
  if num_frames is None:
    num_frames = max(list(gt) + list(tracks), default=-1) + 1

  def relabel(boxes):
    ids = sorted({int(i) for r in boxes.values() for i in np.asarray(r)[:, 0]})
    return {v: k for k, v in enumerate(ids)}

  gt_map, tr_map = relabel(gt), relabel(tracks)
  data = {"num_timesteps": num_frames, "gt_ids": [], "tracker_ids": [],
          "similarity_scores": [], "num_gt_ids": len(gt_map),
          "num_tracker_ids": len(tr_map), "num_gt_dets": 0, "num_tracker_dets": 0}
  empty = np.zeros((0, 5), np.float32)
  for t in range(num_frames):
    g = np.asarray(gt.get(t, empty)).reshape(-1, 5)
    p = np.asarray(tracks.get(t, empty)).reshape(-1, 5)
    data["gt_ids"].append(np.array([gt_map[int(i)] for i in g[:, 0]], int))
    data["tracker_ids"].append(np.array([tr_map[int(i)] for i in p[:, 0]], int))
    data["similarity_scores"].append(iou_matrix(g[:, 1:], p[:, 1:]))
    data["num_gt_dets"] += len(g)
    data["num_tracker_dets"] += len(p)
  return data


def evaluate_sequences(sequences):
  """Scores several sequences and their combination.

  sequences: {name: (gt, tracks)} or {name: (gt, tracks, num_frames)}, with
  boxes as in `sequence_data`. Returns {name or "COMBINED": {"HOTA", "DetA",
  "AssA", "IDF1", "MOTA" (fractions), "IDSW" (count)}}; HOTA, DetA and AssA
  are averaged over TrackEval's IoU thresholds 0.05-0.95.
  """
  families = {name: cls({"PRINT_CONFIG": False})
              for name, cls in _trackeval().items()}
  per_family = {name: {} for name in families}
  for seq, args in sequences.items():
    data = sequence_data(*args)
    for name, metric in families.items():
      per_family[name][seq] = metric.eval_sequence(data)
  combined = {name: metric.combine_sequences(per_family[name])
              for name, metric in families.items()}
  out = {}
  for seq in list(sequences) + ["COMBINED"]:
    res = {name: (combined[name] if seq == "COMBINED" else per_family[name][seq])
           for name in families}
    out[seq] = {key: float(np.mean(res[family][key])) for key, family in SUMMARY.items()}
  return out

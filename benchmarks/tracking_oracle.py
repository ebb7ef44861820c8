r"""The perturbed-oracle tracking benchmark (`tracking/evaluate.py`): our
tracker, run the way `tfsports track --detections` runs it, against the
trackers of roboflow's `trackers` package, on the same perturbed real
ground truth in the same run, scored by TrackEval.

    pip install --no-deps trackers==2.6.1 trackeval==1.3.0
    pip install "supervision>=0.26" pydeprecate rich
    python benchmarks/tracking_oracle.py [--real=../shared/data/real] [--per_sequence]

(`trackers` and TrackEval ask for opencv-python, which clashes with the
opencv-python-headless the suite uses; their code runs on either.)
Frames/s is the tracker alone on the in-memory detections (ours including
its gap filling), best of `--repeats` runs per sequence.
"""

import dataclasses
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import numpy as np

from tfsports.data import mot
from tfsports.metrics import tracking as tracking_metrics
from tfsports.tracking import command as track_command
from tfsports.tracking import evaluate
from tfsports.tracking import tracker as tracker_lib

flags.DEFINE_string("real", os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                         "data", "real"), "Real-data root.")
flags.DEFINE_string("peers", "ByteTrack,BoT-SORT,OC-SORT,SORT,C-BIoU",
                    "Trackers of the `trackers` package to compare (empty: none).")
flags.DEFINE_string("preset", "default", "Our tracker's preset.")
flags.DEFINE_integer("repeats", 2, "Timing runs per tracker (the best is kept).")
flags.DEFINE_bool("per_sequence", False, "Print HOTA per sequence as well.")
FLAGS = flags.FLAGS


def peer_factories():
  import trackers
  # BoT-SORT's camera-motion compensation needs frames, which the protocol
  # has none of; everything else is each tracker's default.
  return {
      "ByteTrack": lambda fps: trackers.ByteTrackTracker(frame_rate=fps),
      "BoT-SORT": lambda fps: trackers.BoTSORTTracker(frame_rate=fps, enable_cmc=False),
      "OC-SORT": lambda fps: trackers.OCSORTTracker(frame_rate=fps),
      "SORT": lambda fps: trackers.SORTTracker(frame_rate=fps),
      "C-BIoU": lambda fps: trackers.CBIoUTracker(frame_rate=fps),
  }


def run_peer(factory, sequence, detections):
  import supervision as sv
  tracker = factory(sequence.fps)
  out = {}
  for t in range(sequence.num_frames):
    d = detections[t]
    xyxy = np.concatenate([d[:, :2], d[:, :2] + d[:, 2:4]], 1)
    result = tracker.update(sv.Detections(xyxy=xyxy.astype(np.float32),
                                          confidence=d[:, 4].astype(np.float32)))
    keep = result.tracker_id >= 0
    if keep.any():
      b = result.xyxy[keep]
      out[t] = np.concatenate([result.tracker_id[keep, None], b[:, :2], b[:, 2:] - b[:, :2]],
                              1).astype(np.float32)
  return out


def run_ours(sequence, detections, tmp):
  """Through the command's library function, as `tfsports track
  --detections` runs it."""
  dets_path = os.path.join(tmp, f"{sequence.name}.dets.txt")
  with open(dets_path, "w") as f:
    for t, d in detections.items():
      for x, y, w, h, s in d:
        f.write(f"{t + 1},-1,{x:.2f},{y:.2f},{w:.2f},{h:.2f},{s:.4f}\n")
  path, _, _ = track_command.track_file(dets_path, os.path.join(tmp, sequence.name),
                                        sequence.fps, FLAGS.preset)
  return mot.read_mot(path)


def timed(fn, repeats):
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    result = fn()
    best = min(best, time.perf_counter() - start)
  return result, best


def main(argv):
  del argv
  sequences = evaluate.oracle_sequences(FLAGS.real)
  detections = {s.name: evaluate.perturb(s) for s in sequences}
  config = tracker_lib.TrackerConfig.from_preset(FLAGS.preset)
  names = ["tfsports"]
  results = {"tfsports": {}}
  seconds = {"tfsports": 0.0}
  with tempfile.TemporaryDirectory() as tmp:
    for s in sequences:
      results["tfsports"][s.name] = run_ours(s, detections[s.name], tmp)
      _, sec = timed(lambda: tracker_lib.track_detections(detections[s.name], s.num_frames,
                                                          config, s.fps), FLAGS.repeats)
      seconds["tfsports"] += sec
  peers = [p for p in FLAGS.peers.split(",") if p]
  factories = peer_factories() if peers else {}
  for peer in peers:
    names.append(peer)
    results[peer], seconds[peer] = {}, 0.0
    for s in sequences:
      results[peer][s.name], sec = timed(
          lambda: run_peer(factories[peer], s, detections[s.name]), FLAGS.repeats)
      seconds[peer] += sec
  # Our default fills short gaps after tracking; the peers have no such
  # step, so each is also scored with ours applied, and ours without it.
  for name in list(names):
    filled = f"{name} + gap filling" if name != "tfsports" else "tfsports, online only"
    names.append(filled)
    seconds[filled] = seconds[name]
    results[filled] = {}
    for s in sequences:
      max_gap = int(round(config.interpolate_seconds * s.fps))
      results[filled][s.name] = (
          tracker_lib.interpolate_gaps(results[name][s.name], max_gap) if name != "tfsports"
          else tracker_lib.track_detections(detections[s.name], s.num_frames,
                                            dataclasses.replace(config, interpolate_seconds=0),
                                            s.fps))
  frames = sum(s.num_frames for s in sequences)
  groups = {"SportsMOT val (12)": [s for s in sequences if s.name.startswith("v_")],
            "TrackID3x3 indoor (21)": [s for s in sequences if not s.name.startswith("v_")],
            "all (33)": sequences}
  print(f"{len(sequences)} sequences, {frames} frames, {os.cpu_count()} cores; "
        "perturbed-oracle protocol, TrackEval 1.3.0")
  for group, seqs in groups.items():
    print(f"\n{group}\n| tracker | HOTA | DetA | AssA | IDF1 | MOTA | ID switches | frames/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
      scores = tracking_metrics.evaluate_sequences(
          {s.name: (s.gt, results[name][s.name], s.num_frames) for s in seqs})
      c = scores["COMBINED"]
      fps = f"{frames / seconds[name]:.0f}" if group.startswith("all") else ""
      print(f"| {name} | {100 * c['HOTA']:.1f} | {100 * c['DetA']:.1f} | "
            f"{100 * c['AssA']:.1f} | {100 * c['IDF1']:.1f} | {100 * c['MOTA']:.1f} | "
            f"{int(c['IDSW'])} | {fps} |")
      if FLAGS.per_sequence:
        print("  " + " ".join(f"{k}:{100 * v['HOTA']:.1f}" for k, v in scores.items()))


if __name__ == "__main__":
  app.run(main)

r"""Synthetic scenes end to end, per camera type: the CenterNet detector's
player AP@0.5 and the tracker's HOTA / IDF1 / MOTA (TrackEval) on held-back
clips with full ground truth, with and without camera-motion compensation.

    pip install --no-deps trackeval==1.3.0
    python benchmarks/tracking_synthetic.py [--model=tiny] [--clips=4]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags

from tfsports.metrics import tracking as tracking_metrics
from tfsports.tracking import command as track_command
from tfsports.tracking import detectors
from tfsports.tracking import evaluate
from tfsports.tracking import pipeline
from tfsports.tracking import recipe

flags.DEFINE_string("model", "tiny", "Detector: bundled preset, run directory or model path.")
flags.DEFINE_integer("clips", 4, "Clips per camera type.")
flags.DEFINE_integer("num_frames", 50, "Frames per clip.")
FLAGS = flags.FLAGS


class Recording:
  """Wraps a detector and keeps its player detections for the AP."""

  def __init__(self, detector):
    self.detector, self.frames = detector, []

  def __call__(self, frame):
    d = self.detector(frame)
    self.frames.append(d[d[:, 5] == pipeline.PLAYER][:, :5])
    return d


def main(argv):
  del argv
  path, config = track_command.resolve_model(FLAGS.model)
  print(f"model {path}; {FLAGS.clips} clips x {FLAGS.num_frames} frames per camera, 360x640")
  print("| camera | player AP@0.5 | HOTA | DetA | AssA | IDF1 | MOTA | HOTA without CMC |")
  print("|---|---:|---:|---:|---:|---:|---:|---:|")
  for camera in recipe.CAMERAS:
    runs = {True: {}, False: {}}
    dets, labels = [], []
    for k in range(FLAGS.clips):
      frames, seq = evaluate.synthetic_sequence(camera, k, FLAGS.num_frames)
      for cmc in (True, False):
        detector = Recording(detectors.CenterNetDetector(path, config))
        result = pipeline.track_frames(iter(frames), detector, seq.fps, cmc=cmc)
        runs[cmc][seq.name] = (seq.gt, result["tracks"], seq.num_frames)
        if cmc:
          dets += detector.frames
          labels += [seq.gt[t][:, 1:] for t in range(seq.num_frames)]
    ap = recipe.average_precision(dets, labels)
    with_cmc = tracking_metrics.evaluate_sequences(runs[True])["COMBINED"]
    without = tracking_metrics.evaluate_sequences(runs[False])["COMBINED"]
    print(f"| {camera} | {100 * ap:.1f} | {100 * with_cmc['HOTA']:.1f} | "
          f"{100 * with_cmc['DetA']:.1f} | {100 * with_cmc['AssA']:.1f} | "
          f"{100 * with_cmc['IDF1']:.1f} | {100 * with_cmc['MOTA']:.1f} | "
          f"{100 * without['HOTA']:.1f} |")


if __name__ == "__main__":
  app.run(main)

r"""Synthetic scenes end to end, per camera type: the CenterNet detector's
player AP@0.5 and the tracker's HOTA / IDF1 / MOTA (TrackEval) on held-back
clips with full ground truth, with and without camera-motion compensation,
and (given `--athletes`) with the athletes model's embedding in the cost.

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
from tfsports.tracking import appearance
from tfsports.tracking import pipeline
from tfsports.metrics import detection as detection_metrics
from tfsports.tracking import recipe

flags.DEFINE_string("model", "tiny", "Detector: bundled preset, run directory or model path.")
flags.DEFINE_integer("clips", 4, "Clips per camera type.")
flags.DEFINE_integer("num_frames", 50, "Frames per clip.")
flags.DEFINE_string("athletes", None, "Athletes run directory or .tflite: adds a column with "
                    "appearance in the tracker's cost.")
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
  athletes = None
  if FLAGS.athletes:
    model = FLAGS.athletes
    if os.path.isdir(model):
      model = os.path.join(model, "export", "tflite", "athlete_float32.tflite")
    athletes = appearance.AthleteFeatures(model)
  extra = " HOTA / IDF1 / IDsw with appearance |" if athletes else ""
  print(f"| camera | player AP@0.5 | HOTA | DetA | AssA | IDF1 | MOTA | IDsw | HOTA without CMC |{extra}")
  print("|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if athletes else ""))
  for camera in recipe.CAMERAS:
    runs = {True: {}, False: {}, "appearance": {}}
    dets, labels = [], []
    for k in range(FLAGS.clips):
      frames, seq = evaluate.synthetic_sequence(camera, k, FLAGS.num_frames)
      for cmc in (True, False) + (("appearance",) if athletes else ()):
        detector = Recording(detectors.CenterNetDetector(path, config))
        result = pipeline.track_frames(iter(frames), detector, seq.fps, cmc=bool(cmc),
                                       athletes=athletes if cmc == "appearance" else None)
        runs[cmc][seq.name] = (seq.gt, result["tracks"], seq.num_frames)
        if cmc:
          dets += detector.frames
          labels += [seq.gt[t][:, 1:] for t in range(seq.num_frames)]
    ap = detection_metrics.average_precision(dets, labels)
    with_cmc = tracking_metrics.evaluate_sequences(runs[True])["COMBINED"]
    without = tracking_metrics.evaluate_sequences(runs[False])["COMBINED"]
    line = (f"| {camera} | {100 * ap:.1f} | {100 * with_cmc['HOTA']:.1f} | "
            f"{100 * with_cmc['DetA']:.1f} | {100 * with_cmc['AssA']:.1f} | "
            f"{100 * with_cmc['IDF1']:.1f} | {100 * with_cmc['MOTA']:.1f} | "
            f"{int(with_cmc['IDSW'])} | {100 * without['HOTA']:.1f} |")
    if athletes:
      a = tracking_metrics.evaluate_sequences(runs["appearance"])["COMBINED"]
      line += f" {100 * a['HOTA']:.1f} / {100 * a['IDF1']:.1f} / {int(a['IDSW'])} |"
    print(line)


if __name__ == "__main__":
  app.run(main)

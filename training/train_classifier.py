r"""Trains the streaming action classifier, evaluates it and exports it.

    python training/train_classifier.py                    # tiny, synthetic actions
    python training/train_classifier.py --preset=base --data=/videos/by_class

Running the same command again resumes from the run directory.
"""

import json
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfsports.trainers import classifier  # noqa: E402
from tfsports.trainers import common  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_enum("preset", "tiny", list(classifier.TRAIN_PRESETS), "Preset.")
flags.DEFINE_string("run_dir", None, "Run directory (default runs/classifier_<preset>).")
flags.DEFINE_integer("train_steps", None, "Training steps (preset default).")
flags.DEFINE_integer("batch_size", None, "Global batch size.")
flags.DEFINE_string("data", "synthetic", "'synthetic', a class-per-folder video dir, or TFRecords.")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker", "tpu"],
                  "tf.distribute strategy.")
flags.DEFINE_integer("seed", 0, "Seed.")


def main(argv):
  del argv
  changes = {k: getattr(FLAGS, k) for k in ("train_steps", "batch_size", "run_dir")
             if getattr(FLAGS, k) is not None}
  config = classifier.ClassifierTrainConfig.preset_config(
      FLAGS.preset, data=FLAGS.data, strategy=FLAGS.strategy, seed=FLAGS.seed, **changes)
  try:
    report = classifier.train_classifier(config)
  except common.NonFiniteLossError as e:
    print(f"error: {e}", file=sys.stderr)
    return 3
  print(f"top-1 on {report['eval']['num_clips']} held-back clips: {report['eval']['top1']:.3f}")
  print("confusion matrix (rows: truth, columns: prediction; "
        + ", ".join(report["eval"]["class_names"]) + ")")
  for row in report["eval"]["confusion_matrix"]:
    print("  " + " ".join(f"{v:4d}" for v in row))
  print(json.dumps({k: {"max_probability_difference": v["max_probability_difference"],
                        "top1_agreement": v["top1_agreement"]}
                    for k, v in report["tflite"].items()}, indent=2))
  for name, path in report["exports"].items():
    print(f"{name}: {path}")
  return 0


if __name__ == "__main__":
  app.run(main)

r"""Exports a trained classifier run: SavedModel (clip + streaming signatures,
TF Serving layout) and streaming TFLite float32/int8.

    python export/export_classifier.py --run_dir=runs/classifier_tiny [--preset=tiny]
"""

import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfsports.actions import recipe as classifier  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "Run directory with checkpoints.")
flags.DEFINE_enum("preset", "tiny", list(classifier.TRAIN_PRESETS), "Preset the run used.")


def main(argv):
  del argv
  config = classifier.ClassifierTrainConfig.from_preset(FLAGS.preset, run_dir=FLAGS.run_dir)
  for name, path in classifier.export_run(config).items():
    print(f"{name}: {path}")


if __name__ == "__main__":
  flags.mark_flag_as_required("run_dir")
  app.run(main)

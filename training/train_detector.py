r"""Trains a tracking detector (CenterNet-style players and ball, or the
TrackNet-style ball detector) on synthetic scenes of every camera type and
the real ball labels, evaluates synthetic and real side by side, exports
SavedModel and float32 / int8 TFLite.

    python training/train_detector.py [--preset=tiny|ball] [--run_dir=runs/detector_tiny]
"""

import json
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfsports.tracking import recipe  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_enum("preset", "tiny", list(recipe.TRAIN_PRESETS), "Preset.")
flags.DEFINE_string("run_dir", None, "Run directory (resumes); the preset's by default.")
flags.DEFINE_integer("train_steps", None, "Training steps (preset default).")
flags.DEFINE_string("real_root", recipe.REAL_ROOT, "Real-data root (../shared/data/real).")
flags.DEFINE_integer("seed", 0, "Seed.")


def main(argv):
  del argv
  changes = {"train_steps": FLAGS.train_steps} if FLAGS.train_steps else {}
  if FLAGS.run_dir:
    changes["run_dir"] = FLAGS.run_dir
  config = recipe.DetectorTrainConfig.from_preset(
      FLAGS.preset, real_root=FLAGS.real_root, seed=FLAGS.seed, **changes)
  try:
    report = recipe.train_detector(config)
  except (FileNotFoundError, ValueError) as e:   # a conflicting run directory
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(json.dumps({k: v for k, v in report.items() if k != "config"}, indent=2))
  return 0


if __name__ == "__main__":
  app.run(main)

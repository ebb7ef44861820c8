r"""Trains athlete recognition (team, jersey number, re-ID embedding) on
player crops from synthetic scenes, evaluates on held-back scenes, exports.

    python training/train_athlete.py [--run_dir=runs/athlete_tiny --train_steps=1500]
"""

import json
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfsports.athletes import recipe as athlete  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_enum("preset", "tiny", list(athlete.TRAIN_PRESETS), "Preset.")
flags.DEFINE_string("run_dir", "runs/athlete_tiny", "Run directory (resumes).")
flags.DEFINE_integer("train_steps", None, "Training steps (preset default).")
flags.DEFINE_integer("seed", 0, "Seed.")


def main(argv):
  del argv
  changes = {"train_steps": FLAGS.train_steps} if FLAGS.train_steps else {}
  config = athlete.AthleteTrainConfig.from_preset(
      FLAGS.preset, run_dir=FLAGS.run_dir, seed=FLAGS.seed, **changes)
  try:
    report = athlete.train_athlete(config)
  except (FileNotFoundError, ValueError) as e:   # a conflicting run directory
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(json.dumps(report["eval"], indent=2))
  for name, path in report["exports"].items():
    print(f"{name}: {path}")
  return 0


if __name__ == "__main__":
  app.run(main)

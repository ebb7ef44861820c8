r"""Trains the trajectory GAN on real tracking data (split by game or shot)
and simulated players, reports forecasting and gap filling on the
held-back data beside the baselines, exports SavedModel and TFLite.

    python training/train_forecast.py [--preset=tiny|base] [--data=TRAJECTORIES_DIR]
        [--run_dir=runs/forecast_tiny] [--strategy=default|mirrored|multi_worker|tpu]

A rerun with the same --run_dir resumes. The tables go to
RUN_DIR/export/report.md, every figure to RUN_DIR/export/eval_report.json.
"""

import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfsports.forecast import recipe  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_enum("preset", "tiny", list(recipe.TRAIN_PRESETS), "Preset.")
flags.DEFINE_string("data", None, "Folder of trajectory files (the shared real trajectories "
                    "by default).")
flags.DEFINE_string("run_dir", None, "Run directory (resumes); the preset's by default.")
flags.DEFINE_string("strategy", "default", "default, mirrored, multi_worker or tpu.")
flags.DEFINE_integer("train_steps", None, "Training steps (preset default).")
flags.DEFINE_integer("seed", 0, "Seed.")


def main(argv):
  del argv
  changes = {k: v for k, v in (("data", FLAGS.data), ("run_dir", FLAGS.run_dir),
                               ("train_steps", FLAGS.train_steps)) if v}
  config = recipe.ForecastTrainConfig.from_preset(FLAGS.preset, strategy=FLAGS.strategy,
                                                  seed=FLAGS.seed, **changes)
  try:
    report = recipe.train_forecast(config)
  except (FileNotFoundError, ValueError) as e:   # bad data, a conflicting run directory
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(recipe.markdown(report))
  return 0


if __name__ == "__main__":
  app.run(main)

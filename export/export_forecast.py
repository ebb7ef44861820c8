r"""Re-evaluates and re-exports a trained trajectory-GAN run with the config
it was trained with (RUN_DIR/config.json): SavedModel (forecast and fill
signatures, TF Serving layout), fixed-shape TFLite, model_info.json and the
report's tables.

    python export/export_forecast.py --run_dir=runs/forecast_tiny [--data=TRAJECTORIES_DIR]
"""

import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfsports.forecast import recipe  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "Run directory with checkpoints and config.json.")
flags.DEFINE_string("data", None, "Trajectories folder to evaluate on (the run's by default).")


def main(argv):
  del argv
  try:
    report = recipe.export_run(FLAGS.run_dir, FLAGS.data)
  except (FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(recipe.markdown(report))
  return 0


if __name__ == "__main__":
  flags.mark_flag_as_required("run_dir")
  app.run(lambda argv: sys.exit(main(argv)))

r"""Re-evaluates and re-exports a trained trajectory-GAN run with the config
it was trained with (RUN_DIR/config.json): SavedModel (forecast and fill
signatures, TF Serving layout), fixed-shape TFLite, model_info.json and the
report's tables.

    python export/export_forecast.py --run_dir=runs/forecast_tiny [--data=TRAJECTORIES_DIR]
"""

import sys

from tfsports import cli

if __name__ == "__main__":
  # The same command as `tfsports export forecast`, with the same flags.
  sys.exit(cli.main([sys.argv[0], "export", "forecast"] + sys.argv[1:]))

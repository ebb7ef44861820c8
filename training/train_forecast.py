r"""Trains the trajectory GAN on real tracking data (split by game or shot)
and simulated players, reports forecasting and gap filling on the
held-back data beside the baselines, exports SavedModel and TFLite.

    python training/train_forecast.py [--preset=tiny|base] [--data=TRAJECTORIES_DIR]
        [--run_dir=runs/forecast_tiny] [--strategy=default|mirrored|multi_worker|tpu]

A rerun with the same --run_dir resumes. The tables go to
RUN_DIR/export/report.md, every figure to RUN_DIR/export/eval_report.json.
"""

import sys

from tfsports import cli

if __name__ == "__main__":
  # The same command as `tfsports train forecast`, with the same flags.
  sys.exit(cli.main([sys.argv[0], "train", "forecast"] + sys.argv[1:]))

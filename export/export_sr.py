r"""Re-exports a trained super-resolution run: SavedModel (TF Serving layout)
and TFLite float32/float16/dynamic/int8, with an evaluation report. The run's
own config (RUN_DIR/config.json: preset, scale, degradation) is used.

    python export/export_sr.py --run_dir=runs/sr_tiny_x4 [--export_height=180 --export_width=320]
"""

import sys

from tfsports import cli

if __name__ == "__main__":
  # The same command as `tfsports export superres`, with the same flags.
  sys.exit(cli.main([sys.argv[0], "export", "superres"] + sys.argv[1:]))

r"""Re-evaluates and re-exports a trained classifier run, with the config it
was trained with (RUN_DIR/config.json: classes, frame rate, window):
SavedModel (clip + streaming signatures, TF Serving layout), streaming
TFLite float32/int8 and model_info.json.

    python export/export_classifier.py --run_dir=runs/classifier_tiny [--eval_data=DIR]
"""

import sys

from tfsports import cli

if __name__ == "__main__":
  # The same command as `tfsports export actions`, with the same flags.
  sys.exit(cli.main([sys.argv[0], "export", "actions"] + sys.argv[1:]))

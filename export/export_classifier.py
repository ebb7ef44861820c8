r"""Re-evaluates and re-exports a trained classifier run, with the config it
was trained with (RUN_DIR/config.json: classes, frame rate, window):
SavedModel (clip + streaming signatures, TF Serving layout), streaming
TFLite float32/int8 and model_info.json.

    python export/export_classifier.py --run_dir=runs/classifier_tiny [--eval_data=DIR]
"""

import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfsports.actions import recipe  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "Run directory with checkpoints and config.json.")
flags.DEFINE_string("eval_data", None, "Class-per-folder directory to evaluate on.")


def main(argv):
  del argv
  try:
    report = recipe.export_run(FLAGS.run_dir, FLAGS.eval_data)
  except (FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  recipe.print_report(report)
  return 0


if __name__ == "__main__":
  flags.mark_flag_as_required("run_dir")
  app.run(lambda argv: sys.exit(main(argv)))

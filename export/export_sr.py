r"""Re-exports a trained super-resolution run: SavedModel (TF Serving layout)
and TFLite float32/float16/dynamic/int8, with an evaluation report. The run's
own config (RUN_DIR/config.json: preset, scale, degradation) is used.

    python export/export_sr.py --run_dir=runs/sr_tiny_x4 [--export_height=180 --export_width=320]
"""

import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfsports.superres import recipe  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "Run directory with checkpoints and config.json.")
flags.DEFINE_integer("export_height", None, "Low-res height of the TFLite models.")
flags.DEFINE_integer("export_width", None, "Low-res width of the TFLite models.")
flags.DEFINE_multi_string("eval_video", [], "Real videos to evaluate on (held out).")


def main(argv):
  del argv
  changes = {}
  if FLAGS.export_height and FLAGS.export_width:
    changes["export_size"] = (FLAGS.export_height, FLAGS.export_width)
  if FLAGS.eval_video:
    changes["real_eval_videos"] = tuple(FLAGS.eval_video)
  try:
    report = recipe.export_run(FLAGS.run_dir, **changes)
  except (FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  for name, path in report["exports"].items():
    print(f"{name}: {path}")
  return 0


if __name__ == "__main__":
  flags.mark_flag_as_required("run_dir")
  app.run(lambda argv: sys.exit(main(argv)))

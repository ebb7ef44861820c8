r"""Exports a trained super-resolution run: SavedModel (TF Serving layout)
and TFLite float32/float16/dynamic/int8, with an evaluation report.

    python export/export_sr.py --run_dir=runs/sr_tiny_x4 [--export_height=180 --export_width=320]
"""

import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfsports.superres import recipe as sr  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "Run directory with checkpoints.")
flags.DEFINE_enum("preset", "tiny", list(sr.TRAIN_PRESETS), "Preset the run used.")
flags.DEFINE_enum("scale", "4", ["1", "2", "4"], "Scale the run used.")
flags.DEFINE_integer("export_height", 180, "Low-res height of the TFLite models.")
flags.DEFINE_integer("export_width", 320, "Low-res width of the TFLite models.")


def main(argv):
  del argv
  config = sr.SRTrainConfig.from_preset(
      FLAGS.preset, run_dir=FLAGS.run_dir, scale=int(FLAGS.scale),
      export_size=(FLAGS.export_height, FLAGS.export_width))
  report = sr.export_run(config)
  for name, path in report["exports"].items():
    print(f"{name}: {path}")


if __name__ == "__main__":
  flags.mark_flag_as_required("run_dir")
  app.run(main)

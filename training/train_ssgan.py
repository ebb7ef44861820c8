r"""Trains the semi-supervised GAN classifier (discriminator = K+1-way video
classifier) with few labels, evaluates it and exports the discriminator
like the classifier.

    python training/train_ssgan.py --labels_per_class=10 --run_dir=runs/ssgan
"""

import dataclasses
import json
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfsports.actions import ssgan  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_enum("preset", "default", ssgan.LabelEfficiencyConfig.preset_names(), "Preset.")
flags.DEFINE_integer("labels_per_class", 10, "Labelled clips per class (0 = all).")
flags.DEFINE_string("run_dir", "runs/ssgan", "Output directory.")
flags.DEFINE_integer("train_steps", None, "Steps.")
flags.DEFINE_integer("seed", 0, "Seed.")


def main(argv):
  del argv
  config = ssgan.LabelEfficiencyConfig.from_preset(FLAGS.preset)
  if FLAGS.train_steps:
    config = dataclasses.replace(config, train_steps=FLAGS.train_steps)
  report = ssgan.train_and_export(config, FLAGS.labels_per_class, FLAGS.run_dir, FLAGS.seed)
  print(json.dumps(report, indent=2))


if __name__ == "__main__":
  app.run(main)

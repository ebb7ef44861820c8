r"""Label efficiency of the semi-supervised GAN classifier against the same
backbone trained supervised on the labelled clips alone.

    python benchmarks/label_efficiency.py [--preset=default] [--train_steps=400]

With 5, 10 and 25 labelled clips per class (the rest of the training pool
unlabelled) and with all labelled; top-1 on held-back clips, mean of the
seeds. Prints one line per run, then the table.
"""

import dataclasses
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags

from tfsports.actions import ssgan

FLAGS = flags.FLAGS
flags.DEFINE_enum("preset", "default", ssgan.LabelEfficiencyConfig.preset_names(), "Experiment preset.")
flags.DEFINE_integer("train_steps", None, "Steps per run.")
flags.DEFINE_list("seeds", None, "Seeds.")


def main(argv):
  del argv
  config = ssgan.LabelEfficiencyConfig.from_preset(FLAGS.preset)
  if FLAGS.train_steps:
    config = dataclasses.replace(config, train_steps=FLAGS.train_steps)
  if FLAGS.seeds:
    config = dataclasses.replace(config, seeds=tuple(int(s) for s in FLAGS.seeds))
  rows = ssgan.label_efficiency(config, log=lambda s: print(s, flush=True))
  print(f"data {config.data}: "
        f"{config.num_train_clips} training clips, {config.num_test_clips} held-back, "
        f"{config.num_frames} frames at {config.image_size[1]}x{config.image_size[0]}, "
        f"{config.train_steps} steps, seeds {list(config.seeds)}")
  print(ssgan.summarise(rows))


if __name__ == "__main__":
  app.run(main)

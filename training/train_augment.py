r"""Trains the class-conditional video GAN on a class-per-folder dataset
(the training part of its file-level split), then evaluates and exports it.

    python training/train_augment.py [--preset=tiny|base] [--data=DIR/<class>/*.mp4]
        [--run_dir=runs/augment_tiny] [--strategy=default|mirrored|multi_worker|tpu]
        [--train_steps=N] [--classifier=CLASSIFIER_RUN_DIR]

A rerun with the same --run_dir resumes.
"""

import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfsports.augment import recipe  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_enum("preset", "tiny", list(recipe.TRAIN_PRESETS), "Preset.")
flags.DEFINE_string("data", None, "Class-per-folder video dataset (the shared basketball "
                    "actions by default).")
flags.DEFINE_string("run_dir", None, "Run directory (resumes); the preset's by default.")
flags.DEFINE_string("strategy", "default", "default, mirrored, multi_worker or tpu.")
flags.DEFINE_integer("train_steps", None, "Training steps (preset default).")
flags.DEFINE_integer("seed", 0, "Seed.")
flags.DEFINE_float("fps", None, "Frame rate the clips are sampled at (default: the data's); "
                   "num_frames frames should span an action.")
flags.DEFINE_string("classifier", None, "A real-only action classifier run on the same data "
                    "(training/train_classifier.py --preset=footage), for the Fréchet/KID "
                    "features and the conditioning accuracy; trained into RUN_DIR/classifier "
                    "if not given.")


def main(argv):
  del argv
  changes = {k: v for k, v in (("data", FLAGS.data), ("run_dir", FLAGS.run_dir),
                               ("train_steps", FLAGS.train_steps), ("fps", FLAGS.fps))
             if v}
  config = recipe.AugmentTrainConfig.from_preset(FLAGS.preset, strategy=FLAGS.strategy,
                                                 seed=FLAGS.seed, **changes)
  try:
    report = recipe.train_augment(config, FLAGS.classifier)
  except (FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(recipe.summary(report))
  return 0


if __name__ == "__main__":
  app.run(main)

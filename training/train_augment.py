r"""Trains the class-conditional video GAN on a class-per-folder dataset
(the training part of its file-level split), then evaluates and exports it.

    python training/train_augment.py [--preset=tiny|base] [--data=DIR/<class>/*.mp4]
        [--run_dir=runs/augment_tiny] [--strategy=default|mirrored|multi_worker|tpu]
        [--train_steps=N] [--classifier=CLASSIFIER_RUN_DIR]

A rerun with the same --run_dir resumes.
"""

import sys

from tfsports import cli

if __name__ == "__main__":
  # The same command as `tfsports train augment`, with the same flags.
  sys.exit(cli.main([sys.argv[0], "train", "augment"] + sys.argv[1:]))

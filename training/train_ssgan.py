r"""Trains the semi-supervised GAN classifier (discriminator = K+1-way video
classifier) with few labels, evaluates it and exports the discriminator
like the classifier.

    python training/train_ssgan.py --labels_per_class=10 --run_dir=runs/ssgan
"""

import sys

from tfsports import cli

if __name__ == "__main__":
  # The same command as `tfsports train ssgan`, with the same flags.
  sys.exit(cli.main([sys.argv[0], "train", "ssgan"] + sys.argv[1:]))

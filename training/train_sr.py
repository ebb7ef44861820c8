r"""Trains the video super-resolution GAN, evaluates it and exports it.

    python training/train_sr.py          # tiny x4 on synthetic scenes + ../shared real footage
    python training/train_sr.py --preset=base --scale=2 --data=/videos \
        --run_dir=runs/base_x2 --strategy=mirrored

Running the same command again resumes from the run directory.
"""

import sys

from tfsports import cli

if __name__ == "__main__":
  # The same command as `tfsports train superres`, with the same flags.
  sys.exit(cli.main([sys.argv[0], "train", "superres"] + sys.argv[1:]))

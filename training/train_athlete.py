r"""Trains athlete recognition (team, jersey number, re-ID embedding) on
player crops from synthetic scenes, evaluates on held-back scenes, exports.

    python training/train_athlete.py [--run_dir=runs/athlete_tiny --train_steps=1500]
"""

import sys

from tfsports import cli

if __name__ == "__main__":
  # The same command as `tfsports train athletes`, with the same flags.
  sys.exit(cli.main([sys.argv[0], "train", "athletes"] + sys.argv[1:]))

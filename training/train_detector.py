r"""Trains a tracking detector (CenterNet-style players and ball, or the
TrackNet-style ball detector) on synthetic scenes of every camera type and
the real ball labels, evaluates synthetic and real side by side, exports
SavedModel and float32 / int8 TFLite.

    python training/train_detector.py [--preset=tiny|ball] [--run_dir=runs/detector_tiny]
"""

import sys

from tfsports import cli

if __name__ == "__main__":
  # The same command as `tfsports train detector`, with the same flags.
  sys.exit(cli.main([sys.argv[0], "train", "detector"] + sys.argv[1:]))

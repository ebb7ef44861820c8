r"""Trains the streaming action classifier, evaluates it on held-back files
and exports it.

    python training/train_classifier.py                    # tiny, synthetic actions
    python training/train_classifier.py --preset=footage \
        --data=/videos/by_class --run_dir=runs/my_actions  # DIR/<class>/*.mp4

Running the same command again resumes from the run directory.
"""

import sys

from tfsports import cli

if __name__ == "__main__":
  # The same command as `tfsports train actions`, with the same flags.
  sys.exit(cli.main([sys.argv[0], "train", "actions"] + sys.argv[1:]))

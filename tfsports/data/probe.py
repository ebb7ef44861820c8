"""Prints one JSON object per video file: container, codec, size, fps, frames.

    tfsports probe FILE...

A file that cannot be read gets a one-line error on stderr naming it; the
other files are still probed, and the exit status is 2 at the end.
"""

import json
import sys

from tfsports.data import video_io


def define_flags():
  """No flags of its own."""


def main(argv):
  """argv: [program, FILE...]."""
  paths = argv[1:]
  if not paths:
    print("usage: tfsports probe FILE...", file=sys.stderr)
    return 2
  status = 0
  for path in paths:
    try:
      info = video_io.probe(path)
    except video_io.VideoReadError as e:
      print(f"error: {e}", file=sys.stderr)
      status = 2
      continue
    print(json.dumps(info.to_dict()), flush=True)
  return status

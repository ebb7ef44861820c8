"""Prints one JSON object per video file: container, codec, size, fps, frames.

    python -m tfsports.data.probe FILE...

A file that cannot be read gets a one-line error on stderr naming it; the
other files are still probed, and the exit status is 2 at the end.
"""

import json
import sys

from tfsports.data import video_io


def main(argv=None):
  paths = sys.argv[1:] if argv is None else argv
  if not paths:
    print("usage: python -m tfsports.data.probe FILE...", file=sys.stderr)
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


if __name__ == "__main__":
  sys.exit(main())

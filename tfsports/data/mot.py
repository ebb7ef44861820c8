"""MOT Challenge box files (`gt.txt`, tracker output): the boxes a tracker
writes and athlete recognition reads.

Each line: `frame, id, x, y, w, h[, conf, ...]` with 1-based frames and
pixel boxes (x, y the top-left corner); extra columns are ignored.
"""

import collections

import numpy as np

from tfsports import errors


class MOTFormatError(errors.UserError):
  """A MOT file that cannot be read; names the file and the line."""


def read_mot(path, with_score=False):
  """{frame index (0-based): float32 [N, 5] rows of (id, x, y, w, h)}, or
  with `with_score` [N, 6] rows of (id, x, y, w, h, score): the 7th column,
  1 where absent (a detections file's confidence).

  Raises MOTFormatError naming the line for a line that is not MOT, a box
  of negative size, or a frame before 1; FileNotFoundError if missing.
  """
  rows = collections.defaultdict(list)
  with open(path) as f:
    for number, line in enumerate(f, 1):
      line = line.strip()
      if not line or line.startswith("#"):
        continue
      parts = [p.strip() for p in line.split(",")]
      try:
        frame, track, x, y, w, h = (float(v) for v in parts[:6])
      except ValueError:
        raise MOTFormatError(f"{path}:{number}: expected 'frame, id, x, y, w, h, ...', "
                             f"got {line[:60]!r}") from None
      if len(parts) < 6:
        raise MOTFormatError(f"{path}:{number}: expected at least 6 columns")
      if frame < 1 or w < 0 or h < 0:
        raise MOTFormatError(f"{path}:{number}: frame must be >= 1 and sizes >= 0")
      row = (track, x, y, w, h)
      if with_score:
        try:
          score = float(parts[6]) if len(parts) > 6 and parts[6] else 1.0
        except ValueError:
          raise MOTFormatError(f"{path}:{number}: the confidence {parts[6]!r} is not a "
                               "number") from None
        row += (score,)
      rows[int(frame) - 1].append(row)
  if not rows:
    raise MOTFormatError(f"{path}: no boxes")
  return {t: np.asarray(r, np.float32) for t, r in sorted(rows.items())}


def write_mot(path, boxes):
  """Writes {frame index: [N, 5] (id, x, y, w, h)} as MOT lines (conf 1)."""
  with open(path, "w") as f:
    for t in sorted(boxes):
      for track, x, y, w, h in np.asarray(boxes[t]).reshape(-1, 5):
        f.write(f"{t + 1},{int(track)},{x:.2f},{y:.2f},{w:.2f},{h:.2f},1,-1,-1,-1\n")

r"""Tracks players from a detections file, with motion and IoU alone.

    tfsports track --detections=DETS.txt --fps=25 --out=DIR

DETS.txt is MOT Challenge text (`frame, -1, x, y, w, h, confidence, ...`),
from any outside detector; DIR/tracks.txt is written in the same format
with track ids. A bad detections file gets a one-line error and exit
status 2; the output appears only when the whole file was tracked.
"""

import os
import sys

from absl import flags

FLAGS = flags.FLAGS


def define_flags():
  flags.DEFINE_string("detections", None, "MOT-format detections file.")
  flags.DEFINE_float("fps", 25.0, "Frame rate of the detections (sets how long a lost "
                     "track is kept).")
  flags.DEFINE_string("out", None, "Output directory.")
  flags.DEFINE_string("preset", "default", "Tracker preset.")


def track_file(detections_path, out_dir, fps=25.0, preset="default"):
  """Tracks a MOT detections file into OUT_DIR/tracks.txt; returns
  (path, number of tracks, number of frames)."""
  from tfsports.data import mot
  from tfsports.tracking import tracker as tracker_lib
  config = tracker_lib.TrackerConfig.from_preset(preset)
  rows = mot.read_mot(detections_path, with_score=True)
  detections = {t: r[:, 1:] for t, r in rows.items()}
  tracks = tracker_lib.track_detections(detections, config=config, fps=fps)
  os.makedirs(out_dir, exist_ok=True)
  path = os.path.join(out_dir, "tracks.txt")
  partial = path + ".partial"
  mot.write_mot(partial, tracks)
  os.replace(partial, path)
  ids = {int(i) for r in tracks.values() for i in r[:, 0]}
  return path, len(ids), max(rows) + 1


def main(argv):
  from tfsports.data import mot
  if len(argv) > 1 or not FLAGS.detections or not FLAGS.out:
    print("usage: tfsports track --detections=DETS.txt --fps=25 --out=DIR "
          "(tracking from video needs a detector, which is not built yet)", file=sys.stderr)
    return 2
  try:
    path, num_tracks, num_frames = track_file(FLAGS.detections, FLAGS.out, FLAGS.fps,
                                              FLAGS.preset)
  except (mot.MOTFormatError, FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(f"wrote {num_tracks} tracks over {num_frames} frames to {path}")
  return 0

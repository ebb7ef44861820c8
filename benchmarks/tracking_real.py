r"""`tfsports track` end to end on real footage: the handball panorama
(static, 6243x1080), the gym clip (handheld, 426x240) and a tennis
broadcast clip never trained on. Prints the tracks found, the people
tracked per frame, the mean track length and the speed, and writes one
annotated frame of each to docs/tracking_<name>.png. Then scores the ball
that the command reports on the held-back TrackNet-format frames.

    python benchmarks/tracking_real.py [--model=tiny] [--real=../shared/data/real]
"""

import csv
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import cv2
import numpy as np

from tfsports.data import video_io
from tfsports.tracking import command as track_command

flags.DEFINE_string("real", os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                         "data", "real"), "Real-data root.")
flags.DEFINE_string("model", "tiny", "CenterNet model (preset, run directory or path).")
flags.DEFINE_string("tag", "", "Suffix of the annotated frames' names (tracking_NAME_TAG.png).")
flags.DEFINE_string("docs", os.path.join(os.path.dirname(__file__), "..", "docs"),
                    "Where the annotated frames go.")
FLAGS = flags.FLAGS

# (name, file, detector, frame shown, width shown)
CLIPS = (
    ("handball", "compressed-handball_sideview.mp4", "centernet", 150, 1600),
    ("handball_background", "compressed-handball_sideview.mp4", "background", 150, 1600),
    ("gym", "basketball_gym.mp4", "centernet", 150, 640),
    ("tennis", "tennis_broadcast_6.mp4", "centernet", 60, 960),
    ("tennis3", "tennis_broadcast_3.mp4", "centernet", 60, 960),
)


def main(argv):
  del argv
  print(f"model: {FLAGS.model}\n")
  print("| clip | detector | frames | detections per frame | tracks | tracked per frame | "
        "mean track length (frames) | ball found (frames) | frames/s (tracking pass) |")
  print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
  for name, file, detector, shown, width in CLIPS:
    path = os.path.join(FLAGS.real, "video", file)
    with tempfile.TemporaryDirectory() as tmp:
      s = track_command.track_video_file(path, tmp, detector=detector, model=FLAGS.model,
                                         progress=None)
      frame = video_io.read_frames(os.path.join(tmp, "annotated.mp4"))[shown]
    frame = cv2.resize(frame, (width, round(frame.shape[0] * width / frame.shape[1])),
                       interpolation=cv2.INTER_AREA)
    tag = f"_{FLAGS.tag}" if FLAGS.tag else ""
    cv2.imwrite(os.path.join(FLAGS.docs, f"tracking_{name}{tag}.png"),
                cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    print(f"| {file} | {detector} | {s['num_frames']} | "
          f"{s['num_detections'] / max(s['num_frames'], 1):.1f} | {s['num_tracks']} | "
          f"{s['mean_tracked_per_frame']:.1f} | {s['mean_track_length']:.0f} | "
          f"{s['ball_frames']} | {s['fps']:.1f} |")
  ball_through_the_command()


def ball_through_the_command():
  """The ball on the TrackNet-format clip's held-back frames 140-275, scored
  from the ball.csv that the `tfsports track` command writes (its own
  thresholds and ball track), the two frames before them included so the
  three-frame detector sees them as it would streaming."""
  from tfsports.metrics import detection as detection_metrics
  from tfsports.tracking import recipe
  video, visible, xy = recipe.read_tracknet(FLAGS.real)
  first = recipe.TRACKNET_HELD_BACK[0] - 2
  held = list(recipe.TRACKNET_HELD_BACK)
  with tempfile.TemporaryDirectory() as tmp:
    clip = os.path.join(tmp, "held_back.mp4")
    video_io.write_video(clip, video[first:], fps=30, lossless=True)
    proc = subprocess.run([sys.executable, "-m", "tfsports", "track", clip,
                           f"--out={tmp}", "--noannotate", f"--model={FLAGS.model}"],
                          capture_output=True, text=True)
    if proc.returncode:
      raise RuntimeError(proc.stderr[-2000:])
    predicted = np.full((len(held), 2), np.nan)
    with open(os.path.join(tmp, "ball.csv")) as f:
      for row in csv.DictReader(f):
        i = int(row["frame"]) - 1 + first - held[0]
        if 0 <= i < len(held):
          predicted[i] = float(row["x"]), float(row["y"])
  s = detection_metrics.ball_scores(predicted, visible[held], xy[held])
  print(f"\nBall through `tfsports track` (ball.csv), TrackNet-format frames 140-275: "
        f"precision {s['precision']:.2f}, recall {s['recall']:.2f}, F1 {s['f1']:.2f} "
        f"(TP {s['tp']}, FP {s['fp']}, FN {s['fn']}, TN {s['tn']})")


if __name__ == "__main__":
  app.run(main)

r"""Tracking speed on this machine: detector milliseconds per 720p frame
(resize, model and decoding) for each export, 2 TFLite threads; the
tracker alone; and `tfsports track` end to end on a real 720p file.

    python benchmarks/tracking_speed.py [--real=../shared/data/real]
"""

import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags

from tfsports.data import video_io
from tfsports.tracking import command as track_command
from tfsports.tracking import detectors
from tfsports.tracking import evaluate
from tfsports.tracking import tracker as tracker_lib

flags.DEFINE_string("real", os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                         "data", "real"), "Real-data root.")
flags.DEFINE_integer("frames", 60, "Frames timed per detector.")
FLAGS = flags.FLAGS


def time_detector(detector, frames):
  for f in frames[:3]:
    detector(f)                  # warm-up
  start = time.perf_counter()
  for f in frames:
    detector(f)
  return 1000 * (time.perf_counter() - start) / len(frames)


def main(argv):
  del argv
  video = os.path.join(FLAGS.real, "ball", "tennis_tracknet_game1_clip1", "frames.mp4")
  frames = video_io.read_frames(video)[:FLAGS.frames]
  print(f"cores: {os.cpu_count()}; {len(frames)} real 1280x720 frames (TrackNet clip)\n")
  print("| detector | export | ms/frame at 720p | frames/s |")
  print("|---|---|---:|---:|")
  for preset in ("tiny", "ball"):
    path, config = track_command.resolve_model(preset)
    folder = os.path.dirname(path)
    exports = {"TFLite float32": path,
               "TFLite int8": os.path.join(folder, "detector_int8.tflite"),
               "SavedModel": os.path.join(folder, "saved_model", "detector", "1")}
    for name, model in exports.items():
      if not os.path.exists(model):
        continue
      ms = time_detector(detectors.CenterNetDetector(model, config), frames)
      print(f"| {preset} ({config.image_size[1]}x{config.image_size[0]}, "
            f"{config.num_frames} frame{'s' if config.num_frames > 1 else ''}) | {name} | "
            f"{ms:.1f} | {1000 / ms:.0f} |")
  ms = time_detector(detectors.BackgroundDetector(), frames)
  print(f"| background (MOG2) | OpenCV | {ms:.1f} | {1000 / ms:.0f} |")
  seq = evaluate.load_sportsmot(os.path.join(FLAGS.real, "tracking", "sportsmot_val"))[0]
  dets = evaluate.perturb(seq)
  start = time.perf_counter()
  tracker_lib.track_detections(dets, seq.num_frames, fps=seq.fps)
  fps = seq.num_frames / (time.perf_counter() - start)
  print(f"\ntracker alone ({seq.name}, perturbed oracle): {fps:.0f} frames/s")
  with tempfile.TemporaryDirectory() as tmp:
    for annotate in (False, True):
      start = time.perf_counter()
      summary = track_command.track_video_file(video, tmp, annotate=annotate, progress=None)
      total = time.perf_counter() - start
      print(f"tfsports track (centernet tiny + ball, CMC{', annotated video' if annotate else ''})"
            f": {summary['num_frames'] / total:.1f} frames/s end to end on the 720p file "
            f"(tracking pass {summary['fps']:.1f} frames/s)")


if __name__ == "__main__":
  app.run(main)

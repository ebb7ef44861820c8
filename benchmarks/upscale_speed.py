r"""`tfsports upscale` end to end (decode, model, encode) against the model
alone, in frames/s, for the SavedModel and the TFLite variants; one run.

    python benchmarks/upscale_speed.py [--frames=48 --threads=2]

Rows, for each x4 preset of --presets: 180x320 -> 720x1280 (the TFLite
models' own input shape) and 270x480 -> 1080x1920; for each x2 preset:
180x320 -> 360x640 and 540x960 -> 1080x1920 (540p broadcast to 1080p). Other
sizes than the TFLite models' run in tiles (the SavedModel takes the whole
frame). The input is real
footage (a training video, resized to the input size). "model alone" runs
the same runner on windows already in memory; "decode + encode" is the
command's I/O with no model (each frame written as given, resized).
"""

import os
import re
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import cv2

from tfsports.data import video_io
from tfsports.serving import runners
from tfsports.superres import command
from tfsports.superres import recipe

FLAGS = flags.FLAGS
flags.DEFINE_integer("frames", 48, "Frames per timed video.")
flags.DEFINE_integer("threads", 2, "TFLite threads.")
flags.DEFINE_string("source", recipe.REAL_TRAIN[0], "Real video the inputs are made from.")
flags.DEFINE_list("presets", ["rep_x4", "broadcast_x2", "tiny_x4"], "Bundled presets.")

SIZES = {4: ((180, 320), (270, 480)), 2: ((180, 320), (540, 960))}


def _load(model, size, threads):
  runner = runners.load_runner(model, num_threads=threads)
  if None not in runner.input_size and tuple(size) != runner.input_size:
    runner = runners.TiledRunner(runner)
  return runner


def _model_alone(runner, frames):
  windows = list(runners.iter_windows(iter(frames), runner.window))
  runner(windows[0])
  start = time.perf_counter()
  for w in windows:
    runner(w)
  return len(windows) / (time.perf_counter() - start)


def _io_only(src, out, scale):
  start = time.perf_counter()
  with video_io.VideoWriter(out, fps=30) as writer:
    for f in video_io.iter_frames(src):
      writer.write(cv2.resize(f, (f.shape[1] * scale, f.shape[0] * scale),
                              interpolation=cv2.INTER_NEAREST))
  return writer.num_frames / (time.perf_counter() - start)


def main(argv):
  del argv
  source = video_io.read_clip(FLAGS.source, FLAGS.frames)
  print(f"cores: {os.cpu_count()}, TFLite threads: {FLAGS.threads}, {FLAGS.frames} frames")
  print("| model | input -> output | form | end to end fps | model alone fps | ratio |")
  print("|---|---|---|---:|---:|---:|")
  with tempfile.TemporaryDirectory() as tmp:
    scale_of = lambda name: int(re.search(r"x(\d)", name).group(1))
    cases = [(p, size) for p in FLAGS.presets for size in SIZES[scale_of(p)]]
    for preset, (h, w) in cases:
      src = os.path.join(tmp, f"in_{h}x{w}.mp4")
      video_io.write_video(src, (cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA)
                                 for f in source), fps=30)
      frames = video_io.read_frames(src)
      scale = int(preset[-1])
      io_fps = _io_only(src, os.path.join(tmp, "io.mp4"), scale)
      directory = command.list_presets()[preset]
      forms = {"SavedModel": os.path.join(directory, "saved_model")}
      for variant in ("float32", "int8"):
        forms[f"TFLite {variant}"] = os.path.join(directory, "tflite", f"{variant}.tflite")
      for form, model in forms.items():
        runner = _load(model, (h, w), FLAGS.threads)
        alone = _model_alone(runner, frames)     # also warms the runner up
        start = time.perf_counter()
        n = command.upscale_video(src, os.path.join(tmp, "out.mp4"), runner)
        e2e = n / (time.perf_counter() - start)
        print(f"| {preset} | {h}x{w} -> {h * scale}x{w * scale} | {form} | {e2e:.1f} | "
              f"{alone:.1f} | {e2e / alone:.2f} |")
      print(f"| (no model) | {h}x{w} -> {h * scale}x{w * scale} | decode + encode | "
            f"{io_fps:.1f} | | |")


if __name__ == "__main__":
  app.run(main)

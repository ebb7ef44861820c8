r"""The detector on real labelled frames it never saw, and its speed at 1080p.

    python benchmarks/detection_real.py [--model=real] [--exports=saved_model,int8]

Accuracy, per export: person COCO AP50 / AP50:95 (pycocotools), precision
and recall at the drawing threshold (0.3), and boxes per image against the
labels, on the held-back DFL Bundesliga games and on volleyball (never
trained on); ball AP50 and AP by the centre criterion (1% of the image
diagonal). Speed: milliseconds per full 1920x1080 frame, JPEG decoding and
tiling included, 2 TFLite threads.
"""

import dataclasses
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import cv2

from tfsports.serving import loader
from tfsports.tracking import command as track_command
from tfsports.tracking import detectors
from tfsports.tracking import labelled
from tfsports.tracking import recipe

flags.DEFINE_string("model", "real", "A detector preset, run directory or export.")
flags.DEFINE_list("exports", ["saved_model", "int8"], "saved_model, float32, int8.")
flags.DEFINE_integer("eval_images", 0, "At most this many images per part (0: all).")
flags.DEFINE_integer("frames", 20, "1080p frames timed per export.")
FLAGS = flags.FLAGS


def export_paths(model):
  """{export name: path} of a detector's SavedModel and TFLite files."""
  located = loader.locate("detector", model, prefer="tflite")
  folder = os.path.dirname(located.path)
  roots = [folder, os.path.dirname(folder)]
  out = {}
  for root in roots:
    for name, sub in (("saved_model", os.path.join("saved_model", "detector", "1")),
                      ("float32", "detector_float32.tflite"),
                      ("float32", os.path.join("tflite", "detector_float32.tflite")),
                      ("int8", "detector_int8.tflite"),
                      ("int8", os.path.join("tflite", "detector_int8.tflite"))):
      if name not in out and os.path.exists(os.path.join(root, sub)):
        out[name] = os.path.join(root, sub)
  return out, track_command.detector_config_of(located)


def fmt(x):
  return "-" if x is None else f"{x:.3f}"


def main(argv):
  del argv
  paths, model_config = export_paths(FLAGS.model)
  config = dataclasses.replace(recipe.DetectorTrainConfig.from_preset("real"),
                               eval_images=FLAGS.eval_images)
  held = labelled.held_back(config)
  print(f"model {FLAGS.model}: {model_config.image_size[1]}x{model_config.image_size[0]} input, "
        f"{model_config.tile_rows} tile rows; cores: {os.cpu_count()}; "
        f"{time.strftime('%Y-%m-%d')}\n")
  print("| export | real set | images | person AP50 | AP50:95 | P / R @0.3 | boxes/labels "
        "per image @0.3 | ball AP50 | ball AP (centre 1%) |")
  print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
  for name in FLAGS.exports:
    if name not in paths:
      print(f"| {name} | (no such export) |")
      continue
    report = labelled.evaluate(paths[name], model_config, config)
    for part, entry in report.items():
      p, b = entry.get("person"), entry.get("ball")
      pr = (f"{p['at_threshold']['precision']:.2f} / {p['at_threshold']['recall']:.2f}"
            if p else "-")
      counts = (f"{p['per_image_detections_at_threshold']:.1f} / {p['per_image_labels']:.1f}"
                if p else "-")
      print(f"| {name} | {part} | {entry['images']} | {fmt(p and p['ap50'])} | "
            f"{fmt(p and p['ap50_95'])} | {pr} | {counts} | {fmt(b and b['ap50'])} | "
            f"{fmt(b and b['centre']['ap'])} |")
  items = next(v for k, v in held.items() if k.startswith("soccer_dfl_players"))
  files = [i.path for i in items[:FLAGS.frames]]
  print("\n| export | ms per 1920x1080 frame (decode + tiles + model + decoding) | frames/s |")
  print("|---|---:|---:|")
  for name in FLAGS.exports:
    if name not in paths:
      continue
    detector = detectors.CenterNetDetector(paths[name], model_config, threshold=0.05,
                                           num_threads=2)
    detector(cv2.cvtColor(cv2.imread(files[0]), cv2.COLOR_BGR2RGB))          # warm-up
    start = time.perf_counter()
    for path in files:
      detector.windows = {}
      detector(cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB))
    ms = 1000 * (time.perf_counter() - start) / len(files)
    print(f"| {name} | {ms:.1f} | {1000 / ms:.1f} |")


if __name__ == "__main__":
  app.run(main)

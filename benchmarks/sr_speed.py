r"""Super-resolution speed, all in one run on this machine: each bundled
preset's SavedModel and TFLite variants (180x320 in) in ms/frame through
the runner with XNNPACK on 2 threads, int8 against float32; compute against
a matrix multiply timed in the same run; training steps/s of the training
presets with and without --jit_compile.

    python benchmarks/sr_speed.py [--presets=rep_x4,tiny_x4 --train_presets=rep]
"""

import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from tfsports.serving import runners
from tfsports.superres import recipe as sr

FLAGS = flags.FLAGS
flags.DEFINE_list("presets", ["rep_x4", "broadcast_x2", "tiny_x4", "tiny_x2"],
                  "Bundled presets to time.")
flags.DEFINE_list("train_presets", ["rep", "tiny"], "Training presets to time steps of.")
flags.DEFINE_integer("frames", 20, "Timed frames.")


def _time(fn, n):
  fn()
  start = time.perf_counter()
  for _ in range(n):
    fn()
  return (time.perf_counter() - start) / n


def model_flops(tflite_path):
  """Multiply-adds x 2 of a TFLite model's convolutions at its own input
  size (the folded model for "rep" presets)."""
  from tfsports.serving import interpreters
  interpreter = interpreters.load_interpreter(tflite_path)
  shapes = {t["index"]: t["shape"] for t in interpreter.get_tensor_details()}
  flops = 0
  for op in interpreter._get_ops_details():
    if op["op_name"] == "CONV_2D":
      cout, kh, kw, cin = (int(d) for d in shapes[op["inputs"][1]])
      _, h, w, _ = (int(d) for d in shapes[op["outputs"][0]])
      flops += 2 * kh * kw * cin * cout * h * w
  return flops


def _preset_rows(name, model_dir, window):
  saved = runners.load_runner(os.path.join(model_dir, "saved_model"))
  t_saved = _time(lambda: saved(window), FLAGS.frames)
  t = {}
  for variant in ("float32", "float16", "dynamic", "int8"):
    path = os.path.join(model_dir, "tflite", f"{variant}.tflite")
    if os.path.exists(path):
      lite = runners.load_runner(path, 2)
      t[variant] = _time(lambda: lite(window), FLAGS.frames)
  gflop = model_flops(os.path.join(model_dir, "tflite", "float32.tflite")) / 1e9
  rows = [f"| {name} | SavedModel (TF, oneDNN) | {t_saved * 1e3:.1f} | {1 / t_saved:.1f} | |"]
  for variant, seconds in t.items():
    ratio = f"{t['float32'] / seconds:.2f}x" if "float32" in t else ""
    rows.append(f"| {name} | TFLite {variant} | {seconds * 1e3:.1f} | {1 / seconds:.1f} | "
                f"{ratio} |")
  return rows, gflop, t.get("float32")


def main(argv):
  del argv
  window = np.random.default_rng(0).integers(0, 255, (3, 180, 320, 3), np.uint8)
  from tfsports.superres import command
  presets = command.list_presets()
  a = tf.random.normal([1024, 1024])
  matmul = tf.function(lambda x: tf.matmul(x, x))
  t_mm = _time(lambda: matmul(a).numpy(), 20)
  mm_gflops = 2 * 1024**3 / t_mm / 1e9
  print(f"cores: {os.cpu_count()}; 180x320 input, through the runner, XNNPACK 2 threads")
  print("| preset | form | ms/frame | fps | vs TFLite float32 |")
  print("|---|---|---:|---:|---:|")
  compute = []
  for name in FLAGS.presets:
    rows, gflop, t_float = _preset_rows(name, presets[name], window)
    print("\n".join(rows))
    compute.append((name, gflop, t_float))
  for name, gflop, t_float in compute:
    print(f"{name}: {gflop:.2f} GFLOP/frame; TFLite float32 {gflop / t_float:.1f} GFLOP/s = "
          f"{100 * gflop / t_float / mm_gflops:.0f}% of a 1024^3 TF matmul "
          f"({mm_gflops:.0f} GFLOP/s) in the same run")
  for preset in FLAGS.train_presets:
    for jit in (False, True):
      with tempfile.TemporaryDirectory() as tmp:
        cfg = sr.SRTrainConfig.from_preset(preset, run_dir=tmp, train_steps=60,
                                           warmup_steps=30, checkpoint_every=30,
                                           jit_compile=jit, verbose=0)
        t = sr.train(cfg).status["timings"]
        print(f"training steps/s, {preset}, jit_compile={jit} (warm-up / adversarial, "
              f"incl. tracing): {t['warmup']['steps'] / t['warmup']['seconds']:.2f} / "
              f"{t['adversarial']['steps'] / t['adversarial']['seconds']:.2f}")


if __name__ == "__main__":
  app.run(main)

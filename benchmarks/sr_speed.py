r"""Super-resolution speed, all in one run on this machine:
TFLite tiny x4 (180x320 in) ms/frame with XNNPACK on 2 threads, against the
SavedModel and against a matrix multiply timed in the same run; training
steps/s with and without --jit_compile.

    python benchmarks/sr_speed.py [--model_dir=tfsports/superres/presets/tiny_x4]
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
flags.DEFINE_string("model_dir", os.path.join(os.path.dirname(__file__), "..", "tfsports",
                                              "superres", "presets", "tiny_x4"),
                    "Preset directory.")
flags.DEFINE_integer("frames", 20, "Timed frames.")


def _time(fn, n):
  fn()
  start = time.perf_counter()
  for _ in range(n):
    fn()
  return (time.perf_counter() - start) / n


def model_flops(h, w, filters=16, blocks=2, window=3, scale=4):
  """Multiply-adds x 2 of the tiny generator's convolutions, bilinear base
  included (a 3 -> 3*s*s 3x3 conv)."""
  px = h * w
  conv = lambda cin, cout: 2 * 9 * cin * cout * px
  return (conv(3 * window, filters) + 2 * blocks * conv(filters, filters)
          + conv(filters, filters) + conv(filters, 3 * scale * scale)
          + conv(3, 3 * scale * scale))


def main(argv):
  del argv
  window = np.random.default_rng(0).integers(0, 255, (3, 180, 320, 3), np.uint8)
  saved = runners.load_runner(os.path.join(FLAGS.model_dir, "saved_model"))
  t_saved = _time(lambda: saved(window), FLAGS.frames)
  t_variants = {}
  for variant in ("float32", "float16", "dynamic", "int8"):
    lite = runners.load_runner(os.path.join(FLAGS.model_dir, "tflite", f"{variant}.tflite"), 2)
    t_variants[variant] = _time(lambda: lite(window), FLAGS.frames)
  t_lite = t_variants["float32"]
  a = tf.random.normal([1024, 1024])
  matmul = tf.function(lambda x: tf.matmul(x, x))
  t_mm = _time(lambda: matmul(a).numpy(), 20)
  mm_gflops = 2 * 1024**3 / t_mm / 1e9
  gflop = model_flops(180, 320) / 1e9
  print(f"cores: {os.cpu_count()}")
  print("| measure | value |")
  print("|---|---:|")
  print(f"| TFLite float32 tiny x4, 180x320 -> 720x1280, XNNPACK 2 threads | {t_lite * 1e3:.1f} ms/frame ({1 / t_lite:.1f} fps) |")
  print(f"| SavedModel, same input | {t_saved * 1e3:.1f} ms/frame |")
  print(f"| TFLite speed-up over SavedModel | {t_saved / t_lite:.2f}x (target >= 2) |")
  for variant in ("float16", "dynamic", "int8"):
    t = t_variants[variant]
    print(f"| TFLite {variant}, same input | {t * 1e3:.1f} ms/frame ({t_saved / t:.2f}x SavedModel) |")
  print(f"| model compute | {gflop:.2f} GFLOP/frame |")
  print(f"| TFLite GFLOP/s vs 1024^3 matmul ({mm_gflops:.0f} GFLOP/s, TF) | {gflop / t_lite:.1f} GFLOP/s = {100 * gflop / t_lite / mm_gflops:.0f}% (target >= 40%) |")
  for jit in (False, True):
    with tempfile.TemporaryDirectory() as tmp:
      cfg = sr.SRTrainConfig.from_preset("tiny", run_dir=tmp, train_steps=60, warmup_steps=30,
                                           checkpoint_every=30, jit_compile=jit, verbose=0)
      status = sr.train(cfg).status
      t = status["timings"]
      print(f"| training steps/s, jit_compile={jit} (warm-up / adversarial, incl. tracing) | "
            f"{t['warmup']['steps'] / t['warmup']['seconds']:.2f} / "
            f"{t['adversarial']['steps'] / t['adversarial']['seconds']:.2f} |")


if __name__ == "__main__":
  app.run(main)

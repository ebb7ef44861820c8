r"""Width and depth of the "rep" super-resolution generator against its
speed at the edge: for each FILTERSxBLOCKS, the folded model at 180x320 in
(x4 -> 720x1280, or --scale=2) as TFLite float32 and int8 through the runner
(stacked input, XNNPACK, 2 threads), median ms/frame; one run, so the
ratios are taken under the same load. Weights are a seeded initialisation
(speed does not depend on their values) and int8 is calibrated on random
frames.

    python benchmarks/sr_width_sweep.py [--scale=4] [--cases=16x4,24x4,32x4,32x6,48x4]
"""

import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import keras
import numpy as np

from tfsports.serving import runners
from tfsports.serving import tflite as tflite_lib
from tfsports.superres import model as sr_models

FLAGS = flags.FLAGS
flags.DEFINE_integer("scale", 4, "Upscaling factor.")
flags.DEFINE_list("cases", ["16x4", "24x4", "32x4", "32x6", "48x4", "32x8"],
                  "FILTERSxBLOCKS of the rep generator.")
flags.DEFINE_integer("repeats", 25, "Timed frames per model (median).")
flags.DEFINE_integer("threads", 2, "TFLite threads.")


def _median_ms(fn, repeats):
  fn()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return 1e3 * float(np.median(times))


def main(argv):
  del argv
  rng = np.random.default_rng(0)
  h, w = 180, 320
  window = rng.integers(0, 256, (3, h, w, 3), np.uint8)
  calibration = [runners.stack_window(rng.integers(0, 256, (3, h, w, 3), np.uint8))
                 for _ in range(3)]
  print(f"cores: {os.cpu_count()}, x{FLAGS.scale}, {h}x{w} -> {h * FLAGS.scale}x"
        f"{w * FLAGS.scale}, TFLite {FLAGS.threads} threads, median of {FLAGS.repeats}")
  print("| filters x blocks | parameters (folded) | float32 ms | int8 ms | int8 speed-up | "
        "int8 fps |")
  print("|---|---:|---:|---:|---:|---:|")
  for case in FLAGS.cases:
    filters, blocks = (int(v) for v in case.split("x"))
    keras.utils.set_random_seed(0)
    config = sr_models.SRConfig(scale=FLAGS.scale, filters=filters, num_blocks=blocks,
                                block="rep")
    generator = sr_models.build_sr_generator(config)
    _, core = sr_models.inference_generators(generator, config, (h, w))
    with tempfile.TemporaryDirectory() as tmp:
      paths = tflite_lib.export_frame_tflite(core, tmp, (h, w, 9), calibration,
                                             variants=("float32", "int8"))
      ms = {v: _median_ms(lambda r=runners.load_runner(p, FLAGS.threads): r(window),
                          FLAGS.repeats) for v, p in paths.items()}
    print(f"| {filters} x {blocks} | {core.count_params():,} | {ms['float32']:.1f} | "
          f"{ms['int8']:.1f} | {ms['float32'] / ms['int8']:.2f}x | {1e3 / ms['int8']:.0f} |")


if __name__ == "__main__":
  app.run(main)

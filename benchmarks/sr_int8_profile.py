r"""Where the int8 super-resolution model spends its time, layer by layer,
next to float32; one run.

    python benchmarks/sr_int8_profile.py [--scale=4 --height=180 --width=320]

LiteRT's op profiler lives in its C++ `benchmark_model` tool, which these
machines do not have (nothing is downloaded), and its Python interpreter
exposes no per-op timing. So the graph is timed by prefixes instead: the
generator is cut after each named layer, each prefix is converted the way
the export converts the whole model (uint8 in and out for int8), and the
time a layer adds is the difference between consecutive prefixes.
The weights are a seeded initialisation; the time of a layer does not
depend on its values.
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
flags.DEFINE_integer("height", 180, "Input height.")
flags.DEFINE_integer("width", 320, "Input width.")
flags.DEFINE_integer("threads", 2, "TFLite threads.")
flags.DEFINE_integer("repeats", 20, "Timed invocations per prefix (median).")
flags.DEFINE_string("preset", "tiny", "Model preset.")


def _invoke_ms(path, window, repeats):
  runner = runners.load_runner(path, FLAGS.threads)
  runner(window)
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    runner.interpreter.invoke()
    times.append(time.perf_counter() - start)
  return 1e3 * float(np.median(times))


def main(argv):
  del argv
  keras.utils.set_random_seed(0)
  config = sr_models.SRConfig.from_preset(FLAGS.preset, scale=FLAGS.scale)
  gen = sr_models.build_sr_generator(config)
  shape = (config.num_frames, FLAGS.height, FLAGS.width, 3)
  rng = np.random.default_rng(0)
  samples = [rng.integers(0, 256, shape, np.uint8) for _ in range(4)]
  # The main chain; the side branch (the centre frame and its bilinear base)
  # is counted in the add that joins it.
  side = {"centre": "upsample_add", "upsample_bilinear": "upsample_add"}
  names = [l.name for l in gen.layers
           if not isinstance(l, keras.layers.InputLayer) and l.name not in side]
  joins = {}
  for branch, join in side.items():
    if branch in [l.name for l in gen.layers]:
      joins.setdefault(join, []).append(branch)
  rows, previous = [], {"float32": 0.0, "int8": 0.0}
  with tempfile.TemporaryDirectory() as tmp:
    for name in names:
      prefix = keras.Model(gen.input, gen.get_layer(name).output, name=f"to_{name}")
      paths = tflite_lib.export_frame_tflite(prefix, os.path.join(tmp, name), shape,
                                             samples, variants=("float32", "int8"))
      out_shape = prefix.compute_output_shape((1,) + shape)[1:]
      label = name + (f" (+ {', '.join(joins[name])})" if name in joins else "")
      row = {"layer": label, "shape": "x".join(str(d) for d in out_shape)}
      for variant, path in paths.items():
        total = _invoke_ms(path, samples[0], FLAGS.repeats)
        row[variant] = total - previous[variant]
        previous[variant] = total
      rows.append(row)
  print(f"cores: {os.cpu_count()}, {FLAGS.threads} threads, {FLAGS.preset} x{FLAGS.scale}, "
        f"input {FLAGS.height}x{FLAGS.width}")
  print("| layer | output | float32 ms | int8 ms |")
  print("|---|---|---:|---:|")
  for r in rows:
    print(f"| {r['layer']} | {r['shape']} | {r['float32']:.2f} | {r['int8']:.2f} |")
  print(f"| **whole model** | | {previous['float32']:.2f} | {previous['int8']:.2f} |")
  print(f"int8 speed-up over float32: {previous['float32'] / previous['int8']:.2f}x (target >= 2)")


if __name__ == "__main__":
  app.run(main)

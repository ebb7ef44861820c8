r"""Forecasts per second on this machine: one scene of 10 agents, 20 sampled
4-s futures each, through the SavedModel (TF Serving's graph) and the
float32 TFLite model (2 threads), both exports of the same run, timed in
the same process.

    python benchmarks/forecast_speed.py [--model=tiny|RUN_DIR] [--repeats=200]
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import numpy as np

from tfsports.serving import loader
from tfsports.forecast import data

flags.DEFINE_string("model", "tiny", "A bundled preset or a run directory.")
flags.DEFINE_integer("repeats", 200, "Forecasts timed per export.")
flags.DEFINE_integer("agents", 10, "Agents in the scene.")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  runners = {"SavedModel": loader.load("forecast", FLAGS.model, prefer="saved_model"),
             "TFLite float32": loader.load("forecast", FLAGS.model, prefer="tflite")}
  c = next(iter(runners.values())).config
  scene = data.resample(data.synthetic_scenes(1, seed=11, seconds=3.0, sports=("soccer",))[0],
                        c.fps)
  observed = scene.xy[:FLAGS.agents, :c.num_observed]
  mask = np.ones(observed.shape[:2], np.float32)
  team = scene.team[:FLAGS.agents]
  print(f"cores: {os.cpu_count()}; {len(observed)} agents, "
        f"{runners['SavedModel'].num_samples} samples of {c.num_future / c.fps:g} s per "
        f"forecast; model {FLAGS.model} (max_agents {c.max_agents})\n")
  print("| export | ms/forecast | forecasts/s | ratio |")
  print("|---|---:|---:|---:|")
  rates = {}
  for name, runner in runners.items():
    for seed in range(3):
      runner.forecast(observed, mask, team, seed)      # warm-up
    start = time.perf_counter()
    for seed in range(FLAGS.repeats):
      runner.forecast(observed, mask, team, seed)
    rates[name] = FLAGS.repeats / (time.perf_counter() - start)
  for name, rate in rates.items():
    print(f"| {name} | {1000 / rate:.2f} | {rate:.0f} | {rate / rates['SavedModel']:.2f}x |")


if __name__ == "__main__":
  app.run(main)

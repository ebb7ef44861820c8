r"""Streaming classifier on the edge: TFLite milliseconds per frame at
172x172 on 2 XNNPACK threads, and file size, for the tiny and base presets.
Reference: MoViNet-A0-Stream publishes 16 ms/frame on one x86 core and 13 MB.

    python benchmarks/classifier_speed.py
"""

import dataclasses
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
import numpy as np

from tfsports.actions import model as classifier_models
from tfsports.actions import export as classifier_export
from tfsports.serving import runners


def main(argv):
  del argv
  rng = np.random.default_rng(0)
  print(f"cores: {os.cpu_count()}")
  print("| preset | variant | ms/frame (172x172, 2 threads) | ms/frame (1 thread) | size (MB) |")
  print("|---|---|---:|---:|---:|")
  for preset in ("tiny", "base"):
    config = dataclasses.replace(classifier_models.ClassifierConfig.from_preset(preset),
                                 image_size=(172, 172), num_frames=8)
    model, parts = classifier_models.build_classifier(config)
    stream = classifier_models.build_stream_model(parts)
    clips = rng.integers(0, 255, (2, 8, 172, 172, 3), np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
      paths = classifier_export.export_stream_tflite(stream, config, tmp, clips)
      for key, path in paths.items():
        row = []
        for threads in (2, 1):
          runner = runners.StreamingTFLiteRunner(path, threads)
          frames = rng.integers(0, 255, (60, 172, 172, 3), np.uint8)
          for f in frames[:10]:
            runner(f)
          start = time.perf_counter()
          for f in frames:
            runner(f)
          row.append((time.perf_counter() - start) / len(frames) * 1e3)
        print(f"| {preset} | {key.replace('tflite_stream_', '')} | {row[0]:.2f} | {row[1]:.2f} | "
              f"{os.path.getsize(path) / 1e6:.2f} |")


if __name__ == "__main__":
  app.run(main)

r"""Streaming classifier on the edge: TFLite milliseconds per frame at
172x172 on 2 XNNPACK threads, and file size, for the tiny and base presets.
Reference: MoViNet-A0-Stream publishes 16 ms/frame on one x86 core and 13 MB.
Then the pose stream (`actions.pose_stream`, tiny) per frame, and beside it
the BlazePose models it reads (landmarks on a player crop; detector and
landmarks on a full frame), when mediapipe's files are installed.

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


def per_call_ms(fn, inputs, warmup=10):
  for x in inputs[:warmup]:
    fn(x)
  start = time.perf_counter()
  for x in inputs:
    fn(x)
  return (time.perf_counter() - start) / len(inputs) * 1e3


def pose_rows(rng):
  from tfsports.actions import pose_stream
  from tfsports.data import pose as pose_lib
  config = pose_stream.PoseStreamConfig.from_preset("tiny")
  _, parts = pose_stream.build_pose_classifier(config)
  stream = pose_stream.build_stream_model(parts)
  print("\n| model | ms/frame (2 threads) | ms/frame (1 thread) | size (MB) |")
  print("|---|---:|---:|---:|")
  with tempfile.TemporaryDirectory() as tmp:
    path = classifier_export.export_pose_tflite(stream, config, tmp)[
        "tflite_pose_stream_float32"]
    keypoints = rng.normal(size=(500, pose_stream.FEATURES)).astype(np.float32)
    row = [per_call_ms(runners.StreamingTFLiteRunner(path, t), keypoints, 50) for t in (2, 1)]
    print(f"| pose stream (tiny, float32) | {row[0]:.3f} | {row[1]:.3f} | "
          f"{os.path.getsize(path) / 1e6:.2f} |")
  try:
    posers = {t: (pose_lib.ClipPoser("crop", t), pose_lib.ClipPoser("frame", t)) for t in (2, 1)}
  except pose_lib.PoseModelMissingError as e:
    print(f"(BlazePose not measured: {e})")
    return
  from tfsports.data import real as real_data
  from tfsports.data import video_io
  crops = rng.integers(0, 255, (20, 1, 192, 128, 3), np.uint8)
  crop_ms = [per_call_ms(posers[t][0], crops, 3) for t in (2, 1)]
  print(f"| BlazePose landmarks on a crop | {crop_ms[0]:.1f} | {crop_ms[1]:.1f} | |")
  video = real_data.path("video", "basketball_gym.mp4")
  if os.path.exists(video):
    # A real frame with people in it, so the landmark model runs after the detector.
    frames = video_io.read_clip(video, 20)[:, None]
    found = np.mean([posers[2][1](f)["score"][0] > 0 for f in frames])
    frame_ms = [per_call_ms(posers[t][1], frames, 3) for t in (2, 1)]
    print(f"| BlazePose detector + landmarks, real {frames.shape[3]}x{frames.shape[2]} frame "
          f"(person found in {found:.0%}) | {frame_ms[0]:.1f} | {frame_ms[1]:.1f} | |")


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
          frames = rng.integers(0, 255, (60, 172, 172, 3), np.uint8)
          row.append(per_call_ms(runners.StreamingTFLiteRunner(path, threads), frames))
        print(f"| {preset} | {key.replace('tflite_stream_', '')} | {row[0]:.2f} | {row[1]:.2f} | "
              f"{os.path.getsize(path) / 1e6:.2f} |")
  pose_rows(rng)


if __name__ == "__main__":
  app.run(main)

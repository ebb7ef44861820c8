r"""Frames per second of the data layer, all measured in one run.

    python benchmarks/data_throughput.py [--num_videos=4 --frames_per_video=96]

Rows: PyAV decoding 720p H.264 on its own, in one thread; the tf.data clip
pipeline over the same files, decoding in the long-lived worker processes
of `decode_pool` (the default) and in threads; the TFRecord pipeline over
the same frames (JPEG); the renderer at 256x256 and at 720p. Ratios are taken within the run, because shared
machines are noisy.
"""

import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import tensorflow as tf

from tfsports.data import sources
from tfsports.data import synthetic
from tfsports.data import tfrecord
from tfsports.data import video_io

FLAGS = flags.FLAGS
flags.DEFINE_integer("num_videos", 4, "720p files to decode.")
flags.DEFINE_integer("frames_per_video", 96, "Frames per file.")
flags.DEFINE_integer("num_frames", 16, "Frames per clip in the pipelines.")
flags.DEFINE_integer("repeats", 4, "Timed rounds over every source; the best is reported.")


def _interleaved_best(fns, repeats):
  """Best rate of each function over `repeats` rounds that run every
  function once in turn: this machine's speed swings by 2x over tens of
  seconds, and one source timed in a slow spell would skew the ratios."""
  best = [float("inf")] * len(fns)
  counts = [0] * len(fns)
  for _ in range(repeats):
    for k, fn in enumerate(fns):
      start = time.perf_counter()
      counts[k] = fn()
      best[k] = min(best[k], time.perf_counter() - start)
  return [c / b for c, b in zip(counts, best)]


def main(argv):
  del argv
  size = (720, 1280)
  with tempfile.TemporaryDirectory() as tmp:
    videos = os.path.join(tmp, "videos")
    config = synthetic.SceneConfig(image_size=size, num_frames=FLAGS.frames_per_video,
                                   camera="broadcast", noise=2.0)
    paths = []
    for k in range(FLAGS.num_videos):
      path = os.path.join(videos, f"clip_{k}.mp4")
      video_io.write_video(path, synthetic.render_clip(config, seed=0, index=k)["frames"],
                           crf=20)
      paths.append(path)

    def bare_decode():
      return sum(sum(1 for _ in video_io.iter_frames(p)) for p in paths)

    def video_pipeline(decode="processes"):
      ds = sources.video_clips(paths, [0] * len(paths), FLAGS.num_frames, size,
                               decode=decode).prefetch(2)
      return sum(int(c["frames"].shape[0]) for c in ds)

    shards = tfrecord.convert(videos, os.path.join(tmp, "rec"), num_shards=4,
                              num_frames=FLAGS.num_frames)

    def tfrecord_pipeline():
      ds = tfrecord.tfrecord_clips(shards, FLAGS.num_frames, size).prefetch(2)
      return sum(int(c["frames"].shape[0]) for c in ds)

    def renderer(image_size, clips):
      cfg = synthetic.SceneConfig(image_size=image_size, num_frames=32)
      return lambda: sum(len(synthetic.render_clip(cfg, seed=1, index=i)["frames"])
                         for i in range(clips))

    video_pipeline()  # warm up graph building and the decode pool
    sources_ = [
        ("PyAV decode, 720p H.264, one thread", bare_decode),
        ("tf.data video-file pipeline, 720p, decode processes", video_pipeline),
        ("tf.data TFRecord pipeline, 720p JPEG", tfrecord_pipeline),
        ("renderer 256x256", renderer((256, 256), 20)),
        ("renderer 720p", renderer(size, 4)),
        ("tf.data video-file pipeline, 720p, decode threads",
         lambda: video_pipeline("threads")),
    ]
    rates = _interleaved_best([fn for _, fn in sources_], FLAGS.repeats)
    rows = [(name, rate) for (name, _), rate in zip(sources_, rates)]
  decode = rows[0][1]
  print(f"cores: {os.cpu_count()}, tensorflow {tf.__version__}")
  print("| source | frames/s | ratio |")
  print("|---|---:|---|")
  print(f"| {rows[0][0]} | {rows[0][1]:.0f} | 1.00x decode |")
  print(f"| {rows[1][0]} | {rows[1][1]:.0f} | {rows[1][1] / decode:.2f}x decode (target >= 0.9) |")
  print(f"| {rows[2][0]} | {rows[2][1]:.0f} | {rows[2][1] / rows[1][1]:.2f}x video pipeline (target >= 2) |")
  print(f"| {rows[3][0]} | {rows[3][1]:.0f} | target >= 300 |")
  print(f"| {rows[4][0]} | {rows[4][1]:.0f} | |")
  print(f"| {rows[5][0]} | {rows[5][1]:.0f} | {rows[5][1] / decode:.2f}x decode |")


if __name__ == "__main__":
  app.run(main)

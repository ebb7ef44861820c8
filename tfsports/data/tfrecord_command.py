r"""`tfsports tfrecord`: clips as sharded TFRecords (`tfsports.data.tfrecord`).

    tfsports tfrecord --source=synthetic --num_clips=100 \
        --out=/data/train --num_shards=8
    tfsports tfrecord --source=/videos/by_class --out=/data/v

Its own module so that `--help` answers without importing TensorFlow.
"""


def define_flags():
  """Command-line flags; defined on demand so the module imports cleanly."""
  from absl import flags
  flags.DEFINE_string("source", "synthetic", "'synthetic' or a folder of videos.")
  flags.DEFINE_string("out", None, "Output prefix, e.g. /data/train.")
  flags.DEFINE_integer("num_shards", 4, "Number of shards.")
  flags.DEFINE_integer("num_clips", 100, "Synthetic clips to render.")
  flags.DEFINE_integer("seed", 0, "Synthetic seed.")
  flags.DEFINE_integer("num_frames", 16, "Frames per clip.")
  flags.DEFINE_integer("height", 256, "Frame height.")
  flags.DEFINE_integer("width", 256, "Frame width.")
  flags.DEFINE_bool("resize", False, "Resize video frames to height x width.")


def main(argv):
  import sys
  from absl import flags
  from tfsports.data import synthetic
  from tfsports.data import video_io
  FLAGS = flags.FLAGS
  if len(argv) > 1 or not FLAGS.out:
    print("usage: tfsports tfrecord --out=PREFIX [--source=synthetic|DIR ...]",
          file=sys.stderr)
    return 2
  config = synthetic.SceneConfig(
      image_size=(FLAGS.height, FLAGS.width), num_frames=FLAGS.num_frames)
  size = (FLAGS.height, FLAGS.width) if FLAGS.source != "synthetic" and FLAGS.resize else None
  from tfsports.data import tfrecord
  try:
    paths = tfrecord.convert(FLAGS.source, FLAGS.out, FLAGS.num_shards, FLAGS.num_clips,
                    FLAGS.seed, config, FLAGS.num_frames, size)
  except (FileNotFoundError, video_io.VideoReadError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  for p in paths:
    print(p)
  return 0

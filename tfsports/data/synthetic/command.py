r"""Writes a synthetic sports dataset to disk.

    tfsports synth --out=DIR --num_clips=N \
        --width=W --height=H --seed=S

Layout (also written to DIR/README.md):
  DIR/videos/<action>/clip_00000.mp4   class-per-folder, as UCF101
  DIR/mot/clip_00000/gt/gt.txt         MOT Challenge boxes and tracks
  DIR/mot/clip_00000/seqinfo.ini
  DIR/trajectories/clip_00000.csv      pitch coordinates, metres
  DIR/labels.csv                       clip, action, sport, seed, index
  DIR/classInd.txt                     1-based action index, as UCF101
"""

import os
import sys

from absl import flags

from tfsports.data import synthetic
from tfsports.data.synthetic import disk

FLAGS = flags.FLAGS


def define_flags():
  """Command-line flags; defined on demand so the module imports cleanly."""
  flags.DEFINE_string("out", None, "Output directory.")
  flags.DEFINE_integer("num_clips", 10, "Number of clips.")
  flags.DEFINE_integer("width", 640, "Frame width (even).")
  flags.DEFINE_integer("height", 360, "Frame height (even).")
  flags.DEFINE_integer("num_frames", 50, "Frames per clip.")
  flags.DEFINE_float("fps", 25.0, "Frames per second.")
  flags.DEFINE_integer("seed", 0, "Dataset seed.")
  flags.DEFINE_enum("sport", "random", ["random", "soccer", "basketball"], "Sport.")
  flags.DEFINE_enum("camera", "random", ["random", "static", "broadcast"], "Camera.")
  flags.DEFINE_float("noise", 0.0, "Sensor noise std (0-255 units).")
  flags.DEFINE_float("motion_blur", 0.0, "Horizontal motion blur, pixels.")
  flags.DEFINE_float("shake", 0.0, "Camera shake.")
  flags.DEFINE_float("lighting", 0.0, "Relative lighting change over a clip.")
  flags.DEFINE_integer("jpeg_quality", 0, "JPEG artefacts (0 = off).")


def main(argv):
  if len(argv) > 1 or not FLAGS.out:
    print("usage: tfsports synth --out=DIR [--num_clips=N ...]", file=sys.stderr)
    return 2
  config = synthetic.SceneConfig(
      sport=FLAGS.sport, camera=FLAGS.camera,
      image_size=(FLAGS.height, FLAGS.width), num_frames=FLAGS.num_frames,
      fps=FLAGS.fps, noise=FLAGS.noise, motion_blur=FLAGS.motion_blur,
      shake=FLAGS.shake, lighting=FLAGS.lighting,
      jpeg_quality=FLAGS.jpeg_quality)
  disk.write_dataset(FLAGS.out, config, FLAGS.num_clips, seed=FLAGS.seed,
                          progress=True)
  print(f"wrote {FLAGS.num_clips} clips to {os.path.abspath(FLAGS.out)}")
  return 0

r"""`tfsports generate`: labelled clips from a trained video GAN.

    tfsports generate --model=RUN_OR_EXPORT --class=shooting --num=32 --out=DIR [--seed=S]

Writes DIR/<class>/generated_<seed>.mp4 (H.264, the dataset's clip length
and frame rate): the class-per-folder layout the classifier trains on, so
`--data=REAL_DIR,generated:DIR` mixes them (see `actions.recipe`). Also
DIR/<class>_grid.gif, the clips side by side. --class=all makes --num clips
of every class. Each clip is named by its seed: the same (model, class,
seed) gives the same clip.
"""

import os
import sys

from absl import flags
import numpy as np

from tfsports import errors
from tfsports.serving import loader

FLAGS = flags.FLAGS
USAGE = "usage: tfsports generate --model=RUN_OR_EXPORT --class=NAME|all --num=N --out=DIR"


def define_flags():
  flags.DEFINE_string("model", None, "A run directory of `tfsports train augment`, its "
                      "export, the generator SavedModel or its .tflite.")
  flags.DEFINE_string("class", None, "Class name, or `all`.")
  flags.DEFINE_integer("num", 32, "Clips per class.")
  flags.DEFINE_string("out", None, "Output directory (class-per-folder).")
  flags.DEFINE_integer("seed", 0, "First seed; clip k uses seed + k.")
  flags.DEFINE_integer("grid_columns", 8, "Clips per row of the GIF grid.")
  flags.DEFINE_bool("list_models", False, "List the trained video GANs under runs/ and exit.")


def grid(clips, columns):
  """uint8 [N, T, H, W, 3] -> [T, rows*H, columns*W, 3] (black padding)."""
  n, t, h, w, _ = clips.shape
  columns = min(columns, n)
  rows = -(-n // columns)
  out = np.zeros((t, rows * h, columns * w, 3), np.uint8)
  for k in range(n):
    r, c = divmod(k, columns)
    out[:, r * h:(r + 1) * h, c * w:(c + 1) * w] = clips[k]
  return out


def generate_class_folders(runner, classes, num, out_dir, seed=0, grid_columns=8):
  """Writes `num` clips of each class name; returns {class: [paths]}."""
  from tfsports.data import video_io
  if num < 1:
    raise ValueError(f"--num={num}: at least 1")
  ids = [runner.class_id(c) for c in classes]
  written = {}
  for name, class_id in zip(classes, ids):
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    clips = []
    for start in range(0, num, 16):
      seeds = np.arange(seed + start, seed + min(num, start + 16))
      clips.append(runner.generate(np.full(len(seeds), class_id), seeds))
    clips = np.concatenate(clips)[:, :runner.clip_frames]
    written[name] = []
    for k, clip in enumerate(clips):
      path = os.path.join(folder, f"generated_{seed + k:06d}.mp4")
      video_io.write_video(path, clip, fps=runner.fps)
      written[name].append(path)
    video_io.write_gif(os.path.join(out_dir, f"{name}_grid.gif"), grid(clips, grid_columns),
                       fps=min(runner.fps, 12))
  return written


TRAIN = "tfsports train augment --data=DIR_WITH_ONE_FOLDER_PER_CLASS"
RUN_MARKER = os.path.join("saved_model", "generator")


def check(argv):
  """The failures found before TensorFlow is imported; --list_models."""
  from tfsports.serving import catalog
  if FLAGS.list_models:
    print(catalog.listing("video GAN", {}, catalog.find_runs(RUN_MARKER), TRAIN))
    return 0
  loader.locate("augment", FLAGS.model)
  if len(argv) > 1 or not FLAGS.out or not FLAGS["class"].value:
    raise errors.UserError(USAGE)
  return None


def main(argv):
  from tfsports.augment import export
  from tfsports.data import video_io
  try:
    runner = loader.load("augment", FLAGS.model)
    wanted = FLAGS["class"].value
    classes = runner.class_names if wanted == "all" else [wanted]
    written = generate_class_folders(runner, classes, FLAGS.num, FLAGS.out, FLAGS.seed,
                                     FLAGS.grid_columns)
  except (FileNotFoundError, ValueError, video_io.VideoReadError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(f"wrote {sum(map(len, written.values()))} clips of {', '.join(written)} to {FLAGS.out}")
  return 0

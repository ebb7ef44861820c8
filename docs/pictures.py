r"""Writes the README's pictures from real footage.

    python docs/pictures.py [--model=deep_x4 --model_x2=rep_x2] [--video=HELD_BACK.mp4]

docs/degradations.png: one crop of a real frame as each degradation preset
makes it (x4, shown at the original size by nearest-neighbour, so the
pixels are visible), as some of the kernels alone make it, and as four
draws of the `real` preset.
docs/side_by_side.png (x4, --model) and docs/side_by_side_x2.png (x2,
--model_x2): bicubic | model | original on a held-back real frame, one row
per downscaling kernel of the evaluation (OpenCV's area and plain bicubic),
each row's PSNR-Y on the crop in its labels.
"""

import os

from absl import app
from absl import flags
import cv2
import numpy as np

from tfsports.data import degrade
from tfsports.data import video_io
from tfsports.serving import runners
from tfsports.superres import command
from tfsports.superres import evaluate as sr_eval
from tfsports.superres import recipe

FLAGS = flags.FLAGS
flags.DEFINE_string("model", "deep_x4", "x4 preset name, SavedModel dir or .tflite file.")
flags.DEFINE_string("model_x2", "rep_x2", "x2 preset name, SavedModel dir or .tflite file.")
flags.DEFINE_string("video", recipe.REAL_HELD_BACK[0], "A real video never trained on.")
flags.DEFINE_string("out_dir", os.path.dirname(os.path.abspath(__file__)), "Where to write.")
flags.DEFINE_integer("frame", 10, "Frame index.")
flags.DEFINE_list("box", ["1180", "640", "360", "240"], "X,Y,W,H of the crop shown (full-res pixels).")


def _label(image, text):
  image = image.copy()
  cv2.putText(image, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 3)
  cv2.putText(image, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1)
  return image


def _row(images, labels):
  return np.concatenate([_label(i, t) for i, t in zip(images, labels)], axis=1)


def degradation_picture(hr):
  """hr: uint8 [3, H, W, 3] -> a grid of the degraded centre frame."""
  h, w = hr.shape[1:3]
  show = lambda lr: cv2.resize(lr[1], (w, h), interpolation=cv2.INTER_NEAREST)
  tiles, labels = [hr[1]], ["original"]
  for name in ("bicubic", "light", "broadcast"):
    config = degrade.DegradationConfig.from_preset(name, scale=4)
    tiles.append(show(sr_eval.make_lr(hr, config, seed=1)))
    labels.append(name)
  real = degrade.DegradationConfig.from_preset("real", scale=4)
  draws = []
  for seed in range(4):
    draws.append(show(sr_eval.make_lr(hr, real, seed=seed + 3)))
  kernels = ("area", "bicubic", "nearest", "lanczos_aa")
  alone = [show(sr_eval.make_lr(hr, degrade.DegradationConfig(
      scale=4, blur_sigma=(0, 0), noise_std=(0, 0), kernels=(k,)))) for k in kernels]
  return np.concatenate([_row(tiles, labels),
                         _row(alone, [f"kernel {k} only" for k in kernels]),
                         _row(draws, [f"real, draw {k + 1}" for k in range(4)])], axis=0)


def side_by_side(hr, model, scale):
  """bicubic | model | original for the centre frame of hr [3, H, W, 3],
  downscaled by area (first row) and plain bicubic (second)."""
  from tfsports.metrics import video_quality
  runner = runners.load_runner(command.resolve_model(model))
  if None not in runner.input_size:
    runner = runners.TiledRunner(runner)
  h, w = hr.shape[1:3]
  rows = []
  for kernel in ("area", "bicubic"):
    lr = sr_eval.downscale(hr, scale, kernel)
    out = runner(lr)
    base = cv2.resize(lr[1], (w, h), interpolation=cv2.INTER_CUBIC)
    score = lambda x: f"{video_quality.psnr_y(hr[1], x, border=scale):.2f} dB"
    rows.append(_row([base, out, hr[1]],
                     [f"x{scale} {kernel}: bicubic {score(base)}", f"{model} {score(out)}",
                      "original"]))
  return np.concatenate(rows, axis=0)


def main(argv):
  del argv
  x, y, w, h = (int(v) for v in FLAGS.box)
  frames = video_io.read_clip(FLAGS.video, 3, start=max(FLAGS.frame - 1, 0))
  frames = np.ascontiguousarray(frames[:, y:y + h // 4 * 4, x:x + w // 4 * 4])
  os.makedirs(FLAGS.out_dir, exist_ok=True)
  for name, image in (("degradations.png", degradation_picture(frames)),
                      ("side_by_side.png", side_by_side(frames, FLAGS.model, 4)),
                      ("side_by_side_x2.png", side_by_side(frames, FLAGS.model_x2, 2))):
    path = os.path.join(FLAGS.out_dir, name)
    cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    print(f"wrote {path}")


if __name__ == "__main__":
  app.run(main)

"""Evaluates a super-resolution model against bicubic upscaling."""

import numpy as np
import tensorflow as tf

from tfsports.data import degrade as degrade_lib
from tfsports.metrics import video_quality
from tfsports.serving import runners


def make_lr(hr_frames, degradation, seed=0):
  """Deterministic degraded clip, uint8 [T, h, w, 3], from uint8 hr frames."""
  lr = degrade_lib.degrade_clip(hr_frames, degradation, tf.constant([seed, 17]))
  return tf.cast(tf.round(tf.clip_by_value(lr, 0, 255)), tf.uint8).numpy()


def bicubic(lr_frames, scale):
  h, w = lr_frames.shape[1:3]
  up = tf.image.resize(tf.cast(lr_frames, tf.float32), (h * scale, w * scale),
                       method="bicubic")
  return tf.cast(tf.round(tf.clip_by_value(up, 0, 255)), tf.uint8).numpy()


def upscale_clip(runner, lr_frames):
  """Runs a runner over every frame of a clip (edge frames repeated)."""
  return np.stack([runner(w) for w in runners.iter_windows(lr_frames, runner.window)])


def evaluate_clips(model, clips, degradation, names=None, temporal=True):
  """PSNR-Y, SSIM-Y (border crop = scale) and tOF of `model` and of bicubic.

  model: anything `runners.load_runner` takes. clips: uint8 [T, H, W, 3]
  high-res clips (H, W divisible by the scale).
  Returns {"clips": [per clip dicts], "mean": {...}}.
  """
  runner = runners.load_runner(model)
  scale = degradation.scale
  rows = []
  for k, hr in enumerate(clips):
    lr = make_lr(hr, degradation, seed=k)
    out = upscale_clip(runner, lr)
    base = bicubic(lr, scale) if scale > 1 else lr
    row = {"clip": names[k] if names else k,
           "psnr_y": video_quality.psnr_y(hr, out, scale),
           "ssim_y": video_quality.ssim_y(hr, out, scale),
           "bicubic_psnr_y": video_quality.psnr_y(hr, base, scale),
           "bicubic_ssim_y": video_quality.ssim_y(hr, base, scale)}
    if temporal:
      row["tof"] = video_quality.tof(hr, out)
      row["bicubic_tof"] = video_quality.tof(hr, base)
    row["gain_db"] = row["psnr_y"] - row["bicubic_psnr_y"]
    rows.append(row)
  keys = [k for k in rows[0] if k != "clip"]
  return {"clips": rows, "mean": {k: float(np.mean([r[k] for r in rows])) for k in keys}}

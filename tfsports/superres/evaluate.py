"""Evaluates a super-resolution model against bicubic upscaling."""

import os
import tempfile

import cv2
import numpy as np
import tensorflow as tf

from tfsports.data import degrade as degrade_lib
from tfsports.data import video_io
from tfsports.metrics import video_quality
from tfsports.serving import runners
# The evaluation's downscales live with the kernel estimator, which learns them.
from tfsports.superres.kernels import BROADCAST_CRF, KERNELS, downscale  # noqa: F401


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


def bicubic_upscale(lr_frames, scale):
  """The two common bicubic upscales of uint8 lr [T, h, w, 3]: OpenCV's
  (a=-0.75, sharper) and TensorFlow's / PIL's (a=-0.5), as {name: uint8
  [T, h*scale, w*scale, 3]}; `evaluate_real` scores against the better."""
  h, w = lr_frames.shape[1:3]
  return {"bicubic_tf": bicubic(lr_frames, scale),
          "bicubic_cv2": np.stack([cv2.resize(f, (w * scale, h * scale),
                                              interpolation=cv2.INTER_CUBIC)
                                   for f in lr_frames])}


def real_clip(path, num_frames, scale, crop=(360, 640), start=0):
  """uint8 [T, H, W, 3]: `num_frames` frames of `path` from `start`, the
  centre `crop` (height, width) at the file's own resolution (the whole
  frame where it is smaller), trimmed to a multiple of `scale`."""
  frames = video_io.read_clip(path, num_frames, start=start)
  h, w = frames.shape[1:3]
  ch, cw = min(crop[0], h) // scale * scale, min(crop[1], w) // scale * scale
  top, left = (h - ch) // 2, (w - cw) // 2
  return np.ascontiguousarray(frames[:, top:top + ch, left:left + cw])


def evaluate_real(model, paths, scale, kernels=("area", "bicubic"), num_frames=8,
                  crop=(360, 640), num_threads=2, degradation="", int8=False):
  """Scores a model as a user would: through `tfsports upscale`.

  Each real clip (see `real_clip`) is downscaled with each kernel and
  written losslessly; the upscale command turns it into a lossless file,
  which is read back and scored against the original frames. "bicubic" is
  the stronger of OpenCV's and TensorFlow's bicubic upscales of the same
  input. model: a SavedModel dir, .tflite file or preset name.
  degradation, int8: as `tfsports upscale --degradation --int8` (a preset
  name then); with "auto" each low-res file is estimated on its own and the
  row records the verdict ("auto_kernel", "auto_confidence") and the model.
  Returns {"clips": [row per clip and kernel], "mean": {...}, "min_gain_db"}.
  """
  from tfsports.superres import command
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    for path in paths:
      hr = real_clip(path, num_frames, scale, crop)
      fps = video_io.probe(path).fps or 25.0
      for kernel in kernels:
        lr = downscale(hr, scale, kernel)
        lr_path = os.path.join(tmp, "lr.mp4")
        out_path = os.path.join(tmp, "out.mp4")
        video_io.write_video(lr_path, lr, fps=fps, lossless=True)
        extra, chosen = {}, model
        if degradation or int8:
          tuned = degradation
          if degradation == "auto":
            tuned, verdict = command.resolve_auto(model, lr_path)
            extra = {"auto_kernel": verdict["kernel"],
                     "auto_confidence": verdict["confidence"]}
          chosen = command.choose_model(model, int8, tuned)
          # An int8 file's preset is the folder above its tflite/.
          extra["model"] = (os.path.basename(os.path.dirname(os.path.dirname(chosen)))
                            if int8 else chosen)
        command.upscale_video(lr_path, out_path, chosen, lossless=True,
                              num_threads=num_threads)
        out = video_io.read_frames(out_path)
        row = {"clip": os.path.basename(path), "kernel": kernel, **extra,
               "size": f"{hr.shape[2]}x{hr.shape[1]}",
               "psnr_y": video_quality.psnr_y(hr, out, scale),
               "ssim_y": video_quality.ssim_y(hr, out, scale),
               "tof": video_quality.tof(hr, out)}
        best = None
        for name, base in bicubic_upscale(lr, scale).items():
          p = video_quality.psnr_y(hr, base, scale)
          if best is None or p > best[1]:
            best = (name, p, video_quality.ssim_y(hr, base, scale), base)
        row.update(bicubic=best[0], bicubic_psnr_y=best[1], bicubic_ssim_y=best[2],
                   bicubic_tof=video_quality.tof(hr, best[3]),
                   gain_db=row["psnr_y"] - best[1])
        rows.append(row)
  keys = ("psnr_y", "ssim_y", "tof", "bicubic_psnr_y", "bicubic_ssim_y", "bicubic_tof",
          "gain_db")
  mean = {k: float(np.mean([r[k] for r in rows])) for k in keys}
  return {"clips": rows, "mean": mean, "min_gain_db": float(min(r["gain_db"] for r in rows))}


def format_real(report):
  """A plain-text table of `evaluate_real`'s rows."""
  lines = [f"{'clip':28s} {'kernel':8s} {'PSNR-Y':>7s} {'bicubic':>8s} {'gain':>6s} "
           f"{'SSIM-Y':>7s} {'bicubic':>8s} {'tOF':>6s} {'bicubic':>8s}"]
  tof = lambda r, key: f"{r[key]:6.3f}" if key in r else f"{'':6s}"
  row = lambda name, kernel, r: (
      f"{name[:28]:28s} {kernel:8s} {r['psnr_y']:7.2f} {r['bicubic_psnr_y']:8.2f} "
      f"{r['gain_db']:+6.2f} {r['ssim_y']:7.4f} {r['bicubic_ssim_y']:8.4f} "
      f"{tof(r, 'tof')} {tof(r, 'bicubic_tof'):>8s}")
  for r in report["clips"]:
    chosen = (f"  auto: {r['auto_kernel']} {r['auto_confidence']:.2f} -> {r['model']}"
              if "auto_kernel" in r else "")
    lines.append(row(r["clip"], r["kernel"], r) + chosen)
  lines.append(row("mean", "", report["mean"]) + f"  (worst gain {report['min_gain_db']:+.2f})")
  return "\n".join(lines)

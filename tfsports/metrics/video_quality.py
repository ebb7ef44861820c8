"""Image and video quality: PSNR and SSIM on the Y channel with a border
crop (the super-resolution convention), and tOF for temporal consistency."""

import cv2
import numpy as np
import tensorflow as tf


def rgb_to_y(frames):
  """BT.601 luma in [16, 235] of uint8 RGB [..., 3] -> float64 [...]."""
  f = np.asarray(frames, np.float64)
  return 16.0 + (65.481 * f[..., 0] + 128.553 * f[..., 1] + 24.966 * f[..., 2]) / 255.0


def _crop(y, border):
  return y[..., border:-border, border:-border] if border else y


def psnr(reference, test, peak=255.0):
  """PSNR in dB over all values of two arrays (any shape, any channels),
  capped at 100 dB for identical inputs."""
  mse = np.mean(np.square(np.asarray(reference, np.float64) - np.asarray(test, np.float64)))
  return 100.0 if mse == 0 else float(min(100.0, 10.0 * np.log10(peak**2 / mse)))


def psnr_y(reference, test, border=0):
  """PSNR in dB of uint8 RGB [H, W, 3] (or [T, H, W, 3], averaged per frame)."""
  ref, tst = _crop(rgb_to_y(reference), border), _crop(rgb_to_y(test), border)
  mse = np.mean(np.square(ref - tst), axis=(-2, -1))
  return float(np.mean(10.0 * np.log10(255.0**2 / np.maximum(mse, 1e-10))))


def ssim_y(reference, test, border=0):
  """SSIM of the Y channel (11x11 Gaussian window, as tf.image.ssim)."""
  ref = _crop(rgb_to_y(reference), border)[..., None]
  tst = _crop(rgb_to_y(test), border)[..., None]
  # Frames smaller than the window (tiny test configs) use a smaller one.
  size = min(11, ref.shape[-3], ref.shape[-2])
  return float(tf.reduce_mean(tf.image.ssim(tf.constant(ref, tf.float32),
                                            tf.constant(tst, tf.float32), 255.0,
                                            filter_size=size)))


def _flow(a, b):
  ga = cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY)
  gb = cv2.cvtColor(np.ascontiguousarray(b), cv2.COLOR_RGB2GRAY)
  return cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 3, 15, 3, 5, 1.2, 0)


def tof(reference, test):
  """tOF: mean |flow(test) - flow(reference)| over consecutive frame pairs,
  in pixels (Farneback flow); lower is more temporally faithful."""
  reference, test = np.asarray(reference), np.asarray(test)
  if len(reference) < 2:
    return 0.0
  errs = [np.mean(np.abs(_flow(test[t], test[t + 1]) - _flow(reference[t], reference[t + 1])))
          for t in range(len(reference) - 1)]
  return float(np.mean(errs))

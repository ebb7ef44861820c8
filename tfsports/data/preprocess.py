"""Preprocessing steps for clips: cropping, denoising, stabilising.

The numpy functions work on one clip; the `*_step` functions wrap them as
`tf.data` map steps over clip dicts (see `sources`).
"""

import cv2
import numpy as np
import tensorflow as tf


def random_crop_clip(frames, crop_size, seed):
  """Crops the same window from every frame, in graph.

  frames: [T, H, W, C] any dtype; crop_size: (height, width); seed: int32 [2].
  Returns the crop [T, crop_h, crop_w, C] and its (top, left) offset.
  """
  shape = tf.shape(frames)
  ch, cw = crop_size
  tf.debugging.assert_greater_equal(
      shape[1:3], tf.cast(tf.stack([ch, cw]), tf.int32),
      message=f"frames are smaller than the crop {crop_size}")
  top = tf.random.stateless_uniform([], seed, 0, shape[1] - ch + 1, tf.int32)
  left = tf.random.stateless_uniform(
      [], seed + tf.constant([0, 1]), 0, shape[2] - cw + 1, tf.int32)
  return frames[:, top:top + ch, left:left + cw], tf.stack([top, left])


def center_crop_clip(frames, crop_size):
  """Central crop of [T, H, W, C] to (height, width), in graph."""
  shape = tf.shape(frames)
  ch, cw = crop_size
  top = (shape[1] - ch) // 2
  left = (shape[2] - cw) // 2
  return frames[:, top:top + ch, left:left + cw]


def parse_box(text):
  """"X,Y,W,H" (pixels) -> (x, y, w, h) ints; ValueError naming the format."""
  try:
    x, y, w, h = (int(v) for v in str(text).split(","))
  except ValueError:
    raise ValueError(f"expected a crop box X,Y,W,H in pixels, got {text!r}") from None
  if x < 0 or y < 0 or w <= 0 or h <= 0:
    raise ValueError(f"a crop box needs X, Y >= 0 and W, H > 0, got {text!r}")
  return x, y, w, h


def crop_frame(frame, box):
  """The (x, y, w, h) pixel box of a uint8 [H, W, 3] frame; ValueError if the
  box does not lie inside it."""
  x, y, w, h = box
  if y + h > frame.shape[0] or x + w > frame.shape[1]:
    raise ValueError(f"crop box {box} lies outside the {frame.shape[1]}x{frame.shape[0]} "
                     f"frame")
  return frame[y:y + h, x:x + w]


def crop_boxes(boxes, offset):
  """Moves (x, y, w, h) pixel boxes [..., 4] into a crop at (top, left)."""
  offset = tf.cast(offset, boxes.dtype)
  return boxes - tf.stack([offset[1], offset[0], 0.0, 0.0])


def denoise_clip(frames, strength=5.0, method="nlmeans"):
  """Removes sensor noise from uint8 RGB [T, H, W, 3]; returns the same shape.

  "nlmeans" uses each frame's two neighbours too (OpenCV's multi-frame
  non-local means): better on static regions, slower. "bilateral" is
  per-frame and fast.
  """
  frames = np.asarray(frames)
  if frames.dtype != np.uint8 or frames.ndim != 4:
    raise ValueError(f"expected uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
  T = len(frames)
  if method == "bilateral":
    return np.stack([cv2.bilateralFilter(f, 5, strength * 6, 5) for f in frames])
  if method != "nlmeans":
    raise ValueError(f"unknown denoise method {method!r}")
  single = lambda f: cv2.fastNlMeansDenoisingColored(f, None, strength, strength, 3, 9)
  out = []
  for t in range(T):
    # The first and last frames have one neighbour only: denoise them alone.
    if 0 < t < T - 1:
      out.append(cv2.fastNlMeansDenoisingColoredMulti(
          list(frames[t - 1:t + 2]), 1, 3, None, strength, strength, 3, 9))
    else:
      out.append(single(frames[t]))
  return np.stack(out)


def estimate_motion(frames, max_corners=200):
  """Frame-to-frame similarity motion (dx, dy, angle) [T, 3], first row 0.

  Shi-Tomasi corners tracked with pyramidal Lucas-Kanade, a RANSAC
  partial-affine fit per pair; a pair with too few tracks counts as still.
  """
  motion = np.zeros((len(frames), 3))
  prev = cv2.cvtColor(frames[0], cv2.COLOR_RGB2GRAY)
  for t in range(1, len(frames)):
    cur = cv2.cvtColor(frames[t], cv2.COLOR_RGB2GRAY)
    pts = cv2.goodFeaturesToTrack(prev, max_corners, 0.01, 8)
    if pts is not None and len(pts) >= 6:
      nxt, status, _ = cv2.calcOpticalFlowPyrLK(prev, cur, pts, None)
      good = status.ravel() == 1
      if good.sum() >= 6:
        m, _ = cv2.estimateAffinePartial2D(pts[good], nxt[good])
        if m is not None:
          motion[t] = (m[0, 2], m[1, 2], np.arctan2(m[1, 0], m[0, 0]))
    prev = cur
  return motion


def stabilize_clip(frames, radius=8):
  """Removes camera shake from uint8 RGB [T, H, W, 3].

  The camera path (cumulative motion) is smoothed with a moving average of
  `radius` frames each side; each frame is warped by the difference, so slow
  intended pans stay and jitter goes.

  Returns (stabilised uint8 [T, H, W, 3], corrections float64 [T, 3]).
  """
  frames = np.asarray(frames)
  if frames.dtype != np.uint8 or frames.ndim != 4:
    raise ValueError(f"expected uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
  path = np.cumsum(estimate_motion(frames), axis=0)
  padded = np.pad(path, ((radius, radius), (0, 0)), mode="edge")
  kernel = np.ones(2 * radius + 1) / (2 * radius + 1)
  smooth = np.stack([np.convolve(padded[:, i], kernel, mode="valid")
                     for i in range(3)], -1)
  correction = smooth - path
  h, w = frames.shape[1:3]
  out = np.empty_like(frames)
  for t, (dx, dy, da) in enumerate(correction):
    m = np.array([[np.cos(da), -np.sin(da), dx], [np.sin(da), np.cos(da), dy]])
    out[t] = cv2.warpAffine(frames[t], m, (w, h), borderMode=cv2.BORDER_REFLECT)
  return out, correction


def _frames_step(fn):
  def step(clip):
    clip = dict(clip)
    frames = clip["frames"]
    out = tf.numpy_function(fn, [frames], tf.uint8, stateful=False)
    clip["frames"] = tf.ensure_shape(out, frames.shape)
    return clip
  return step


def denoise_step(strength=5.0, method="bilateral"):
  """A `tf.data` map step that denoises each clip's frames."""
  return _frames_step(lambda f: denoise_clip(f, strength, method))


def stabilize_step(radius=8):
  """A `tf.data` map step that stabilises each clip's frames."""
  return _frames_step(lambda f: stabilize_clip(f, radius)[0])

"""The degradation model that turns high-quality clips into low-quality ones
for super-resolution (scale 2, 4) and restoration (scale 1).

Order, as in real footage: optical blur, downscale, sensor noise, then
compression (JPEG per frame in graph, or H.264 across frames through PyAV).
Random strengths are drawn per clip from a stateless seed, so a pipeline is
deterministic when asked.

The `real` preset follows Real-ESRGAN's second-order model: the downscaling
kernel is drawn per clip (area, bicubic, bilinear, Lanczos, Mitchell, Gaussian
or nearest, with and without antialiasing), and with `second_order`
the clip is first taken to an intermediate size by another random kernel, as
footage that was resized twice before it reached the user. Each step fires
with its own probability, so a share of the clips stays clean: a model must
also beat bicubic on footage that was only downscaled.
"""

import dataclasses
import functools
import io

import av
import cv2
import numpy as np
import tensorflow as tf
from tfsports import config as config_lib
from tfsports.data import video_io


@dataclasses.dataclass(frozen=True)
class DegradationConfig(config_lib.Config):
  """scale: 1, 2 or 4. Each (lo, hi) range is sampled uniformly per clip;
  (0, 0) turns that step off. jpeg_quality and h264_crf: 0 = off.

  kernels: downscaling kernels drawn from per clip ("bicubic_aa" is bicubic
  with antialiasing; see `KERNELS`), with `kernel_weights` (default equal). second_order: probability that the clip
  is first resized to an intermediate size. *_prob: probability that each
  step fires (1 = always). poisson: share of noisy clips whose noise is
  Poisson (shot noise, std growing with brightness) instead of Gaussian.

  soft_source, soft_sigma: probability that the source itself is soft (a
  web video, an upscaled or defocused camera) and the Gaussian sigma, in
  high-res pixels, that makes it so; the softened clip is the target as
  well as the input, so the model learns that a soft input may be a soft
  original rather than blur to undo (`soften_source`)."""
  scale: int = 4
  blur_sigma: tuple = (0.0, 1.0)
  noise_std: tuple = (0.0, 3.0)          # in 0-255 units
  jpeg_quality: tuple = (0, 0)           # e.g. (40, 90)
  h264_crf: tuple = (0, 0)               # e.g. (23, 35); slow, runs in Python
  kernels: tuple = ("bicubic_aa",)
  kernel_weights: tuple = ()
  second_order: float = 0.0
  blur_prob: float = 1.0
  noise_prob: float = 1.0
  poisson: float = 0.0
  jpeg_prob: float = 1.0
  h264_prob: float = 1.0
  soft_source: float = 0.0
  soft_sigma: tuple = (0.0, 0.0)

  def __post_init__(self):
    if self.scale not in (1, 2, 4):
      raise ValueError(f"scale must be 1, 2 or 4, got {self.scale}")
    unknown = [k for k in self.kernels if k not in KERNELS]
    if unknown or not self.kernels:
      raise ValueError(f"unknown kernels {unknown}; known: {', '.join(KERNELS)}")
    if not 0 <= self.soft_source <= 1 or (self.soft_source and self.soft_sigma[1] <= 0):
      raise ValueError("soft_source is a probability and needs a soft_sigma range above 0")
    if self.kernel_weights and (len(self.kernel_weights) != len(self.kernels)
                                or min(self.kernel_weights) < 0):
      raise ValueError("kernel_weights needs one weight >= 0 per kernel")


# name -> (tf.image.resize method, antialias), or ("cv2", OpenCV flag) for
# OpenCV's own resizes, which is what most users' footage went through:
# its bicubic is sharper (a = -0.75, TensorFlow's is -0.5), its Lanczos has
# 4 lobes, and its nearest picks another pixel of each block. "area" is a
# box average either way; OpenCV's bilinear and TensorFlow's Gaussian
# without antialiasing equal TensorFlow's bilinear, so they are not repeated.
KERNELS = {
    "area": ("area", False), "nearest": ("nearest", False),
    "bicubic": ("bicubic", False), "bicubic_aa": ("bicubic", True),
    "bilinear": ("bilinear", False), "bilinear_aa": ("bilinear", True),
    "lanczos": ("lanczos3", False), "lanczos_aa": ("lanczos3", True),
    "mitchell": ("mitchellcubic", False), "mitchell_aa": ("mitchellcubic", True),
    "gaussian_aa": ("gaussian", True),
    "cv2_bicubic": ("cv2", cv2.INTER_CUBIC), "cv2_lanczos": ("cv2", cv2.INTER_LANCZOS4),
    "cv2_nearest": ("cv2", cv2.INTER_NEAREST),
}



DEGRADATIONS = {
    "bicubic": DegradationConfig(blur_sigma=(0, 0), noise_std=(0, 0)),
    "light": DegradationConfig(),
    # One known kernel, nothing else: the oracle fine-tunes that
    # `tfsports upscale --degradation` picks (area: a box average, as
    # cv2.INTER_AREA and most downscalers' "area"; opencv_bicubic: OpenCV's
    # plain, aliasing INTER_CUBIC).
    "area": DegradationConfig(blur_sigma=(0, 0), noise_std=(0, 0), kernels=("area",)),
    "opencv_bicubic": DegradationConfig(blur_sigma=(0, 0), noise_std=(0, 0),
                                        kernels=("cv2_bicubic",)),
    "broadcast": DegradationConfig(blur_sigma=(0.3, 1.2), noise_std=(0, 4),
                                   jpeg_quality=(50, 90)),
    # A broadcast chain: a scaler's kernel (antialiased, or OpenCV's sharp
    # bicubic and Lanczos), mild optics blur and sensor noise, then the
    # in-loop H.264 of contribution and distribution encoders.
    "broadcast_h264": DegradationConfig(
        blur_sigma=(0.2, 1.0), noise_std=(0.5, 3.0), h264_crf=(18, 30),
        kernels=("area", "bicubic_aa", "lanczos_aa", "bilinear", "cv2_bicubic",
                 "cv2_lanczos"),
        kernel_weights=(3, 3, 2, 1, 2, 1), second_order=0.1, blur_prob=0.3,
        noise_prob=0.3, poisson=0.5, h264_prob=0.6),
    # Clean resizes of footage of any sharpness: the kernels of users' tools
    # (area and OpenCV's plain bicubic weigh most), a little noise and
    # compression now and then, no optical blur to undo, and a third of the
    # sources soft themselves (`soften_source`). The x2 clean-resize preset
    # trains on it: a model told that soft inputs were blurred sharpens a
    # soft original, and that is measured, not hedged, at x2.
    "resize": DegradationConfig(
        blur_sigma=(0, 0), noise_std=(0.5, 2.0), jpeg_quality=(75, 95), h264_crf=(18, 26),
        kernels=("area", "cv2_bicubic", "bicubic_aa", "bilinear", "lanczos_aa", "cv2_lanczos"),
        kernel_weights=(4, 4, 2, 1, 1, 1), noise_prob=0.2, jpeg_prob=0.2, h264_prob=0.1,
        soft_source=0.35, soft_sigma=(0.4, 1.4)),
    "restore": DegradationConfig(scale=1, blur_sigma=(0.5, 1.5),
                                 noise_std=(2, 8), jpeg_quality=(30, 70)),
    # Footage of unknown history: any kernel, sometimes resized twice,
    # sometimes blurred, noisy (Gaussian or Poisson), JPEG- or H.264-coded.
    # The kernels users' tools apply most (area; plain bicubic, bilinear,
    # Lanczos, nearest, which alias) weigh most, and about a third of the
    # clips are only downscaled: a blind model hedges between what it was
    # shown, and clean downscales are what it meets most.
    "real": DegradationConfig(
        blur_sigma=(0.2, 1.2), noise_std=(1.0, 5.0), jpeg_quality=(60, 95),
        h264_crf=(20, 30), kernels=tuple(KERNELS),
        # area nearest bicubic bicubic_aa bilinear bilinear_aa lanczos
        # lanczos_aa mitchell mitchell_aa gaussian_aa cv2_bicubic
        # cv2_lanczos cv2_nearest
        kernel_weights=(6, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 4, 2, 2),
        second_order=0.2, blur_prob=0.15, noise_prob=0.25, poisson=0.5,
        jpeg_prob=0.2, h264_prob=0.05),
}
config_lib.register_presets(DegradationConfig, DEGRADATIONS)


def _fires(seed, prob):
  if prob >= 1:
    return tf.constant(True)
  return tf.random.stateless_uniform([], seed) < prob


def _cv2_resize(frames, size, flag):
  h, w = (int(v) for v in size)
  return np.stack([cv2.resize(f, (w, h), interpolation=int(flag)) for f in frames])


def _resize(frames, size, method, option):
  if method != "cv2":
    return tf.image.resize(frames, size, method=method, antialias=option)
  out = tf.numpy_function(_cv2_resize, [tf.cast(frames, tf.float32), size, option],
                          tf.float32, stateful=False)
  return tf.reshape(out, tf.concat([tf.shape(frames)[:1], size, tf.shape(frames)[-1:]], 0))


def resize_with_kernel(frames, size, kernels, seed, weights=()):
  """Resizes float [T, H, W, C] to `size` with a kernel drawn from `kernels`
  (with `weights`, default equal)."""
  branches = [functools.partial(_resize, frames, size, *KERNELS[k]) for k in kernels]
  if len(branches) == 1:
    return branches[0]()
  logits = tf.math.log(tf.constant([weights or [1.0] * len(branches)], tf.float32))
  index = tf.random.stateless_categorical(logits, 1, seed, dtype=tf.int32)[0, 0]
  return tf.switch_case(index, branches)


def _uniform(seed, lo, hi):
  return tf.random.stateless_uniform([], seed, lo, hi) if hi > lo else tf.constant(
      float(lo))


def gaussian_blur(frames, sigma, radius=3):
  """Separable Gaussian blur of float [T, H, W, C] with a scalar tensor sigma."""
  x = tf.range(-radius, radius + 1, dtype=tf.float32)
  k = tf.exp(-0.5 * tf.square(x / tf.maximum(sigma, 1e-3)))
  k = k / tf.reduce_sum(k)
  c = frames.shape[-1]
  kx = tf.tile(tf.reshape(k, [1, -1, 1, 1]), [1, 1, c, 1])
  ky = tf.tile(tf.reshape(k, [-1, 1, 1, 1]), [1, 1, c, 1])
  padded = tf.pad(frames, [[0, 0], [radius, radius], [radius, radius], [0, 0]],
                  mode="SYMMETRIC")
  out = tf.nn.depthwise_conv2d(padded, kx, [1, 1, 1, 1], "VALID")
  return tf.nn.depthwise_conv2d(out, ky, [1, 1, 1, 1], "VALID")


def h264_roundtrip(frames, crf):
  """Encodes uint8 [T, H, W, 3] with libx264 at `crf` and decodes it (numpy)."""
  frames = np.asarray(frames)
  buffer = io.BytesIO()
  with av.open(buffer, mode="w", format="mp4") as container:
    stream = container.add_stream("libx264", rate=25)
    stream.height, stream.width = frames.shape[1:3]
    stream.pix_fmt = "yuv420p"
    stream.options = {"crf": str(int(crf)), "preset": "veryfast"}
    for f in frames:
      for p in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
        container.mux(p)
    for p in stream.encode():
      container.mux(p)
  buffer.seek(0)
  with av.open(buffer, mode="r") as container:
    out = [video_io.frame_to_rgb(f) for f in container.decode(video=0)]
  return np.stack(out).astype(np.uint8)


def soften_source(frames, config, seed):
  """The high-res clip as a soft source: float32 [T, H, W, 3] in [0, 255],
  Gaussian-blurred by `config.soft_sigma` with probability
  `config.soft_source` (unchanged otherwise, and always when 0). Both the
  target and `degrade_clip`'s input."""
  x = tf.cast(frames, tf.float32)
  if config.soft_source <= 0:
    return x
  seeds = tf.random.experimental.stateless_split(seed, 2)
  soft = gaussian_blur(x, _uniform(seeds[0], *config.soft_sigma))
  return tf.where(_fires(seeds[1], config.soft_source), soft, x)


def degrade_clip(frames, config, seed):
  """Degrades a clip in graph.

  Args:
    frames: uint8 or float32 in [0, 255], [T, H, W, 3]; H and W divisible by
      `config.scale` (and even, for H.264).
    config: `DegradationConfig`.
    seed: int32 [2] stateless seed.
  Returns:
    float32 [T, H/scale, W/scale, 3] in [0, 255].
  """
  x = tf.cast(frames, tf.float32)
  seeds = tf.random.experimental.stateless_split(seed, 14)
  c = config
  if c.blur_sigma[1] > 0:
    blurred = gaussian_blur(x, _uniform(seeds[0], *c.blur_sigma))
    x = tf.where(_fires(seeds[5], c.blur_prob), blurred, x)
  if c.scale > 1:
    size = tf.shape(x)[1:3] // c.scale
    if c.second_order > 0:
      # An intermediate size between the final one and 1.6x it.
      factor = tf.random.stateless_uniform([], seeds[6], 1.0, 1.6)
      mid = tf.cast(tf.round(tf.cast(size, tf.float32) * factor), tf.int32)
      twice = lambda: resize_with_kernel(x, mid, c.kernels, seeds[7], c.kernel_weights)
      x = tf.cond(_fires(seeds[8], c.second_order), twice, lambda: x)
    x = resize_with_kernel(x, size, c.kernels, seeds[9], c.kernel_weights)
    x = tf.ensure_shape(x, [frames.shape[0], None, None, frames.shape[-1]])
  if c.noise_std[1] > 0:
    std = _uniform(seeds[1], *c.noise_std)
    gaussian = std * tf.random.stateless_normal(tf.shape(x), seeds[2])
    if c.poisson > 0:
      # Shot noise: variance proportional to the signal, `std` at mid-grey.
      shot = gaussian * tf.sqrt(tf.maximum(x, 0.0) / 128.0)
      gaussian = tf.where(_fires(seeds[10], c.poisson), shot, gaussian)
    x = tf.where(_fires(seeds[11], c.noise_prob), x + gaussian, x)
  x = tf.clip_by_value(x, 0.0, 255.0)
  if c.jpeg_quality[1] > 0:
    q = tf.cast(tf.round(_uniform(seeds[3], *c.jpeg_quality)), tf.int32)
    jpeg = lambda: tf.cast(tf.map_fn(
        lambda f: tf.image.adjust_jpeg_quality(f, q), tf.cast(tf.round(x), tf.uint8)),
                           tf.float32)
    x = tf.cond(_fires(seeds[12], c.jpeg_prob), jpeg, lambda: x)
  if c.h264_crf[1] > 0:
    crf = tf.round(_uniform(seeds[4], *c.h264_crf))

    def h264():
      u8 = tf.cast(tf.round(x), tf.uint8)
      out = tf.numpy_function(h264_roundtrip, [u8, crf], tf.uint8, stateful=False)
      return tf.cast(tf.reshape(out, tf.shape(u8)), tf.float32)
    x = tf.cond(_fires(seeds[13], c.h264_prob), h264, lambda: x)
  return x

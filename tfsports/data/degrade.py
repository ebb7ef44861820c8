"""The degradation model that turns high-quality clips into low-quality ones
for super-resolution (scale 2, 4) and restoration (scale 1).

Order, as in real footage: optical blur, downscale, sensor noise, then
compression (JPEG per frame in graph, or H.264 across frames through PyAV).
Random strengths are drawn per clip from a stateless seed, so a pipeline is
deterministic when asked.
"""

import dataclasses
import io

import av
import numpy as np
import tensorflow as tf
from tfsports import config as config_lib


@dataclasses.dataclass(frozen=True)
class DegradationConfig(config_lib.Config):
  """scale: 1, 2 or 4. Each (lo, hi) range is sampled uniformly per clip;
  (0, 0) turns that step off. jpeg_quality and h264_crf: 0 = off."""
  scale: int = 4
  blur_sigma: tuple = (0.0, 1.0)
  noise_std: tuple = (0.0, 3.0)          # in 0-255 units
  jpeg_quality: tuple = (0, 0)           # e.g. (40, 90)
  h264_crf: tuple = (0, 0)               # e.g. (23, 35); slow, runs in Python

  def __post_init__(self):
    if self.scale not in (1, 2, 4):
      raise ValueError(f"scale must be 1, 2 or 4, got {self.scale}")



DEGRADATIONS = {
    "bicubic": DegradationConfig(blur_sigma=(0, 0), noise_std=(0, 0)),
    "light": DegradationConfig(),
    "broadcast": DegradationConfig(blur_sigma=(0.3, 1.2), noise_std=(0, 4),
                                   jpeg_quality=(50, 90)),
    "restore": DegradationConfig(scale=1, blur_sigma=(0.5, 1.5),
                                 noise_std=(2, 8), jpeg_quality=(30, 70)),
}
config_lib.register_presets(DegradationConfig, DEGRADATIONS)


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
    out = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
  return np.stack(out).astype(np.uint8)


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
  seeds = tf.random.experimental.stateless_split(seed, 5)
  if config.blur_sigma[1] > 0:
    x = gaussian_blur(x, _uniform(seeds[0], *config.blur_sigma))
  if config.scale > 1:
    size = tf.shape(x)[1:3] // config.scale
    x = tf.image.resize(x, size, method="bicubic", antialias=True)
  if config.noise_std[1] > 0:
    std = _uniform(seeds[1], *config.noise_std)
    x = x + std * tf.random.stateless_normal(tf.shape(x), seeds[2])
  x = tf.clip_by_value(x, 0.0, 255.0)
  if config.jpeg_quality[1] > 0:
    q = tf.cast(tf.round(_uniform(seeds[3], *config.jpeg_quality)), tf.int32)
    u8 = tf.cast(tf.round(x), tf.uint8)
    x = tf.cast(tf.map_fn(lambda f: tf.image.adjust_jpeg_quality(f, q), u8),
                tf.float32)
  if config.h264_crf[1] > 0:
    crf = tf.round(_uniform(seeds[4], *config.h264_crf))
    u8 = tf.cast(tf.round(x), tf.uint8)
    out = tf.numpy_function(h264_roundtrip, [u8, crf], tf.uint8, stateful=False)
    x = tf.cast(tf.ensure_shape(out, u8.shape), tf.float32)
  return x

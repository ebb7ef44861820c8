"""Registered custom layers, so every saved model loads with safe_mode=True
and converts to TFLite builtin ops (no Lambda layers anywhere)."""

import keras
from keras import ops
import tensorflow as tf

PACKAGE = "tfsports"


@keras.saving.register_keras_serializable(package=PACKAGE)
class StackFrames(keras.layers.Layer):
  """[B, T, H, W, C] -> [B, H, W, T*C]: a window of frames as channels."""

  def call(self, x):
    return ops.concatenate([x[:, t] for t in range(x.shape[1])], axis=-1)

  def compute_output_shape(self, shape):
    return (shape[0], shape[2], shape[3], shape[1] * shape[4])


@keras.saving.register_keras_serializable(package=PACKAGE)
class TakeFrame(keras.layers.Layer):
  """[B, T, H, W, C] -> [B, H, W, C], frame `index` (negative counts back)."""

  def __init__(self, index, **kwargs):
    super().__init__(**kwargs)
    self.index = index

  def call(self, x):
    return x[:, self.index]

  def compute_output_shape(self, shape):
    return (shape[0],) + tuple(shape[2:])

  def get_config(self):
    return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package=PACKAGE)
class DepthToSpace(keras.layers.Layer):
  """Sub-pixel upsampling (TFLite DEPTH_TO_SPACE)."""

  def __init__(self, block_size, **kwargs):
    super().__init__(**kwargs)
    self.block_size = block_size

  def call(self, x):
    return tf.nn.depth_to_space(x, self.block_size)

  def compute_output_shape(self, shape):
    b = self.block_size
    mul = lambda d: None if d is None else d * b
    return (shape[0], mul(shape[1]), mul(shape[2]), shape[3] // (b * b))

  def get_config(self):
    return {**super().get_config(), "block_size": self.block_size}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Rescale(keras.layers.Layer):
  """uint8 frames -> float32 in [0, 1]; the serving models take uint8."""

  def call(self, x):
    return ops.cast(x, "float32") * (1.0 / 255.0)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ToUint8(keras.layers.Layer):
  """float in [0, 1] -> uint8, rounded and clipped."""

  def call(self, x):
    x = ops.clip(ops.cast(x, "float32") * 255.0 + 0.5, 0.0, 255.0)
    return ops.cast(x, "uint8")

  def compute_output_spec(self, x):
    return keras.KerasTensor(x.shape, dtype="uint8")


def bilinear_subpixel_kernel(scale, channels=3):
  """A fixed 3x3 conv kernel [3, 3, C, C*s*s] whose output, rearranged by
  depth_to_space(s), is the bilinear (half-pixel) upscale of its input."""
  import numpy as np
  taps = np.zeros((scale, 3))
  for a in range(scale):
    o = (a + 0.5) / scale - 0.5
    if o < 0:
      taps[a, 0], taps[a, 1] = -o, 1 + o
    else:
      taps[a, 1], taps[a, 2] = 1 - o, o
  kernel = np.zeros((3, 3, channels, channels * scale * scale), np.float32)
  for dy in range(scale):
    for dx in range(scale):
      w = np.outer(taps[dy], taps[dx])
      for c in range(channels):
        kernel[:, :, c, (dy * scale + dx) * channels + c] = w
  return kernel


@keras.saving.register_keras_serializable(package=PACKAGE)
class BilinearSubpixel(keras.layers.Layer):
  """Bilinear upscaling expressed at low resolution: [B, h, w, C] ->
  [B, h, w, C*s*s], to be added to a sub-pixel residual before one
  depth_to_space. Keeps every full-resolution op but one out of the model,
  which is what a CPU spends its time on. Borders replicate, as resize does."""

  def __init__(self, scale, **kwargs):
    super().__init__(**kwargs)
    self.scale = scale

  def build(self, shape):
    self.kernel = tf.constant(bilinear_subpixel_kernel(self.scale, shape[-1]))

  def call(self, x):
    padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
    return tf.nn.conv2d(tf.cast(padded, self.kernel.dtype), self.kernel, 1, "VALID")

  def compute_output_shape(self, shape):
    return tuple(shape[:3]) + (shape[3] * self.scale * self.scale,)

  def get_config(self):
    return {**super().get_config(), "scale": self.scale}

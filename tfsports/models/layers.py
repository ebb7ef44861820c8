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


@keras.saving.register_keras_serializable(package=PACKAGE)
class BilinearUpsample(keras.layers.Layer):
  """Bilinear upscaling by an integer factor (TFLite RESIZE_BILINEAR), for
  any spatial size, static or dynamic."""

  def __init__(self, scale, **kwargs):
    super().__init__(**kwargs)
    self.scale = scale

  def call(self, x):
    size = tf.shape(x)[1:3] * self.scale
    return tf.cast(tf.image.resize(x, size, method="bilinear"), x.dtype)

  def compute_output_shape(self, shape):
    mul = lambda d: None if d is None else d * self.scale
    return (shape[0], mul(shape[1]), mul(shape[2]), shape[3])

  def get_config(self):
    return {**super().get_config(), "scale": self.scale}

"""Streaming video classifier: causal (2+1)D convolutions with explicit state.

Each block is a spatial 3x3 convolution applied to every frame, then a
causal temporal convolution over the last `temporal_kernel` frames. Frame
features are pooled over space, then averaged over all frames so far
(cumulative global average pooling, as MoViNet streams). The same layers
build two models:

  clip model:   uint8 frames [B, T, H, W, 3] -> logits [B, K]
  stream model: (uint8 frame [B, H, W, 3], states...) -> (logits, states...)

Feeding a clip frame by frame through the stream model gives the clip
model's logits (tested to 1e-5). States are plain tensors (no TensorList
ops), so the stream model converts to TFLite builtins.
"""

import dataclasses

import keras
from keras import ops
import tensorflow as tf

from tfsports import layers
from tfsports import config as config_lib

PACKAGE = layers.PACKAGE


@dataclasses.dataclass(frozen=True)
class ClassifierConfig(config_lib.Config):
  num_classes: int = 5
  num_frames: int = 16
  image_size: tuple = (96, 96)
  filters: tuple = (16, 24, 32, 48)
  temporal_kernel: int = 3
  head_dim: int = 64
  dropout: float = 0.2



CLASSIFIER_PRESETS = {
    "tiny": ClassifierConfig(),
    "base": ClassifierConfig(image_size=(128, 128), filters=(24, 48, 64, 96),
                             head_dim=128),
    "test": ClassifierConfig(num_frames=4, image_size=(16, 16), filters=(4, 8),
                             head_dim=8),
}
config_lib.register_presets(ClassifierConfig, CLASSIFIER_PRESETS)


@keras.saving.register_keras_serializable(package=PACKAGE)
class CausalTemporalConv(keras.layers.Layer):
  """out_t = sum_j W_j x_{t-k+1+j} + b over the last k frames (zeros before
  the first). Clip mode: x [B, T, H, W, C]. Stream mode: call `step(x_t,
  state)` with x_t [B, H, W, C] and state [B, k-1, H, W, C]."""

  def __init__(self, filters, kernel_size, **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.kernel_size = kernel_size

  def build(self, shape):
    self.kernel = self.add_weight(
        name="kernel", shape=(self.kernel_size, shape[-1], self.filters),
        initializer="glorot_uniform")
    self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

  def call(self, x):
    k = self.kernel_size
    padded = ops.pad(x, [[0, 0], [k - 1, 0], [0, 0], [0, 0], [0, 0]])
    t = ops.shape(x)[1]
    out = self.bias
    for j in range(k):
      out = out + ops.einsum("bthwc,cf->bthwf", padded[:, j:j + t], self.kernel[j])
    return out

  def step(self, x, state):
    """One frame: (x_t [B, H, W, C], state [B, k-1, H, W, C]) -> (out, state)."""
    frames = [state[:, j] for j in range(self.kernel_size - 1)] + [x]
    out = self.bias
    for j, frame in enumerate(frames):
      # A 1x1 convolution: TFLite CONV_2D, which XNNPACK runs.
      out = out + tf.nn.conv2d(frame, self.kernel[j][None, None], 1, "VALID")
    new_state = ops.stack(frames[1:], axis=1)
    return out, new_state

  def compute_output_shape(self, shape):
    return tuple(shape[:-1]) + (self.filters,)

  def get_config(self):
    return {**super().get_config(), "filters": self.filters,
            "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package=PACKAGE)
class FoldTime(keras.layers.Layer):
  """[B, T, H, W, C] -> [B*T, H, W, C], for per-frame spatial layers."""

  def call(self, x):
    return ops.reshape(x, (-1,) + tuple(x.shape[2:]))

  def compute_output_shape(self, shape):
    return (None,) + tuple(shape[2:])


@keras.saving.register_keras_serializable(package=PACKAGE)
class UnfoldTime(keras.layers.Layer):
  """[B*T, ...] -> [B, T, ...] with T fixed."""

  def __init__(self, num_frames, **kwargs):
    super().__init__(**kwargs)
    self.num_frames = num_frames

  def call(self, x):
    return ops.reshape(x, (-1, self.num_frames) + tuple(x.shape[1:]))

  def compute_output_shape(self, shape):
    return (None, self.num_frames) + tuple(shape[1:])

  def get_config(self):
    return {**super().get_config(), "num_frames": self.num_frames}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TemporalStep(keras.layers.Layer):
  """Stream mode of a `CausalTemporalConv`, sharing its weights."""

  def __init__(self, conv, **kwargs):
    super().__init__(**kwargs)
    self.conv = conv

  def call(self, x, state):
    return self.conv.step(x, state)

  def get_config(self):
    return {**super().get_config(),
            "conv": keras.saving.serialize_keras_object(self.conv)}

  @classmethod
  def from_config(cls, config):
    config["conv"] = keras.saving.deserialize_keras_object(config["conv"])
    return cls(**config)


@keras.saving.register_keras_serializable(package=PACKAGE)
class CumulativeMean(keras.layers.Layer):
  """Stream state of the running mean over frames: (x [B, C], sum [B, C],
  count [B, 1]) -> (mean, sum, count)."""

  def call(self, x, total, count):
    total = total + x
    count = count + 1.0
    return total / count, total, count


@keras.saving.register_keras_serializable(package=PACKAGE)
class MeanOverTime(keras.layers.Layer):
  def call(self, x):
    return ops.mean(x, axis=1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SpatialMean(keras.layers.Layer):
  """[..., H, W, C] -> [..., C]."""

  def call(self, x):
    return ops.mean(x, axis=(-3, -2))

  def compute_output_shape(self, shape):
    return tuple(shape[:-3]) + (shape[-1],)


class ClassifierLayers:
  """The classifier's layers, built once and shared by the clip and stream
  models (and by the semi-supervised GAN's discriminator)."""

  def __init__(self, config, num_outputs=None, name="classifier"):
    self.config = config
    self.name = name
    self.rescale = layers.Rescale(name=f"{name}_rescale")
    self.spatial = []
    self.temporal = []
    self.norm = []
    for i, f in enumerate(config.filters):
      self.spatial.append(keras.layers.Conv2D(
          f, 3, strides=2, padding="same", use_bias=False, name=f"{name}_block{i}_spatial"))
      # Per-frame batch norm: an affine map at inference, so streaming and
      # whole-clip outputs stay equal.
      # Synchronised across replicas, so N replicas train as one.
      self.norm.append(keras.layers.BatchNormalization(
          synchronized=True, name=f"{name}_block{i}_norm"))
      self.temporal.append(CausalTemporalConv(f, config.temporal_kernel,
                                              name=f"{name}_block{i}_temporal"))
    self.relu = [keras.layers.ReLU(name=f"{name}_block{i}_relu") for i in range(len(config.filters))]
    self.spatial_relu = [keras.layers.ReLU(name=f"{name}_block{i}_spatial_relu")
                         for i in range(len(config.filters))]
    self.pool = SpatialMean(name=f"{name}_pool")
    self.features = keras.layers.Dense(config.head_dim, activation="relu",
                                       name=f"{name}_features")
    self.dropout = keras.layers.Dropout(config.dropout, name=f"{name}_dropout")
    self.logits = keras.layers.Dense(num_outputs or config.num_classes,
                                     name=f"{name}_logits")

  def clip_features(self, frames_uint8_or_float, rescale=True):
    """[B, T, H, W, 3] -> per-frame pooled features [B, T, C]."""
    T = self.config.num_frames
    x = self.rescale(frames_uint8_or_float) if rescale else frames_uint8_or_float
    for i in range(len(self.spatial)):
      x = FoldTime(name=f"{self.name}_fold{i}")(x)
      x = self.spatial_relu[i](self.norm[i](self.spatial[i](x)))
      x = UnfoldTime(T, name=f"{self.name}_unfold{i}")(x)
      x = self.relu[i](self.temporal[i](x))
    return self.pool(x)

  def head(self, pooled, training=None):
    feats = self.features(pooled)
    return self.logits(self.dropout(feats, training=training)), feats


def clip_model(parts, float_input=False, with_features=False, name=None):
  """A clip model over `parts`: uint8 [B, T, H, W, 3] (or float [0, 1] with
  float_input) -> logits [B, K] (and the head's features with with_features)."""
  config = parts.config
  h, w = config.image_size
  frames = keras.Input((config.num_frames, h, w, 3), name="frames",
                       dtype="float32" if float_input else "uint8")
  pooled = MeanOverTime(name=f"{parts.name}_time_mean")(
      parts.clip_features(frames, rescale=not float_input))
  logits, feats = parts.head(pooled)
  return keras.Model(frames, [logits, feats] if with_features else logits,
                     name=name or parts.name)


def build_classifier(config, num_outputs=None, name="classifier", float_input=False):
  """Clip model: uint8 [B, T, H, W, 3] (or float [0, 1] with float_input)
  -> logits [B, K]; also returns the shared `ClassifierLayers`."""
  parts = ClassifierLayers(config, num_outputs, name)
  return clip_model(parts, float_input), parts


def stream_state_specs(config):
  """Names and per-example shapes of the stream model's states, in order."""
  h, w = config.image_size
  specs = []
  for i, f in enumerate(config.filters):
    h, w = (h + 1) // 2, (w + 1) // 2
    specs.append((f"state_block{i}", (config.temporal_kernel - 1, h, w, f)))
  specs.append(("state_sum", (config.filters[-1],)))
  specs.append(("state_count", (1,)))
  return specs


def build_stream_model(parts, batch_size=None):
  """Stream model over the same layers: (frame uint8 [B, H, W, 3], *states)
  -> (logits [B, K], *new states). Initial states are zeros
  (`initial_states`)."""
  config = parts.config
  h, w = config.image_size
  frame = keras.Input((h, w, 3), batch_size=batch_size, name="frame", dtype="uint8")
  states = [keras.Input(shape, batch_size=batch_size, name=name)
            for name, shape in stream_state_specs(config)]
  x = parts.rescale(frame)
  new_states = []
  for i in range(len(parts.spatial)):
    x = parts.spatial_relu[i](parts.norm[i](parts.spatial[i](x)))
    x, s = TemporalStep(parts.temporal[i], name=f"{parts.name}_step{i}")(x, states[i])
    x = parts.relu[i](x)
    new_states.append(s)
  pooled = parts.pool(x)
  # Cumulative mean of the head's input features would differ from the clip
  # model, which averages pooled features before the head: average pooled.
  mean, total, count = CumulativeMean(name=f"{parts.name}_cumulative_mean")(
      pooled, states[-2], states[-1])
  logits, _ = parts.head(mean)
  return keras.Model([frame] + states, [logits] + new_states + [total, count],
                     name=f"{parts.name}_stream")


def initial_states(config, batch_size=1):
  import numpy as np
  return [np.zeros((batch_size,) + shape, np.float32) for _, shape in stream_state_specs(config)]

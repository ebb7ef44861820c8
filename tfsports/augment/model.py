"""The class-conditional video GAN's networks, after DVD-GAN: the suite's
video generator (`models.video_generator`) and two projection critics, one on
sampled frames (spatial), one on the whole clip at half resolution
(temporal), both spectrally normalised.

Clips are float32 [B, T, H, W, 3] in [0, 1]; labels int32 [B].
"""

import dataclasses

import keras
from keras import ops

from tfsports import config as config_lib
from tfsports.models import video_generator
from tfsports.layers import PACKAGE


@dataclasses.dataclass(frozen=True)
class AugmentGANConfig(config_lib.Config):
  """num_frames: the generator's clip length (a power of two times the
  coarsest length; shorter datasets are padded by repeating the last frame,
  as the classifier pads them). sampled_frames: frames the spatial critic
  sees per clip."""
  num_classes: int = 5
  num_frames: int = 8
  image_size: tuple = (64, 64)
  latent_dim: int = 128
  filters: tuple = (256, 128, 64)
  disc_filters: tuple = (32, 64, 128, 256)
  sampled_frames: int = 4

  def generator_config(self):
    return video_generator.VideoGeneratorConfig(
        num_classes=self.num_classes, latent_dim=self.latent_dim, num_frames=self.num_frames,
        image_size=tuple(self.image_size), filters=tuple(self.filters))


PRESETS = config_lib.register_presets(AugmentGANConfig, {
    "tiny": AugmentGANConfig(latent_dim=64, filters=(96, 48, 24), disc_filters=(32, 64, 128, 256)),
    "base": AugmentGANConfig(image_size=(128, 128), filters=(512, 256, 128, 64),
                             disc_filters=(32, 64, 128, 256, 512)),
    "test": AugmentGANConfig(num_frames=4, image_size=(16, 16), latent_dim=8, filters=(16, 8),
                             disc_filters=(8, 16), sampled_frames=2),
})


def build_generator(config):
  """{z float [B, latent_dim], label int32 [B]} -> clip float [B, T, H, W, 3]."""
  return video_generator.build_video_generator(config.generator_config())


@keras.saving.register_keras_serializable(package=PACKAGE)
class GlobalSum(keras.layers.Layer):
  """[B, ..., C] -> [B, C], summed over every axis between (BigGAN's and
  DVD-GAN's pooling: with spectrally normalised layers a mean shrinks the
  logits so much that the critics barely moved off zero)."""

  def call(self, x):
    return ops.sum(x, axis=tuple(range(1, len(x.shape) - 1)))

  def compute_output_shape(self, shape):
    return (shape[0], shape[-1])


@keras.saving.register_keras_serializable(package=PACKAGE)
class Projection(keras.layers.Layer):
  """(features [B, C], label embedding [B, C], logit [B, 1]) -> logit +
  <features, embedding> [B, 1]: the projection discriminator's class term
  (Miyato and Koyama 2018)."""

  def call(self, features, embedding, logit):
    return logit + ops.sum(features * embedding, axis=-1, keepdims=True)

  def compute_output_shape(self, features_shape, embedding_shape, logit_shape):
    return logit_shape


def apply_sn_conv_block(x, filters, name, conv=keras.layers.Conv2D, kernel=3, strides=2):
  layer = conv(filters, kernel, strides=strides, padding="same", name=f"{name}_conv")
  x = keras.layers.SpectralNormalization(layer, name=name)(x)
  return keras.layers.LeakyReLU(0.2, name=f"{name}_lrelu")(x)


def apply_projection_head(x, label, config, name):
  """Pooled features [B, C] and labels -> logits [B, 1]."""
  logit = keras.layers.SpectralNormalization(keras.layers.Dense(1, name=f"{name}_dense"),
                                             name=f"{name}_logit")(x)
  embed = keras.layers.Embedding(config.num_classes, x.shape[-1], name=f"{name}_embedding")(
      keras.layers.Reshape((1,), name=f"{name}_label_reshape")(label))
  embed = keras.layers.Flatten(name=f"{name}_embedding_flat")(embed)
  return Projection(name=f"{name}_projection")(x, embed, logit)


def build_spatial_discriminator(config):
  """{frames float [B, H, W, 3], label int32 [B]} -> logits [B, 1]."""
  h, w = config.image_size
  frames = keras.Input((h, w, 3), name="frames")
  label = keras.Input((), dtype="int32", name="label")
  x = frames
  for i, f in enumerate(config.disc_filters):
    x = apply_sn_conv_block(x, f, f"down{i}")
  x = GlobalSum(name="pool")(x)
  out = apply_projection_head(x, label, config, "head")
  return keras.Model({"frames": frames, "label": label}, out, name="spatial_discriminator")


def build_temporal_discriminator(config):
  """{clip float [B, T, H, W, 3], label int32 [B]} -> logits [B, 1]; sees
  the clip at half resolution, as DVD-GAN's temporal critic."""
  h, w = config.image_size
  clip = keras.Input((config.num_frames, h, w, 3), name="clip")
  label = keras.Input((), dtype="int32", name="label")
  x = keras.layers.AveragePooling3D((1, 2, 2), name="downsample")(clip)
  for i, f in enumerate(config.disc_filters[:-1]):
    x = apply_sn_conv_block(x, f, f"down{i}", conv=keras.layers.Conv3D,
                            strides=(2 if x.shape[1] > 1 else 1, 2, 2))
  x = GlobalSum(name="pool")(x)
  out = apply_projection_head(x, label, config, "head")
  return keras.Model({"clip": clip, "label": label}, out, name="temporal_discriminator")

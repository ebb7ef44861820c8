"""Class-conditional video generator (for the semi-supervised GAN and for
data augmentation): latent + class -> clip float [T, H, W, 3] in [0, 1]."""

import dataclasses

import keras
from tfsports import config as config_lib


@dataclasses.dataclass(frozen=True)
class VideoGeneratorConfig(config_lib.Config):
  num_classes: int = 5
  latent_dim: int = 64
  num_frames: int = 8
  image_size: tuple = (32, 32)
  filters: tuple = (128, 64, 32)



GENERATOR_PRESETS = {
    "tiny": VideoGeneratorConfig(),
    # Light enough for many short CPU runs (the label-efficiency experiment).
    "small": VideoGeneratorConfig(filters=(64, 32, 16)),
    "test": VideoGeneratorConfig(num_frames=4, image_size=(16, 16), filters=(16, 8),
                                 latent_dim=8),
}
config_lib.register_presets(VideoGeneratorConfig, GENERATOR_PRESETS)


def apply_up_block(x, filters, temporal, name):
  """Upsample (time x2 if `temporal`, space x2), then a 3x3x3 conv (a 1x3x3
  spatial one when time was not upsampled: cheaper where the maps are big)."""
  x = keras.layers.UpSampling3D((2 if temporal else 1, 2, 2), name=f"{name}_up")(x)
  kernel = 3 if temporal else (1, 3, 3)
  # No bias: the batch norm after it cancels one (and Adam would turn its
  # round-off gradient into steps that differ between 1 and 2 replicas).
  x = keras.layers.Conv3D(filters, kernel, padding="same", use_bias=False,
                          name=f"{name}_conv")(x)
  # Synchronised across replicas, so N replicas train as one.
  x = keras.layers.BatchNormalization(synchronized=True, name=f"{name}_bn")(x)
  return keras.layers.ReLU(name=f"{name}_relu")(x)


def build_video_generator(config):
  """(z float [B, latent_dim], label int32 [B]) -> clip float [B, T, H, W, 3]."""
  n = len(config.filters)
  t0 = config.num_frames
  temporal = []
  for _ in range(n):
    temporal.append(t0 % 2 == 0 and t0 > 1)
    t0 = t0 // 2 if temporal[-1] else t0
  h0, w0 = config.image_size[0] >> n, config.image_size[1] >> n
  z = keras.Input((config.latent_dim,), name="z")
  label = keras.Input((), dtype="int32", name="label")
  embed = keras.layers.Flatten(name="label_flat")(
      keras.layers.Embedding(config.num_classes, config.latent_dim, name="label_embedding")(
          keras.layers.Reshape((1,), name="label_reshape")(label)))
  x = keras.layers.Concatenate(name="condition")([z, embed])
  x = keras.layers.Dense(t0 * h0 * w0 * config.filters[0], name="project")(x)
  x = keras.layers.Reshape((t0, h0, w0, config.filters[0]), name="project_reshape")(x)
  x = keras.layers.ReLU(name="project_relu")(x)
  for i, f in enumerate(config.filters):
    x = apply_up_block(x, f, temporal[i], f"up{i}")
  clip = keras.layers.Conv3D(3, (1, 3, 3), padding="same", activation="sigmoid",
                             name="to_rgb")(x)
  return keras.Model([z, label], clip, name="video_generator")

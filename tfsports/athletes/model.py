"""Athlete recognition from player crops: team, jersey number, and an
identity embedding for re-identification.

One small CNN trunk; heads for the kit (which team kit, or the referee's;
a player's team in a clip is the team wearing that kit), the jersey
number as two digits (tens 0-9 with 0 for one-digit numbers, units 0-9),
and an L2-normalised embedding.
"""

import dataclasses

import keras
from keras import ops

from tfsports.data.synthetic import NUM_KITS
from tfsports import layers
from tfsports import config as config_lib


@dataclasses.dataclass(frozen=True)
class AthleteConfig(config_lib.Config):
  crop_size: tuple = (48, 24)       # (height, width)
  filters: tuple = (24, 48, 64)
  embedding_dim: int = 64
  num_kits: int = NUM_KITS



ATHLETE_PRESETS = {
    "tiny": AthleteConfig(),
    "test": AthleteConfig(crop_size=(16, 8), filters=(4, 8), embedding_dim=8),
}
config_lib.register_presets(AthleteConfig, ATHLETE_PRESETS)


@keras.saving.register_keras_serializable(package=layers.PACKAGE)
class L2Normalize(keras.layers.Layer):
  def call(self, x):
    return x / ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True) + 1e-12)


def apply_conv_block(x, filters, name):
  x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}_conv1")(x)
  x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}_conv2")(x)
  return keras.layers.MaxPooling2D(2, name=f"{name}_pool")(x)


def build_athlete_model(config):
  """uint8 crops [B, h, w, 3] -> {kit [B, K], tens [B, 10], units [B, 10]
  (logits), embedding [B, D] (unit length)}."""
  h, w = config.crop_size
  crops = keras.Input((h, w, 3), dtype="uint8", name="crops")
  x = layers.Rescale(name="rescale")(crops)
  for i, f in enumerate(config.filters):
    x = apply_conv_block(x, f, f"block{i}")
  # Digits sit at fixed places on the shirt: keep the layout, not a pooled bag.
  x = keras.layers.Flatten(name="flatten")(x)
  x = keras.layers.Dense(128, activation="relu", name="trunk")(x)
  outputs = {
      "kit": keras.layers.Dense(config.num_kits, name="kit")(x),
      "tens": keras.layers.Dense(10, name="tens")(x),
      "units": keras.layers.Dense(10, name="units")(x),
      "embedding": L2Normalize(name="embedding")(
          keras.layers.Dense(config.embedding_dim, name="embedding_dense")(x)),
  }
  return keras.Model(crops, outputs, name="athlete")

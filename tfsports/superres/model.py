"""Video super-resolution GAN: generator and discriminators.

The generator reads a window of `num_frames` low-res frames and returns the
high-res centre frame: features of the stacked window, residual blocks at
low resolution, sub-pixel (depth_to_space) upsampling, added to a bilinear
upscale of the centre frame. Every op maps to a TFLite builtin.
"""

import dataclasses

import keras

from tfsports import layers
from tfsports import config as config_lib


@dataclasses.dataclass(frozen=True)
class SRConfig(config_lib.Config):
  """num_frames: window length (odd, 3-7); scale: 1, 2 or 4."""
  scale: int = 4
  num_frames: int = 3
  filters: int = 16
  num_blocks: int = 2
  disc_filters: int = 16
  disc_depth: int = 3

  def __post_init__(self):
    if self.scale not in (1, 2, 4):
      raise ValueError(f"scale must be 1, 2 or 4, got {self.scale}")
    if self.num_frames % 2 == 0 or not 1 <= self.num_frames <= 7:
      raise ValueError(f"num_frames must be odd and in 1..7, got {self.num_frames}")



SR_PRESETS = {
    # Real time on a 2-core CPU at 180x320 -> 720x1280 (see benchmarks/).
    "tiny": SRConfig(filters=16, num_blocks=2, disc_filters=16, disc_depth=3),
    "base": SRConfig(filters=64, num_blocks=8, disc_filters=32, disc_depth=4),
}
config_lib.register_presets(SRConfig, SR_PRESETS)


def apply_conv(x, filters, name, kernel_size=3, strides=1, activation=None):
  x = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same",
                          name=name)(x)
  if activation == "lrelu":
    # Leaky, not plain ReLU: on real footage one large early step could
    # switch every head unit off for good, leaving a model that is only its
    # bilinear base. TFLite LEAKY_RELU is a builtin, int8 included.
    x = keras.layers.LeakyReLU(0.1, name=f"{name}_lrelu")(x)
  return x


def apply_residual_block(x, filters, name):
  y = apply_conv(x, filters, f"{name}_conv1", activation="lrelu")
  y = apply_conv(y, filters, f"{name}_conv2")
  return keras.layers.Add(name=f"{name}_add")([x, y])


def apply_upsample_block(x, centre, scale, name):
  """Sub-pixel upsampling to RGB: a conv to 3*s*s channels plus the bilinear
  upscale of the centre frame in the same sub-pixel layout, then one
  depth_to_space, so the only full-resolution op is the rearrangement."""
  if scale == 1:
    residual = apply_conv(x, 3, f"{name}_conv")
    return keras.layers.Add(name="output")([centre, residual])
  residual = apply_conv(x, 3 * scale * scale, f"{name}_conv")
  base = layers.BilinearSubpixel(scale, name=f"{name}_bilinear")(centre)
  x = keras.layers.Add(name=f"{name}_add")([base, residual])
  return layers.DepthToSpace(scale, name="output")(x)


def build_sr_generator(config, image_size=(None, None)):
  """Window float32 [B, T, h, w, 3] in [0, 1] -> frame [B, h*s, w*s, 3].

  The output is a learned residual over bilinear upscaling of the centre
  frame. `image_size` fixes (h, w) for export; None keeps it dynamic.
  """
  h, w = image_size
  frames = keras.Input((config.num_frames, h, w, 3), name="frames")
  centre = layers.TakeFrame(config.num_frames // 2, name="centre")(frames)
  x = layers.StackFrames(name="stack")(frames)
  x = apply_conv(x, config.filters, "head", activation="lrelu")
  skip = x
  for i in range(config.num_blocks):
    x = apply_residual_block(x, config.filters, f"block{i}")
  x = apply_conv(x, config.filters, "body_out")
  x = keras.layers.Add(name="body_skip")([x, skip])
  out = apply_upsample_block(x, centre, config.scale, "upsample")
  return keras.Model(frames, out, name="sr_generator")


def apply_sn_conv(x, filters, name, strides=2):
  conv = keras.layers.Conv2D(filters, 4 if strides == 2 else 3, strides=strides,
                             padding="same", name=f"{name}_conv")
  x = keras.layers.SpectralNormalization(conv, name=name)(x)
  return keras.layers.LeakyReLU(0.2, name=f"{name}_lrelu")(x)


def _build_patch_discriminator(channels, config, name):
  inputs = keras.Input((None, None, channels), name="frames")
  x = inputs
  for i in range(config.disc_depth):
    x = apply_sn_conv(x, config.disc_filters * 2**i, f"down{i}")
  conv = keras.layers.Conv2D(1, 3, padding="same", name="logits_conv")
  logits = keras.layers.SpectralNormalization(conv, name="logits")(x)
  return keras.Model(inputs, logits, name=name)


def build_spatial_discriminator(config):
  """High-res frame [B, H, W, 3] -> patch logits [B, H/2^d, W/2^d, 1]."""
  return _build_patch_discriminator(3, config, "spatial_discriminator")


def build_temporal_discriminator(config):
  """Three consecutive high-res frames stacked as channels [B, H, W, 9] ->
  patch logits: judges motion, not single frames."""
  return _build_patch_discriminator(9, config, "temporal_discriminator")

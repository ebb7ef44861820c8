"""Video super-resolution GAN: generator and discriminators.

The generator reads a window of `num_frames` low-res frames and returns the
high-res centre frame: features of the stacked window, residual blocks at
low resolution, sub-pixel (depth_to_space) upsampling, added to a bilinear
upscale of the centre frame. Every op maps to a TFLite builtin.
"""

import dataclasses

import keras
import numpy as np

from tfsports import layers
from tfsports import config as config_lib


@dataclasses.dataclass(frozen=True)
class SRConfig(config_lib.Config):
  """num_frames: window length (odd, 3-7); scale: 1, 2 or 4. block:
  "residual" (plain residual blocks over a bilinear base) or "rep"
  (re-parameterisable blocks folded into one 3x3 convolution each at export,
  and the base folded into the sub-pixel convolution)."""
  scale: int = 4
  num_frames: int = 3
  filters: int = 16
  num_blocks: int = 2
  disc_filters: int = 16
  disc_depth: int = 3
  block: str = "residual"

  def __post_init__(self):
    if self.scale not in (1, 2, 4):
      raise ValueError(f"scale must be 1, 2 or 4, got {self.scale}")
    if self.num_frames % 2 == 0 or not 1 <= self.num_frames <= 7:
      raise ValueError(f"num_frames must be odd and in 1..7, got {self.num_frames}")
    if self.block not in ("residual", "rep"):
      raise ValueError(f"block must be 'residual' or 'rep', got {self.block!r}")



SR_PRESETS = {
    # Real time on a 2-core CPU at 180x320 -> 720x1280 (see benchmarks/).
    "tiny": SRConfig(filters=16, num_blocks=2, disc_filters=16, disc_depth=3),
    "base": SRConfig(filters=64, num_blocks=8, disc_filters=32, disc_depth=4),
    # Re-parameterisable (ECBSR-style) real-time generators: trained with
    # parallel branches, run as plain 3x3 convolutions. Widths chosen by
    # benchmarks/sr_speed.py at 180x320 -> 720x1280 on 2 cores (int8).
    "rep": SRConfig(filters=32, num_blocks=4, disc_filters=16, disc_depth=3, block="rep"),
    # Two blocks deeper, still real time (benchmarks/upscale_speed.py); grown
    # from a trained "rep" generator (`grow_generator`) rather than trained
    # from scratch.
    "rep_deep": SRConfig(filters=32, num_blocks=6, disc_filters=16, disc_depth=3, block="rep"),
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


def apply_rep_conv(x, filters, name, deploy, activation=None, **rep_args):
  """A `RepConv2D` in training form, or the plain `Conv2D` it folds into."""
  if deploy:
    x = keras.layers.Conv2D(filters, 3, padding="same", name=name)(x)
  else:
    x = layers.RepConv2D(filters, name=name, **rep_args)(x)
  if activation == "lrelu":
    x = keras.layers.LeakyReLU(0.1, name=f"{name}_lrelu")(x)
  return x


def apply_rep_tail(x, stacked, config, deploy):
  """Features and the stacked window -> pixels [B, h*s, w*s, 3] in [0, 1].

  A sub-pixel convolution of the features, plus a convolution of the raw
  window whose kernel holds the bilinear upscale of the centre frame as a
  constant (with learned weights over every frame beside it), so the base
  costs no op of its own and no frame is sliced out. The two are not one
  convolution over a concatenation: int8 concatenation shares one scale, and
  the frames would be quantised as coarsely as the features. Training clips
  to [0, 1]; the deploy form ends in `PixelQuant`, so an int8 model's output
  is pixels at scale 1/255, with no clip op (which XNNPACK does not run)."""
  residual = apply_rep_conv(x, 3 * config.scale ** 2, "tail", deploy, identity=False,
                            zero_init=True)
  base = apply_rep_conv(stacked, 3 * config.scale ** 2, "skip", deploy, identity=False,
                        zero_init=True, base_scale=config.scale,
                        base_offset=3 * (config.num_frames // 2))
  x = keras.layers.Add(name="tail_add")([residual, base])
  if deploy:
    x = layers.PixelQuant(name="clip")(x)
  else:
    x = keras.layers.ReLU(max_value=1.0, name="clip")(x)
  if config.scale == 1:
    return x
  return layers.DepthToSpace(config.scale, name="output")(x)


def build_rep_generator(config, image_size=(None, None), deploy=False):
  """The "rep" generator. Training form (deploy False): window float32
  [B, T, h, w, 3] in [0, 1] -> frame [B, h*s, w*s, 3] in [0, 1], through
  `RepConv2D` blocks. Deploy form: the same function as plain convolutions
  over the window stacked on channels, [B, h, w, 3T] (frame t's RGB at
  channels 3t..3t+2), so no op stacks frames; `fold_sr_generator` fills it."""
  h, w = image_size
  if deploy:
    inputs = keras.Input((h, w, 3 * config.num_frames), name="frames")
    # Fixes the int8 input's range to [0, 1], so camera frames go in as they
    # are (scale 1/255) whatever the calibration frames held.
    stacked = layers.PixelQuant(name="frames_quant")(inputs)
  else:
    inputs = keras.Input((config.num_frames, h, w, 3), name="frames")
    stacked = layers.StackFrames(name="stack")(inputs)
  x = apply_rep_conv(stacked, config.filters, "head", deploy, activation="lrelu")
  for i in range(config.num_blocks):
    x = apply_rep_conv(x, config.filters, f"block{i}", deploy, activation="lrelu")
  out = apply_rep_tail(x, stacked, config, deploy)
  return keras.Model(inputs, out, name="sr_generator_deploy" if deploy else "sr_generator")


def fold_sr_generator(generator, config, image_size=(None, None)):
  """The deploy form of a trained "rep" generator: each `RepConv2D` folded
  into one `Conv2D`, input stacked on channels [B, h, w, 3T]. Equal to the
  trained model to float32 round-off, but for `PixelQuant` rounding the
  output to 1/255 steps, which serving does anyway (tested)."""
  deployed = build_rep_generator(config, image_size, deploy=True)
  for layer in generator.layers:
    if isinstance(layer, layers.RepConv2D):
      deployed.get_layer(layer.name).set_weights(layer.fused_weights())
  return deployed


def grow_generator(source, target):
  """Copies a trained "rep" generator into a deeper one of the same width,
  layer by layer by name; the blocks `source` lacks start as the identity
  (every branch's output weights zero, so only `RepConv2D`'s identity
  passes), and the copy computes what `source` does but for LeakyReLU's
  negative side, scaled once more by 0.1 in each new block. Raises
  ValueError when a shared layer's weights do not fit."""
  names = {layer.name for layer in source.layers}
  for layer in target.layers:
    if not layer.weights:
      continue
    if layer.name in names:
      weights = source.get_layer(layer.name).get_weights()
      if [w.shape for w in weights] != [tuple(v.shape) for v in layer.weights]:
        raise ValueError(f"layer {layer.name!r} does not fit: the generators differ in width")
      layer.set_weights(weights)
    elif isinstance(layer, layers.RepConv2D) and layer.use_identity:
      # The input 1x1s stay random so the new block's gradients are not zero.
      layer.set_weights([w if v.path.endswith("k1") else np.zeros_like(w)
                         for v, w in zip(layer.weights, layer.get_weights())])
    else:
      raise ValueError(f"layer {layer.name!r} has no counterpart to grow from")
  return target


def inference_generators(generator, config, image_size):
  """(window model, TFLite core) of a trained generator for export.

  The window model takes float [B, T, h, w, 3] like the trained one (the
  SavedModel's contract); the core is what TFLite runs at `image_size`.
  "rep": both are the folded model, the core taking the window stacked on
  channels [1, h, w, 3T], so the edge graph has no stacking op (the runner
  stacks with one `cv2.merge`). "residual": the generator itself, twice."""
  if config.block != "rep":
    return generator, generator
  folded = fold_sr_generator(generator, config)
  frames = keras.Input((config.num_frames, None, None, 3), name="frames")
  window_model = keras.Model(frames, folded(layers.StackFrames(name="stack")(frames)),
                             name="sr_generator_folded")
  return window_model, fold_sr_generator(generator, config, image_size)


def build_sr_generator(config, image_size=(None, None)):
  """Window float32 [B, T, h, w, 3] in [0, 1] -> frame [B, h*s, w*s, 3].

  The output is a learned residual over bilinear upscaling of the centre
  frame. `image_size` fixes (h, w) for export; None keeps it dynamic.
  """
  if config.block == "rep":
    return build_rep_generator(config, image_size)
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


def feature_layer(config):
  """The name of the generator's last low-resolution feature layer (what the
  tail upsamples), where distillation matches student and teacher."""
  if config.block == "rep":
    return f"block{config.num_blocks - 1}_lrelu" if config.num_blocks else "head_lrelu"
  return "body_skip"


def with_features(generator, config):
  """Window -> (frame, features [B, h, w, filters]), sharing the
  generator's layers."""
  return keras.Model(generator.input,
                     [generator.output, generator.get_layer(feature_layer(config)).output],
                     name=f"{generator.name}_features")


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

"""Registered custom layers, so every saved model loads with safe_mode=True
and converts to TFLite builtin ops (no Lambda layers anywhere)."""

import keras
from keras import ops
import numpy as np
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


_EDGE_MASKS = {
    "sobel_x": ((1, 0, -1), (2, 0, -2), (1, 0, -1)),
    "sobel_y": ((1, 2, 1), (0, 0, 0), (-1, -2, -1)),
    "laplacian": ((0, 1, 0), (1, -4, 1), (0, 1, 0)),
}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PixelQuant(keras.layers.Layer):
  """Clips to [0, 1] and rounds to 1/255 steps (a fixed 8-bit fake quant).
  Inside a float model it changes nothing that the uint8 output would keep;
  in int8 conversion it fixes the output's range to [0, 1], so the model's
  quantised output is the pixel value and the clip is free."""

  def call(self, x):
    return tf.quantization.fake_quant_with_min_max_args(
        tf.cast(x, tf.float32), min=0.0, max=1.0, num_bits=8)


@keras.saving.register_keras_serializable(package=PACKAGE)
class RepConv2D(keras.layers.Layer):
  """A re-parameterisable 3x3 convolution (ECBSR's edge-oriented block,
  RepVGG's identity): trained as parallel branches, 3x3; 1x1 then 3x3;
  1x1 then fixed Sobel-x, Sobel-y and Laplacian masks with learned per-channel
  scales; the identity where the channels match, and all are linear, so
  they sum into one 3x3 kernel and bias (`fused_weights`) that a plain
  `Conv2D` runs at inference.

  The branches are summed into that kernel before the convolution in
  training too, so training runs one convolution per block, the gradients
  reach every branch's weights as the branches' sum would pass them, and
  the folded model equals the trained one to float32 round-off (the border
  included, which ECBSR's bias-padded 1x1 branch needs extra care for).

  base_scale: adds a constant, untrained kernel to the fused one: the
  sub-pixel bilinear upscale (`bilinear_subpixel_kernel`) of input channels
  [base_offset, base_offset + 3), so the base of a residual upscaler costs
  nothing (s = 1: the identity). Borders pad with zeros, as `Conv2D`'s
  "same".
  """

  def __init__(self, filters, expand=2, identity=True, base_scale=0, base_offset=0,
               zero_init=False, **kwargs):
    super().__init__(**kwargs)
    self.filters, self.expand, self.identity = filters, expand, identity
    self.base_scale, self.base_offset, self.zero_init = base_scale, base_offset, zero_init

  def build(self, shape):
    cin, cout = int(shape[-1]), self.filters
    mid = self.expand * cout
    glorot = keras.initializers.GlorotUniform
    # zero_init: the fused kernel starts at its constant alone (an upscaler
    # starts as its bilinear base). Random 3x3 kernels into the sub-pixel
    # channels would start it as a checkerboard, which it unlearns slowly.
    # k1 stays random so that k13, starting at zero, still gets gradients.
    start = (lambda: "zeros") if self.zero_init else glorot
    self.k3 = self.add_weight(name="k3", shape=(3, 3, cin, cout), initializer=start())
    self.b3 = self.add_weight(name="b3", shape=(cout,), initializer="zeros")
    self.k1 = self.add_weight(name="k1", shape=(cin, mid), initializer=glorot())
    self.b1 = self.add_weight(name="b1", shape=(mid,), initializer="zeros")
    self.k13 = self.add_weight(name="k13", shape=(3, 3, mid, cout), initializer=start())
    self.b13 = self.add_weight(name="b13", shape=(cout,), initializer="zeros")
    self.edge = {}
    for name in _EDGE_MASKS:
      # Small scales: the edge branches start as a nudge, as in ECBSR.
      self.edge[name] = (
          self.add_weight(name=f"{name}_k1", shape=(cin, cout), initializer=glorot()),
          self.add_weight(name=f"{name}_b1", shape=(cout,), initializer="zeros"),
          self.add_weight(name=f"{name}_scale", shape=(cout,),
                          initializer="zeros" if self.zero_init else
                          keras.initializers.RandomNormal(stddev=1e-3)),
          self.add_weight(name=f"{name}_bias", shape=(cout,), initializer="zeros"))
    self.use_identity = bool(self.identity) and cin == cout
    constant = np.zeros((3, 3, cin, cout), np.float32)
    if self.use_identity:
      constant[1, 1] += np.eye(cout, dtype=np.float32)
    if self.base_scale:
      if cout != 3 * self.base_scale ** 2 or self.base_offset + 3 > cin:
        raise ValueError(f"a x{self.base_scale} base needs {3 * self.base_scale ** 2} "
                         f"outputs and 3 inputs from {self.base_offset}; got {cin} -> {cout}")
      constant[:, :, self.base_offset:self.base_offset + 3] += bilinear_subpixel_kernel(
          self.base_scale, 3)
    self.constant = constant

  def fused(self):
    """(kernel [3, 3, Cin, Cout], bias [Cout]) tensors of the branches' sum."""
    kernel = self.k3 + ops.einsum("im,hwmo->hwio", self.k1, self.k13)
    bias = self.b3 + self.b13 + ops.einsum("m,hwmo->o", self.b1, self.k13)
    for name, mask in _EDGE_MASKS.items():
      k1, b1, scale, edge_bias = self.edge_weights(name)
      mask = np.asarray(mask, np.float32)
      kernel = kernel + ops.einsum("hw,io->hwio", mask, k1 * scale)
      bias = bias + edge_bias + b1 * scale * float(mask.sum())
    return kernel + self.constant, bias

  def edge_weights(self, name):
    """(1x1 kernel, 1x1 bias, mask scale, bias) of the `name` edge branch."""
    return self.edge[name]

  def fused_weights(self):
    """The fused (kernel, bias) as NumPy arrays, for a `Conv2D`."""
    kernel, bias = self.fused()
    return [np.asarray(kernel), np.asarray(bias)]

  def call(self, x):
    kernel, bias = self.fused()
    y = tf.nn.conv2d(x, tf.cast(kernel, x.dtype), 1, "SAME")
    return y + tf.cast(bias, x.dtype)

  def compute_output_shape(self, shape):
    return tuple(shape[:3]) + (self.filters,)

  def get_config(self):
    return {**super().get_config(), "filters": self.filters, "expand": self.expand,
            "identity": self.identity, "zero_init": self.zero_init,
            "base_scale": self.base_scale, "base_offset": self.base_offset}

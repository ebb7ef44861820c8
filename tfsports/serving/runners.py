"""The runners: one calling convention for a model in any form.

A frame runner (Keras, SavedModel or TFLite) maps a uint8 window
[T, h, w, 3] to a uint8 frame; `StreamingTFLiteRunner` runs a streaming
model frame by frame with explicit states."""

import collections
import os

import numpy as np
import tensorflow as tf

from tfsports import errors
from tfsports.serving import interpreters


class ModelMismatchError(errors.UserError):
  """The input does not fit the model (size, window, dtype)."""


def iter_windows(frames, window):
  """Yields, for each frame of an iterable, the window of `window` frames
  centred on it, uint8 [T, H, W, 3]; the first and last frames are repeated
  at the ends. Holds only `window` frames at a time."""
  half = window // 2
  buf = collections.deque(maxlen=window)
  n = 0
  for frame in frames:
    if not buf:
      buf.extend([frame] * (half + 1))
    else:
      buf.append(frame)
    n += 1
    if len(buf) == window:
      yield np.stack(buf)
  if n == 0:
    return
  if len(buf) < window:        # fewer frames than half a window
    while len(buf) < window:
      buf.append(buf[-1])
    yield np.stack(buf)
    n_out = 1
  else:
    n_out = n - half
  last = buf[-1]
  while n_out < n:
    buf.append(last)
    yield np.stack(buf)
    n_out += 1


def stack_window(window):
  """uint8 [T, h, w, 3] -> [h, w, 3T], frame t's RGB at channels 3t..3t+2:
  the input of models that take the window stacked on channels."""
  import cv2   # one pass, where NumPy's concatenate on the last axis is ~7x slower
  return cv2.merge(list(window))


class KerasRunner:
  def __init__(self, model):
    self.model = model
    self.window = model.input_shape[1]
    self.input_size = tuple(model.input_shape[2:4])

  def __call__(self, window):
    x = tf.constant(window[None], tf.float32) / 255.0
    y = self.model(x, training=False)[0]
    return tf.cast(tf.clip_by_value(tf.round(tf.cast(y, tf.float32) * 255.0), 0, 255),
                   tf.uint8).numpy()


class SavedModelRunner:
  def __init__(self, path):
    self.loaded = tf.saved_model.load(path)
    self.fn = self.loaded.signatures["serving_default"]
    spec = self.fn.structured_input_signature[1]
    self.input_name, spec = next(iter(spec.items()))
    self.window = spec.shape[1]
    self.input_size = tuple(spec.shape[2:4])
    self.output_name = next(iter(self.fn.structured_outputs))

  def __call__(self, window):
    _check(window, self.window, self.input_size)
    out = self.fn(**{self.input_name: tf.constant(window[None])})
    return out[self.output_name].numpy()[0]


class TFLiteRunner:
  def __init__(self, path, num_threads=2):
    self.path = path
    self.interpreter = interpreters.load_interpreter(path, num_threads)
    self.input = self.interpreter.get_input_details()[0]
    self.output = self.interpreter.get_output_details()[0]
    shape = [int(d) for d in self.input["shape"]]
    # [1, T, h, w, 3], or [1, h, w, 3T]: the window stacked on channels.
    self.stacked = len(shape) == 4
    self.window = shape[3] // 3 if self.stacked else shape[1]
    self.input_size = tuple(shape[1:3] if self.stacked else shape[2:4])
    self._lut = None
    scale, zero = self.output["quantization"]
    if scale and self.output["dtype"] not in (np.uint8, np.int8):
      raise ModelMismatchError(f"{path}: quantised {self.output['dtype'].__name__} "
                               "output; frame models return uint8 or int8")
    pixels = (self.output["dtype"] == np.uint8 and zero == 0
              and abs(scale * 255.0 - 1.0) < 1e-6)
    if scale and not pixels:
      # Dequantising a full-resolution frame in float costs more than the
      # int8 model itself; a 256-entry table maps quantised values to pixels.
      # (Models that end in `PixelQuant` emit pixels and need none.)
      q = np.arange(256) if self.output["dtype"] == np.uint8 else np.arange(-128, 128)
      lut = np.clip(np.round((q - zero) * scale * 255.0), 0, 255).astype(np.uint8)
      self._lut = lut if self.output["dtype"] == np.uint8 else np.roll(lut, -128)

  def ops(self):
    from tfsports.serving import tflite
    return tflite.builtin_ops(self.path)

  def __call__(self, window):
    _check(window, self.window, self.input_size)
    x = (stack_window(window) if self.stacked else window)[None]
    scale, zero = self.input["quantization"]
    if self.input["dtype"] == np.float32:
      x = x.astype(np.float32) / 255.0
    elif scale and not (abs(scale * 255.0 - 1.0) < 1e-6 and zero == 0):
      x = np.clip(np.round(x / 255.0 / scale + zero), 0, 255).astype(self.input["dtype"])
    self.interpreter.set_tensor(self.input["index"], x)
    self.interpreter.invoke()
    y = self.interpreter.get_tensor(self.output["index"])[0]
    if self._lut is not None:
      import cv2   # its table lookup is ~10x NumPy's fancy indexing
      return cv2.LUT(y.view(np.uint8), self._lut)
    if y.dtype == np.uint8:
      return y
    return np.clip(np.round(y * 255.0), 0, 255).astype(np.uint8)


class StreamingTFLiteRunner:
  """Runs a streaming TFLite model (states as inputs and outputs, as
  `actions.model.build_stream_model` makes) step by step, carrying its
  states; `reset` starts a new stream. The one input that is not a state
  is the step's: a uint8 frame (the pixel stream) or float32 keypoints
  (the pose stream)."""

  def __init__(self, path, num_threads=2):
    self.path = path
    self.interpreter = interpreters.load_interpreter(path, num_threads)
    self.runner = self.interpreter.get_signature_runner()
    details = self.runner.get_input_details()
    self.state_names = sorted(n for n in details if n.startswith("state_"))
    self.state_shapes = {n: details[n]["shape"] for n in self.state_names}
    (self.input_name,) = [n for n in details if not n.startswith("state_")]
    self.input_shape = tuple(int(d) for d in details[self.input_name]["shape"][1:])
    self.input_dtype = details[self.input_name]["dtype"]
    # A frame's (height, width); the pixel stream's callers size frames by it.
    self.frame_shape = self.input_shape[:2]
    outputs = self.runner.get_output_details()
    self.output_names = sorted(outputs)
    self.reset()

  def ops(self):
    from tfsports.serving import tflite
    return tflite.builtin_ops(self.path)

  def reset(self):
    self.states = {n: np.zeros(s, np.float32) for n, s in self.state_shapes.items()}

  def __call__(self, x):
    """One step's input (uint8 [H, W, 3] or float32 [F]) -> logits [K];
    advances the states."""
    x = np.asarray(x)
    if x.dtype != self.input_dtype or x.shape != self.input_shape:
      raise ModelMismatchError(f"expected {np.dtype(self.input_dtype).name} "
                               f"{self.input_name} of {self.input_shape}, got "
                               f"{x.dtype} {x.shape}")
    out = self.runner(**{self.input_name: x[None]}, **self.states)
    # Outputs are (logits, states in spec order, sum, count): output_0 is the
    # logits, the rest follow the state inputs' order.
    values = [out[n] for n in sorted(out, key=lambda n: int(n.split("_")[-1]))]
    for name, value in zip(_spec_order(self.state_names), values[1:]):
      self.states[name] = value
    return values[0][0]


def receptive_radius(runner, trials=2, seed=0):
  """How far, in input pixels, one input pixel reaches into a fixed-shape
  frame runner's output: a bright spot is set at the centre of random
  windows and the reach of the change is measured (the largest of
  `trials`). Returns (radius, scale)."""
  t = runner.window
  h, w = runner.input_size
  rng = np.random.default_rng(seed)
  radius, scale = 0, None
  for _ in range(trials):
    x = rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8)
    y = runner(x).astype(np.int32)
    scale = y.shape[0] // h
    x2 = x.copy()
    x2[:, h // 2, w // 2] = 255 - x2[:, h // 2, w // 2]
    changed = np.argwhere(np.abs(runner(x2).astype(np.int32) - y).max(-1) > 0)
    if len(changed):
      cy, cx = (h // 2 + 0.5) * scale, (w // 2 + 0.5) * scale
      reach = np.abs(changed + 0.5 - [cy, cx]).max() / scale
      radius = max(radius, int(np.ceil(reach)))
  return radius, scale


def tile_starts(length, tile, margin):
  """Start offsets of tiles of `tile` pixels covering `length`, overlapping
  by 2 * margin so that every output pixel comes from a tile in which it is
  at least `margin` from any edge that is not a frame edge."""
  if length <= tile:
    return [0]
  step = tile - 2 * margin
  if step < 1:
    raise ValueError(f"tiles of {tile} px cannot keep a margin of {margin} px (the model's "
                     f"receptive field); pass --resize or export a larger fixed shape")
  starts = list(range(0, length - tile, step)) + [length - tile]
  return sorted(set(starts))


class TiledRunner:
  """Runs a fixed-shape frame runner on windows of any size, tile by tile.

  Tiles overlap by twice the model's receptive radius (measured, plus a
  safety pixel), and each output pixel is taken from a tile where it is at
  least that far from every cut edge, so the result equals running the
  model on the whole frame: no seams. Frames smaller than a tile are padded
  by repeating their edge pixels (exact except near those padded edges).
  """

  def __init__(self, runner, margin=None):
    self.runner = runner
    self.window = runner.window
    self.tile = runner.input_size
    radius, self.scale = receptive_radius(runner)
    self.margin = radius + 1 if margin is None else margin
    self.input_size = (None, None)

  def __call__(self, window):
    _check(window, self.window, (None, None))
    th, tw = self.tile
    h, w = window.shape[1:3]
    pad_h, pad_w = max(th - h, 0), max(tw - w, 0)
    if pad_h or pad_w:
      window = np.pad(window, [(0, 0), (0, pad_h), (0, pad_w), (0, 0)], mode="edge")
    H, W = window.shape[1:3]
    s, m = self.scale, self.margin
    out = np.empty((H * s, W * s, 3), np.uint8)
    for top in tile_starts(H, th, m):
      for left in tile_starts(W, tw, m):
        y = self.runner(np.ascontiguousarray(window[:, top:top + th, left:left + tw]))
        # The part of this tile kept: all of it along frame edges.
        y0 = 0 if top == 0 else m
        y1 = th if top + th == H else th - m
        x0 = 0 if left == 0 else m
        x1 = tw if left + tw == W else tw - m
        out[(top + y0) * s:(top + y1) * s, (left + x0) * s:(left + x1) * s] = \
            y[y0 * s:y1 * s, x0 * s:x1 * s]
    return out[:h * s, :w * s]


def _spec_order(names):
  blocks = sorted((n for n in names if n.startswith("state_block")),
                  key=lambda n: int(n[len("state_block"):]))
  return blocks + ["state_sum", "state_count"]


def _check(window, length, size):
  if window.dtype != np.uint8 or window.ndim != 4 or window.shape[-1] != 3:
    raise ModelMismatchError(f"expected uint8 [T, H, W, 3] frames, got "
                             f"{window.dtype} {list(window.shape)}")
  if window.shape[0] != length:
    raise ModelMismatchError(f"model takes windows of {length} frames, got {window.shape[0]}")
  if None not in size and tuple(window.shape[1:3]) != size:
    raise ModelMismatchError(
        f"model takes {size[1]}x{size[0]} frames, got {window.shape[2]}x{window.shape[1]}")


def load_runner(model, num_threads=2):
  """A runner for a keras.Model, a SavedModel dir or a .tflite file."""
  if not isinstance(model, (str, os.PathLike)):
    return KerasRunner(model)
  model = os.fspath(model)
  if model.endswith(".tflite"):
    if not os.path.isfile(model):
      raise FileNotFoundError(f"{model}: no such TFLite file")
    return TFLiteRunner(model, num_threads)
  if os.path.isdir(model) and os.path.exists(os.path.join(model, "saved_model.pb")):
    return SavedModelRunner(model)
  raise FileNotFoundError(f"{model}: not a SavedModel directory or .tflite file")

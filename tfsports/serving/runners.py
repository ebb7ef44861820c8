"""The runners: one calling convention for a model in any form.

A frame runner (Keras, SavedModel or TFLite) maps a uint8 window
[T, h, w, 3] to a uint8 frame; `StreamingTFLiteRunner` runs a streaming
model frame by frame with explicit states."""

import collections
import os

import numpy as np
import tensorflow as tf


class ModelMismatchError(ValueError):
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
    from ai_edge_litert import interpreter as litert
    self.path = path
    self.interpreter = litert.Interpreter(model_path=path, num_threads=num_threads)
    self.interpreter.allocate_tensors()
    self.input = self.interpreter.get_input_details()[0]
    self.output = self.interpreter.get_output_details()[0]
    self.window = int(self.input["shape"][1])
    self.input_size = tuple(int(d) for d in self.input["shape"][2:4])

  def ops(self):
    from tfsports.serving import tflite
    return tflite.builtin_ops(self.path)

  def __call__(self, window):
    _check(window, self.window, self.input_size)
    x = window[None]
    scale, zero = self.input["quantization"]
    if self.input["dtype"] == np.float32:
      x = x.astype(np.float32) / 255.0
    elif scale and not (abs(scale * 255.0 - 1.0) < 1e-6 and zero == 0):
      x = np.clip(np.round(x / 255.0 / scale + zero), 0, 255).astype(self.input["dtype"])
    self.interpreter.set_tensor(self.input["index"], x)
    self.interpreter.invoke()
    y = self.interpreter.get_tensor(self.output["index"])[0]
    scale, zero = self.output["quantization"]
    if scale:    # quantised output of a float [0, 1] model
      y = (y.astype(np.float32) - zero) * scale * 255.0
    elif y.dtype != np.uint8:
      y = y * 255.0
    else:
      return y
    return np.clip(np.round(y), 0, 255).astype(np.uint8)


class StreamingTFLiteRunner:
  """Runs a streaming TFLite model (states as inputs and outputs, as
  `actions.model.build_stream_model` makes) frame by frame, carrying its
  states; `reset` starts a new stream."""

  def __init__(self, path, num_threads=2):
    from ai_edge_litert import interpreter as litert
    self.path = path
    self.interpreter = litert.Interpreter(model_path=path, num_threads=num_threads)
    self.runner = self.interpreter.get_signature_runner()
    details = self.runner.get_input_details()
    self.state_names = sorted(n for n in details if n != "frame")
    self.state_shapes = {n: details[n]["shape"] for n in self.state_names}
    self.frame_shape = tuple(details["frame"]["shape"][1:3])
    outputs = self.runner.get_output_details()
    self.output_names = sorted(outputs)
    self.reset()

  def ops(self):
    from tfsports.serving import tflite
    return tflite.builtin_ops(self.path)

  def reset(self):
    self.states = {n: np.zeros(s, np.float32) for n, s in self.state_shapes.items()}

  def __call__(self, frame):
    """uint8 [H, W, 3] -> logits [K]; advances the states."""
    if frame.dtype != np.uint8 or frame.shape != self.frame_shape + (3,):
      raise ModelMismatchError(f"expected uint8 frames of {self.frame_shape + (3,)}, got "
                       f"{frame.dtype} {frame.shape}")
    out = self.runner(frame=frame[None], **self.states)
    # Outputs are (logits, states in spec order, sum, count): output_0 is the
    # logits, the rest follow the state inputs' order.
    values = [out[n] for n in sorted(out, key=lambda n: int(n.split("_")[-1]))]
    for name, value in zip(_spec_order(self.state_names), values[1:]):
      self.states[name] = value
    return values[0][0]


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

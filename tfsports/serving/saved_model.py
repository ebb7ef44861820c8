"""The one SavedModel writer for TF Serving, used by every job.

`write_saved_model` writes a Keras model or a `keras.export.ExportArchive`
(several signatures) in TF Serving's `<name>/<version>/` layout, with
`models.config`, batching parameters and warm-up requests.
`export_frame_model` serves a frame-to-frame float model (super-resolution)
as uint8 -> uint8 with a dynamic batch.

Every signature checks its inputs in the graph (`add_checked_endpoint`): a
wrong rank, a wrong fixed size (channels, frames, crop size) or an empty
batch fails with an InvalidArgumentError that names the expected dtype and
shape and the shape given, instead of returning garbage. A wrong dtype is
refused by the signature itself (through `tf.saved_model.load`, and by TF
Serving for a gRPC TensorProto).
"""

import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from tfsports import layers


def describe_input(spec):
  """'frames: uint8 [batch >= 1, 8, any, any, 3]' for a TensorSpec."""
  dims = ["any" if d is None else str(d) for d in spec.shape]
  if dims and spec.shape[0] is None:
    dims[0] = "batch >= 1"
  return f"{spec.name}: {spec.dtype.name} [{', '.join(dims)}]"


def check_input(value, spec):
  """`value` once the graph has checked it against `spec` at run time: its
  rank and every fixed size (EnsureShape: "Shape of tensor frames [1,8,64,96,4]
  is not compatible with expected shape [?,8,64,96,3]"), and a batch of at
  least one when the first dimension is left free."""
  # Not an Assert on tf.rank/tf.shape: with the signature's static shape
  # those fold to constants, and a rank-3 tensor fed to a rank-2 input would
  # pass them and fail deep in the model.
  value = tf.raw_ops.EnsureShape(input=value, shape=spec.shape)
  if spec.shape.rank == 0:
    return value
  if spec.shape[0] is None:
    given = tf.shape(value)
    ok = tf.debugging.Assert(given[0] >= 1, [
        f"expected {describe_input(spec)}; got an empty batch, shape", given])
    with tf.control_dependencies([ok]):
      return tf.identity(value)
  return value


def add_checked_endpoint(archive, name, fn, input_signature):
  """`archive.add_endpoint(name, fn, input_signature)`, with every input
  checked by `check_input` before `fn` sees it."""

  def checked(*args):
    return fn(*[check_input(a, s) for a, s in zip(args, input_signature)])

  archive.add_endpoint(name, checked, input_signature=input_signature)


def add_input_checks(src, dst):
  """Re-saves the SavedModel at `src` into `dst` with every signature's
  inputs checked (`check_input`); for SavedModels exported before the
  checks existed (the bundled presets). Keeps assets.extra."""
  loaded = tf.saved_model.load(src)
  module = tf.Module()
  module.loaded = loaded
  signatures = {}

  def wrap(fn):
    specs = fn.structured_input_signature[1]
    keys = sorted(specs)

    def checked(*args):
      return fn(**{k: check_input(a, specs[k]) for k, a in zip(keys, args)})

    return tf.function(checked, input_signature=[
        tf.TensorSpec(specs[k].shape, specs[k].dtype, name=k) for k in keys]
    ).get_concrete_function()

  for name, fn in loaded.signatures.items():
    signatures[name] = wrap(fn)
  tmp = dst + ".partial"
  shutil.rmtree(tmp, ignore_errors=True)
  tf.saved_model.save(module, tmp, signatures=signatures)
  extra = os.path.join(src, "assets.extra")
  if os.path.isdir(extra):
    shutil.copytree(extra, os.path.join(tmp, "assets.extra"))
  if os.path.exists(dst):
    shutil.rmtree(dst)
  os.rename(tmp, dst)
  return dst


def build_serving_model(model, input_shape):
  """Wraps a float [0, 1] model as uint8 -> uint8, for `input_shape` (no batch)."""
  frames = keras.Input(input_shape, dtype="uint8", name="frames")
  x = layers.Rescale(name="to_float")(frames)
  y = model(x)
  out = layers.ToUint8(name="to_uint8")(y)
  return keras.Model(frames, out, name=f"{model.name}_serving")


def _varint(n):
  out = bytearray()
  while True:
    b = n & 0x7F
    n >>= 7
    out.append(b | (0x80 if n else 0))
    if not n:
      return bytes(out)


def _field(number, payload):
  return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def warmup_record(model_name, inputs, signature_name="serving_default"):
  """A serialized tensorflow.serving.PredictionLog for a PredictRequest.

  Written by hand from the wire format, since the tensorflow-serving-api
  package would pull in a second TensorFlow build.
  """
  spec = _field(1, model_name.encode()) + _field(3, signature_name.encode())
  request = _field(1, spec)
  for key, value in inputs.items():
    tensor = tf.make_tensor_proto(value).SerializeToString()
    request += _field(2, _field(1, key.encode()) + _field(2, tensor))
  predict_log = _field(1, request)
  return _field(6, predict_log)


def write_serving_files(base_dir, name, version_dir, warmup_inputs,
                        max_batch_size=8):
  """models.config and batching parameters in `base_dir`, warm-up requests
  in the version's assets.extra."""
  with open(os.path.join(base_dir, "models.config"), "w") as f:
    f.write("model_config_list {\n  config {\n"
            f"    name: \"{name}\"\n    base_path: \"/models/{name}\"\n"
            "    model_platform: \"tensorflow\"\n  }\n}\n")
  with open(os.path.join(base_dir, "batching_parameters.txt"), "w") as f:
    f.write(f"max_batch_size {{ value: {max_batch_size} }}\n"
            "batch_timeout_micros { value: 5000 }\n"
            "num_batch_threads { value: 2 }\n"
            "max_enqueued_batches { value: 32 }\n")
  extra = os.path.join(version_dir, "assets.extra")
  os.makedirs(extra, exist_ok=True)
  with tf.io.TFRecordWriter(os.path.join(extra, "tf_serving_warmup_requests")) as w:
    for inputs in warmup_inputs:
      w.write(warmup_record(name, inputs))


def write_saved_model(model, export_dir, name, warmup_inputs, input_signature=None,
                      version=1):
  """Writes EXPORT_DIR/<name>/<version>/ for TF Serving; returns that path.

  model: a keras.Model (exported with `input_signature`) or an
  ExportArchive with its endpoints added. warmup_inputs: a list of
  {input name: example array} written as warm-up requests.
  """
  base = os.path.join(export_dir, name)
  path = os.path.join(base, str(version))
  if os.path.exists(path):
    shutil.rmtree(path)
  os.makedirs(base, exist_ok=True)
  if not hasattr(model, "write_out"):    # a Keras model: served with checked inputs
    archive = keras.export.ExportArchive()
    archive.track(model)
    keras_model = model
    # "serve" too, as `model.export` names it, for callers of `loaded.serve`.
    for endpoint in ("serving_default", "serve"):
      add_checked_endpoint(
          archive, endpoint,
          lambda *xs: keras_model(xs[0] if len(xs) == 1 else list(xs), training=False),
          input_signature)
    model = archive
  model.write_out(path, verbose=False)
  write_serving_files(export_dir, name, path, warmup_inputs)
  return path


def export_frame_model(model, export_dir, name, input_shape, version=1):
  """A float [0, 1] frame model served as uint8 -> uint8, dynamic batch.

  input_shape: per-example shape, e.g. (T, None, None, 3). The graph is not
  XLA-compiled. Returns the version directory.
  """
  example_shape = [1] + [d or 16 for d in input_shape]
  return write_saved_model(
      build_serving_model(model, input_shape), export_dir, name,
      [{"frames": np.zeros(example_shape, np.uint8)}],
      input_signature=[tf.TensorSpec((None,) + tuple(input_shape), tf.uint8,
                                     name="frames")], version=version)

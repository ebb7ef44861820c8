"""Exports frame-to-frame models for TF Serving and for TFLite edge devices.

SavedModel: a `serving_default` signature that takes uint8 frames and returns
uint8 frames (conversion inside the graph), dynamic batch, in TF Serving's
`<name>/<version>/` layout with `models.config`, batching parameters and
warm-up requests. TFLite: float32, float16, dynamic-range and full-int8
variants at a fixed shape, builtin ops only, converted from a SavedModel
(`from_keras_model` is broken for Keras 3).
"""

import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tfsports.models import layers

TFLITE_VARIANTS = ("float32", "float16", "dynamic", "int8")


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


def export_saved_model(model, export_dir, name, input_shape, version=1):
  """Writes EXPORT_DIR/<name>/<version>/ for TF Serving; returns that path.

  input_shape: per-example shape, e.g. (T, None, None, 3); the batch is
  dynamic. The graph is not XLA-compiled.
  """
  serving = build_serving_model(model, input_shape)
  base = os.path.join(export_dir, name)
  path = os.path.join(base, str(version))
  if os.path.exists(path):
    shutil.rmtree(path)
  os.makedirs(base, exist_ok=True)
  serving.export(path, format="tf_saved_model", verbose=False,
                 input_signature=[tf.TensorSpec((None,) + tuple(input_shape), tf.uint8,
                                                name="frames")])
  example_shape = [1] + [d or 16 for d in input_shape]
  write_serving_files(export_dir, name, path,
                      [{"frames": np.zeros(example_shape, np.uint8)}])
  return path


def _int8_converter(model, input_shape, representative, tmp):
  """Full-int8 conversion of the float core (no uint8<->float wrappers,
  whose quantisation loses the picture) with uint8 tensors at both ends: the
  input's scale is 1/255 with zero point 0, so camera frames go in as they
  are; the output is dequantised by its (scale, zero point), as
  `runners.TFLiteRunner` does."""
  if representative is None:
    raise ValueError("int8 export needs representative inputs")
  frames = keras.Input(tuple(input_shape), batch_size=1, name="frames")
  core = keras.Model(frames, model(frames), name=f"{model.name}_core")
  path = os.path.join(tmp, "core")
  core.export(path, format="tf_saved_model", verbose=False)
  samples = [(np.asarray(r, np.float32) / 255.0)[None] for r in representative]
  converter = tf.lite.TFLiteConverter.from_saved_model(path)
  converter.optimizations = [tf.lite.Optimize.DEFAULT]
  converter.representative_dataset = lambda: ([s] for s in samples)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
  converter.inference_input_type = tf.uint8
  converter.inference_output_type = tf.uint8
  return converter


def export_tflite(model, out_dir, input_shape, representative=None,
                  variants=TFLITE_VARIANTS):
  """Converts `model` at fixed batch 1 and `input_shape` into TFLite files.

  representative: an iterable of uint8 arrays of `input_shape` for int8
  calibration (needed for "int8"). Conversion is restricted to builtin ops,
  so it fails rather than falling back to Select TF ops. Every variant takes
  uint8 frames; float32/float16/dynamic return uint8 frames, int8 returns
  quantised uint8 to dequantise with the output's (scale, zero point).
  Returns {variant: path}.
  """
  serving = build_serving_model(model, input_shape)
  os.makedirs(out_dir, exist_ok=True)
  paths = {}
  with tempfile.TemporaryDirectory() as tmp:
    saved = os.path.join(tmp, "fixed")
    serving.export(saved, format="tf_saved_model", verbose=False,
                   input_signature=[tf.TensorSpec((1,) + tuple(input_shape), tf.uint8,
                                                  name="frames")])
    for variant in variants:
      converter = tf.lite.TFLiteConverter.from_saved_model(saved)
      converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
      if variant == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
      elif variant == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
      elif variant == "int8":
        converter = _int8_converter(model, input_shape, representative, tmp)
      elif variant != "float32":
        raise ValueError(f"unknown TFLite variant {variant!r}")
      path = os.path.join(out_dir, f"{variant}.tflite")
      with open(path, "wb") as f:
        f.write(converter.convert())
      paths[variant] = path
  return paths

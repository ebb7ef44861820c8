"""The one TFLite conversion loop, used by every job.

Models are exported with `model.export(...)` at a fixed shape and converted
with `TFLiteConverter.from_saved_model`, restricted to builtin ops, so a
model that would need Select TF ops fails to convert instead of falling back.
Every written file is checked once more with `builtin_ops` through
`ai_edge_litert`, the runtime edge devices use.

Variants: float32; float16 (weights); dynamic (int8 weights, float
activations); int8 (full integer, calibrated on representative inputs).
"""

import os
import tempfile

import numpy as np
import tensorflow as tf

VARIANTS = ("float32", "float16", "dynamic", "int8")


class NonBuiltinOpsError(ValueError):
  """A TFLite model uses Flex (Select TF) or custom ops."""


def builtin_ops(path):
  """The sorted op names of a .tflite file; raises `NonBuiltinOpsError` if
  any is a Flex or custom op."""
  from tfsports.serving import interpreters
  interpreter = interpreters.load_interpreter(path, allocate=False)
  ops = sorted({op["op_name"] for op in interpreter._get_ops_details()})
  bad = [op for op in ops if op.startswith("Flex") or op in ("CUSTOM", "DELEGATE")]
  if bad:
    raise NonBuiltinOpsError(f"{path}: non-builtin ops {bad}")
  return ops


def _converter(saved_model_dir, variant, representative, uint8_io):
  converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  if variant == "float16":
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
  elif variant == "dynamic":
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
  elif variant == "int8":
    if representative is None:
      raise ValueError("int8 conversion needs representative inputs")
    samples = list(representative)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: iter(samples)
    if uint8_io:
      converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
      converter.inference_input_type = tf.uint8
      converter.inference_output_type = tf.uint8
  elif variant != "float32":
    raise ValueError(f"unknown TFLite variant {variant!r}; variants: {', '.join(VARIANTS)}")
  return converter


def export_tflite(model, input_signature, out_dir, variants=("float32",),
                  representative=None, file_name="{variant}.tflite", int8_model=None):
  """Converts `model` at the fixed shapes of `input_signature` into one
  .tflite file per variant; returns {variant: path}.

  representative: samples for int8 calibration, each a list of arrays in the
  signature's order or a {input name: array} dict. int8_model: optionally
  (keras model, input signature) to quantise instead of `model`, converted
  with uint8 tensors at both ends (its input scale 1/255, zero point 0).
  """
  os.makedirs(out_dir, exist_ok=True)
  paths = {}
  with tempfile.TemporaryDirectory() as tmp:
    exported = {}

    def saved_model(which):
      if which not in exported:
        m, signature = (model, input_signature) if which == "main" else int8_model
        exported[which] = os.path.join(tmp, which)
        m.export(exported[which], format="tf_saved_model", verbose=False,
                 input_signature=signature)
      return exported[which]

    for variant in variants:
      special = variant == "int8" and int8_model is not None
      converter = _converter(saved_model("int8" if special else "main"), variant,
                             representative, uint8_io=special)
      path = os.path.join(out_dir, file_name.format(variant=variant))
      with open(path, "wb") as f:
        f.write(converter.convert())
      builtin_ops(path)
      paths[variant] = path
  return paths


def frame_int8_model(model, input_shape):
  """The float core of a frame model at batch 1, for full-int8 conversion
  without the uint8<->float wrappers, whose quantisation loses the picture."""
  import keras
  frames = keras.Input(tuple(input_shape), batch_size=1, name="frames")
  core = keras.Model(frames, model(frames), name=f"{model.name}_core")
  return core, [tf.TensorSpec((1,) + tuple(input_shape), tf.float32, name="frames")]


def export_frame_tflite(model, out_dir, input_shape, representative=None,
                        variants=VARIANTS):
  """A float [0, 1] frame model at batch 1 and `input_shape`, as TFLite.

  Every variant takes uint8 frames; float32/float16/dynamic return uint8
  frames, int8 returns quantised uint8 to dequantise with the output's
  (scale, zero point), as `runners.TFLiteRunner` does. representative: uint8
  arrays of `input_shape` for int8 calibration, and for the int8 kernels'
  rounding (`int8_weight_rounding`). Returns {variant: path}.
  """
  from tfsports.serving import saved_model
  serving = saved_model.build_serving_model(model, input_shape)
  samples, int8_core = None, model
  if representative is not None:
    samples = [[(np.asarray(r, np.float32) / 255.0)[None]] for r in representative]
    if "int8" in variants:
      int8_core = int8_weight_rounding(model, [s[0] for s in samples])
  return export_tflite(
      serving, [tf.TensorSpec((1,) + tuple(input_shape), tf.uint8, name="frames")],
      out_dir, variants, samples, int8_model=frame_int8_model(int8_core, input_shape))


def _gptq_channel(w, hessian, step):
  """One output channel's kernel [K] rounded to multiples of `step` in
  [-127, 127] so as to minimise x^T (w - q) over inputs x of second moment
  `hessian` [K, K]: each weight's rounding error is spread over the weights
  not yet rounded (GPTQ, Frantar et al. 2022). The largest weight goes first
  and lands on 127 exactly, so the converter's max/127 scale is `step`."""
  order = np.argsort(-np.diag(hessian), kind="stable")
  first = int(np.argmax(np.abs(w)))
  order = np.concatenate([[first], order[order != first]])
  inverse = np.linalg.inv(hessian[np.ix_(order, order)])
  upper = np.linalg.cholesky(inverse).T
  rest = w[order].astype(np.float64)
  q = np.zeros_like(rest)
  for j in range(len(rest)):
    q[j] = np.clip(np.round(rest[j] / step), -127, 127) * step
    rest[j + 1:] -= (rest[j] - q[j]) / upper[j, j] * upper[j, j + 1:]
  out = np.empty_like(q)
  out[order] = q
  return out


def _sampled_rows(parts, max_rows, rng):
  """float64 [min(N, max_rows), K]: at most `max_rows` rows drawn without
  replacement from the concatenation of `parts` (float32 [N_i, K]), without
  building that concatenation (hundreds of MB at 180x320)."""
  total = sum(len(p) for p in parts)
  if total <= max_rows:
    return np.concatenate(parts).astype(np.float64)
  chosen = np.sort(rng.choice(total, max_rows, replace=False))
  starts = np.cumsum([0] + [len(p) for p in parts])
  return np.concatenate([p[chosen[(chosen >= a) & (chosen < b)] - a]
                         for p, a, b in zip(parts, starts[:-1], starts[1:])]).astype(np.float64)


def int8_weight_rounding(model, samples, max_rows=65536, damping=0.01, seed=0):
  """A copy of `model` whose stride-1 Conv2D kernels already lie on the grid
  the int8 converter gives them (per output channel, max |w| / 127), rounded
  to minimise each layer's output error on `samples` rather than each weight
  to its nearest step, with the mean remaining error moved into the bias.

  Why: the converter rounds every weight to its nearest step, and a kernel
  whose taps sum to one (a super-resolution model's bilinear base) then gains
  or loses up to 2 grey levels per output channel, a fixed pattern on the
  sub-pixel grid. The converter keeps weights that are already on its grid.

  model: a functional Keras model, float inputs. samples: float arrays,
  batch first, as the model takes them. Returns the copy (`model` untouched).
  """
  import keras
  clone = keras.models.clone_model(model)
  clone.set_weights(model.get_weights())
  convs = [layer for layer in clone.layers
           if type(layer) is keras.layers.Conv2D and tuple(layer.strides) == (1, 1)
           and tuple(layer.dilation_rate) == (1, 1) and layer.groups == 1]
  if not convs:
    return clone
  probe = keras.Model(clone.inputs[0] if len(clone.inputs) == 1 else clone.inputs,
                      [layer.input for layer in convs])
  inputs = [probe(np.asarray(s, np.float32), training=False) for s in samples]
  if len(convs) == 1:
    inputs = [[x] for x in inputs]
  rng = np.random.default_rng(seed)
  for i, layer in enumerate(convs):
    kernel, *bias = layer.get_weights()
    kh, kw, cin, cout = kernel.shape
    patches = [tf.image.extract_patches(x[i], [1, kh, kw, 1], [1, 1, 1, 1], [1, 1, 1, 1],
                                        layer.padding.upper()).numpy().reshape(-1, kh * kw * cin)
               for x in inputs]
    rows = _sampled_rows(patches, max_rows, rng)
    hessian = rows.T @ rows / len(rows)
    hessian += damping * np.mean(np.diag(hessian)) * np.eye(len(hessian))
    flat = kernel.reshape(-1, cout).astype(np.float64)
    steps = np.abs(flat).max(axis=0) / 127
    rounded = np.stack([_gptq_channel(flat[:, c], hessian, steps[c]) if steps[c] > 0
                        else flat[:, c] for c in range(cout)], axis=1)
    if bias:
      bias = [bias[0] + (rows.mean(axis=0) @ (flat - rounded)).astype(np.float32)]
    layer.set_weights([rounded.reshape(kernel.shape).astype(np.float32), *bias])
  return clone

"""TF Serving's REST predict format, parsed the way the server parses it, so
that the requests the README documents are fed through the real signatures
in tests (the server itself cannot be installed here).

Request (POST /v1/models/<name>[/versions/<v>]:predict):
  row format:      {"signature_name": S, "instances": [instance, ...]}
                   an instance is {input name: value} (or, for a signature
                   with one input, the value itself); the server stacks the
                   instances along a new batch axis, so every input of every
                   instance needs the same shape.
  columnar format: {"signature_name": S, "inputs": {input name: value}}
                   (or the value itself for one input); each value carries
                   its own batch axis, and inputs may differ in batch size.
  Values are nested JSON lists, converted to the signature's dtype; a
  string input's binary value is {"b64": "..."}.
Response: {"predictions": [...]} for rows (one entry per instance, a dict
of outputs when the signature has several), {"outputs": ...} for columns.
"""

import base64

import numpy as np
import tensorflow as tf

from tfsports import errors


class RequestError(errors.UserError):
  """A request that TF Serving would refuse (HTTP 400)."""


def _to_array(value, spec, name):
  dtype = spec.dtype.as_numpy_dtype
  if spec.dtype == tf.string:
    decode = lambda v: base64.b64decode(v["b64"]) if isinstance(v, dict) else v.encode()
    return np.vectorize(decode, otypes=[object])(np.array(value, dtype=object))
  try:
    array = np.array(value)
  except ValueError as e:      # ragged lists
    raise RequestError(f"{name}: not a rectangular nested list ({e})") from None
  if array.dtype == object:
    raise RequestError(f"{name}: not a rectangular nested list of numbers")
  if spec.dtype.is_integer and array.dtype.kind == "f":
    raise RequestError(f"{name}: {spec.dtype.name} expected, got a floating point number")
  if spec.dtype.is_integer:
    info = np.iinfo(dtype)
    if array.size and (array.min() < info.min or array.max() > info.max):
      raise RequestError(f"{name}: values outside the range of {spec.dtype.name}")
  return array.astype(dtype)


def parse_predict_request(body, signature):
  """{input name: tf.Tensor} for `body` (a parsed JSON request) against a
  loaded signature (its `structured_input_signature`). Raises RequestError."""
  specs = signature.structured_input_signature[1]
  if ("instances" in body) == ("inputs" in body):
    raise RequestError('a request holds exactly one of "instances" (rows) or "inputs" '
                       '(columns)')
  if "instances" in body:
    instances = body["instances"]
    if not isinstance(instances, list) or not instances:
      raise RequestError('"instances" must be a non-empty list')
    named = lambda i: isinstance(i, dict) and set(i) != {"b64"}
    if len(specs) == 1 and not any(named(i) for i in instances):
      instances = [{next(iter(specs)): i} for i in instances]   # bare values
    for i in instances:
      if not isinstance(i, dict) or set(i) != set(specs):
        raise RequestError(f"each instance needs exactly the inputs {sorted(specs)}")
    columns = {k: [i[k] for i in instances] for k in specs}
  else:
    columns = body["inputs"]
    if not isinstance(columns, dict) or set(columns) != set(specs):
      if len(specs) == 1 and not isinstance(columns, dict):
        columns = {next(iter(specs)): columns}
      else:
        raise RequestError(f'"inputs" needs exactly the inputs {sorted(specs)}')
  return {k: tf.constant(_to_array(columns[k], specs[k], k)) for k in specs}


def format_predict_response(outputs, row_format=True):
  """The JSON-ready response TF Serving returns for `outputs` (a dict of
  tensors from the signature)."""
  values = {k: (np.vectorize(lambda b: b.decode(), otypes=[object])(v.numpy()).tolist()
                if v.dtype == tf.string else v.numpy().tolist())
            for k, v in outputs.items()}
  if not row_format:
    return {"outputs": next(iter(values.values())) if len(values) == 1 else values}
  batch = len(next(iter(values.values())))
  if len(values) == 1:
    return {"predictions": next(iter(values.values()))}
  return {"predictions": [{k: v[i] for k, v in values.items()} for i in range(batch)]}


def predict(loaded, body):
  """Runs a REST request body on a loaded SavedModel as TF Serving would;
  returns the response body."""
  name = body.get("signature_name", "serving_default")
  if name not in loaded.signatures:
    raise RequestError(f"no signature {name!r}; the model has {sorted(loaded.signatures)}")
  fn = loaded.signatures[name]
  return format_predict_response(fn(**parse_predict_request(body, fn)), "instances" in body)

"""Shared test helpers, one line per model or command at the call site (after
KerasHub's `src/tests/test_case.py`)."""

import copy
import os
import subprocess
import sys

import keras
import numpy as np

from tfsports.serving import tflite


def _outputs(model, inputs):
  out = model(inputs, training=False)
  if isinstance(out, dict):
    return [np.asarray(out[k]) for k in sorted(out)]
  if isinstance(out, (list, tuple)):
    return [np.asarray(o) for o in out]
  return [np.asarray(out)]


def run_serialization_test(obj):
  """A layer's or model's config survives a round trip: from_config of
  get_config gives an object with the same config."""
  config = obj.get_config()
  # from_config may consume the dict it is given: keep the original.
  restored = type(obj).from_config(copy.deepcopy(config))
  assert restored.get_config() == config


def run_model_saving_test(model, inputs, tmp_path, atol=1e-6):
  """The model saves as .keras, reloads with safe_mode=True (no Lambda, every
  custom layer registered) and computes the same outputs."""
  path = os.path.join(tmp_path, f"{model.name}.keras")
  model.save(path)
  loaded = keras.saving.load_model(path, safe_mode=True)
  for a, b in zip(_outputs(model, inputs), _outputs(loaded, inputs)):
    np.testing.assert_allclose(a, b, atol=atol)
  return loaded


def run_tflite_builtin_test(path):
  """The .tflite file uses builtin ops only (no Flex, no custom ops)."""
  ops = tflite.builtin_ops(path)
  assert ops and not any(op.startswith("Flex") for op in ops)
  return ops


def run_command(*args, timeout=300):
  """`python -m tfsports ARGS...` -> CompletedProcess (text)."""
  return subprocess.run([sys.executable, "-m", "tfsports", *map(str, args)],
                        capture_output=True, text=True, timeout=timeout)


def run_command_error_test(*args, match=None):
  """The command refuses bad input: exit status 2 and one last stderr line
  `error: ...` (containing `match`), no traceback."""
  proc = run_command(*args)
  assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
  lines = proc.stderr.strip().splitlines()
  # One line: no TensorFlow log lines, no progress, no traceback.
  assert len(lines) == 1, proc.stderr[-2000:]
  last = lines[-1]
  assert last.startswith("error:") or last.startswith("usage:"), proc.stderr[-2000:]
  assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
  if match:
    assert match in last, last
  return proc

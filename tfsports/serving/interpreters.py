"""The one way a .tflite file is opened: `load_interpreter`.

LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on
the process's stderr from C++, past any Python logging setting; the
`tfsports` command (unless --verbose) sets TFSPORTS_QUIET, and the file
descriptor is then pointed at /dev/null while the interpreter is made."""

import contextlib
import os
import sys


@contextlib.contextmanager
def _quiet_stderr():
  if os.environ.get("TFSPORTS_QUIET") != "1":
    yield
    return
  sys.stderr.flush()
  saved = os.dup(2)
  devnull = os.open(os.devnull, os.O_WRONLY)
  try:
    os.dup2(devnull, 2)
    yield
  finally:
    os.dup2(saved, 2)
    os.close(saved)
    os.close(devnull)


def load_interpreter(path, num_threads=None, allocate=True):
  """A LiteRT interpreter of `path`, its tensors allocated unless
  `allocate` is False (allocating applies the XNNPACK delegate, whose
  DELEGATE op then hides the model's own ops). Raises FileNotFoundError for
  a missing file."""
  from ai_edge_litert import interpreter as litert
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such TFLite file")
  with _quiet_stderr():
    interpreter = litert.Interpreter(model_path=path, num_threads=num_threads)
    if allocate:
      interpreter.allocate_tensors()
  return interpreter

"""The exported renderer-to-real translator (`tracking.translate`) at run
time: what the detector's rendered stream calls, through the TFLite file.
Kept apart from the training code, which builds on the detector recipe."""

import os

import numpy as np

from tfsports import errors


class TranslatorNotFoundError(errors.UserError):
  """The path given as a translator holds no translator export."""


class Translator:
  """The exported translator on uint8 frames [H, W, 3] of its export size,
  through its TFLite file: what the detector's training stream calls."""

  def __init__(self, path, num_threads=2):
    from tfsports.serving import interpreters
    file = (os.path.join(path, "tflite", "translator_float32.tflite") if os.path.isdir(path)
            else path)
    if not os.path.isfile(file):
      raise TranslatorNotFoundError(
          f"{path}: no translator export (RUN_DIR/export of `tfsports train translator`, "
          "or its tflite/translator_float32.tflite)")
    self.interpreter = interpreters.load_interpreter(file, num_threads)
    self.fn = self.interpreter.get_signature_runner()
    self.shape = tuple(self.interpreter.get_input_details()[0]["shape"][1:])

  def __call__(self, frame):
    if frame.shape != self.shape or frame.dtype != np.uint8:
      raise ValueError(f"translator input must be uint8 {self.shape}, got "
                       f"{frame.dtype} {frame.shape}")
    return next(iter(self.fn(frames=frame[None]).values()))[0]

"""Appearance for the tracker: the athletes model's re-ID embeddings and
jersey reads of each detection's crop."""

import os

import numpy as np

from tfsports.data import crops as crops_lib


class AthleteFeatures:
  """The athletes model (`tfsports.athletes`) on each player box: its
  re-identification embedding for the tracker's appearance cost, and its
  jersey number where it is confident (both digits at least
  `jersey_confidence`). model: the athletes export's .tflite file."""

  def __init__(self, model, jersey_confidence=0.8, num_threads=2):
    from tfsports.serving import interpreters
    if not os.path.isfile(model):
      raise FileNotFoundError(f"{model}: no such athletes TFLite model")
    self.interpreter = interpreters.load_interpreter(model, num_threads)
    self.fn = self.interpreter.get_signature_runner()
    self.crop_size = tuple(int(d) for d in self.interpreter.get_input_details()[0]["shape"][1:3])
    self.jersey_confidence = jersey_confidence
    blank = np.zeros((1,) + self.crop_size + (3,), np.uint8)
    self.embedding_dim = self.fn(crops=blank)["embedding"].shape[-1]

  def __call__(self, frame, boxes):
    """(embeddings float32 [N, D], jerseys int [N], -1 where unsure). A box
    too small to crop gets a zero embedding (equally far from every track)
    and no jersey."""
    dim = self.embedding_dim
    embeddings, jerseys = [], []
    for box in boxes:
      crop = crops_lib.crop_box(frame, *box, self.crop_size)
      if crop is None:
        embeddings.append(np.zeros(dim, np.float32))
        jerseys.append(-1)
        continue
      out = self.fn(crops=crop[None])
      embeddings.append(out["embedding"][0])
      tens, units = _softmax(out["tens"][0]), _softmax(out["units"][0])
      sure = min(tens.max(), units.max()) >= self.jersey_confidence
      jerseys.append(int(tens.argmax() * 10 + units.argmax()) if sure else -1)
    return (np.asarray(embeddings, np.float32).reshape(len(boxes), dim),
            np.asarray(jerseys, int))


def _softmax(logits):
  e = np.exp(logits - logits.max())
  return e / e.sum()

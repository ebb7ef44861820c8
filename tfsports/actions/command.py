r"""Classifies a video window by window.

    tfsports classify VIDEO --model=RUN_DIR/export/saved_model/classifier/1 [--json]
    tfsports classify VIDEO --model=RUN_DIR/export/tflite/stream_float32.tflite

A SavedModel classifies whole windows of its clip length; a streaming
.tflite model runs frame by frame with its states reset at each window, so
both give the same labels. Frames are resized to the model's size. A video
shorter than one window is padded by repeating its last frame; the last
partial window of a longer video is padded the same way. Each window prints
start and end time, label and confidence (or one JSON object per line with
--json). A bad file or a model that does not fit: one-line error, exit 2.
"""

import json
import os
import sys

from absl import flags
import cv2
import numpy as np

FLAGS = flags.FLAGS


class SavedModelClassifier:
  def __init__(self, path):
    import tensorflow as tf
    self.fn = tf.saved_model.load(path).signatures["serving_default"]
    spec = self.fn.structured_input_signature[1]["frames"]
    self.num_frames = int(spec.shape[1])
    self.image_size = (int(spec.shape[2]), int(spec.shape[3]))
    self.class_names = None

  def classify(self, window):
    import tensorflow as tf
    out = self.fn(frames=tf.constant(window[None]))
    return out["probabilities"].numpy()[0]


class TFLiteStreamClassifier:
  def __init__(self, path, num_frames, class_names, threads=2):
    from tfsports.actions import export as classifier_export
    from tfsports.serving import runners
    self.stream = runners.StreamingTFLiteRunner(path, threads)
    self.num_frames = num_frames
    self.image_size = self.stream.frame_shape
    self.class_names = class_names

  def classify(self, window):
    self.stream.reset()
    for frame in window:
      logits = self.stream(frame)
    e = np.exp(logits - logits.max())
    return e / e.sum()


def define_flags():
  """Command-line flags; defined on demand so the module imports cleanly."""
  flags.DEFINE_string("model", None, "SavedModel directory or streaming .tflite file.")
  flags.DEFINE_bool("json", False, "Print JSON lines.")
  flags.DEFINE_integer("threads", 2, "TFLite threads.")


def _model_info(path):
  """model_info.json of an export, looked up from a model path inside it."""
  d = os.path.dirname(os.path.abspath(path))
  for _ in range(4):
    f = os.path.join(d, "model_info.json")
    if os.path.exists(f):
      return json.load(open(f))
    d = os.path.dirname(d)
  return None


def load_classifier(model, threads=2):
  if model is None:
    raise FileNotFoundError("no --model given")
  model = os.path.normpath(model)
  info = _model_info(model)
  names = info["class_names"] if info else None
  if model.endswith(".tflite"):
    if not os.path.isfile(model):
      raise FileNotFoundError(f"{model}: no such TFLite file")
    if not info:
      raise FileNotFoundError(f"{model}: no model_info.json in its export directory")
    return TFLiteStreamClassifier(model, info["num_frames"], names, threads)
  if not os.path.exists(os.path.join(model, "saved_model.pb")):
    raise FileNotFoundError(f"{model}: not a SavedModel directory or .tflite file")
  clf = SavedModelClassifier(model)
  clf.class_names = names
  return clf


def classify_video(path, classifier):
  """Yields one dict per window: start, end (seconds), label, confidence,
  probabilities."""
  from tfsports.data import video_io
  info = video_io.probe(path)
  fps = info.fps or 25.0
  h, w = classifier.image_size
  T = classifier.num_frames
  window, start = [], 0
  n = 0

  def emit(frames, start):
    real = len(frames)
    frames = frames + [frames[-1]] * (T - real)
    probs = classifier.classify(np.stack(frames))
    k = int(np.argmax(probs))
    names = classifier.class_names or [str(i) for i in range(len(probs))]
    return {"start": round(start / fps, 3), "end": round((start + real) / fps, 3),
            "label": names[k], "confidence": float(probs[k]),
            "probabilities": {names[i]: float(p) for i, p in enumerate(probs)}}

  for frame in video_io.iter_frames(path):
    window.append(cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA))
    n += 1
    if len(window) == T:
      yield emit(window, start)
      window, start = [], n
  if window:
    yield emit(window, start)


def main(argv):
  from tfsports.data import video_io
  if len(argv) != 2:
    print("usage: tfsports classify VIDEO --model=... [--json]", file=sys.stderr)
    return 2
  try:
    classifier = load_classifier(FLAGS.model, FLAGS.threads)
    for row in classify_video(argv[1], classifier):
      if FLAGS.json:
        print(json.dumps(row), flush=True)
      else:
        print(f"{row['start']:8.2f}s - {row['end']:8.2f}s  {row['label']:<12s} "
              f"{row['confidence']:.2f}", flush=True)
  except (video_io.VideoReadError, FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  return 0

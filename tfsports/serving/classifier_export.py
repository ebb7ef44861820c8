"""Exports the video classifier: a SavedModel with clip and streaming
signatures for TF Serving, and a streaming TFLite model whose states are
explicit inputs and outputs (fixed shapes, builtin ops only)."""

import json
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tfsports.models import classifier as classifier_models
from tfsports.serving import export as export_lib


def export_saved_model(model, stream, config, export_dir, class_names, name="classifier",
                       version=1):
  """EXPORT_DIR/<name>/<version>/ with three signatures:

  serving_default(frames uint8 [B, T, H, W, 3]) -> probabilities [B, K],
      top_class (string [B]), top_probability [B]
  stream_step(frame uint8 [B, H, W, 3], state_*) -> logits [B, K], state_*
  initial_states(batch_size int32 []) -> state_* zeros
  """
  h, w = config.image_size
  names = tf.constant(list(class_names))
  specs = classifier_models.stream_state_specs(config)
  archive = keras.export.ExportArchive()
  archive.track(model)
  archive.track(stream)

  def clip_fn(frames):
    probs = tf.nn.softmax(model(frames, training=False), -1)
    return {"probabilities": probs,
            "top_class": tf.gather(names, tf.argmax(probs, -1)),
            "top_probability": tf.reduce_max(probs, -1)}

  def step_fn(frame, *states):
    outs = stream([frame] + list(states), training=False)
    result = {"logits": outs[0]}
    for (state_name, _), value in zip(specs, outs[1:]):
      result[state_name] = value
    return result

  def init_fn(batch_size):
    return {state_name: tf.zeros(tf.concat([[batch_size], shape], 0))
            for state_name, shape in specs}

  archive.add_endpoint("serving_default", clip_fn, input_signature=[
      tf.TensorSpec([None, config.num_frames, h, w, 3], tf.uint8, name="frames")])
  archive.add_endpoint("stream_step", step_fn, input_signature=[
      tf.TensorSpec([None, h, w, 3], tf.uint8, name="frame")] + [
          tf.TensorSpec((None,) + shape, tf.float32, name=state_name)
          for state_name, shape in specs])
  archive.add_endpoint("initial_states", init_fn, input_signature=[
      tf.TensorSpec([], tf.int32, name="batch_size")])
  base = os.path.join(export_dir, name)
  path = os.path.join(base, str(version))
  if os.path.exists(path):
    shutil.rmtree(path)
  os.makedirs(base, exist_ok=True)
  archive.write_out(path, verbose=False)
  export_lib.write_serving_files(
      export_dir, name, path,
      [{"frames": np.zeros((1, config.num_frames, h, w, 3), np.uint8)}])
  return path


def stream_representative(stream, config, clips):
  """{input name: value} seen when streaming `clips` (uint8 [N, T, ...])."""
  names = ["frame"] + [n for n, _ in classifier_models.stream_state_specs(config)]
  samples = []
  for clip in clips:
    states = [tf.constant(s) for s in classifier_models.initial_states(config)]
    for t in range(clip.shape[0]):
      frame = tf.constant(clip[t][None])
      samples.append(dict(zip(names, [frame.numpy()] + [s.numpy() for s in states])))
      outs = stream([frame] + states, training=False)
      states = list(outs[1:])
  return samples


def export_stream_tflite(stream, config, out_dir, representative_clips,
                         variants=("float32", "int8")):
  """Fixed batch 1 streaming TFLite models: stream_{variant}.tflite."""
  h, w = config.image_size
  specs = classifier_models.stream_state_specs(config)
  signature = [[tf.TensorSpec([1, h, w, 3], tf.uint8, name="frame")] + [
      tf.TensorSpec((1,) + shape, tf.float32, name=n) for n, shape in specs]]
  os.makedirs(out_dir, exist_ok=True)
  paths = {}
  with tempfile.TemporaryDirectory() as tmp:
    saved = os.path.join(tmp, "stream")
    stream.export(saved, format="tf_saved_model", verbose=False, input_signature=signature)
    for variant in variants:
      converter = tf.lite.TFLiteConverter.from_saved_model(saved)
      converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
      if variant == "int8":
        samples = stream_representative(stream, config, representative_clips)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: iter(samples)
      elif variant != "float32":
        raise ValueError(f"unknown stream TFLite variant {variant!r}")
      path = os.path.join(out_dir, f"stream_{variant}.tflite")
      with open(path, "wb") as f:
        f.write(converter.convert())
      paths[f"tflite_stream_{variant}"] = path
  return paths


def export_classifier(model, parts, export_dir, class_names, representative=None,
                      variants=("float32", "int8")):
  stream = classifier_models.build_stream_model(parts)
  paths = {"saved_model": export_saved_model(
      model, stream, parts.config, os.path.join(export_dir, "saved_model"), class_names)}
  paths.update(export_stream_tflite(stream, parts.config, os.path.join(export_dir, "tflite"),
                                    representative, variants))
  # What a TFLite user needs besides the file: window length and labels.
  with open(os.path.join(export_dir, "model_info.json"), "w") as f:
    json.dump({"num_frames": parts.config.num_frames,
               "image_size": list(parts.config.image_size),
               "class_names": list(class_names)}, f, indent=2)
  return paths


class StreamingTFLite:
  """Runs a streaming TFLite classifier frame by frame, carrying its states."""

  def __init__(self, path, num_threads=2):
    from ai_edge_litert import interpreter as litert
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
    return sorted({op["op_name"] for op in self.interpreter._get_ops_details()})

  def reset(self):
    self.states = {n: np.zeros(s, np.float32) for n, s in self.state_shapes.items()}

  def __call__(self, frame):
    """uint8 [H, W, 3] -> logits [K]; advances the states."""
    if frame.dtype != np.uint8 or frame.shape != self.frame_shape + (3,):
      raise ValueError(f"expected uint8 frames of {self.frame_shape + (3,)}, got "
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


def check_stream_tflite(exports, parts, clips):
  """Streams `clips` through each TFLite variant and compares with the
  SavedModel's clip probabilities: max |p| difference and top-1 agreement."""
  loaded = tf.saved_model.load(exports["saved_model"])
  clip_fn = loaded.signatures["serving_default"]
  want = clip_fn(frames=tf.constant(clips))["probabilities"].numpy()
  result = {}
  for key, path in exports.items():
    if not key.startswith("tflite_stream_"):
      continue
    runner = StreamingTFLite(path)
    got = []
    for clip in clips:
      runner.reset()
      for frame in clip:
        logits = runner(frame)
      got.append(tf.nn.softmax(logits).numpy())
    got = np.stack(got)
    result[key] = {"max_probability_difference": float(np.abs(got - want).max()),
                   "top1_agreement": float(np.mean(got.argmax(-1) == want.argmax(-1))),
                   "ops": runner.ops(), "bytes": os.path.getsize(path)}
  return result

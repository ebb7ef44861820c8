"""Exports the action classifier: a SavedModel with clip and streaming
signatures for TF Serving, and a streaming TFLite model whose states are
explicit inputs and outputs (fixed shapes, builtin ops only), each with the
class names and the frame rate the model was trained at (model_info.json).
"""

import json
import os

import keras
import numpy as np
import tensorflow as tf

from tfsports.actions import model as classifier_models
from tfsports.actions import pose_stream
from tfsports.serving import exports as exports_lib
from tfsports.serving import runners
from tfsports.serving import saved_model as saved_model_lib
from tfsports.serving import tflite as tflite_lib

MODEL_INFO = "model_info.json"


def export_classifier_saved_model(model, stream, config, export_dir, class_names,
                                  name="classifier", version=1, pose_model=None,
                                  pose_stream_model=None, pose_config=None,
                                  fusion_weights=(1.0, 1.0)):
  """EXPORT_DIR/<name>/<version>/ with three signatures:

  serving_default(frames uint8 [B, T, H, W, 3]) -> probabilities [B, K],
      top_class (string [B]), top_probability [B]
  stream_step(frame uint8 [B, H, W, 3], state_*) -> logits [B, K], state_*
  initial_states(batch_size int32 []) -> state_* zeros

  and, with the pose stream, four more:

  fused(frames, keypoints float32 [B, T, F]) -> as serving_default, from
      the two streams' logits weighted by `fusion_weights` (pixels, pose)
  pose(keypoints) -> as serving_default, from the pose stream alone
  pose_stream_step(keypoints [B, F], state_*) -> logits, state_*
  pose_initial_states(batch_size) -> the pose stream's state_* zeros

  The keypoints come from BlazePose run beside the model (`data.pose`,
  `actions.pose_stream.pose_features`), not inside the serving graph:
  BlazePose ships only as TFLite, which a TensorFlow graph cannot run.
  """
  h, w = config.image_size
  names = tf.constant(list(class_names))
  specs = classifier_models.stream_state_specs(config)
  archive = keras.export.ExportArchive()
  archive.track(model)
  archive.track(stream)

  def result(logits):
    probs = tf.nn.softmax(logits, -1)
    return {"probabilities": probs,
            "top_class": tf.gather(names, tf.argmax(probs, -1)),
            "top_probability": tf.reduce_max(probs, -1)}

  def clip_fn(frames):
    return result(model(frames, training=False))

  step_fn, init_fn = stream_endpoints(stream, specs)
  saved_model_lib.add_checked_endpoint(archive, "serving_default", clip_fn, input_signature=[
      tf.TensorSpec([None, config.num_frames, h, w, 3], tf.uint8, name="frames")])
  saved_model_lib.add_checked_endpoint(archive, "stream_step", step_fn, input_signature=[
      tf.TensorSpec([None, h, w, 3], tf.uint8, name="frame")] + [
          tf.TensorSpec((None,) + shape, tf.float32, name=state_name)
          for state_name, shape in specs])
  saved_model_lib.add_checked_endpoint(archive, "initial_states", init_fn, input_signature=[
      tf.TensorSpec([], tf.int32, name="batch_size")])
  if pose_model is not None:
    _add_pose_endpoints(archive, model, pose_model, pose_stream_model, pose_config, config,
                        result, fusion_weights)
  return saved_model_lib.write_saved_model(
      archive, export_dir, name,
      [{"frames": np.zeros((1, config.num_frames, h, w, 3), np.uint8)}], version=version)


def stream_endpoints(stream, specs):
  """(step, initial states) functions of a stream model whose states are
  `specs` [(name, per-example shape)]: MoViNet's name-to-tensor dicts."""

  def step_fn(x, *states):
    outs = stream([x] + list(states), training=False)
    out = {"logits": outs[0]}
    for (state_name, _), value in zip(specs, outs[1:]):
      out[state_name] = value
    return out

  def init_fn(batch_size):
    ok = tf.debugging.Assert(batch_size >= 1, ["batch_size must be >= 1; got", batch_size])
    with tf.control_dependencies([ok]):
      batch_size = tf.identity(batch_size)
    return {state_name: tf.zeros(tf.concat([[batch_size], shape], 0))
            for state_name, shape in specs}

  return step_fn, init_fn


def _add_pose_endpoints(archive, model, pose_model, pose_stream_model, pose_config, config,
                        result, fusion_weights):
  h, w = config.image_size
  features = pose_stream.FEATURES
  specs = pose_stream.stream_state_specs(pose_config)
  archive.track(pose_model)
  archive.track(pose_stream_model)
  keypoints_spec = tf.TensorSpec([None, config.num_frames, features], tf.float32,
                                 name="keypoints")

  a, b = (float(w) for w in fusion_weights)

  def fused_fn(frames, keypoints):
    return result(a * model(frames, training=False) + b * pose_model(keypoints, training=False))

  def pose_fn(keypoints):
    return result(pose_model(keypoints, training=False))

  step_fn, init_fn = stream_endpoints(pose_stream_model, specs)

  saved_model_lib.add_checked_endpoint(archive, "fused", fused_fn, input_signature=[
      tf.TensorSpec([None, config.num_frames, h, w, 3], tf.uint8, name="frames"),
      keypoints_spec])
  saved_model_lib.add_checked_endpoint(archive, "pose", pose_fn,
                                       input_signature=[keypoints_spec])
  saved_model_lib.add_checked_endpoint(archive, "pose_stream_step", step_fn, input_signature=[
      tf.TensorSpec([None, features], tf.float32, name="keypoints")] + [
          tf.TensorSpec((None,) + shape, tf.float32, name=state_name)
          for state_name, shape in specs])
  saved_model_lib.add_checked_endpoint(archive, "pose_initial_states", init_fn,
                                       input_signature=[
                                           tf.TensorSpec([], tf.int32, name="batch_size")])


def export_pose_tflite(pose_stream_model, pose_config, out_dir):
  """The pose stream, batch 1, float32, builtin ops: pose_stream_float32.tflite
  (keypoints [1, F], state_* -> logits, state_*)."""
  specs = pose_stream.stream_state_specs(pose_config)
  signature = [[tf.TensorSpec([1, pose_stream.FEATURES], tf.float32, name="keypoints")] + [
      tf.TensorSpec((1,) + shape, tf.float32, name=n) for n, shape in specs]]
  paths = tflite_lib.export_tflite(pose_stream_model, signature, out_dir, ("float32",), None,
                                   file_name="pose_stream_{variant}.tflite")
  return {f"tflite_pose_stream_{v}": p for v, p in paths.items()}


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
  representative = None
  if "int8" in variants:
    representative = stream_representative(stream, config, representative_clips)
  paths = tflite_lib.export_tflite(stream, signature, out_dir, variants, representative,
                                   file_name="stream_{variant}.tflite")
  return {f"tflite_stream_{v}": p for v, p in paths.items()}


@exports_lib.atomic_export
def export_classifier(model, parts, export_dir, class_names, fps, representative=None,
                      variants=("float32", "int8"), pose_model=None, pose_parts=None,
                      pose_mode=None, fusion_weights=(1.0, 1.0)):
  """SavedModel + streaming TFLite + model_info.json (class names, frame
  rate, window) in `export_dir`, with the pose stream's signatures and
  TFLite model when `pose_model` is given; returns {name: path}."""
  stream = classifier_models.build_stream_model(parts)
  pose_stream_model = pose_stream.build_stream_model(pose_parts) if pose_model else None
  paths = {"saved_model": export_classifier_saved_model(
      model, stream, parts.config, os.path.join(export_dir, "saved_model"), class_names,
      pose_model=pose_model, pose_stream_model=pose_stream_model,
      pose_config=pose_parts.config if pose_parts else None, fusion_weights=fusion_weights)}
  paths.update(export_stream_tflite(stream, parts.config, os.path.join(export_dir, "tflite"),
                                    representative, variants))
  if pose_model is not None:
    paths.update(export_pose_tflite(pose_stream_model, pose_parts.config,
                                    os.path.join(export_dir, "tflite")))
  # What a user needs besides the model: labels, window and frame rate. It
  # sits beside the exports and inside the SavedModel, which travels alone.
  info = {"num_frames": parts.config.num_frames, "image_size": list(parts.config.image_size),
          "fps": float(fps), "class_names": list(class_names)}
  if pose_model is not None:
    info["pose"] = {"mode": pose_mode, "features": pose_stream.FEATURES,
                    "tflite": "pose_stream_float32.tflite",
                    "fusion_weights": [float(w) for w in fusion_weights]}
  for folder in (export_dir, os.path.join(paths["saved_model"], "assets.extra")):
    exports_lib.write_model_info(folder, "actions", model, **info)
  return paths


def _compare_streams(exports, prefix, sequences, want):
  """Streams each sequence through every TFLite model whose key starts with
  `prefix` (states reset per sequence) against the SavedModel's
  probabilities `want` [N, K]: max |p| difference and top-1 agreement."""
  result = {}
  for key, path in exports.items():
    if not key.startswith(prefix):
      continue
    runner = runners.StreamingTFLiteRunner(path)
    got = []
    for sequence in sequences:
      runner.reset()
      for step in sequence:
        logits = runner(step)
      got.append(tf.nn.softmax(logits).numpy())
    got = np.stack(got)
    result[key] = {"max_probability_difference": float(np.abs(got - want).max()),
                   "top1_agreement": float(np.mean(got.argmax(-1) == want.argmax(-1))),
                   "ops": runner.ops(), "bytes": os.path.getsize(path)}
  return result


def check_stream_tflite(exports, parts, clips):
  """Streams `clips` through each TFLite variant and compares with the
  SavedModel's clip probabilities: max |p| difference and top-1 agreement."""
  loaded = tf.saved_model.load(exports["saved_model"])
  want = loaded.signatures["serving_default"](frames=tf.constant(clips))["probabilities"]
  return _compare_streams(exports, "tflite_stream_", clips, want.numpy())


def check_pose_tflite(exports, windows):
  """Streams pose `windows` (float32 [N, T, F]) through the pose TFLite model
  and compares with the SavedModel's `pose` signature."""
  windows = np.asarray(windows, np.float32)
  loaded = tf.saved_model.load(exports["saved_model"])
  want = loaded.signatures["pose"](keypoints=tf.constant(windows))["probabilities"]
  return _compare_streams(exports, "tflite_pose_stream_", windows, want.numpy())

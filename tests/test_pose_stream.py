"""The pose stream of the action classifier (`actions.pose_stream`): its
features, streaming equal to the whole clip, safe-mode saving, TFLite."""

import numpy as np
import pytest

from tests import test_case
from tfsports.actions import pose_stream
from tfsports.data import pose as pose_lib

CONFIG = pose_stream.PoseStreamConfig.from_preset("test")


def _poses(t=4, seed=0):
  rng = np.random.default_rng(seed)
  return {"keypoints": rng.random((t, 33, 2), np.float32),
          "visibility": rng.random((t, 33), np.float32),
          "boxes": np.tile(np.array([[0.2, 0.1, 0.2, 0.5]], np.float32), (t, 1)),
          "score": np.ones(t, np.float32)}


def test_features_ignore_where_the_box_is_and_zero_missing_frames():
  a = _poses()
  b = dict(a, boxes=a["boxes"] + np.array([0.3, 0.2, 0, 0], np.float32))
  fa, fb = pose_stream.pose_features(a), pose_stream.pose_features(b)
  assert fa.shape == (4, pose_stream.FEATURES) and fa.dtype == np.float32
  n = pose_lib.NUM_KEYPOINTS * 3
  np.testing.assert_allclose(fa[:, :n], fb[:, :n], atol=1e-6)        # the pose itself
  assert not np.allclose(fa[:, n:n + 2], fb[:, n:n + 2])              # where the box is
  # Hip centre at the origin.
  xy = fa[:, :66].reshape(4, 33, 2)
  np.testing.assert_allclose(xy[:, [23, 24]].mean(1), 0.0, atol=1e-6)
  missing = dict(a, score=np.array([1, 0, 1, 1], np.float32))
  assert not pose_stream.pose_features(missing)[1].any()


def test_streaming_equals_the_whole_clip():
  import tensorflow as tf
  clip, parts = pose_stream.build_pose_classifier(CONFIG)
  stream = pose_stream.build_stream_model(parts)
  x = np.random.default_rng(1).normal(size=(2, CONFIG.num_frames, pose_stream.FEATURES)
                                      ).astype(np.float32)
  want = clip(x, training=False).numpy()
  states = list(pose_stream.initial_states(CONFIG, batch_size=2).values())
  for t in range(CONFIG.num_frames):
    out = stream([tf.constant(x[:, t])] + [tf.constant(v) for v in states], training=False)
    logits, states = out[0], list(out[1:])
  np.testing.assert_allclose(logits.numpy(), want, atol=1e-5)


def test_pose_stream_saves_safely_and_converts_to_builtin_tflite(tmp_path):
  import tensorflow as tf
  from tfsports.serving import tflite
  clip, parts = pose_stream.build_pose_classifier(CONFIG)
  x = np.zeros((1, CONFIG.num_frames, pose_stream.FEATURES), np.float32)
  test_case.run_model_saving_test(clip, x, tmp_path)
  stream = pose_stream.build_stream_model(parts, batch_size=1)
  specs = [[tf.TensorSpec((1, pose_stream.FEATURES), tf.float32, name="keypoints")] + [
      tf.TensorSpec((1,) + tuple(shape), tf.float32, name=n)
      for n, shape in pose_stream.stream_state_specs(CONFIG)]]
  paths = tflite.export_tflite(stream, specs, str(tmp_path), ("float32",))
  test_case.run_tflite_builtin_test(paths["float32"])


def _clip_logits(correct, margin, labels, k=3, windows=2):
  """Per clip, `windows` window logits [windows, k]: +margin on the label
  where `correct`, else on the next class."""
  out = []
  for y, ok in zip(labels, correct):
    logits = np.zeros((windows, k), np.float32)
    logits[:, y if ok else (y + 1) % k] = margin
    out.append(logits)
  return out


def test_fusion_weights_turn_down_a_confidently_wrong_stream():
  from tfsports.actions import recipe
  labels = np.arange(12) % 3
  pixels = _clip_logits([k % 2 == 0 for k in range(12)], 8.0, labels)   # half, overconfident
  pose = _clip_logits([k % 4 != 3 for k in range(12)], 1.5, labels)     # 3 in 4, modest
  a, b = recipe.fit_fusion_weights(pixels, pose, labels)
  assert a < b and a <= 0.3
  fused = recipe.fused_logits(pixels, pose, (a, b))
  assert recipe.clip_top1(fused, labels, ("x", "y", "z"))["top1"] == 0.75


def test_fusion_weights_follow_the_likelihood_of_both_streams():
  from tfsports.actions import recipe
  labels = np.arange(6) % 3
  right = _clip_logits([True] * 6, 2.0, labels)
  # Two streams that are always right: the surest fusion, both at the top.
  assert recipe.fit_fusion_weights(right, right, labels) == (2.0, 2.0)
  # Two that are always wrong: as close to uniform as the grid allows.
  wrong = _clip_logits([False] * 6, 2.0, labels)
  assert sorted(recipe.fit_fusion_weights(wrong, wrong, labels)) == [0.0, 0.1]

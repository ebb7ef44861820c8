import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import test_case
from tfsports.actions import command as classify
from tfsports.data import synthetic
from tfsports.data import video_io
from tfsports.actions import model as classifier_models
from tfsports.actions import export as classifier_export
from tfsports.actions import recipe as classifier

CONFIG = classifier_models.ClassifierConfig.from_preset("test")


def _stream(stream, clip_batch):
  states = [tf.constant(s) for s in classifier_models.initial_states(CONFIG, len(clip_batch))]
  for t in range(clip_batch.shape[1]):
    outs = stream([tf.constant(clip_batch[:, t])] + states)
    states = list(outs[1:])
  return outs[0].numpy()


def test_streaming_equals_whole_clip():
  model, parts = classifier_models.build_classifier(CONFIG)
  stream = classifier_models.build_stream_model(parts)
  clips = np.random.default_rng(0).integers(0, 255, (3, 4, 16, 16, 3), np.uint8)
  np.testing.assert_allclose(_stream(stream, clips), model(clips).numpy(), atol=1e-5)


def test_causal_temporal_conv_ignores_the_future():
  model, _ = classifier_models.build_classifier(
      classifier_models.ClassifierConfig.from_preset("test", num_frames=4))
  layer = [l for l in model.layers if isinstance(l, classifier_models.CausalTemporalConv)][0]
  x = tf.random.normal([1, 4, 2, 2, layer.kernel.shape[1]])
  y = layer(x)
  x2 = tf.concat([x[:, :2], tf.random.normal([1, 2, 2, 2, x.shape[-1]])], 1)
  np.testing.assert_allclose(layer(x2)[:, :2], y[:, :2], atol=1e-6)


def test_models_reload_with_safe_mode(tmp_path):
  model, parts = classifier_models.build_classifier(CONFIG)
  stream = classifier_models.build_stream_model(parts)
  clips = np.random.default_rng(1).integers(0, 255, (2, 4, 16, 16, 3), np.uint8)
  test_case.run_model_saving_test(model, clips, tmp_path)
  stream2 = test_case.run_model_saving_test(
      stream, [tf.constant(clips[:, 0])] + [tf.constant(s) for s in
                               classifier_models.initial_states(CONFIG, 2)], tmp_path)
  np.testing.assert_allclose(_stream(stream2, clips), model(clips).numpy(), atol=1e-5)
  for layer in model.layers:
    if isinstance(layer, (classifier_models.CausalTemporalConv, classifier_models.UnfoldTime)):
      test_case.run_serialization_test(layer)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  run_dir = str(tmp_path_factory.mktemp("cls_run"))
  config = classifier.ClassifierTrainConfig.from_preset(
      "test", run_dir=run_dir, tflite_variants=("float32", "int8"))
  return config, classifier.train_classifier(config)


def test_export_signatures(trained):
  config, report = trained
  assert np.sum(report["eval"]["confusion_matrix"]) == config.eval_clips
  loaded = tf.saved_model.load(report["exports"]["saved_model"])
  clips = np.random.default_rng(2).integers(0, 255, (2, 4, 16, 16, 3), np.uint8)
  out = loaded.signatures["serving_default"](frames=tf.constant(clips))
  np.testing.assert_allclose(out["probabilities"].numpy().sum(-1), [1, 1], atol=1e-5)
  assert all(c.decode() in synthetic.ACTION_CLASSES for c in out["top_class"].numpy())
  states = loaded.signatures["initial_states"](batch_size=tf.constant(2))
  for t in range(4):
    step = loaded.signatures["stream_step"](frame=tf.constant(clips[:, t]), **states)
    states = {k: v for k, v in step.items() if k != "logits"}
  np.testing.assert_allclose(tf.nn.softmax(step["logits"]), out["probabilities"], atol=1e-5)


def test_stream_tflite_matches_saved_model(trained):
  _, report = trained
  f32 = report["tflite"]["tflite_stream_float32"]
  assert f32["max_probability_difference"] < 1e-5 and f32["top1_agreement"] == 1.0
  for variant in report["tflite"].values():
    assert not any(op.startswith("Flex") or op == "CUSTOM" for op in variant["ops"])
  assert report["tflite"]["tflite_stream_int8"]["max_probability_difference"] < 0.05


def test_classify_tool(trained, tmp_path):
  _, report = trained
  video = tmp_path / "v.mp4"
  clip = synthetic.render_clip(synthetic.SceneConfig(image_size=(32, 32), num_frames=10), 0, 0)
  video_io.write_video(video, clip["frames"], fps=10)
  saved = classify.load_classifier(report["exports"]["saved_model"])
  lite = classify.load_classifier(report["exports"]["tflite_stream_float32"])
  rows = list(classify.classify_video(str(video), saved))
  # 10 frames in windows of 4: two full windows and a padded one.
  assert [(r["start"], r["end"]) for r in rows] == [(0.0, 0.4), (0.4, 0.8), (0.8, 1.0)]
  lite_rows = list(classify.classify_video(str(video), lite))
  for a, b in zip(rows, lite_rows):
    assert a["label"] == b["label"] and abs(a["confidence"] - b["confidence"]) < 1e-4
  proc = test_case.run_command("classify", video,
                               f"--model={report['exports']['tflite_stream_float32']}", "--json")
  assert proc.returncode == 0, proc.stderr[-1500:]
  lines = [json.loads(l) for l in proc.stdout.strip().splitlines()]
  assert len(lines) == 3 and lines[0]["label"] in synthetic.ACTION_CLASSES
  bad = tmp_path / "bad.mp4"
  bad.write_text("x")
  test_case.run_command_error_test("classify", bad, f"--model={report['exports']['saved_model']}",
                                   match=str(bad))
  test_case.run_command_error_test("classify", video, "--model=/nonexistent/model.tflite",
                                   match="no such model file")

"""The action classifier with its pose stream (`--streams=both`) on real
basketball clips: trains beside the pixels in one run directory, resumes,
reports each stream, exports SavedModel signatures and a pose TFLite model
that agree, and `tfsports classify` fuses both streams."""

import dataclasses
import importlib.util
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from tests import test_case
from tests.conftest import SHARED
from tfsports.actions import command as classify
from tfsports.actions import pose_stream
from tfsports.actions import recipe
from tfsports.data import pose as pose_lib
from tfsports.training import run as run_lib

BASKETBALL = os.path.join(SHARED, "actions", "basketball_jennycs")
pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("mediapipe") is None,
                       reason=f"no BlazePose: {pose_lib.INSTALL}"),
    pytest.mark.skipif(not os.path.isdir(BASKETBALL), reason="no real basketball clips"),
]
CLASSES = ("defense", "shooting")


@pytest.fixture(scope="module")
def footage(tmp_path_factory):
  """Four real clips of each of two classes; the pose cache is the test's own."""
  root = tmp_path_factory.mktemp("basketball")
  for cls in CLASSES:
    os.makedirs(root / cls)
    for k in (1, 2, 3, 4):
      shutil.copy(os.path.join(BASKETBALL, cls, f"{cls}_{k}.mp4"), root / cls)
  os.environ["TFSPORTS_POSE_CACHE"] = str(tmp_path_factory.mktemp("pose_cache"))
  return str(root)


def _config(footage, run_dir, **changes):
  changes = {"fusion_fraction": 0.34, **changes}
  return recipe.ClassifierTrainConfig.from_preset(
      "test", data=footage, streams="both", run_dir=str(run_dir), **changes)


@pytest.fixture(scope="module")
def trained(footage, tmp_path_factory):
  run_dir = tmp_path_factory.mktemp("run")
  return recipe.train_classifier(_config(footage, run_dir)), str(run_dir)


def test_report_gives_each_stream_and_the_fusion(trained):
  report, _ = trained
  streams = report["eval_streams"]
  assert set(streams) == {"pixels", "pose", "both", "sum"}
  assert streams["both"] == report["eval"]["top1"]
  assert report["eval"]["num_clips"] == 2
  assert report["training"]["pose_windows"] > 0
  # One training file of each class fits the fusion and trains neither stream.
  fusion = report["fusion"]
  assert fusion["num_clips"] == 2 and set(fusion["top1"]) == {"pixels", "pose", "sum", "fitted"}
  assert all(w in recipe.FUSION_GRID for w in fusion["weights"].values())
  train, held = recipe.training_split(
      recipe.ClassifierTrainConfig.from_dict(report["config"]))
  assert len(train) == 4 and len(held) == 2 and not set(train) & set(held)


def test_pose_tflite_matches_the_savedmodel_with_builtin_ops(trained):
  report, _ = trained
  check = report["tflite"]["tflite_pose_stream_float32"]
  assert check["max_probability_difference"] < 1e-5 and check["top1_agreement"] == 1.0
  test_case.run_tflite_builtin_test(report["exports"]["tflite_pose_stream_float32"])


def test_fused_signature_weighs_the_two_streams_logits(trained):
  report, _ = trained
  loaded = tf.saved_model.load(report["exports"]["saved_model"])
  rng = np.random.default_rng(0)
  size = tuple(report["config"]["image_size"])
  frames = rng.integers(0, 256, (2, 4) + size + (3,), dtype=np.uint8)
  keypoints = rng.normal(0, 1, (2, 4, pose_stream.FEATURES)).astype(np.float32)
  fused = loaded.signatures["fused"](frames=tf.constant(frames),
                                     keypoints=tf.constant(keypoints))["probabilities"]
  pixels = loaded.signatures["serving_default"](frames=tf.constant(frames))["probabilities"]
  pose = loaded.signatures["pose"](keypoints=tf.constant(keypoints))["probabilities"]
  # softmax(a x + b y) is the normalised product of softmax(x)^a and softmax(y)^b.
  a, b = report["fusion"]["weights"]["pixels"], report["fusion"]["weights"]["pose"]
  product = pixels.numpy() ** a * pose.numpy() ** b
  np.testing.assert_allclose(fused.numpy(), product / product.sum(-1, keepdims=True),
                             atol=1e-5)
  states = loaded.signatures["pose_initial_states"](batch_size=tf.constant(2))
  assert all(v.shape[0] == 2 for v in states.values())


def test_classify_fuses_pose_in_savedmodel_and_tflite_alike(trained):
  report, run_dir = trained
  video = os.path.join(BASKETBALL, "shooting", "shooting_5.mp4")
  saved = classify.load_classifier(run_dir)
  lite = classify.load_classifier(report["exports"]["tflite_stream_float32"])
  pixels_only = classify.load_classifier(run_dir, use_pose=False)
  assert saved.poser is not None and lite.poser is not None and pixels_only.poser is None
  a = [r["probabilities"] for r in classify.classify_video(video, saved)]
  b = [r["probabilities"] for r in classify.classify_video(video, lite)]
  c = [r["probabilities"] for r in classify.classify_video(video, pixels_only)]
  for x, y in zip(a, b):
    np.testing.assert_allclose([x[n] for n in CLASSES], [y[n] for n in CLASSES], atol=1e-4)
  assert any(abs(x[n] - y[n]) > 1e-4 for x, y in zip(a, c) for n in CLASSES)


def _pose_weights(run_dir):
  trained = run_lib.load(recipe.RECIPE, recipe.ClassifierTrainConfig, run_dir)
  return trained.parts.pose_model.get_weights()


@pytest.mark.parametrize("keep", [4, 6])
def test_resumed_run_matches_the_uninterrupted_one(footage, trained, tmp_path, keep):
  """A run stopped after its checkpoint `keep` (4: the pixels done, the pose
  stream not begun; 6: two pose steps in) ends where the uninterrupted one did."""
  _, run_dir = trained
  copy = str(tmp_path / "r")
  shutil.copytree(run_dir, copy)
  shutil.rmtree(os.path.join(copy, "export"))
  ckpts = os.path.join(copy, "checkpoints")
  os.remove(os.path.join(ckpts, "checkpoint"))
  for name in os.listdir(ckpts):
    if int(name.split(".")[0][5:]) > keep:
      os.remove(os.path.join(ckpts, name))
  recipe.train(dataclasses.replace(_config(footage, copy)))
  for a, b in zip(_pose_weights(run_dir), _pose_weights(copy)):
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_pose_stream_needs_real_files(tmp_path):
  with pytest.raises(ValueError, match="class-per-folder"):
    recipe.resolve(recipe.ClassifierTrainConfig.from_preset("test", streams="both"))
  with pytest.raises(ValueError, match="streams"):
    recipe.resolve(recipe.ClassifierTrainConfig.from_preset("test", streams="pose"))
  test_case.run_command_error_test("train", "actions", "--preset=test", "--streams=both",
                                   f"--run_dir={tmp_path / 'x'}", match="class-per-folder")


def test_players_of_a_real_video_get_fused_labels(trained, tmp_path):
  """`--players` with the pose stream: the first second of a real match,
  one hand-placed track (a detections file stands in for the detector)."""
  import csv
  from tfsports.actions import players
  from tfsports.data import video_io
  from tfsports.tracking import detectors
  src = os.path.join(SHARED, "video", "basketball_gym.mp4")
  if not os.path.exists(src):
    pytest.skip("no real match video")
  short = str(tmp_path / "short.mp4")
  video_io.write_video(short, video_io.read_clip(src, 24), fps=video_io.probe(src).fps)
  dets = tmp_path / "dets.txt"
  dets.write_text("".join(f"{t + 1},-1,150,60,40,110,0.9,-1,-1,-1\n" for t in range(24)))
  _, run_dir = trained
  clf = classify.load_classifier(run_dir)
  assert clf.poser is not None
  summary = players.classify_players(short, str(tmp_path / "out"), clf,
                                     detectors.MOTDetector(str(dets)))
  with open(summary["paths"]["actions"]) as f:
    rows = list(csv.DictReader(f))
  assert summary["num_tracks"] == 1 and rows
  assert {r["action"] for r in rows} <= set(CLASSES)
  assert all(0.0 < float(r["score"]) <= 1.0 for r in rows)
  assert video_io.probe(summary["paths"]["video"]).num_frames == 24

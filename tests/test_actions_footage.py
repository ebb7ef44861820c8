"""The action classifier on a user's class-per-folder footage: class names
and frame rate travel from the folder into the checkpoint, the export and
the `classify` output; evaluation holds back whole files."""

import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tests import test_case
from tfsports import config as config_lib
from tfsports.actions import command as classify
from tfsports.actions import recipe
from tfsports.data import sources
from tfsports.data import video_io

CLASSES = ("jump", "run")


def _moving_square(direction, num_frames, size=32, seed=0):
  rng = np.random.default_rng(seed)
  frames = np.full((num_frames, size, size, 3), 60, np.uint8)
  for t in range(num_frames):
    x = 4 + 2 * t if direction == "run" else 12
    y = 12 if direction == "run" else 4 + 2 * t
    frames[t, y % 24:y % 24 + 8, x % 24:x % 24 + 8] = (220, 200, 40)
  return np.clip(frames + rng.integers(0, 20, frames.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def footage(tmp_path_factory):
  """DIR/{jump,run}/clip_{1..4}.mp4 at 20 fps; clip_1 is shorter than a window."""
  root = tmp_path_factory.mktemp("footage")
  for cls in CLASSES:
    os.makedirs(root / cls)
    for k in range(1, 5):
      n = 2 if k == 1 else 10
      video_io.write_video(root / cls / f"clip_{k}.mp4", _moving_square(cls, n, seed=k),
                           fps=20)
  return str(root)


def test_split_holds_back_the_last_files_of_each_class():
  paths = [f"/d/{c}/clip_{k}.mp4" for c in "ab" for k in (1, 2, 10, 3)]
  labels = [0] * 4 + [1] * 4
  train, held = sources.split_by_file(paths, labels, 0.25)
  assert [paths[i] for i in held] == ["/d/a/clip_10.mp4", "/d/b/clip_10.mp4"]
  assert not set(train) & set(held) and len(train) + len(held) == 8
  with pytest.raises(ValueError, match="eval_fraction"):
    sources.split_by_file(paths, labels, 1.0)


def test_resample_fps_keeps_the_playing_speed():
  assert list(video_io.resample_fps(range(25), 25, 10)) == [0, 2, 5, 7, 10, 12, 15, 17, 20, 22]
  assert list(video_io.resample_fps(range(3), 10, 20)) == [0, 0, 1, 1, 2, 2]
  with pytest.raises(ValueError, match="positive"):
    list(video_io.resample_fps(range(3), 0, 10))


def test_clip_windows_pad_short_clips_with_the_last_frame():
  frames = np.arange(3)[:, None, None, None] * np.ones((3, 2, 2, 3), np.uint8)
  windows = sources.clip_windows(frames, 4)
  assert windows.shape == (1, 4, 2, 2, 3)
  assert windows[0, :, 0, 0, 0].tolist() == [0, 1, 2, 2]
  assert sources.clip_windows(np.repeat(frames, 3, 0), 4).shape[0] == 3


@pytest.fixture(scope="module")
def trained(footage, tmp_path_factory):
  run_dir = str(tmp_path_factory.mktemp("run"))
  config = recipe.ClassifierTrainConfig.from_preset(
      "test", data=footage, run_dir=run_dir, image_size=(16, 16), num_frames=4,
      batch_size=2)
  return recipe.train_classifier(config)


def test_folder_sets_classes_fps_and_a_file_level_eval(trained, footage):
  config = config_lib.read_run_config(trained["config"]["run_dir"],
                                      recipe.ClassifierTrainConfig)
  assert config.class_names == CLASSES and config.fps == 20.0
  ev = trained["eval"]
  assert ev["class_names"] == list(CLASSES) and ev["chance"] == 0.5
  # One held-back file per class: the highest-numbered.
  assert sorted(c["clip"] for c in ev["clips"]) == ["jump/clip_4.mp4", "run/clip_4.mp4"]
  assert np.sum(ev["confusion_matrix"]) == 2


def test_export_carries_class_names_and_fps(trained):
  exports = trained["exports"]
  info_path = os.path.join(exports["saved_model"], "assets.extra", "model_info.json")
  info = json.load(open(info_path))
  assert info["class_names"] == list(CLASSES) and info["fps"] == 20.0
  loaded = tf.saved_model.load(exports["saved_model"])
  out = loaded.signatures["serving_default"](frames=tf.zeros([2, 4, 16, 16, 3], tf.uint8))
  assert {c.decode() for c in out["top_class"].numpy()} <= set(CLASSES)
  test_case.run_tflite_builtin_test(exports["tflite_stream_float32"])


def test_classify_prints_the_folder_class_names(trained, footage):
  video = os.path.join(footage, "run", "clip_1.mp4")        # shorter than a window
  proc = test_case.run_command("classify", video,
                               f"--model={trained['exports']['saved_model']}", "--json")
  assert proc.returncode == 0, proc.stderr[-2000:]
  rows = [json.loads(line) for line in proc.stdout.strip().splitlines()]
  assert len(rows) == 1 and rows[0]["label"] in CLASSES
  assert set(rows[0]["probabilities"]) == set(CLASSES)
  # 10 frames at 20 fps is 0.5 s: two 4-frame windows and a padded one.
  lite = classify.load_classifier(trained["exports"]["tflite_stream_float32"])
  rows = list(classify.classify_video(os.path.join(footage, "jump", "clip_2.mp4"), lite))
  assert [(r["start"], r["end"]) for r in rows] == [(0.0, 0.2), (0.2, 0.4), (0.4, 0.5)]


def test_classify_samples_video_at_the_training_fps(trained, footage, tmp_path):
  # The same motion filmed at 40 fps is sampled back to 20 fps: same windows.
  fast = tmp_path / "fast.mp4"
  frames = video_io.read_frames(os.path.join(footage, "jump", "clip_2.mp4"))
  video_io.write_video(fast, np.repeat(frames, 2, 0), fps=40)
  saved = classify.load_classifier(trained["exports"]["saved_model"])
  a = list(classify.classify_video(os.path.join(footage, "jump", "clip_2.mp4"), saved))
  b = list(classify.classify_video(str(fast), saved))
  assert [(r["start"], r["end"]) for r in a] == [(r["start"], r["end"]) for r in b]
  for x, y in zip(a, b):
    assert x["label"] == y["label"] and abs(x["confidence"] - y["confidence"]) < 0.05


def test_re_export_reproduces_the_run(trained):
  report = recipe.export_run(trained["config"]["run_dir"])
  assert report["eval"]["confusion_matrix"] == trained["eval"]["confusion_matrix"]
  assert report["eval"]["class_names"] == list(CLASSES)


def test_resume_with_other_data_is_refused(trained, footage, tmp_path):
  config = config_lib.read_run_config(trained["config"]["run_dir"],
                                      recipe.ClassifierTrainConfig)
  other = tmp_path / "other"
  os.makedirs(other / "a")
  os.makedirs(other / "b")
  for cls in "ab":
    video_io.write_video(other / cls / "x.mp4", _moving_square("run", 4), fps=20)
  with pytest.raises(config_lib.ConfigMismatchError, match="classes"):
    recipe.resolve(dataclasses.replace(config, data=str(other)))
  with pytest.raises(config_lib.ConfigMismatchError, match="learning_rate"):
    recipe.train(dataclasses.replace(config, learning_rate=0.5))


def test_bad_training_data_is_a_clear_error(tmp_path):
  proc = test_case.run_command("probe", tmp_path)   # a directory: not a video
  assert proc.returncode == 2
  (tmp_path / "flat.mp4").write_text("x")
  with pytest.raises(ValueError, match="no class folders"):
    recipe.resolve(recipe.ClassifierTrainConfig.from_preset("test", data=str(tmp_path)))


def test_classify_scores_a_labelled_folder(trained, footage, tmp_path):
  proc = test_case.run_command("classify", footage,
                               f"--model={trained['exports']['tflite_stream_float32']}")
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert proc.stdout.startswith("top-1 on 8 clips:")
  assert "chance 0.500, majority class 0.500" in proc.stdout
  # Folders the model does not know are refused.
  os.makedirs(tmp_path / "swim")
  video_io.write_video(tmp_path / "swim" / "a.mp4", _moving_square("run", 4), fps=20)
  test_case.run_command_error_test("classify", tmp_path,
                                   f"--model={trained['exports']['saved_model']}",
                                   match="swim")


def test_tfrecord_training_data(footage, tmp_path):
  from tfsports.data import tfrecord
  shards = tfrecord.convert(footage, str(tmp_path / "clips"), num_shards=2, num_frames=4,
                            image_size=(16, 16))
  config = recipe.ClassifierTrainConfig.from_preset(
      "test", data=str(tmp_path / "clips-*.tfrecord"), run_dir=str(tmp_path / "run"),
      image_size=(16, 16), num_frames=4, batch_size=2)
  with pytest.raises(ValueError, match="--class_names"):
    recipe.resolve(config)
  report = recipe.train_classifier(dataclasses.replace(
      config, class_names=CLASSES, fps=20.0, eval_data=footage))
  assert len(shards) == 2 and report["eval"]["num_clips"] == 8
  assert report["eval"]["class_names"] == list(CLASSES)

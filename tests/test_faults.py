"""Faults lose nothing: damaged checkpoints, exports that fail halfway."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tests import test_actions_footage as footage_test
from tfsports.actions import recipe as actions_recipe
from tfsports.athletes import model as athlete_model
from tfsports.athletes import recipe as athlete_recipe
from tfsports.data import video_io
from tfsports.training import loop
from tfsports.serving import exports
from tfsports.serving import tflite as tflite_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _saved_run(tmp_path, steps=(1, 2, 3)):
  v = tf.Variable(np.zeros(256, np.float32))
  run = loop.RunDirectory(str(tmp_path), v=v)
  for step in steps:
    v.assign(np.full(256, step, np.float32))
    run.save(step)
  return run


def _restore(tmp_path):
  v = tf.Variable(np.zeros(256, np.float32))
  run = loop.RunDirectory(str(tmp_path), v=v)
  return run, run.restore(), float(v.numpy()[0])


def _truncate(path):
  with open(path, "r+b") as f:
    f.truncate(os.path.getsize(path) // 2)


def _flip(path):
  with open(path, "r+b") as f:
    f.seek(os.path.getsize(path) // 2)
    byte = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([byte[0] ^ 0xFF]))


@pytest.mark.parametrize("damage", [_truncate, _flip, os.remove])
def test_damaged_newest_checkpoint_falls_back_to_the_one_before(tmp_path, damage):
  run = _saved_run(tmp_path)
  damage(run.manager.latest_checkpoint + ".data-00000-of-00001")
  run, path, value = _restore(tmp_path)
  assert path.endswith("ckpt-2") and value == 2.0
  assert len(run.skipped) == 1 and "ckpt-3" in run.skipped[0]


def test_damaged_index_falls_back(tmp_path):
  run = _saved_run(tmp_path)
  _truncate(run.manager.latest_checkpoint + ".index")
  _, path, value = _restore(tmp_path)
  assert path.endswith("ckpt-2") and value == 2.0


def test_no_readable_checkpoint_stops_instead_of_starting_over(tmp_path):
  run = _saved_run(tmp_path, steps=(1, 2))
  for path in run.manager.checkpoints:
    _truncate(path + ".data-00000-of-00001")
  with pytest.raises(loop.CheckpointError, match="no readable checkpoint.*ckpt-2.*ckpt-1"):
    _restore(tmp_path)


def test_checkpoints_without_their_list_file_are_found(tmp_path):
  run = _saved_run(tmp_path)
  os.remove(os.path.join(run.manager.directory, "checkpoint"))
  _, path, value = _restore(tmp_path)
  assert path.endswith("ckpt-3") and value == 3.0


def test_a_fresh_run_restores_nothing(tmp_path):
  assert _restore(tmp_path)[1] is None


def _athlete_export(export_dir):
  model = athlete_model.build_athlete_model(athlete_model.AthleteConfig.from_preset("test"))
  return athlete_recipe.export(model, export_dir)


def _listing(folder):
  return sorted(os.path.relpath(os.path.join(d, f), folder)
                for d, _, files in os.walk(folder) for f in files)


def test_export_failing_halfway_leaves_the_previous_export(tmp_path, monkeypatch):
  export_dir = str(tmp_path / "export")
  paths = _athlete_export(export_dir)
  assert all(p.startswith(export_dir + os.sep) and os.path.exists(p) for p in paths.values())
  before = {f: open(os.path.join(export_dir, f), "rb").read() for f in _listing(export_dir)}

  def conversion_fails(*args, **kwargs):
    raise RuntimeError("converter: out of disk space")

  monkeypatch.setattr(tflite_lib, "export_tflite", conversion_fails)
  with pytest.raises(RuntimeError, match="out of disk"):
    _athlete_export(export_dir)
  after = {f: open(os.path.join(export_dir, f), "rb").read() for f in _listing(export_dir)}
  assert after == before
  assert not os.path.exists(export_dir + ".partial")


def test_export_replaces_the_previous_one_whole(tmp_path):
  export_dir = str(tmp_path / "export")
  os.makedirs(os.path.join(export_dir, "tflite"))
  with open(os.path.join(export_dir, "tflite", "stale_float32.tflite"), "w") as f:
    f.write("from an older export")
  _athlete_export(export_dir)
  assert "tflite/stale_float32.tflite" not in _listing(export_dir)
  loaded = tf.saved_model.load(os.path.join(export_dir, "saved_model", "athlete", "1"))
  assert "serving_default" in loaded.signatures


def test_export_refuses_to_replace_a_folder_that_is_not_an_export(tmp_path):
  with open(tmp_path / "notes.txt", "w") as f:
    f.write("a user's file")
  with pytest.raises(FileExistsError, match="not|more than an export"):
    with exports.AtomicExport(str(tmp_path)):
      pass
  assert os.path.exists(tmp_path / "notes.txt")


def test_atomic_export_moves_returned_paths():
  staging = exports.AtomicExport("/x/export")
  got = staging.final({"a": "/x/export.partial/m/1", "b": ["/x/export.partial"], "c": 3,
                       "d": "/x/export.partialx"})
  assert got == {"a": "/x/export/m/1", "b": ["/x/export"], "c": 3, "d": "/x/export.partialx"}
  json.dumps(got)


def _train_sr(run_dir, steps=16):
  return [sys.executable, os.path.join(ROOT, "training", "train_sr.py"), "--preset=test",
          f"--run_dir={run_dir}", f"--train_steps={steps}", "--checkpoint_every=2",
          "--deterministic"]


def _weights(run_dir):
  reader = tf.train.load_checkpoint(os.path.join(run_dir, "checkpoints"))
  return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
          if not k.startswith("_CHECKPOINTABLE")}


def test_kill_9_then_rerun_ends_with_the_uninterrupted_weights(tmp_path):
  """SIGKILL at a random moment after the second checkpoint; the same
  command again resumes from the last complete checkpoint and, with op
  determinism, ends where an uninterrupted run ends."""
  killed, whole = str(tmp_path / "killed"), str(tmp_path / "whole")
  proc = subprocess.Popen(_train_sr(killed), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
  checkpoints = os.path.join(killed, "checkpoints")
  deadline = time.time() + 300
  while not (os.path.isdir(checkpoints) and "ckpt-4.index" in os.listdir(checkpoints)):
    assert proc.poll() is None and time.time() < deadline, "no second checkpoint"
    time.sleep(0.02)
  time.sleep(random.Random(0).uniform(0, 0.5))
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
  assert not os.path.exists(os.path.join(killed, "export", "eval_report.json"))
  for cmd in (_train_sr(killed), _train_sr(whole)):
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
  # It resumed (from ckpt-4 or later) rather than starting over, which
  # determinism alone would also bring to the same weights.
  report = json.load(open(os.path.join(killed, "export", "eval_report.json")))
  assert report["training"]["start_step"] >= 4
  a, b = _weights(killed), _weights(whole)
  assert a.keys() == b.keys() and len(a) > 10
  for key in a:
    np.testing.assert_allclose(a[key], b[key], atol=1e-6, err_msg=key)


def _footage_with_damage(root):
  """DIR/{jump,run}/clip_{1..4}.mp4, plus a truncated and a garbage file in
  `run` (training files by name order: the held-back file is clip_4)."""
  for cls in ("jump", "run"):
    os.makedirs(root / cls)
    for k in range(1, 5):
      video_io.write_video(root / cls / f"clip_{k}.mp4",
                           footage_test._moving_square(cls, 10, seed=k), fps=20)
  good = open(root / "run" / "clip_1.mp4", "rb").read()
  with open(root / "run" / "clip_0_truncated.mp4", "wb") as f:
    f.write(good[:len(good) * 2 // 3])
  with open(root / "run" / "clip_0_garbage.mp4", "wb") as f:
    f.write(os.urandom(4000))
  return str(root)


def test_corrupt_training_videos_are_skipped_and_reported(tmp_path):
  data = _footage_with_damage(tmp_path / "data")
  config = actions_recipe.ClassifierTrainConfig.from_preset(
      "test", data=data, run_dir=str(tmp_path / "run"), image_size=(16, 16), num_frames=4,
      batch_size=2)
  report = actions_recipe.train_classifier(config)
  skipped = sorted(os.path.basename(p) for p, _ in report["skipped_files"])
  assert skipped == ["clip_0_garbage.mp4", "clip_0_truncated.mp4"]
  saved = json.load(open(tmp_path / "run" / "export" / "eval_report.json"))
  assert len(saved["skipped_files"]) == 2 and all(r for _, r in saved["skipped_files"])


def test_class_folder_without_a_readable_clip_is_an_error_before_training(tmp_path):
  data = _footage_with_damage(tmp_path / "data")
  os.makedirs(tmp_path / "data" / "kick")
  with open(tmp_path / "data" / "kick" / "broken.mp4", "wb") as f:
    f.write(b"\x00\x00\x00\x18ftypmp42" + os.urandom(500))
  config = actions_recipe.ClassifierTrainConfig.from_preset(
      "test", data=data, run_dir=str(tmp_path / "run"), image_size=(16, 16), num_frames=4,
      batch_size=2)
  with pytest.raises(ValueError, match="without a readable clip: .*kick"):
    actions_recipe.train_classifier(config)
  assert not os.path.exists(tmp_path / "run" / "checkpoints")
  proc = subprocess.run(
      [sys.executable, os.path.join(ROOT, "training", "train_classifier.py"), "--preset=test",
       f"--data={data}", f"--run_dir={tmp_path / 'run2'}"], capture_output=True, text=True,
      timeout=300)
  assert proc.returncode == 2 and "kick" in proc.stderr.strip().splitlines()[-1], proc.stderr


def test_mixed_data_with_a_missing_path_is_an_error_before_training(tmp_path):
  data = _footage_with_damage(tmp_path / "data")
  config = actions_recipe.ClassifierTrainConfig.from_preset(
      "test", data=f"{data},generated:{tmp_path / 'nowhere'}", run_dir=str(tmp_path / "run"))
  with pytest.raises(FileNotFoundError, match="nowhere: no such data directory"):
    actions_recipe.train_classifier(config)
  assert not os.path.exists(tmp_path / "run" / "checkpoints")

"""The detector on real labelled frames end to end: the `real_test` recipe
(real YOLO sets, held-back games scored through pycocotools, exports), and
`tfsports detect` on a folder of images and on a video, with its errors."""

import json
import os
import shutil

import cv2
import numpy as np
import pytest

from tests import test_case
from tests.conftest import SHARED
from tfsports.data import detection as detection_data
from tfsports.data import video_io
from tfsports.tracking import recipe

DETECTION = os.path.join(SHARED, "detection")
pytestmark = pytest.mark.skipif(not os.path.isdir(DETECTION),
                                reason="no ../shared/data/real/detection")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  run_dir = str(tmp_path_factory.mktemp("detector_real_test"))
  config = recipe.DetectorTrainConfig.from_preset("real_test", run_dir=run_dir)
  return config, recipe.train_detector(config)


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
  """Three real frames of a held-back game."""
  folder = tmp_path_factory.mktemp("frames")
  items = detection_data.read_yolo_set(os.path.join(DETECTION, "soccer_dfl_players"))
  held = [i for i in items if i.game in recipe.REAL_HELD_GAMES][:3]
  for item in held:
    shutil.copy(item.path, folder / os.path.basename(item.path))
  return folder, held


def test_recipe_scores_held_back_games_and_the_other_sport(trained):
  config, report = trained
  parts = report["real_labelled"]
  assert set(parts) == {"soccer_dfl_players (held-back games)",
                        "soccer_dfl_ball (held-back games)",
                        "volleyball_vnl_players (never trained on)"}
  players = parts["soccer_dfl_players (held-back games)"]
  assert players["images"] == 3 and players["person"]["labels"] > 30
  for key in ("ap50", "ap50_95", "ap75"):
    assert 0 <= players["person"][key] <= 1
  assert players["person"]["ap50_95"] <= players["person"]["ap50"]
  # The ball-only set scores the ball alone; volleyball has no ball labels.
  assert "person" not in parts["soccer_dfl_ball (held-back games)"]
  assert "centre" in parts["soccer_dfl_ball (held-back games)"]["ball"]
  assert "ball" not in parts["volleyball_vnl_players (never trained on)"]
  info = json.load(open(os.path.join(config.run_dir, "export", "model_info.json")))
  assert info["job"] == "detector" and info["detector_config"]["image_size"] == [64, 96]


def test_detect_writes_yolo_labels_coco_json_and_annotated_images(trained, frames, tmp_path):
  config, _ = trained
  folder, items = frames
  out = tmp_path / "out"
  proc = test_case.run_command("detect", folder, f"--out={out}", f"--model={config.run_dir}",
                               "--threshold=0.0", "--draw_threshold=0.0")
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert proc.stderr.strip() == ""                       # quiet off a terminal
  assert (out / "classes.txt").read_text().split() == ["person", "ball"]
  coco = json.load(open(out / "detections.json"))
  assert [i["file_name"] for i in coco["images"]] == sorted(os.listdir(folder))
  assert {c["name"] for c in coco["categories"]} == {"person", "ball"}
  for item in items:
    stem = os.path.splitext(os.path.basename(item.path))[0]
    lines = (out / "labels" / f"{stem}.txt").read_text().splitlines()
    assert lines                                         # threshold 0: every peak
    rows = np.array([[float(v) for v in l.split()] for l in lines])
    assert rows.shape[1] == 6 and set(rows[:, 0]) <= {0, 1}
    assert (rows[:, 1:5] >= -0.5).all() and (rows[:, 1:5] <= 1.5).all()
    assert (out / "annotated" / os.path.basename(item.path)).stat().st_size > 0
  # The JSON holds the same boxes as the label files, in pixels.
  first = coco["images"][0]
  n = sum(1 for a in coco["annotations"] if a["image_id"] == first["id"])
  stem = os.path.splitext(first["file_name"])[0]
  assert n == len((out / "labels" / f"{stem}.txt").read_text().splitlines())
  # pycocotools reads it back as results.
  from pycocotools import coco as coco_lib
  truth = coco_lib.COCO()
  truth.dataset = {"images": coco["images"], "annotations": [], "categories": coco["categories"]}
  truth.createIndex()
  assert len(truth.loadRes(coco["annotations"]).getAnnIds()) == len(coco["annotations"])


def test_detect_on_a_video_feeds_track(trained, frames, tmp_path):
  config, _ = trained
  _, items = frames
  clip = np.stack([cv2.resize(items[0].read(), (640, 360))] * 6)
  video = tmp_path / "clip.mp4"
  video_io.write_video(video, clip, fps=25)
  out = tmp_path / "out"
  proc = test_case.run_command("detect", video, f"--out={out}", f"--model={config.run_dir}",
                               "--threshold=0.0")
  assert proc.returncode == 0, proc.stderr[-2000:]
  det = (out / "det.txt").read_text().splitlines()
  assert det and all(len(l.split(",")) == 10 for l in det)
  assert {int(l.split(",")[0]) for l in det} <= set(range(1, 7))
  proc = test_case.run_command("track", video, f"--detector=mot:{out / 'det.txt'}",
                               f"--out={tmp_path / 'tracks'}", "--ball=none", "--noannotate")
  assert proc.returncode == 0, proc.stderr[-2000:]


def test_detect_errors(trained, frames, tmp_path):
  config, _ = trained
  folder, _ = frames
  empty = tmp_path / "empty"
  empty.mkdir()
  test_case.run_command_error_test("detect", empty, f"--out={tmp_path / 'o'}",
                                   f"--model={config.run_dir}", match="no images")
  test_case.run_command_error_test("detect", folder, f"--out={tmp_path / 'o'}",
                                   "--model=tiny_x4", match="no such model")
  sr = os.path.join(os.path.dirname(recipe.__file__), "..", "superres", "presets", "tiny_x4")
  test_case.run_command_error_test("detect", folder, f"--out={tmp_path / 'o'}",
                                   f"--model={sr}", match="not a detector")
  # One unreadable image: the others are written, the exit status says so.
  bad = tmp_path / "bad"
  shutil.copytree(folder, bad)
  (bad / "zz_broken.jpg").write_bytes(b"not a jpeg")
  proc = test_case.run_command_error_test("detect", bad, f"--out={tmp_path / 'b'}",
                                          f"--model={config.run_dir}", match="zz_broken.jpg")
  assert len(os.listdir(tmp_path / "b" / "labels")) == 3
  test_case.run_command_error_test("detect", folder, f"--out={tmp_path / 'o'}",
                                   "--threshold=0.9", "--draw_threshold=0.3",
                                   f"--model={config.run_dir}", match="threshold")


def test_init_from_starts_a_new_run_from_another_runs_weights(trained, tmp_path):
  from tfsports.training import loop
  from tfsports.training import run as run_lib
  config, _ = trained
  source = run_lib.load(recipe.RECIPE, recipe.DetectorTrainConfig, config.run_dir)
  fresh = recipe.DetectorTrainConfig.from_preset(
      "real_test", run_dir=str(tmp_path / "b"), init_from=config.run_dir)
  started = recipe.build(fresh)
  assert recipe.restore(started) is None         # a new run: nothing of its own
  for a, b in zip(source.model.get_weights(), started.model.get_weights()):
    np.testing.assert_array_equal(a, b)
  assert int(started.step.numpy()) == 0          # the optimizer starts afresh
  missing = recipe.DetectorTrainConfig.from_preset(
      "real_test", run_dir=str(tmp_path / "c"), init_from=str(tmp_path / "none"))
  with pytest.raises(loop.CheckpointError, match="no checkpoint to start from"):
    run_lib.train(recipe.RECIPE, missing)

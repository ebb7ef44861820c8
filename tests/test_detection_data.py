"""data.detection (YOLO-layout sets), the detection metrics through
pycocotools, the tile grid, and the labelled training stream."""

import os

import numpy as np
import pytest

from tests.conftest import SHARED
from tfsports.data import detection
from tfsports.metrics import detection as metrics
from tfsports.tracking import detectors


def _set(root, names, labels, size=(40, 80), yaml=None):
  import cv2
  os.makedirs(root / "images")
  os.makedirs(root / "labels")
  (root / "data.yaml").write_text(yaml or "names: " + repr(list(names)) + "\n")
  for stem, lines in labels.items():
    cv2.imwrite(str(root / "images" / f"{stem}.jpg"), np.full(size + (3,), 90, np.uint8))
    if lines is not None:
      (root / "labels" / f"{stem}.txt").write_text("".join(l + "\n" for l in lines))
  return str(root)


def test_yolo_set_maps_classes_and_splits_by_game(tmp_path):
  folder = _set(tmp_path / "s", ["ball", "goalkeeper", "player", "referee"], {
      "gameaa_1": ["0 0.5 0.5 0.1 0.1", "2 0.25 0.5 0.1 0.5", "3 0.75 0.5 0.1 0.5"],
      "gameaa_2": [], "gamebb_1": None})
  items = detection.read_yolo_set(folder)
  assert [i.game for i in items] == ["gameaa", "gameaa", "gamebb"]
  assert list(items[0].classes) == [detection.BALL, detection.PERSON, detection.PERSON]
  np.testing.assert_allclose(items[0].pixel_boxes((40, 80))[1], [16, 10, 8, 20], atol=1e-5)
  assert len(items[2].boxes) == 0 and items[0].labelled == (0, 1)
  train, held = detection.split_by_game(items, ["gamebb"])
  assert {i.game for i in train} == {"gameaa"} and [i.game for i in held] == ["gamebb"]


def test_stretched_sets_are_shown_at_their_aspect(tmp_path):
  folder = _set(tmp_path / "s", ["ball"], {"x_1": ["0 0.5 0.5 0.1 0.1"]}, size=(64, 64))
  item = detection.read_yolo_set(folder, aspect=16 / 9)[0]
  assert item.read().shape == (64, 114, 3) and item.labelled == (detection.BALL,)


@pytest.mark.parametrize("yaml", ["names:\n- ball\n- player\n", "names:\n  0: ball\n  1: player\n"])
def test_yaml_name_forms(tmp_path, yaml):
  folder = _set(tmp_path / "s", (), {"a": ["1 0.5 0.5 0.1 0.1"]}, yaml=yaml)
  assert detection.class_names(folder) == ["ball", "player"]


@pytest.mark.parametrize("line,match", [("x 0.5 0.5 0.1 0.1", "not `class cx cy w h`"),
                                        ("7 0.5 0.5 0.1 0.1", "class 7"),
                                        ("0 0.5", "not `class cx cy w h`")])
def test_bad_label_lines_name_the_line(tmp_path, line, match):
  folder = _set(tmp_path / "s", ["ball"], {"a": [line]})
  with pytest.raises(detection.DetectionSetError, match=match):
    detection.read_yolo_set(folder)


def test_not_a_set(tmp_path):
  with pytest.raises(detection.DetectionSetError, match="no images/"):
    detection.read_yolo_set(str(tmp_path))


def test_coco_scores_golden():
  labels = [np.array([[10, 10, 20, 40], [100, 100, 20, 40]], float)]
  dets = [np.array([[10, 10, 20, 40, 0.9], [300, 300, 20, 40, 0.8], [101, 100, 20, 40, 0.5]])]
  s = metrics.coco_scores(dets, labels, [(480, 640)])
  # Hits at ranks 1 and 3 over 2 labels: COCO's 101-point AP50.
  assert s["ap50"] == pytest.approx((51 * 1.0 + 50 * 2 / 3) / 101)
  assert s["ap50"] == pytest.approx(metrics.coco_scores(dets, labels, [(480, 640)])["ap50"])
  assert s["ap50_95"] < s["ap50"]          # the offset box fails the tighter IoUs
  perfect = metrics.coco_scores([np.c_[labels[0], [1, 1]]], labels, [(480, 640)])
  assert perfect["ap50"] == perfect["ap50_95"] == pytest.approx(1.0)
  assert metrics.coco_scores([np.zeros((0, 5))], labels, [(480, 640)])["ap50"] == 0.0


def test_centre_criterion_and_precision_recall():
  labels = [np.array([[100, 100, 6, 6]], float), np.zeros((0, 4))]
  # 4 pixels off on a 800x600 frame: 1% of the diagonal is 10 pixels.
  dets = [np.array([[104, 100, 6, 6, 0.9]]), np.array([[5, 5, 6, 6, 0.8]])]
  c = metrics.centre_scores(dets, labels, [(600, 800)] * 2)
  assert c["ap"] == pytest.approx(1.0) and c["best_f1"] == pytest.approx(1.0)
  assert metrics.coco_scores(dets, labels, [(600, 800)] * 2)["ap50"] < 0.5
  pr = metrics.precision_recall(dets, labels, threshold=0.5, iou=0.15)   # IoU 0.2
  assert (pr["tp"], pr["fp"], pr["labels"]) == (1, 1, 1)


def test_tile_grid_covers_the_frame_with_overlap():
  tiles = detectors.tile_grid((1080, 1920), (288, 512), rows=2)
  assert len(tiles) == 4
  covered = np.zeros((1080, 1920), bool)
  for y0, x0, h, w in tiles:
    assert abs(w / h - 512 / 288) < 0.01
    covered[y0:y0 + h, x0:x0 + w] = True
  assert covered.all()
  assert tiles[2][0] < tiles[0][2]          # rows overlap
  assert detectors.tile_grid((1080, 1920), (288, 512), rows=1) == [(0, 0, 1080, 1920)]


def test_a_box_cut_by_a_tile_edge_gives_way_to_the_whole_one():
  whole = [500, 520, 20, 50, 0.8, 0]
  cut = [500, 520, 20, 30, 0.7, 0]
  other = [505, 530, 20, 50, 0.6, 0]       # an overlapping player, not cut
  rows = np.array([whole, cut, other], np.float32)
  out = detectors.suppress_contained(rows, np.array([False, True, False]))
  assert len(out) == 2 and 0.7 not in out[:, 4].round(2)


@pytest.mark.skipif(not os.path.isdir(os.path.join(SHARED, "detection")),
                    reason="no ../shared/data/real/detection")
def test_labelled_stream_draws_real_players_at_the_tile_scale():
  from tfsports.tracking import detector, labelled, recipe
  config = recipe.DetectorTrainConfig.from_preset("real")
  model_config = detector.DetectorConfig.from_preset("real")
  held = labelled.held_back(config)
  train_games = {i.game for s in labelled.training_items(config) for i in s}
  assert train_games and train_games.isdisjoint(config.held_games)
  for name, items in held.items():
    if "held-back" in name:
      assert {i.game for i in items} <= set(config.held_games)
  stream = labelled.labelled_examples(model_config, config, seed=0)
  heights = []
  for _ in range(30):
    image, boxes, classes, unlabelled = next(stream)
    assert image.shape == (288, 512, 3) and image.dtype == np.uint8
    heights += [b[3] for b, k in zip(boxes, classes) if k == 0]
  # 15x40 players in 1080p at 1.2-3 input heights: 13-33 input pixels tall.
  assert 8 < np.median(heights) < 40

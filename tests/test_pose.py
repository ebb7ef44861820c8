"""BlazePose post-processing (`data.pose`): anchors, decoding, regions and
the cache (unit), and keypoints on real frames checked by hand."""

import importlib.util
import os

import numpy as np
import pytest

from tests.conftest import SHARED
from tfsports.data import pose

HAVE_MEDIAPIPE = importlib.util.find_spec("mediapipe") is not None
needs_models = pytest.mark.skipif(not HAVE_MEDIAPIPE, reason=f"no BlazePose: {pose.INSTALL}")


def test_anchors_match_mediapipes_layout():
  a = pose.ssd_anchors()
  # 28x28 cells x 2 (stride 8), 14x14 x 2 (16), 7x7 x 6 (three stride-32 layers).
  assert a.shape == (2254, 2)
  np.testing.assert_allclose(a[0], [0.5 / 28, 0.5 / 28])
  np.testing.assert_allclose(a[1], a[0])                     # two anchors per cell
  np.testing.assert_allclose(a[2], [1.5 / 28, 0.5 / 28])
  np.testing.assert_allclose(a[1568], [0.5 / 14, 0.5 / 14])
  np.testing.assert_allclose(a[1960:1966], np.tile([0.5 / 7, 0.5 / 7], (6, 1)))
  np.testing.assert_allclose(a[-1], [6.5 / 7, 6.5 / 7])


def test_decode_places_a_box_and_keypoints_from_anchor_offsets():
  anchors = pose.ssd_anchors()
  raw = np.zeros((2254, 12), np.float32)
  logits = np.full(2254, -10.0, np.float32)
  k = 100
  raw[k, :4] = (5.0, -3.0, 40.0, 20.0)           # offsets and size in input pixels
  raw[k, 4:6] = (0.0, 10.0)
  logits[k] = 3.0
  # A 448x224 image letterboxed into 224: scale 0.5, 56 rows of padding.
  image = np.zeros((224, 448, 3), np.uint8)
  _, back = pose.letterbox(image, 224)
  (person,) = pose.decode_detections(raw, logits, anchors, back, 224)
  cx, cy = (anchors[k] * 224 + (5.0, -3.0))
  want_centre = ((cx) * 2, (cy - 56) * 2)
  x, y, w, h = person.box
  np.testing.assert_allclose([x + w / 2, y + h / 2], want_centre, atol=1e-3)
  np.testing.assert_allclose([w, h], [80.0, 40.0], atol=1e-3)
  np.testing.assert_allclose(person.keypoints[0],
                             [anchors[k, 0] * 224 * 2, (anchors[k, 1] * 224 + 10 - 56) * 2],
                             atol=1e-3)
  assert person.score == pytest.approx(1 / (1 + np.exp(-3.0)))


def test_nms_keeps_the_best_of_overlapping_detections():
  anchors = pose.ssd_anchors()
  raw = np.zeros((2254, 12), np.float32)
  raw[:, 2:4] = 30.0
  logits = np.full(2254, -10.0, np.float32)
  logits[[10, 11]] = (2.0, 1.0)                  # one cell's two anchors: the same box
  _, back = pose.letterbox(np.zeros((224, 224, 3), np.uint8), 224)
  people = pose.decode_detections(raw, logits, anchors, back, 224)
  assert len(people) == 1 and people[0].score == pytest.approx(1 / (1 + np.exp(-2.0)))
  assert pose.decode_detections(raw, np.full(2254, -10.0), anchors, back, 224) == []


def test_region_affine_round_trip_and_rotation():
  m = pose.roi_affine((100.0, 50.0), 64.0, 0.0, 256)
  np.testing.assert_allclose(pose.apply_affine(m, [[128, 128], [0, 0]]), [[100, 50], [68, 18]])
  # Shoulders to the right of the hips: the body lies on its side, and the
  # region turns by 90 degrees so the model sees it upright.
  person = pose.Person(np.zeros(4, np.float32),
                       np.array([[100, 100], [100, 140], [140, 100], [0, 0]], np.float32), 0.9)
  centre, side, angle = pose.person_roi(person)
  np.testing.assert_allclose(centre, [100, 100])
  assert side == pytest.approx(2 * 40 * 1.25)
  assert abs(abs(angle) - np.pi / 2) < 1e-6


def test_letterbox_maps_back_to_the_image():
  image = np.zeros((100, 50, 3), np.uint8)
  square, back = pose.letterbox(image, 256)
  assert square.shape == (256, 256, 3)
  np.testing.assert_allclose(pose.apply_affine(back, [[64, 0], [192, 256]]), [[0, 0], [50, 100]])


def test_missing_models_name_the_install_line(monkeypatch):
  monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
  with pytest.raises(pose.PoseModelMissingError, match="pip install --no-deps mediapipe"):
    pose.model_path(pose.LANDMARK_FILE)


def test_cache_computes_once_and_recovers_from_a_bad_file(tmp_path):
  clip = tmp_path / "clip.mp4"
  clip.write_bytes(b"x" * 10)
  calls = []

  def poser(frames):
    calls.append(frames)
    return {"keypoints": np.ones((2, 33, 2), np.float32), "score": np.ones(2, np.float32)}

  read = lambda path: np.zeros((2, 4, 4, 3), np.uint8)
  a = pose.cached_clip_poses(str(clip), read, poser, str(tmp_path / "cache"))
  b = pose.cached_clip_poses(str(clip), read, poser, str(tmp_path / "cache"))
  assert len(calls) == 1
  np.testing.assert_array_equal(a["keypoints"], b["keypoints"])
  (cached,) = (tmp_path / "cache").iterdir()
  cached.write_bytes(b"truncated")
  pose.cached_clip_poses(str(clip), read, poser, str(tmp_path / "cache"))
  assert len(calls) == 2
  # Another mode is another entry.
  pose.cached_clip_poses(str(clip), read, poser, str(tmp_path / "cache"), mode="frame")
  assert len(calls) == 3


@needs_models
def test_clip_poser_rejects_bad_frames():
  with pytest.raises(ValueError, match="uint8"):
    pose.ClipPoser("crop")(np.zeros((2, 8, 8), np.float32))
  with pytest.raises(ValueError, match="mode"):
    pose.ClipPoser("whole")


BASKETBALL = os.path.join(SHARED, "actions", "basketball_jennycs")


@needs_models
@pytest.mark.skipif(not os.path.isdir(BASKETBALL), reason="no basketball clips")
def test_keypoints_on_a_real_crop_match_hand_checked_positions():
  from tfsports.data import video_io
  frames = video_io.read_frames(os.path.join(BASKETBALL, "defense", "defense_1.mp4"))
  out = pose.ClipPoser("crop")(frames)
  h, w = frames.shape[1:3]
  assert out["keypoints"].shape == (7, 33, 2) and out["score"].min() > 0.9
  box = out["boxes"][3] * (w, h, w, h)
  kp = out["keypoints"][3] * box[2:] + box[:2]
  # Frame 3 (a 96x172 crop) was drawn enlarged with the keypoints and
  # checked by eye: the nose on the face, the left wrist at the end of the
  # arm stretched to the image's right, the ankles at the feet, the left
  # hip at the shorts' edge. These are those checked positions.
  hand_checked = {"nose": (51, 73), "left_wrist": (83, 87), "left_ankle": (60, 140),
                  "right_ankle": (16, 146), "left_hip": (46, 110)}
  for name, want in hand_checked.items():
    got = kp[pose.KEYPOINT_NAMES.index(name)]
    assert np.hypot(*(got - want)) < 0.06 * h, (name, got, want)
  # Keypoints relative to the box lie around [0, 1].
  assert -0.2 < out["keypoints"].min() and out["keypoints"].max() < 1.2

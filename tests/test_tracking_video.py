"""`tfsports track VIDEO`: camera motion, the ball track, pitch mapping and
the command on generated videos (moving kits on a textured static court)."""

import csv

import cv2
import numpy as np
import pytest

from tests import test_case
from tfsports.data import mot
from tfsports.metrics import boxes as boxes_lib
from tfsports.data import video_io
from tfsports.tracking import appearance
from tfsports.tracking import ball as ball_lib
from tfsports.tracking import camera as camera_lib

KITS = ((220, 40, 40), (40, 60, 220))


def _court(height=120, width=160, seed=0):
  rng = np.random.default_rng(seed)
  texture = rng.integers(60, 200, (height // 8, width // 8, 3), np.uint8)
  return cv2.resize(texture, (width, height), interpolation=cv2.INTER_CUBIC)


def _players(t):
  """Two players (x, y, w, h) walking past each other from frame 5."""
  if t < 5:
    return []
  return [(10 + 3 * (t - 5), 10, 12, 30), (130 - 3 * (t - 5), 75, 12, 30)]


def _video(tmp_path, num_frames=30):
  court = _court()
  frames = []
  for t in range(num_frames):
    frame = court.copy()
    for (x, y, w, h), kit in zip(_players(t), KITS):
      frame[y:y + h, x:x + w] = kit
    frames.append(frame)
  path = tmp_path / "court.mp4"
  video_io.write_video(path, frames, fps=25)
  return path


def test_camera_motion_finds_a_pan():
  court = _court(240, 320)
  motion = camera_lib.CameraMotion()
  assert np.allclose(motion(court), np.eye(2, 3))
  shifted = np.roll(court, (-3, 5), axis=(0, 1))        # content moves right 5, up 3
  affine = motion(shifted)
  np.testing.assert_allclose(affine[:, :2], np.eye(2), atol=0.02)
  np.testing.assert_allclose(affine[:, 2], [5, -3], atol=0.3)


def test_ball_tracker_gates_fills_gaps_and_reacquires():
  tracker = ball_lib.BallTracker(fps=25, width=1000)
  found = {}
  for t in range(20):
    ball = (100 + 10 * t, 200 + 5 * t, 0.9)
    decoy = (900, 50, 0.95)           # a brighter blob far from the ball's path
    candidates = np.array([ball, decoy] if t not in (7, 8) else [decoy], np.float64)
    if t == 0:
      candidates = candidates[:1]
    pick = tracker.update(candidates)
    if pick is not None:
      found[t] = pick
  assert 7 not in found and 8 not in found
  assert all(found[t] == pytest.approx((100 + 10 * t, 200 + 5 * t)) for t in found)
  filled = ball_lib.fill_ball_gaps(found, tracker.max_gap)
  assert filled[7] == pytest.approx((170, 235, True))
  assert filled[6][2] is False
  # Lost for longer than a fillable gap: the best strong candidate restarts it.
  for _ in range(tracker.max_gap + 1):
    assert tracker.update(np.zeros((0, 3))) is None
  assert tracker.update(np.array([[900, 50, 0.95], [10, 10, 0.3]])) == (900, 50)


def test_pseudo_labels_find_the_moving_players(tmp_path):
  from tfsports.tracking import recipe
  labels = recipe.pseudo_label(video_io.read_frames(_video(tmp_path)))
  assert min(labels) == 5                     # after the background model's warm-up
  for t, boxes in labels.items():
    truth = np.array(_players(t), np.float32)
    assert len(boxes) == len(truth)
    assert boxes_lib.iou_matrix(truth, boxes).max(1).min() > 0.4


def test_pitch_points_map_feet_to_metres_through_camera_motion():
  h = camera_lib.parse_pitch_points("0,0,0,0; 200,0,20,0; 200,100,20,10; 0,100,0,10")
  np.testing.assert_allclose(camera_lib.to_pitch(h, np.eye(2, 3), [(100, 50)]), [[10, 5]],
                             atol=1e-6)
  panned = np.array([[1, 0, -40.0], [0, 1, 0]])         # the camera moved 40 px right
  np.testing.assert_allclose(camera_lib.to_pitch(h, panned, [(60, 50)]), [[10, 5]], atol=1e-6)
  for bad in ("0,0,0,0;1,1,1,1;2,2,2,2", "a,b,c,d;1,2,3,4;5,6,7,8;9,1,2,3", "1,2,3;4,5,6"):
    with pytest.raises(ValueError):
      camera_lib.parse_pitch_points(bad)


def _read_csv(path):
  with open(path) as f:
    return list(csv.DictReader(f))


def test_track_video_command_background_detector(tmp_path):
  video = _video(tmp_path)
  out = tmp_path / "out"
  proc = test_case.run_command(
      "track", video, f"--out={out}", "--detector=background", "--ball=none",
      "--pitch_points=0,0,0,0;160,0,16,0;160,120,16,12;0,120,0,12")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "track: 30/30 frames (" in proc.stderr        # progress with its rate
  assert "\r" not in proc.stderr                        # a pipe gets lines, not redraws
  tracks = mot.read_mot(out / "tracks.txt")
  ids = {int(i) for r in tracks.values() for i in r[:, 0]}
  assert len(ids) == 2, tracks
  rows = _read_csv(out / "tracks.csv")
  assert {r["team"] for r in rows} == {"0", "1"}       # the two kits, one team each
  for r in rows:
    # Feet (bottom centre) at 10 px per metre.
    x, y, w, h = (float(r[k]) for k in ("x", "y", "w", "h"))
    assert float(r["pitch_x_m"]) == pytest.approx((x + w / 2) / 10, abs=0.02)
    assert float(r["pitch_y_m"]) == pytest.approx((y + h) / 10, abs=0.02)
  for t, r in tracks.items():
    truth = np.array(_players(t), np.float32)
    centres = np.sort(r[:, 1] + r[:, 3] / 2)
    assert len(truth) and np.abs(centres - np.sort(truth[:, 0] + 6)).max() < 4
  annotated = video_io.read_frames(out / "annotated.mp4")
  assert annotated.shape == (30, 120, 160, 3)


def test_track_video_command_mot_detector_and_bad_inputs(tmp_path):
  video = _video(tmp_path)
  dets = tmp_path / "dets.txt"
  with open(dets, "w") as f:
    for t in range(30):
      for x, y, w, h in _players(t):
        f.write(f"{t + 1},-1,{x},{y},{w},{h},0.9\n")
  out = tmp_path / "out"
  proc = test_case.run_command("track", video, f"--out={out}", f"--detector=mot:{dets}",
                               "--ball=none", "--noannotate", "--nocmc")
  assert proc.returncode == 0, proc.stderr[-3000:]
  tracks = mot.read_mot(out / "tracks.txt")
  assert sorted({int(i) for r in tracks.values() for i in r[:, 0]}) == [1, 2]
  assert not (out / "annotated.mp4").exists()
  broken = tmp_path / "broken.mp4"
  broken.write_bytes(b"not a video at all")
  test_case.run_command_error_test("track", broken, f"--out={tmp_path / 'o2'}",
                                   "--detector=background", match="broken.mp4")
  bad = tmp_path / "bad.txt"
  bad.write_text("1,-1,10,10\n")
  test_case.run_command_error_test("track", video, f"--out={tmp_path / 'o3'}",
                                   f"--detector=mot:{bad}", "--ball=none", match="bad.txt:1")
  test_case.run_command_error_test("track", video, f"--out={tmp_path / 'o4'}",
                                   "--detector=yolo", "--ball=none", match="yolo")
  test_case.run_command_error_test("track", video, f"--out={tmp_path / 'o5'}",
                                   "--pitch_points=1,2,3,4", "--ball=none",
                                   "--detector=background", match="4 point pairs")
  assert not (tmp_path / "o2").exists() and not (tmp_path / "o3").exists()


def test_track_video_with_the_athletes_model(tmp_path):
  from tfsports.athletes import recipe as athletes
  run = tmp_path / "athletes"
  athletes.train_athlete(athletes.AthleteTrainConfig.from_preset("test", run_dir=str(run)))
  features = appearance.AthleteFeatures(str(run / "export" / "tflite" / "athlete_float32.tflite"))
  frame = video_io.read_frames(_video(tmp_path))[10]
  embeddings, jerseys = features(frame, np.array([[25, 10, 12, 30], [0, 0, 2, 3]], float))
  assert embeddings.shape == (2, features.embedding_dim) and jerseys.shape == (2,)
  assert np.linalg.norm(embeddings[0]) == pytest.approx(1, abs=1e-4)   # re-ID embedding
  assert not embeddings[1].any() and jerseys[1] == -1                 # too small to crop
  video = _video(tmp_path)
  out = tmp_path / "out"
  proc = test_case.run_command("track", video, f"--out={out}", "--detector=background",
                               "--ball=none", f"--athletes={run}", "--noannotate")
  assert proc.returncode == 0, proc.stderr[-3000:]
  rows = _read_csv(out / "tracks.csv")
  assert len({r["track_id"] for r in rows}) == 2
  # An untrained model reads no number confidently; a read is two digits.
  assert all(r["jersey"] == "" or 0 <= int(r["jersey"]) <= 99 for r in rows)
  test_case.run_command_error_test("track", video, f"--out={out}", "--detector=background",
                                   "--ball=none", f"--athletes={tmp_path / 'none.tflite'}",
                                   match="none.tflite")

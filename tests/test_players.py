"""Actions per tracked player (`actions.players`): windows follow each
track at the model's rate, break where the track is lost, and come out as
CSV rows and an annotated video."""

import csv
import os

import numpy as np
import pytest

from tfsports.actions import players
from tfsports.data import video_io


class BrightnessClassifier:
  """Labels a window "bright" when its crops are, so a test can see which
  pixels each window was cut from."""
  num_frames, image_size, fps, poser = 3, (24, 16), 10.0, None
  class_names = ("dark", "bright")

  def __init__(self):
    self.windows = []

  def classify(self, window, keypoints=None):
    self.windows.append(window)
    p = float(window.mean() > 127)
    return np.array([1 - p, p]) * 0.8 + 0.1


@pytest.fixture()
def video(tmp_path):
  """20 frames at 10 fps: a white player on the left, a black one on the
  right of a grey pitch."""
  frames = np.full((20, 96, 128, 3), 128, np.uint8)
  frames[:, 20:80, 10:40] = 255
  frames[:, 20:80, 80:110] = 0
  path = str(tmp_path / "match.mp4")
  video_io.write_video(path, frames, fps=10.0, lossless=True)
  return path


def _tracks():
  """Track 1 (the white player) in every frame; track 2 (the black one)
  lost at frames 5-6."""
  out = {}
  for t in range(20):
    rows = [[1, 10, 20, 30, 60]]
    if t not in (5, 6):
      rows.append([2, 80, 20, 30, 60])
    out[t] = np.array(rows, np.float32)
  return out


def test_crop_keeps_the_model_aspect_and_the_player_centred():
  frame = np.zeros((100, 200, 3), np.uint8)
  frame[40:60, 95:105] = 255
  crop = players.crop_to_aspect(frame, (95, 40, 10, 20), (48, 32), margin=0.0)
  assert crop.shape == (48, 32, 3) and crop.dtype == np.uint8
  # The box fills the crop's height; the centre column is the player's.
  assert crop[:, 16].mean() > 200 and crop[24, 0].max() < 50
  # A box off the frame's edge still gives a full crop.
  assert players.crop_to_aspect(frame, (-20, -10, 30, 40), (48, 32)).shape == (48, 32, 3)


def test_windows_follow_each_track_and_break_where_it_is_lost(video):
  clf = BrightnessClassifier()
  rows = players.label_tracks(video, _tracks(), clf)
  one = [r for r in rows if r["track_id"] == 1]
  two = [r for r in rows if r["track_id"] == 2]
  assert all(r["action"] == "bright" for r in one) and all(r["action"] == "dark" for r in two)
  # Track 1: windows of 3 frames back to back over 20 frames, the last one
  # (2 frames) padded.
  assert [(r["start_s"], r["end_s"]) for r in one][:2] == [(0.0, 0.3), (0.3, 0.6)]
  assert one[-1]["end_s"] == 2.0 and len(one) == 7
  # Track 2 is lost at frames 5-6: its window 3-4 closes early, a new one
  # starts at 7.
  assert (0.3, 0.5) in [(r["start_s"], r["end_s"]) for r in two]
  assert any(r["start_s"] == 0.7 for r in two)
  assert all(w.shape == (3, 24, 16, 3) for w in clf.windows)


def test_outputs_csv_and_annotated_video(video, tmp_path):
  from tfsports.tracking import detectors
  dets = tmp_path / "dets.txt"
  with open(dets, "w") as f:
    for t, rows in _tracks().items():
      for _, x, y, w, h in rows:
        f.write(f"{t + 1},-1,{x},{y},{w},{h},0.9,-1,-1,-1\n")
  summary = players.classify_players(video, str(tmp_path / "out"), BrightnessClassifier(),
                                     detectors.MOTDetector(str(dets)))
  with open(summary["paths"]["actions"]) as f:
    table = list(csv.reader(f))
  assert table[0] == ["track_id", "start_s", "end_s", "action", "score"]
  assert {r[3] for r in table[1:]} == {"bright", "dark"}
  assert summary["num_tracks"] == 2 and summary["num_windows"] == len(table) - 1
  info = video_io.probe(summary["paths"]["video"])
  assert info.num_frames == 20 and (info.height, info.width) == (96, 128)


def test_a_bad_video_is_a_clear_error(tmp_path):
  bad = tmp_path / "bad.mp4"
  bad.write_bytes(b"not a video")
  with pytest.raises(video_io.VideoReadError):
    players.classify_players(str(bad), str(tmp_path / "out"), BrightnessClassifier(),
                             lambda f: np.zeros((0, 6), np.float32))
  assert not (tmp_path / "out").exists()


def test_command_needs_an_output_directory_and_a_video(video, tmp_path):
  from tests import test_case
  test_case.run_command_error_test("classify", video, "--model=tiny", "--players",
                                   match="--players needs --out")
  test_case.run_command_error_test("classify", str(tmp_path), "--model=tiny", "--players",
                                   f"--out={tmp_path / 'o'}", match="takes a video")


def test_track_windows_carry_larger_pose_crops_and_their_source_frames(video):
  windows = list(players.track_windows(video, _tracks(), 10.0, (24, 16), 3, pose_size=(48, 32)))
  assert windows and all(w[3].shape == (3, 24, 16, 3) and w[4].shape == (3, 48, 32, 3)
                         for w in windows)
  first = [w for w in windows if w[0] == 1][0]
  assert first[1:3] == (0, 3) and first[5] == [0, 1, 2]
  # The pose crop is the same player, only larger.
  assert first[4].mean() > 190 and first[3].mean() > 190
  assert all(w[4] is None for w in players.track_windows(video, _tracks(), 10.0, (24, 16), 3))


def test_player_pose_windows_are_computed_once_per_video(video, tmp_path, monkeypatch):
  from tfsports.actions import pose_experiments as px
  from tfsports.actions import pose_stream
  from tfsports.data import pose as pose_lib
  from tfsports.serving import loader
  calls = []

  def fake_windows(path, fps, num_frames, detector, config, poser, min_found):
    calls.append(path)
    return np.full((4, num_frames, pose_stream.FEATURES), len(calls), np.float32)

  monkeypatch.setattr(px, "_video_player_windows", fake_windows)
  monkeypatch.setattr(loader, "load", lambda *a, **k: object())
  monkeypatch.setattr(pose_lib, "ClipPoser", lambda mode: object())
  cache = str(tmp_path / "cache")
  first = px.player_pose_windows([video], 10.0, 3, cache_dir=cache, log=lambda m: None)
  again = px.player_pose_windows([video], 10.0, 3, cache_dir=cache, log=lambda m: None)
  assert first.shape == (4, 3, pose_stream.FEATURES) and calls == [video]
  np.testing.assert_array_equal(first, again)
  # Another window length is another entry; a damaged entry is recomputed.
  px.player_pose_windows([video], 10.0, 5, cache_dir=cache, log=lambda m: None)
  assert len(calls) == 2
  for name in os.listdir(cache):
    with open(os.path.join(cache, name), "wb") as f:
      f.write(b"damaged")
  assert px.player_pose_windows([video], 10.0, 3, cache_dir=cache,
                                log=lambda m: None)[0, 0, 0] == 3

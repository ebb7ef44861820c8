import numpy as np
import pytest

from tests import test_case
from tfsports.data import mot
from tfsports.tracking import tracker as tracker_lib


def _walkers(num_frames=30):
  """Three players walking right at different heights: [T, 3, 4] boxes."""
  t = np.arange(num_frames)[:, None]
  x = 50 + 6.0 * t + np.array([0, 40, 200])
  y = np.broadcast_to(np.array([100.0, 300.0, 200.0]), x.shape)
  return np.stack([x, y, np.full_like(x, 30), np.full_like(x, 80)], axis=-1)


def test_iou_matrix():
  a = np.array([[0, 0, 10, 10]])
  b = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [20, 20, 5, 5]])
  np.testing.assert_allclose(tracker_lib.iou_matrix(a, b), [[1.0, 50 / 150, 0.0]])
  assert tracker_lib.iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)


def test_tracks_keep_their_ids_through_misses_and_low_scores():
  boxes = _walkers()
  tracker = tracker_lib.Tracker(fps=25)
  seen = []
  for t, frame in enumerate(boxes):
    scores = np.full(3, 0.9)
    keep = np.ones(3, bool)
    if 10 <= t < 14:
      keep[0] = False             # player 0 unseen for 4 frames
    if 20 <= t < 25:
      scores[1] = 0.3             # player 1 only found with a low score
    seen.append(dict(tracker.update(frame[keep], scores[keep])))
  # Three ids from the first frame, never a fourth; each follows one player.
  ids = sorted({i for frame in seen for i in frame})
  assert ids == [1, 2, 3]
  for t, frame in enumerate(seen):
    for i, box in frame.items():
      player = int(np.argmin(np.abs(boxes[t, :, 1] - box[1])))
      assert player == i - 1, (t, i, box)
  assert 1 not in seen[12] and 1 in seen[15]   # lost, then the same id again
  assert all(2 in seen[t] for t in range(20, 25))


def test_clutter_does_not_start_tracks_and_new_tracks_need_two_hits():
  tracker = tracker_lib.Tracker(fps=25)
  tracker.update(np.zeros((0, 4)), np.zeros(0))
  rng = np.random.default_rng(0)
  for _ in range(10):      # a false positive somewhere new on every frame
    box = np.array([[rng.uniform(0, 1000), rng.uniform(0, 1000), 20, 40]])
    assert tracker.update(box, [0.9]) == []
  box = np.array([[10, 10, 20, 40]])
  assert tracker.update(box, [0.9]) == []         # tentative
  assert [i for i, _ in tracker.update(box, [0.9])] == [1]    # confirmed: the first id
  with pytest.raises(ValueError, match="scores"):
    tracker.update(box, [0.9, 0.8])
  with pytest.raises(ValueError):
    tracker_lib.TrackerConfig(low_score=0.8, high_score=0.5)


def test_track_command_writes_mot_and_refuses_bad_files(tmp_path):
  dets = tmp_path / "dets.txt"
  with open(dets, "w") as f:
    for t, frame in enumerate(_walkers(20)):
      for x, y, w, h in frame:
        f.write(f"{t + 1},-1,{x:.1f},{y:.1f},{w:.1f},{h:.1f},0.9,-1,-1,-1\n")
  out = tmp_path / "out"
  proc = test_case.run_command("track", f"--detections={dets}", "--fps=25", f"--out={out}")
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "3 tracks over 20 frames" in proc.stdout
  tracks = mot.read_mot(out / "tracks.txt")
  assert len(tracks) == 20 and all(len(r) == 3 for r in tracks.values())
  assert sorted({int(i) for r in tracks.values() for i in r[:, 0]}) == [1, 2, 3]
  bad = tmp_path / "bad.txt"
  bad.write_text("1,-1,10,10,5\n")
  test_case.run_command_error_test("track", f"--detections={bad}", f"--out={out}",
                                   match="bad.txt:1")
  bad.write_text("1,-1,10,10,5,5,high\n")
  test_case.run_command_error_test("track", f"--detections={bad}", f"--out={out}",
                                   match="confidence")
  test_case.run_command_error_test("track", f"--detections={tmp_path / 'none.txt'}",
                                   f"--out={out}", match="none.txt")
  test_case.run_command_error_test("track", "--fps=25", match="usage")

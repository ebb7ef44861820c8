import numpy as np
import pytest

from tests import test_case
from tfsports.data import mot
from tfsports.metrics import boxes as boxes_lib
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
  np.testing.assert_allclose(boxes_lib.iou_matrix(a, b), [[1.0, 50 / 150, 0.0]])
  assert boxes_lib.iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)


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


def _reference_kalman(boxes_per_step, k=tracker_lib.KalmanBoxes):
  """The same filter written as one dense 6-state Kalman filter (cx, cy, w,
  h, vx, vy): the vectorised 2x2 / scalar filters must equal it."""
  x0, y0, w0, h0 = boxes_per_step[0]
  mean = np.array([x0 + w0 / 2, y0 + h0 / 2, w0, h0, 0, 0], np.float64)
  p, v = (2 * k.POSITION_STD * h0) ** 2, (10 * k.VELOCITY_STD * h0) ** 2
  cov = np.diag([p, p, p, p, v, v])
  F = np.eye(6)
  F[0, 4] = F[1, 5] = 1
  H = np.eye(4, 6)
  out = []
  for box in boxes_per_step[1:]:
    h = max(mean[3], 1.0)
    q = np.diag([(k.POSITION_STD * h) ** 2] * 4 + [(k.VELOCITY_STD * h) ** 2] * 2)
    mean, cov = F @ mean, F @ cov @ F.T + q
    if box is not None:
      r = np.eye(4) * (k.MEASUREMENT_STD * max(mean[3], 1.0)) ** 2
      z = np.array([box[0] + box[2] / 2, box[1] + box[3] / 2, box[2], box[3]])
      gain = cov @ H.T @ np.linalg.inv(H @ cov @ H.T + r)
      mean, cov = mean + gain @ (z - H @ mean), (np.eye(6) - gain @ H) @ cov
    out.append(mean.copy())
  return np.array(out)


def test_vectorised_kalman_equals_a_dense_filter():
  rng = np.random.default_rng(0)
  steps = 12
  truth = [np.cumsum(rng.normal(0, 4, (steps, 4)), 0) + [100, 200, 40, 90],
           np.cumsum(rng.normal(0, 4, (steps, 4)), 0) + [600, 100, 20, 50]]
  tracks = [[tuple(b) for b in t] for t in truth]
  tracks[1][5] = tracks[1][6] = None             # two missed updates
  kalman = tracker_lib.KalmanBoxes()
  kalman.add([tracks[0][0], tracks[1][0]])
  got = []
  for t in range(1, steps):
    kalman.predict()
    rows = [i for i in range(2) if tracks[i][t] is not None]
    kalman.update(np.array(rows), np.array([tracks[i][t] for i in rows]))
    got.append(kalman.state[:, :6].copy())
  got = np.array(got)
  for i in range(2):
    np.testing.assert_allclose(got[:, i], _reference_kalman(tracks[i]), rtol=1e-9, atol=1e-9)


def test_camera_motion_compensation_keeps_ids_through_a_sudden_pan():
  boxes = _walkers(20)
  boxes[:, :, 0] -= 6.0 * np.arange(20)[:, None]            # players stand still
  shift = np.where(np.arange(20) >= 10, 60.0, 0.0)         # the camera jumps at frame 10
  seen = {}
  for cmc in (False, True):
    tracker = tracker_lib.Tracker(fps=25)
    ids = set()
    for t, frame in enumerate(boxes):
      frame = frame.copy()
      frame[:, 0] -= shift[t]
      motion = np.array([[1, 0, -60.0], [0, 1, 0]]) if (cmc and t == 10) else None
      ids |= {i for i, _ in tracker.update(frame, np.full(3, 0.9), motion)}
    seen[cmc] = ids
  assert seen[True] == {1, 2, 3}
  assert len(seen[False]) > 3          # without it the jump starts new tracks


def test_interpolate_gaps_fills_short_gaps_only():
  tracks = {0: np.array([[1, 0, 0, 10, 20]], np.float32),
            3: np.array([[1, 30, 0, 10, 20]], np.float32),
            20: np.array([[1, 50, 0, 10, 20], [2, 0, 0, 5, 5]], np.float32)}
  out = tracker_lib.interpolate_gaps(tracks, max_gap=5)
  assert sorted(out) == [0, 1, 2, 3, 20]
  np.testing.assert_allclose(out[1], [[1, 10, 0, 10, 20]], atol=1e-5)
  np.testing.assert_allclose(out[2], [[1, 20, 0, 10, 20]], atol=1e-5)
  assert tracker_lib.interpolate_gaps(tracks, max_gap=0) is tracks


def _gt(num_frames=40):
  boxes = _walkers(num_frames)
  return {t: np.concatenate([np.arange(1, 4)[:, None], frame], 1).astype(np.float32)
          for t, frame in enumerate(boxes)}


def test_tracking_metrics_through_trackeval():
  from tfsports.metrics import tracking as tracking_metrics
  gt = _gt()
  swapped = {t: r.copy() for t, r in gt.items()}
  for t in range(20, 40):        # tracks 1 and 2 swap identities half way
    swapped[t][:2, 0] = [2, 1]
  missing = {t: r[1:] for t, r in gt.items()}
  scores = tracking_metrics.evaluate_sequences(
      {"perfect": (gt, gt), "swapped": (gt, swapped, 40), "missing": (gt, missing)})
  perfect = scores["perfect"]
  assert perfect["HOTA"] == pytest.approx(1.0) and perfect["MOTA"] == pytest.approx(1.0)
  assert perfect["IDF1"] == pytest.approx(1.0) and perfect["IDSW"] == 0
  assert scores["swapped"]["IDSW"] == 2
  assert scores["swapped"]["IDF1"] == pytest.approx(2 / 3)
  assert scores["swapped"]["MOTA"] == pytest.approx(1 - 2 / 120)
  assert scores["missing"]["MOTA"] == pytest.approx(2 / 3)
  assert scores["missing"]["DetA"] == pytest.approx(2 / 3)
  assert 0 < scores["COMBINED"]["HOTA"] < 1


def test_perturbed_oracle_protocol_rates_and_seed():
  from tfsports.tracking import evaluate
  rng = np.random.default_rng(1)
  gt = {t: np.concatenate([np.arange(1, 21)[:, None], rng.uniform(0, 500, (20, 2)),
                           np.full((20, 1), 40), np.full((20, 1), 100)], 1).astype(np.float32)
        for t in range(500)}
  seq = evaluate.Sequence("seq", gt, 25.0, 500, (720, 1280))
  a, b = evaluate.perturb(seq), evaluate.perturb(seq)
  assert all(np.array_equal(a[t], b[t]) for t in a)           # fixed seed per sequence
  other = evaluate.perturb(evaluate.Sequence("other", gt, 25.0, 500, (720, 1280)))
  assert not all(np.array_equal(a[t], other[t]) for t in a)
  dets = np.concatenate(list(a.values()))
  # Kept true boxes (about 90%) plus about one false positive per frame.
  assert abs(len(dets) - (0.9 * 20 * 500 + 500)) < 300
  best = np.concatenate([boxes_lib.iou_matrix(a[t][:, :4], gt[t][:, 1:]).max(1)
                         for t in range(500)])
  true = best > 0.5
  low = dets[:, 4] < 0.55
  assert abs(low[true].mean() - 0.15) < 0.02
  # A false positive may land on a player now and then; the rest score 0.6+.
  assert np.quantile(dets[true & ~low, 4], 0.005) >= 0.6
  # The jitter is about 5% of the box size.
  assert 0.8 < best[true].mean() < 0.9


def test_appearance_keeps_identities_when_overlapping_players_swap():
  a, b = np.array([1.0, 0.0]), np.array([-1.0, 0.0])
  def run(with_appearance):
    tracker = tracker_lib.Tracker(fps=25)
    frames = [([100, 110], [a, b])] * 3 + [([110, 100], [a, b])] * 3   # they swap places
    seen = []
    for xs, embeddings in frames:
      boxes = np.array([[x, 50, 30, 80] for x in xs], float)
      ids, tracked = tracker.step(boxes, [0.9, 0.9], None,
                                  np.array(embeddings) if with_appearance else None)
      seen.append({i: float(box[0]) for i, box in zip(ids.tolist(), tracked)})
    return seen
  with_app, without = run(True), run(False)
  assert with_app[-1][1] > with_app[-1][2]       # id 1 (embedding a) followed a to x=110
  assert without[-1][1] < without[-1][2]         # IoU alone kept id 1 at x=100

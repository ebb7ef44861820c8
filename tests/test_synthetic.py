import csv
import os

import numpy as np
import pytest

from tests import test_case
from tfsports.data import synthetic
from tfsports.data import video_io
from tfsports.data.synthetic import sports

TINY = synthetic.SceneConfig.from_preset("tiny")


def test_same_seed_renders_the_same_clip():
  a = synthetic.render_clip(TINY, seed=3, index=5)
  b = synthetic.render_clip(TINY, seed=3, index=5)
  for key in ("frames", "boxes", "positions", "ball", "jerseys"):
    np.testing.assert_array_equal(a[key], b[key])
  c = synthetic.render_clip(TINY, seed=4, index=5)
  assert not np.array_equal(a["positions"], c["positions"])


def test_clip_does_not_depend_on_render_order():
  config = synthetic.SceneConfig(image_size=(32, 48), num_frames=4, noise=3.0)
  alone = synthetic.render_clip(config, seed=1, index=7)
  for k in range(3):
    synthetic.render_clip(config, seed=1, index=k)
  again = synthetic.render_clip(config, seed=1, index=7)
  np.testing.assert_array_equal(alone["frames"], again["frames"])


def test_shapes_and_dtypes():
  config = synthetic.SceneConfig(sport="soccer", image_size=(24, 40), num_frames=6)
  clip = synthetic.render_clip(config, seed=0, index=0)
  n = 2 * 11 + 1
  assert clip["frames"].shape == (6, 24, 40, 3) and clip["frames"].dtype == np.uint8
  assert clip["boxes"].shape == (6, n, 4) and clip["boxes"].dtype == np.float32
  assert clip["positions"].shape == (6, n, 2)
  assert clip["ball"].shape == (6, 3)
  assert sorted(set(clip["teams"].tolist())) == [0, 1, 2]
  assert clip["track_ids"].tolist() == list(range(1, n + 1))
  for team in (0, 1):
    numbers = clip["jerseys"][clip["teams"] == team]
    assert len(set(numbers.tolist())) == 11 and numbers.min() >= 1


def _far_from(color, others, margin=60):
  return all(np.abs(np.subtract(color, o)).max() > margin for o in others)


@pytest.mark.parametrize("sport", ["soccer", "basketball"])
@pytest.mark.parametrize("camera", ["static", "broadcast"])
def test_boxes_cover_the_rendered_players(sport, camera):
  config = synthetic.SceneConfig(sport=sport, camera=camera, image_size=(360, 640),
                                 num_frames=3)
  s = sports.SPORTS[sport]
  checked = 0
  for index in range(4):
    clip = synthetic.render_clip(config, seed=0, index=index)
    scene, _ = synthetic.simulate_clip(config, 0, index)
    for team in (0, 1):
      shirt = scene.kits[team][0]
      others = [s.line_color, s.ball_color, s.surroundings_color,
                *s.surface_colors, scene.kits[1 - team][0], scene.kits[1 - team][1],
                scene.kits[2][0], scene.kits[team][1], (224, 172, 140)]
      if not _far_from(shirt, others):
        continue
      for t in range(3):
        frame = clip["frames"][t].astype(int)
        mask = np.abs(frame - np.array(shirt)).max(-1) <= 3
        ys, xs = np.nonzero(mask)
        boxes = clip["boxes"][t][clip["teams"] == team]
        x0, y0 = boxes[:, 0, None] - 1.5, boxes[:, 1, None] - 1.5
        x1 = boxes[:, 0, None] + boxes[:, 2, None] + 1.5
        y1 = boxes[:, 1, None] + boxes[:, 3, None] + 1.5
        inside = ((xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)).any(0)
        # Every pixel of the kit's colour lies in a box of that team ...
        assert inside.all(), f"{(~inside).sum()} kit pixels outside all boxes"
        # ... and every clearly visible player of the team shows its kit.
        vis = clip["visibility"][t][clip["teams"] == team]
        for (bx, by, bw, bh), v in zip(boxes, vis):
          if v == 1.0 and bh >= 8:
            sub = mask[int(by):int(by + bh) + 1, int(bx):int(bx + bw) + 1]
            assert sub.sum() >= 1
            checked += 1
  assert checked > 0


def test_ball_is_drawn_where_ground_truth_says():
  config = synthetic.SceneConfig(sport="basketball", camera="static",
                                 image_size=(256, 320), num_frames=6, referee=False)
  seen = 0
  for index in range(3):
    clip = synthetic.render_clip(config, seed=2, index=index)
    for t in range(6):
      if not clip["ball_visible"][t]:
        continue
      x, y = np.round(clip["ball_pixels"][t]).astype(int)
      patch = clip["frames"][t, max(y - 1, 0):y + 2, max(x - 1, 0):x + 2].astype(int)
      dist = np.abs(patch - np.array(sports.BASKETBALL.ball_color)).max(-1)
      assert dist.min() < 40
      seen += 1
  assert seen > 0


def test_motion_is_smooth_and_plausible():
  config = synthetic.SceneConfig(sport="soccer", num_frames=50, image_size=(16, 16))
  for index in range(5):
    clip = synthetic.render_clip(config, seed=0, index=index)
    speed = np.linalg.norm(np.diff(clip["positions"], axis=0), axis=-1) * config.fps
    assert speed.max() < 10.0          # m/s: no teleporting, no superhumans
    accel = np.abs(np.diff(speed, axis=0)) * config.fps
    assert np.percentile(accel, 99) < 12.0
    ball_speed = np.linalg.norm(np.diff(clip["ball"], axis=0), axis=-1) * config.fps
    assert ball_speed.max() < 45.0


def test_every_action_can_be_forced_and_differs():
  config = synthetic.SceneConfig(sport="soccer", num_frames=20, fps=10,
                                 image_size=(16, 16))
  stats = {}
  for label, name in enumerate(synthetic.ACTION_CLASSES):
    clip = synthetic.render_clip(config, seed=0, index=1, label=label)
    assert int(clip["label"]) == label
    ball_speed = np.linalg.norm(np.diff(clip["ball"][:, :2], axis=0), axis=-1) * 10
    player_speed = np.linalg.norm(np.diff(clip["positions"], axis=0), axis=-1) * 10
    stats[name] = (ball_speed.max(), clip["ball"][:, 2].max(), player_speed.mean())
  assert stats["shot"][0] > stats["dribble"][0]          # a shot is fast
  assert stats["set_piece"][1] > 2.0                      # struck high
  assert stats["set_piece"][2] < stats["dribble"][2]      # play is stopped


@pytest.mark.parametrize("bad", [dict(image_size=(2000, 100)), dict(sport="golf"),
                                 dict(camera="drone"), dict(num_frames=0)])
def test_bad_config_is_refused(bad):
  with pytest.raises(ValueError):
    synthetic.SceneConfig(**bad)


def test_nuisances_change_pixels_not_ground_truth():
  clean = synthetic.SceneConfig(image_size=(48, 64), num_frames=4)
  noisy = synthetic.SceneConfig(image_size=(48, 64), num_frames=4, noise=5.0,
                                motion_blur=3.0, jpeg_quality=40, lighting=0.3)
  a = synthetic.render_clip(clean, seed=0, index=2)
  b = synthetic.render_clip(noisy, seed=0, index=2)
  np.testing.assert_array_equal(a["boxes"], b["boxes"])
  assert np.abs(a["frames"].astype(int) - b["frames"]).mean() > 2.0


def test_dataset_cli_writes_standard_formats(tmp_path):
  out = tmp_path / "ds"
  proc = test_case.run_command("synth", f"--out={out}", "--num_clips=3", "--width=64",
                               "--height=48", "--num_frames=6", "--seed=5")
  assert proc.returncode == 0, proc.stderr
  assert str(out) in proc.stdout
  rows = list(csv.DictReader(open(out / "labels.csv")))
  assert len(rows) == 3
  for row in rows:
    clip = synthetic.render_clip(
        synthetic.SceneConfig(image_size=(48, 64), num_frames=6), seed=5,
        index=int(row["index"]))
    assert row["action"] == synthetic.ACTION_CLASSES[int(clip["label"])]
    video = out / "videos" / row["action"] / f"{row['clip']}.mp4"
    frames = video_io.read_frames(video)
    assert frames.shape == (6, 48, 64, 3)
    assert np.abs(frames.astype(int) - clip["frames"]).mean() < 6
    gt = np.loadtxt(out / "mot" / row["clip"] / "gt" / "gt.txt", delimiter=",",
                    ndmin=2)
    visible = clip["visibility"] > 0
    assert len(gt) == visible.sum()
    t, i = int(gt[0, 0]) - 1, int(gt[0, 1]) - 1
    np.testing.assert_allclose(gt[0, 2:6], clip["boxes"][t, i], atol=0.01)
    traj = list(csv.DictReader(open(out / "trajectories" / f"{row['clip']}.csv")))
    assert len(traj) == 6 * (len(clip["track_ids"]) + 1)
  assert "MOT Challenge" in (out / "README.md").read_text()
  assert (out / "classInd.txt").read_text().splitlines()[0] == "1 pass"

"""The CenterNet / TrackNet-style detectors: targets and decoding, losses,
the recipe end to end (train, resume, evaluate, export), and the exports
agreeing with each other and running in `tfsports track`."""

import json
import os

import numpy as np
import pytest

from tests import test_case
from tests.conftest import SHARED
from tfsports.data import video_io
from tfsports.tracking import detector as detector_lib
from tfsports.tracking import detectors
from tfsports.metrics import detection as detection_metrics
from tfsports.tracking import recipe

TEST = detector_lib.DetectorConfig.from_preset("test")


def test_detector_model_serialises_and_reloads_safely(tmp_path):
  for preset in ("test", "ball_test"):
    config = detector_lib.DetectorConfig.from_preset(preset)
    model = detector_lib.build_detector(config)
    x = np.random.default_rng(0).integers(0, 255, (1, 64, 96, 3 * config.num_frames), np.uint8)
    out = model(x)
    oh, ow = config.output_size
    assert out["heatmap"].shape == (1, oh, ow, len(config.classes))
    assert out["size"].shape == out["offset"].shape == (1, oh, ow, 2)
    test_case.run_serialization_test(model)
    test_case.run_model_saving_test(model, x, tmp_path)
  with pytest.raises(ValueError):
    detector_lib.DetectorConfig(stride=8)
  with pytest.raises(ValueError):
    detector_lib.DetectorConfig(image_size=(100, 96))
  with pytest.raises(ValueError):
    detector_lib.DetectorConfig(classes=("goalpost",))


def test_targets_decode_back_to_the_boxes():
  boxes = np.array([[10.3, 8.2, 12.0, 30.0], [50.0, 20.7, 16.4, 36.0], [70.2, 30.1, 3, 3]])
  classes = [0, 0, 1]
  t = detector_lib.draw_targets(TEST, boxes, classes)
  heads = {"heatmap": t["heatmap"], "size": t["size"][..., :2], "offset": t["offset"][..., :2]}
  # Decoded in a frame twice the model's size.
  out = detector_lib.decode(heads, TEST, (128, 192), threshold=0.5)
  assert len(out) == 3 and set(out[:, 4]) == {1.0}
  order = np.argsort(out[:, 0])
  np.testing.assert_allclose(out[order, :4], boxes * 2, atol=1e-4)
  np.testing.assert_array_equal(out[order, 5], classes)
  ignored = detector_lib.draw_targets(TEST, boxes[2:], [1], unlabelled=[0])
  assert (ignored["heatmap"][..., 0] == -1).all() and ignored["heatmap"][..., 1].max() == 1


def test_focal_and_l1_losses():
  t = detector_lib.draw_targets(TEST, np.array([[20.0, 20.0, 12, 30]]), [0])
  heat = t["heatmap"][None]
  good = np.clip(heat, 0.01, 0.99)
  blank = np.full_like(heat, 0.01)
  assert float(detector_lib.focal_loss(heat, good)[0]) < 0.1
  assert float(detector_lib.focal_loss(heat, blank)[0]) > 4.0     # the missed peak
  # An ignored class costs nothing, whatever is predicted there.
  ignored = heat.copy()
  ignored[..., 0] = -1
  high, low = blank.copy(), blank.copy()
  high[..., 0] = 0.9
  assert float(detector_lib.focal_loss(ignored, high)[0]) == pytest.approx(
      float(detector_lib.focal_loss(ignored, low)[0]), abs=1e-6)
  size = t["size"][None]
  pred = size[..., :2] + 0.5
  assert float(detector_lib.masked_l1(size, pred)[0]) == pytest.approx(1.0)


def test_average_precision_and_ball_scores():
  labels = [np.array([[0, 0, 10, 10], [20, 20, 10, 10]], np.float32)]
  perfect = [np.array([[0, 0, 10, 10, 0.9], [20, 20, 10, 10, 0.8]], np.float32)]
  assert detection_metrics.average_precision(perfect, labels) == pytest.approx(1.0)
  # A false positive ranked first, then both boxes: AP = 1/2 * 2/3 + 1/2 * 2/3.
  with_fp = [np.array([[50, 50, 10, 10, 0.95], [0, 0, 10, 10, 0.9], [20, 20, 10, 10, 0.8]],
                      np.float32)]
  assert detection_metrics.average_precision(with_fp, labels) == pytest.approx(2 / 3)
  half = [np.array([[0, 0, 10, 10, 0.9]], np.float32)]
  assert detection_metrics.average_precision(half, labels) == pytest.approx(0.5)
  nan = np.nan
  predicted = np.array([[10, 10], [30, 30], [nan, nan], [5, 5], [nan, nan]])
  visible = np.array([True, True, True, False, False])
  truth = np.array([[12, 13], [40, 30], [1, 1], [0, 0], [0, 0]], np.float32)
  s = detection_metrics.ball_scores(predicted, visible, truth)
  assert (s["tp"], s["fp"], s["fn"], s["tn"]) == (1, 2, 1, 1)
  assert s["precision"] == pytest.approx(1 / 3) and s["recall"] == pytest.approx(1 / 2)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  root = tmp_path_factory.mktemp("detector")
  real = os.path.isdir(os.path.join(SHARED, recipe.TRACKNET))
  config = recipe.DetectorTrainConfig.from_preset(
      "test", run_dir=str(root / "run"), real_root=SHARED, real_share=0.5 if real else 0.0)
  # One short pseudo-labelled video keeps the real stream's every path in
  # play at a test's cost.
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(recipe, "PSEUDO_LABELLED", ("video/tennis_broadcast_4.mp4",))
    return config, recipe.train_detector(config)


def test_detector_recipe_reports_and_exports(trained):
  config, report = trained
  assert set(report["synthetic"]) == set(recipe.CAMERAS)
  if config.real_share:
    ball = report["real_ball_tracknet_140_275"]
    # Chosen on the training frames from its grid, not fixed.
    assert 0.05 <= ball["threshold"] < 0.95
    for key in ("detector", "tracked"):
      s = ball[key]
      assert s["precision"] == pytest.approx(s["tp"] / max(s["tp"] + s["fp"], 1))
  for key in ("tflite_float32", "tflite_int8"):
    test_case.run_tflite_builtin_test(report["exports"][key])
  with open(os.path.join(config.run_dir, "export", "model_info.json")) as f:
    info = json.load(f)
  assert info["job"] == "detector" and info["detector_config"]["classes"] == ["player", "ball"]
  assert info["library_version"] and len(info["inputs"]) == 1


def test_synthetic_evaluation_scores_what_the_detector_finds():
  """The recipe's AP protocol on held-back synthetic clips: an oracle that
  returns every visible player's box scores 1, one that finds nobody 0, and
  one that finds every other player about 0.5."""
  from tfsports.data import synthetic
  from tfsports.tracking import detector as detector_lib
  model_config = detector_lib.DetectorConfig.from_preset("test")
  config = recipe.DetectorTrainConfig.from_preset("test", eval_clips=1)
  truth = {}
  for camera in recipe.CAMERAS:
    clip = synthetic.render_clip(recipe.scene_config(model_config, camera),
                                 seed=config.seed + 10_000, index=0)
    for t, frame in enumerate(clip["frames"]):
      truth[frame.tobytes()] = clip["boxes"][t][clip["visibility"][t] >= 0.3]
  player = detector_lib.CLASSES.index("player")

  def oracle(keep):
    def make(model, model_config):
      def detect(frame):
        boxes = truth[frame.tobytes()][keep(len(truth[frame.tobytes()]))]
        return np.concatenate([boxes, np.ones((len(boxes), 1)),
                               np.full((len(boxes), 1), player)], 1)
      return detect
    return make

  every = recipe.evaluate_synthetic(None, model_config, config, oracle(lambda n: slice(None)))
  none = recipe.evaluate_synthetic(None, model_config, config, oracle(lambda n: slice(0, 0)))
  half = recipe.evaluate_synthetic(None, model_config, config, oracle(lambda n: slice(0, n, 2)))
  for camera in recipe.CAMERAS:
    assert every[camera]["player_ap50"] == pytest.approx(1.0)
    assert none[camera]["player_ap50"] == 0.0
    assert 0.3 < half[camera]["player_ap50"] < 0.7


def test_detector_exports_agree(trained):
  config, report = trained
  x = np.random.default_rng(1).integers(0, 255, (64, 96, 3), np.uint8)
  saved = detectors.DetectorRunner(report["exports"]["saved_model"])(x)
  lite = detectors.DetectorRunner(report["exports"]["tflite_float32"])(x)
  int8 = detectors.DetectorRunner(report["exports"]["tflite_int8"])(x)
  for k in ("heatmap", "size", "offset"):
    np.testing.assert_allclose(saved[k], lite[k], atol=1e-4)
  np.testing.assert_allclose(saved["heatmap"], int8["heatmap"], atol=0.1)
  with pytest.raises(ValueError, match="uint8"):
    detectors.DetectorRunner(report["exports"]["tflite_float32"])(x[:32])


def test_detector_resume_equals_uninterrupted(tmp_path, monkeypatch):
  base = dict(train_steps=4, checkpoint_every=2, real_share=0.0)
  whole = recipe.train(recipe.DetectorTrainConfig.from_preset(
      "test", run_dir=str(tmp_path / "a"), **base)).model
  part = recipe.DetectorTrainConfig.from_preset("test", run_dir=str(tmp_path / "b"), **base)
  # The same run stopped after its first checkpoint, as a crash would stop
  # it (the learning-rate schedule spans train_steps, so it must not change).
  fit = recipe.common.fit_resumable
  monkeypatch.setattr(recipe.common, "fit_resumable",
                      lambda model, run, step, make, end, *a, **k: fit(model, run, step, make,
                                                                       2, *a, **k))
  recipe.train(part)
  monkeypatch.undo()
  resumed = recipe.train(part).model
  for a, b in zip(whole.get_weights(), resumed.get_weights()):
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_track_command_runs_a_trained_centernet(trained, tmp_path):
  config, _ = trained
  from tfsports.data import synthetic
  clip = synthetic.render_clip(synthetic.SceneConfig(image_size=(96, 128), num_frames=8,
                                                     camera="broadcast"), seed=3)
  video = tmp_path / "clip.mp4"
  video_io.write_video(video, clip["frames"], fps=25)
  out = tmp_path / "out"
  proc = test_case.run_command("track", video, f"--out={out}", f"--model={config.run_dir}",
                               f"--ball={config.run_dir}")
  assert proc.returncode == 0, proc.stderr[-3000:]
  for name in ("tracks.txt", "tracks.csv", "ball.csv", "annotated.mp4"):
    assert (out / name).exists(), name
  test_case.run_command_error_test("track", video, f"--out={out}",
                                   f"--model={tmp_path / 'missing'}", "--ball=none",
                                   match="missing")


def test_panoramas_run_in_overlapping_tiles():
  assert detectors.tile_columns((720, 1280), (288, 512)) == ([0], 1280)
  starts, width = detectors.tile_columns((1080, 6243), (288, 512))
  assert width == 1920 and starts[0] == 0 and starts[-1] + width == 6243
  assert all(b - a <= 0.9 * width for a, b in zip(starts, starts[1:]))
  rows = np.array([[100, 100, 20, 50, 0.9, 0], [102, 101, 20, 50, 0.6, 0],
                   [100, 100, 20, 50, 0.5, 1], [400, 100, 20, 50, 0.7, 0]], np.float32)
  kept = detectors.suppress_duplicates(rows)
  np.testing.assert_array_equal(kept[:, 4], np.float32([0.9, 0.7, 0.5]))


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="needs ../shared/data/real")
def test_bundled_detectors_track_real_footage(tmp_path):
  from tfsports.tracking import command as track_command
  assert {"tiny", "ball"} <= set(track_command.list_presets())
  frames = video_io.read_frames(os.path.join(SHARED, "video", "basketball_gym.mp4"))[:30]
  video = tmp_path / "gym.mp4"
  video_io.write_video(video, frames, fps=30)
  out = tmp_path / "out"
  proc = test_case.run_command("track", video, f"--out={out}")      # every default
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert video_io.read_frames(out / "annotated.mp4").shape == (30, 240, 426, 3)
  with open(out / "tracks.csv") as f:
    assert f.readline().startswith("frame,time_s,track_id,x,y,w,h,team,jersey")

"""The downscaling-kernel estimator behind `tfsports upscale
--degradation=auto` (`superres.kernels`): patches, the unmixed verdict,
the bundled estimator on footage it never saw, TFLite against Keras, and
the command's choice and errors."""

import json
import os

import numpy as np
import pytest

from tests import test_case
from tfsports import errors
from tfsports.data import synthetic
from tfsports.superres import kernels


def _scene_frames(index, num_frames=4):
  # Seed 7: the bundled estimator trained on seed 0's scenes.
  scene = synthetic.SceneConfig.from_preset("broadcast_720p", num_frames=num_frames)
  return synthetic.render_clip(scene, seed=7, index=index)["frames"]


def test_patches_are_the_most_textured_cells_standardised():
  rng = np.random.default_rng(0)
  frame = np.full((2, 64, 96, 3), 128, np.uint8)
  frame[0, 32:64, 64:96] = rng.integers(0, 255, (32, 32, 3))   # one textured cell
  patches = kernels.luma_patches(frame, 32, per_frame=2)
  assert patches.shape == (4, 32, 32, 1) and patches.dtype == np.float32
  # The textured cell comes first, standardised; a flat cell stays zero.
  np.testing.assert_allclose(patches[0].mean(), 0.0, atol=1e-5)
  np.testing.assert_allclose(patches[0].std(), 1.0, atol=1e-2)
  assert np.abs(patches[1]).max() == 0.0
  # A frame smaller than one cell gives none.
  assert kernels.luma_patches(frame[:, :20], 32, 2).shape == (0, 32, 32, 1)


def test_kernel_patches_label_every_kernel_and_are_deterministic_without_rng():
  config = kernels.KernelEstimatorConfig.from_preset("test")
  frames = list(_scene_frames(0, 2))
  x, y = kernels.kernel_patches(frames, config)
  assert x.shape[1:] == (16, 16, 1) and x.dtype == np.float32 and y.dtype == np.int32
  assert sorted(set(y.tolist())) == list(range(len(config.kernels)))
  again, _ = kernels.kernel_patches(frames, config)
  np.testing.assert_array_equal(x, again)
  # Area and bicubic downscales of the same frames give different patches.
  area, bicubic = x[y == 0], x[y == 1]
  assert np.abs(area - bicubic).mean() > 0.05


def test_the_verdict_unmixes_votes_through_the_confusion_matrix():
  names = ("area", "bicubic")
  confusion = np.array([[0.7, 0.3], [0.07, 0.93]])

  def votes(area_share, n=100):
    p = np.zeros((n, 2), np.float32)
    k = int(round(area_share * n))
    p[:k, 0], p[k:, 1] = 1.0, 1.0
    return p

  # 64% area votes is what area footage gives: (0.64 - 0.07) / 0.63.
  v = kernels.verdict(votes(0.64), names, confusion)
  assert v["kernel"] == "area" and v["confidence"] == pytest.approx(0.905, abs=1e-3)
  assert v["votes"]["area"] == pytest.approx(0.64)
  assert kernels.verdict(votes(0.06), names, confusion)["shares"]["bicubic"] == 1.0
  # The identity confusion leaves the votes as they are.
  v = kernels.verdict(votes(0.3), names, np.eye(2))
  assert v["shares"]["bicubic"] == pytest.approx(0.7, abs=1e-3)
  # The choice: a fine-tune only where there is one and the verdict is sure.
  sure = {"kernel": "area", "confidence": 0.9}
  assert kernels.choose(sure, ["area", "bicubic"], 0.6) == "area"
  assert kernels.choose(sure, ["bicubic"], 0.6) == ""
  assert kernels.choose(dict(sure, confidence=0.55), ["area"], 0.6) == ""


@pytest.mark.parametrize("kernel", ["area", "bicubic"])
def test_the_bundled_estimator_names_the_kernel_of_scenes_it_never_saw(kernel):
  estimator = kernels.KernelEstimator.bundled(scale=4)
  lr = kernels.downscale(_scene_frames(3), 4, kernel)
  v = estimator.estimate_frames(lr)
  assert v["kernel"] == kernel, v
  assert v["num_patches"] == 4 * estimator.config.patches_per_frame


def test_the_bundled_estimator_names_the_kernel_of_a_held_back_video(tmp_path):
  from tfsports.data import video_io
  from tfsports.superres import evaluate
  path = kernels.REAL_HELD_BACK[1]
  assert path.endswith("basketball_gym.mp4")
  if not os.path.exists(path):
    pytest.skip("no ../shared real footage")
  hr = evaluate.real_clip(path, 8, 4)
  estimator = kernels.KernelEstimator.bundled(scale=4)
  for kernel in ("area", "bicubic"):
    video = tmp_path / f"{kernel}.mp4"
    video_io.write_video(video, kernels.downscale(hr, 4, kernel), lossless=True)
    assert estimator.estimate(str(video))["kernel"] == kernel


def test_errors_name_the_fix(tmp_path):
  with pytest.raises(errors.UserError, match="tfsports train sr_kernels"):
    kernels.KernelEstimator(str(tmp_path))
  with pytest.raises(errors.UserError, match="no bundled kernel estimator at x2"):
    kernels.KernelEstimator.bundled(scale=2)
  estimator = kernels.KernelEstimator.bundled(scale=4)
  with pytest.raises(errors.UserError, match="smaller than the estimator's 32-pixel"):
    estimator.estimate_frames(np.zeros((2, 20, 20, 3), np.uint8))
  with pytest.raises(errors.UserError, match="no such video"):
    estimator.estimate(str(tmp_path / "missing.mp4"))


def test_auto_needs_a_model_with_fine_tunes():
  test_case.run_command_error_test("upscale", __file__, "/tmp/o.mp4", "--degradation=auto",
                                   match="deep_x4 has no kernel fine-tunes to choose "
                                         "from; try --model=rep_x4")


@pytest.mark.integration
def test_a_trained_estimator_exports_tflite_equal_to_keras(tmp_path):
  import keras
  config = kernels.KernelEstimatorConfig.from_preset("test", run_dir=str(tmp_path / "run"))
  report = kernels.train(config)
  with open(tmp_path / "run" / "config.json") as f:
    assert json.load(f)["patch_size"] == 16
  test_case.run_tflite_builtin_test(report["tflite"])
  estimator = kernels.KernelEstimator(config.run_dir)
  model = keras.saving.load_model(str(tmp_path / "run" / kernels.MODEL_FILE), safe_mode=True)
  x, _ = kernels.kernel_patches(list(_scene_frames(1, 2)), config)
  logits = model.predict(x, verbose=0)
  want = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
  # Not a multiple of the TFLite batch: the last chunk is padded.
  assert len(x) % config.patches_per_frame == 0
  got = estimator.probabilities(x[:-1])
  np.testing.assert_allclose(got, want[:-1], atol=1e-5)


@pytest.mark.integration
def test_upscale_auto_runs_the_fine_tune_it_names(tmp_path):
  from tfsports.data import video_io
  lr = kernels.downscale(_scene_frames(5, 6)[:, :720, :1280], 4, "bicubic")
  video = tmp_path / "small.mp4"
  video_io.write_video(video, lr, lossless=True)
  proc = test_case.run_command("upscale", video, tmp_path / "big.mp4", "--model=rep_x4",
                               "--degradation=auto", "--int8", "--noprogress")
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "--degradation=auto: bicubic" in proc.stdout and "ran rep_x4_bicubic" in proc.stdout
  assert video_io.probe(str(tmp_path / "big.mp4")).num_frames == 6

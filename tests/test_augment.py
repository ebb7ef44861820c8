"""GAN data augmentation: DiffAugment, the critics, the GAN step on
replicas, resume, the recipe end to end with its exports and metrics, and
`tfsports generate` (which writes clips the classifier trains on)."""

import dataclasses
import os

import numpy as np
import pytest
import tensorflow as tf

from tests import test_case
from tests.test_gan import assert_gan_steps_like_one_replica
from tfsports.augment import diffaugment
from tfsports.augment import export
from tfsports.augment import model
from tfsports.augment import recipe
from tfsports.data import sources
from tfsports.data import video_io
from tfsports.metrics import distribution

CONFIG = model.AugmentGANConfig.from_preset("test", num_classes=2)


def write_dataset(root, per_class=4, size=32, num_frames=7):
  """Two classes told apart by motion: a square moving right / down."""
  for c, name in enumerate(("down", "right")):
    os.makedirs(root / name, exist_ok=True)
    for k in range(per_class):
      frames = []
      for t in range(num_frames):
        f = np.full((size, size, 3), 40 + 10 * k, np.uint8)
        x, y = (4 + 3 * t, 12) if c else (12, 4 + 3 * t)
        f[y:y + 8, x:x + 8] = (230, 200, 30)
        frames.append(f)
      video_io.write_video(root / name / f"clip_{k}.mp4", frames, fps=24)
  return str(root)


def test_diffaugment_is_per_clip_differentiable_and_seeded():
  clips = tf.random.uniform((2, 4, 16, 16, 3), seed=1)
  seeds = tf.constant([[1, 2], [3, 4]])
  a = diffaugment.diff_augment(clips, seeds)
  np.testing.assert_array_equal(a, diffaugment.diff_augment(clips, seeds))
  assert not np.allclose(a[0], a[1])
  # Translation and cutout are the same on every frame of a clip.
  still = tf.repeat(clips[:, :1], 4, axis=1)
  moved = diffaugment.diff_augment(still, seeds, ("translation", "cutout"))
  np.testing.assert_allclose(moved[:, 0], moved[:, 3])
  with tf.GradientTape() as tape:
    tape.watch(clips)
    out = tf.reduce_sum(diffaugment.diff_augment(clips, seeds))
  assert np.abs(tape.gradient(out, clips)).sum() > 0
  with pytest.raises(ValueError, match="unknown DiffAugment"):
    diffaugment.diff_augment(clips, seeds, ("blur",))


def test_networks_shapes_and_safe_reload(tmp_path):
  gen = model.build_generator(CONFIG)
  z, label = np.zeros((2, CONFIG.latent_dim), np.float32), np.array([0, 1], np.int32)
  assert gen([z, label]).shape == (2, 4, 16, 16, 3)
  spatial = model.build_spatial_discriminator(CONFIG)
  frames = {"frames": np.zeros((2, 16, 16, 3), np.float32), "label": label}
  assert spatial(frames).shape == (2, 1)
  test_case.run_model_saving_test(spatial, frames, tmp_path)
  temporal = model.build_temporal_discriminator(CONFIG)
  clip = {"clip": np.zeros((2, 4, 16, 16, 3), np.float32), "label": label}
  test_case.run_model_saving_test(temporal, clip, tmp_path)


def test_distances():
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(200, 4)), rng.normal(size=(200, 4))
  far = rng.normal(size=(200, 4)) + 3
  assert distribution.frechet_distance(a, b) < 0.3 < distribution.frechet_distance(a, far)
  # ||mu||^2 = 4 * 9 for equal covariances.
  assert distribution.frechet_distance(a, far) == pytest.approx(36, rel=0.15)
  kid, _ = distribution.kernel_distance(a, b)
  assert abs(kid) < 0.05 < distribution.kernel_distance(a, far)[0]
  with pytest.raises(ValueError, match="need features"):
    distribution.frechet_distance(a[:1], b)


TEST = recipe.AugmentTrainConfig.from_preset("test")


def _batch(config, batch=4):
  m = config.model_config()
  rng = np.random.default_rng(0)
  return {"clips": rng.uniform(size=(batch, m.num_frames, 16, 16, 3)).astype(np.float32),
          "labels": np.array([0, 1, 0, 1][:batch], np.int32),
          "z": rng.normal(size=(batch, 2, m.latent_dim)).astype(np.float32),
          "seeds": rng.integers(0, 2**30, (batch, 4, 2)).astype(np.int32)}


def test_gan_step_trains_every_network_and_two_replicas_agree():
  config = dataclasses.replace(TEST, class_names=("a", "b"))
  assert_gan_steps_like_one_replica(lambda: recipe.build_trainer(config), _batch(config))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  tmp = tmp_path_factory.mktemp("augment")
  data = write_dataset(tmp / "data")
  from tfsports.actions import recipe as classifier_recipe
  classifier = str(tmp / "classifier")
  classifier_recipe.train_classifier(classifier_recipe.ClassifierTrainConfig.from_preset(
      "test", data=data, run_dir=classifier, image_size=(16, 16), num_frames=4))
  config = dataclasses.replace(TEST, data=data, run_dir=str(tmp / "run"))
  report = recipe.train_augment(config, classifier)
  return tmp, config, report


def test_resume_equals_uninterrupted(trained, tmp_path):
  tmp, config, _ = trained
  whole = recipe.train(dataclasses.replace(config, run_dir=str(tmp_path / "a"))).model
  part = dataclasses.replace(config, run_dir=str(tmp_path / "b"))
  recipe.train(dataclasses.replace(part, train_steps=2))
  trained = recipe.train(part)
  resumed, status = trained.model, trained.status
  assert status["start_step"] == 2 and status["step"] == 4
  for a, b in zip(whole.generator.get_weights() + whole.temporal_discriminator.get_weights(),
                  resumed.generator.get_weights() + resumed.temporal_discriminator.get_weights()):
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_report_exports_and_metrics(trained):
  _, _, report = trained
  q = report["quality"]
  for key in ("frechet_generated_vs_held", "frechet_real_train_vs_held",
              "kid_generated_vs_held", "conditioning_accuracy"):
    assert np.isfinite(q[key])
  assert q["generated_clips"] == q["real_train_clips"]
  assert report["export_check"]["saved_model_vs_tflite_max_abs"] <= 1
  test_case.run_tflite_builtin_test(report["exports"]["tflite_float32"])
  runner = export.GeneratorRunner(report["exports"]["saved_model"])
  assert runner.class_names == ["down", "right"] and runner.clip_frames == 4
  clips = runner.generate([0, 1], [5, 5])
  assert clips.dtype == np.uint8 and clips.shape == (2, 4, 16, 16, 3)
  np.testing.assert_array_equal(clips, runner.generate([0, 1], [5, 5]))   # seeds name clips


def test_generate_command_writes_clips_the_classifier_trains_on(trained, tmp_path):
  tmp, config, _ = trained
  out = tmp_path / "gen"
  proc = test_case.run_command("generate", f"--model={config.run_dir}", "--class=all",
                               "--num=3", f"--out={out}", "--seed=4")
  assert proc.returncode == 0, proc.stderr
  paths, labels = sources.labelled_videos(str(out))
  assert sources.list_videos(str(out))[2] == ["down", "right"] and len(paths) == 6
  assert video_io.probe(paths[0]).num_frames == 4
  assert (out / "down_grid.gif").stat().st_size > 0
  from tfsports.actions import recipe as classifier_recipe
  cls = classifier_recipe.ClassifierTrainConfig.from_preset("test", image_size=(16, 16),
                                                           num_frames=4)
  report = classifier_recipe.train_classifier(dataclasses.replace(
      cls, data=str(out), run_dir=str(tmp_path / "cls"), eval_fraction=0.34))
  assert report["eval"]["num_clips"] == 2
  # Mixed into real data: generated clips join the training part only, at a
  # set share of each batch; a second stage starts from the first's weights.
  mixed = classifier_recipe.resolve(dataclasses.replace(
      cls, data=f"{config.data},generated:{out}", generated_fraction=0.5, max_per_class=2,
      run_dir=str(tmp_path / "mixed")))
  train, held = classifier_recipe.folder_split(mixed)
  assert len(train) == 4 and len(held) == 2
  assert len(classifier_recipe.generated_files(mixed)) == 6
  classifier_recipe.train_classifier(mixed)
  # (0 steps: the second stage's start is the first stage's end.)
  second = dataclasses.replace(mixed, data=config.data, generated_fraction=0.0, train_steps=0,
                               init_from=mixed.run_dir, run_dir=str(tmp_path / "stage2"))
  model = classifier_recipe.train(classifier_recipe.resolve(second)).model
  _, first, _, _ = classifier_recipe.load_run(mixed.run_dir)
  for a, b in zip(model.get_weights(), first.get_weights()):
    np.testing.assert_array_equal(a, b)
  with pytest.raises(FileNotFoundError, match="no such data directory"):
    classifier_recipe.resolve(dataclasses.replace(
        cls, data=f"{config.data},generated:{tmp_path / 'none'}"))
  os.makedirs(tmp_path / "odd" / "dunk")
  video_io.write_video(tmp_path / "odd" / "dunk" / "a.mp4", np.zeros((4, 16, 16, 3), np.uint8))
  with pytest.raises(ValueError, match="dunk"):
    classifier_recipe.generated_files(classifier_recipe.resolve(dataclasses.replace(
        cls, data=f"{config.data},generated:{tmp_path / 'odd'}")))
  test_case.run_command_error_test("generate", f"--model={config.run_dir}", "--class=dunk",
                                   f"--out={out}", match="unknown class 'dunk'; known: down, right")

"""The skeleton-sequence GAN (`actions.pose_gan`) and the pose-space
experiments (`actions.pose_experiments`)."""

import dataclasses

import numpy as np
import pytest

from tests import test_case
from tfsports.actions import pose_experiments as px
from tfsports.actions import pose_gan
from tfsports.actions import pose_stream

CONFIG = pose_gan.PoseGANConfig.from_preset("test")
F = pose_stream.FEATURES


def _windows(n=12, t=CONFIG.num_frames, seed=0):
  rng = np.random.default_rng(seed)
  x = (rng.normal(size=(n, t, F)) * 3 + 5).astype(np.float32)
  return x, (np.arange(n) % CONFIG.num_classes).astype(np.int32)


def test_standardiser_round_trips_and_centres():
  x, _ = _windows()
  s = pose_gan.Standardiser.fit(x)
  z = s(x)
  np.testing.assert_allclose(z.reshape(-1, F).mean(0), 0.0, atol=1e-4)
  np.testing.assert_allclose(s.invert(z), x, rtol=1e-5, atol=1e-4)


def test_networks_shapes_and_class_conditioning():
  g = pose_gan.build_generator(CONFIG)
  z = np.random.default_rng(0).normal(size=(3, CONFIG.latent_dim)).astype(np.float32)
  out = np.asarray(g([z, np.array([0, 1, 2], np.int32)]))
  assert out.shape == (3, CONFIG.num_frames, F)
  other = np.asarray(g([z, np.array([1, 1, 1], np.int32)]))
  assert not np.allclose(out[0], other[0]) and np.allclose(out[1], other[1], atol=1e-6)
  pose = pose_gan.build_pose_critic(CONFIG)
  motion = pose_gan.build_motion_critic(CONFIG)
  p = np.asarray(pose([out[:, 0], np.array([0, 1, 2], np.int32)]))
  m = np.asarray(motion([out[:, 1:] - out[:, :-1], np.array([0, 1, 2], np.int32)]))
  assert p.shape == m.shape == (3, 1)


@pytest.mark.parametrize("builder", [pose_gan.build_generator, pose_gan.build_pose_critic,
                                     pose_gan.build_motion_critic])
def test_networks_save_and_load_in_safe_mode(builder, tmp_path):
  model = builder(CONFIG)
  shapes = [tuple(d or 2 for d in i.shape) for i in model.inputs]
  inputs = [np.zeros(s, np.int32) if i.dtype == "int32" else
            np.random.default_rng(0).normal(size=s).astype(np.float32)
            for s, i in zip(shapes, model.inputs)]
  test_case.run_model_saving_test(model, inputs, tmp_path)


def test_training_moves_the_losses_and_is_deterministic():
  x, y = _windows()
  config = dataclasses.replace(CONFIG, train_steps=6)
  a, s = pose_gan.train_gan(config, x, y)
  b, _ = pose_gan.train_gan(config, x, y)
  for va, vb in zip(a.generator.get_weights(), b.generator.get_weights()):
    np.testing.assert_allclose(va, vb, atol=1e-6)
  assert all(np.isfinite(float(m.result())) for m in a.metrics)
  fresh = pose_gan.build_gan(config)
  assert any(not np.allclose(u, v) for u, v in zip(a.generator.get_weights(),
                                                   fresh.generator.get_weights()))
  fake = pose_gan.sample(a.ema_generator(), s, np.array([0, 3]), 0, config.latent_dim)
  assert fake.shape == (2, config.num_frames, F) and fake.dtype == np.float32
  # Raw units: the standardiser's offset comes back.
  assert abs(float(fake.mean()) - float(x.mean())) < 3.0


def test_semi_supervised_discriminator_has_k_plus_one_outputs():
  x, y = _windows()
  s = pose_gan.Standardiser.fit(x)
  classifier = dataclasses.replace(pose_stream.PoseStreamConfig.from_preset("test"),
                                   num_frames=CONFIG.num_frames)
  gan = pose_gan.train_pose_ssgan(classifier, CONFIG, s(x), y, s(x), steps=3)
  logits, feats = gan.discriminator(s(x)[:2])
  assert logits.shape == (2, classifier.num_classes + 1)
  assert feats.shape == (2, classifier.head_dim)
  assert all(np.isfinite(float(m.result())) for m in gan.metrics)


def _pools(n_per_class=5, k=3, t=4):
  rng = np.random.default_rng(0)
  clip = lambda c: (rng.normal(size=(1, t, F)) + c).astype(np.float32)
  labels = np.repeat(np.arange(k), n_per_class).astype(np.int32)
  return px.PosePools(train=[clip(c) for c in labels], train_mirrored=[clip(c) for c in labels],
                      train_labels=labels, held=[clip(c) for c in range(k)],
                      held_labels=np.arange(k, dtype=np.int32), class_names=("a", "b", "c"),
                      fps=10.0, num_frames=t)


def test_validation_split_is_by_clip_per_class_and_disjoint():
  pools = _pools()
  chosen = px.choose_per_class(pools.train_labels, 4, 0, 3)
  fit, val = px.split_for_validation(pools.train_labels, chosen)
  assert set(fit).isdisjoint(val) and set(fit) | set(val) == set(chosen)
  assert sorted(pools.train_labels[val]) == [0, 1, 2]
  # The latest clips of each class are the validation ones.
  for k in range(3):
    mine = sorted(i for i in chosen if pools.train_labels[i] == k)
    assert mine[-1] in val


def test_windows_of_takes_the_mirror_images_too():
  pools = _pools()
  x, y = px.windows_of(pools, np.array([0, 6]))
  assert x.shape == (4, 4, F) and list(y) == [0, 0, 1, 1]
  np.testing.assert_array_equal(x[1], pools.train_mirrored[0][0])


def test_clip_accuracy_reads_only_the_real_classes():
  import keras
  inputs = keras.Input((2,))
  # Logits [x0, x1, 10]: the "generated" logit would win everywhere.
  bias = keras.layers.Dense(3, use_bias=True, name="d")
  model = keras.Model(inputs, bias(inputs))
  bias.set_weights([np.array([[1, 0, 0], [0, 1, 0]], np.float32), np.array([0, 0, 10.0])])
  clips = [np.array([[2.0, 0.0]], np.float32), np.array([[0.0, 2.0]], np.float32)]
  assert px.clip_accuracy(model, clips, np.array([0, 1]), num_classes=2) == 1.0
  assert px.clip_accuracy(model, clips, np.array([0, 1])) == 0.0


@pytest.mark.slow
def test_augmentation_experiment_reports_each_arm():
  pools = _pools()
  result = px.augmentation(pools, 4, [0], shares=(0.25, 0.5), epochs=2, gan_preset="test")
  assert result["share"] in (0.25, 0.5)
  arms = {r[1] for r in result["rows"]}
  assert arms == {"real only", "real + generated", "generated then real"}
  assert len(result["rows"]) == 3 and all(0.0 <= r[2] <= 1.0 for r in result["rows"])


def test_clip_accuracy_averages_the_mirror_images_when_given():
  import keras
  inputs = keras.Input((2,))
  dense = keras.layers.Dense(2, use_bias=False, name="d")
  model = keras.Model(inputs, dense(inputs))
  dense.set_weights([np.eye(2, dtype=np.float32)])
  # Alone the clip reads class 0 (barely); its mirror image says class 1
  # firmly, and the average follows it.
  clips = [np.array([[0.6, 0.5]], np.float32)]
  mirrors = [np.array([[0.0, 3.0]], np.float32)]
  assert px.clip_accuracy(model, clips, np.array([1])) == 0.0
  assert px.clip_accuracy(model, clips, np.array([1]), mirrored=mirrors) == 1.0

"""The base GAN and its subclasses: one step moves every network, N replicas
step as one, each discriminator step draws fresh fakes, EMA export."""

import numpy as np
import tensorflow as tf

from tfsports.actions import ssgan
from tfsports.superres import model as sr_models
from tfsports.superres import recipe as sr

TWO_CPUS = ["/cpu:0", "/cpu:1"]


def _networks(gan):
  return [m for m in (gan.generator, gan.discriminator,
                      getattr(gan, "temporal_discriminator", None),
                      getattr(gan, "group_discriminator", None)) if m is not None]


def _run(build, batch, strategy, init=None, steps=2):
  with strategy.scope():
    gan = build()
  if init is not None:
    for net, weights in zip(_networks(gan), init):
      net.set_weights(weights)
  start = [net.get_weights() for net in _networks(gan)]
  gan.fit(tf.data.Dataset.from_tensors(batch).repeat(steps), steps_per_epoch=steps,
          epochs=1, verbose=0)
  return gan, start, [net.get_weights() for net in _networks(gan)]


def assert_gan_steps_like_one_replica(build, batch, atol=1e-5):
  """Every network's weights move; two replicas end where one does."""
  _, init, one = _run(build, batch, tf.distribute.get_strategy())
  _, _, two = _run(build, batch, tf.distribute.MirroredStrategy(
      TWO_CPUS, cross_device_ops=tf.distribute.ReductionToOneDevice()), init)
  for k, (before, after) in enumerate(zip(init, one)):
    assert all(np.isfinite(w).all() for w in after), f"network {k} has NaN/Inf weights"
    moved = max(float(np.abs(a - b).max()) for a, b in zip(before, after))
    assert moved > 1e-5, f"network {k} did not train"
  for a_net, b_net in zip(one, two):
    for a, b in zip(a_net, b_net):
      np.testing.assert_allclose(a, b, atol=atol)


SR_TEST = sr.SRTrainConfig.from_preset("test")


def _sr_gan(**changes):
  def build():
    import dataclasses
    gan = sr.build_trainer(dataclasses.replace(SR_TEST, **changes),
                           sr_models.SRConfig.from_preset("tiny"))
    gan.train_discriminator = True
    return gan
  return build


def _sr_batch():
  rng = np.random.default_rng(0)
  return (rng.uniform(size=(4, 5, 4, 4, 3)).astype(np.float32),
          rng.uniform(size=(4, 5, 16, 16, 3)).astype(np.float32))


def test_sr_gan_step_moves_every_network_and_replicas_agree():
  assert_gan_steps_like_one_replica(_sr_gan(), _sr_batch())


def test_sr_gan_trains_with_wgan_gp():
  # The gradient penalty draws its interpolation weights per replica, so
  # replicas cannot agree exactly; it must still train every network.
  gan, init, after = _run(_sr_gan(gan_loss="wasserstein", gp_weight=10.0), _sr_batch(),
                          tf.distribute.get_strategy())
  assert gan.gp_weight == 10.0
  for before, now in zip(init, after):
    assert max(float(np.abs(a - b).max()) for a, b in zip(before, now)) > 1e-5


def test_each_discriminator_step_draws_fresh_fakes():
  gan = _sr_gan(d_steps=3)()
  calls = []
  generate = gan.generate
  gan.generate = lambda data, training: calls.append(1) or generate(data, training)
  gan.fit(tf.data.Dataset.from_tensors(_sr_batch()), steps_per_epoch=1, epochs=1, verbose=0)
  # Traced once: three discriminator steps and the generator step.
  assert len(calls) == 4


def test_ema_generator_uses_the_optimizer_averages():
  gan, _, _ = _run(_sr_gan(), _sr_batch(), tf.distribute.get_strategy(), steps=3)
  live = gan.generator.get_weights()
  ema = gan.ema_generator()
  # The live weights are untouched, and the copy holds other (averaged) ones.
  for a, b in zip(live, gan.generator.get_weights()):
    np.testing.assert_array_equal(a, b)
  diffs = [float(np.abs(a - b).max()) for a, b in zip(live, ema.get_weights())]
  assert max(diffs) > 1e-6


SSGAN_TEST = ssgan.LabelEfficiencyConfig.from_preset("test")


def _ssgan():
  gan, parts = ssgan.build_ssgan(SSGAN_TEST, 3, seed=0)
  parts.dropout.rate = 0.0         # dropout masks differ across replicas
  return gan


def _ssgan_batch():
  rng = np.random.default_rng(1)
  clips = lambda: rng.uniform(size=(4, 4, 16, 16, 3)).astype(np.float32)
  return (clips(), np.array([0, 1, 2, 1], np.int32)), clips()


def test_ssgan_train_step_moves_both_networks_and_replicas_agree():
  assert_gan_steps_like_one_replica(_ssgan, _ssgan_batch(), atol=2e-5)


def test_ssgan_train_step_learns_the_labelled_clips():
  gan = _ssgan()
  (x, y), unlabelled = _ssgan_batch()
  # Batch statistics: the moving averages lag behind a few steps.
  before = gan.discriminator(x, training=True)[0][:, :3]
  loss0 = float(tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, before)))
  gan.fit(tf.data.Dataset.from_tensors(((x, y), unlabelled)).repeat(), epochs=1,
          steps_per_epoch=60, verbose=0)
  after = gan.discriminator(x, training=True)[0][:, :3]
  loss1 = float(tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, after)))
  assert loss1 < loss0 * 0.8

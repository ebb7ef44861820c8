import numpy as np
import pytest
import tensorflow as tf

from tfsports.gan import losses

LN2 = np.log(2.0)


@pytest.mark.parametrize("fn,args,want", [
    (losses.non_saturating_d_loss, ([[0.0]], [[0.0]]), [2 * LN2]),
    (losses.non_saturating_d_loss, ([[2.0]], [[-1.0]]), [np.log1p(np.exp(-2)) + np.log1p(np.exp(-1))]),
    (losses.non_saturating_g_loss, ([[0.0]],), [LN2]),
    (losses.hinge_d_loss, ([[0.5, 2.0]], [[-0.5, 1.0]]), [1.5]),
    (losses.hinge_g_loss, ([[1.0, -3.0]],), [1.0]),
    (losses.wasserstein_d_loss, ([[1.0, 3.0]], [[2.0, 0.0]]), [-1.0]),
    (losses.wasserstein_g_loss, ([[1.0, 3.0]],), [-2.0]),
    (losses.charbonnier_loss, ([[0.0, 0.0]], [[3.0, 0.0]]),
     [(np.sqrt(9 + 1e-6) + 1e-3) / 2]),
])
def test_golden_values(fn, args, want):
  got = fn(*[tf.constant(a, tf.float32) for a in args])
  np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


def test_patch_logits_of_any_rank_reduce_per_example():
  logits = tf.concat([tf.zeros([1, 4, 4, 1]), tf.ones([1, 4, 4, 1])], 0)
  got = losses.hinge_g_loss(logits)
  np.testing.assert_allclose(got, [0.0, -1.0])
  assert losses.non_saturating_d_loss(logits, logits).shape == (2,)


def _linear_d(x, training=False):
  del training
  return 3.0 * x


def test_r1_penalty_golden():
  real = tf.random.normal([2, 4])
  # D(x) = 3x per element: the gradient of sum(D) is 3 everywhere.
  np.testing.assert_allclose(losses.r1_penalty(_linear_d, real), [18.0, 18.0], rtol=1e-6)


def test_wgan_gp_penalty_golden():
  real, fake = tf.zeros([2, 4]), tf.ones([2, 4])
  got = losses.wgan_gp_penalty(_linear_d, real, fake, tf.constant([0.0, 0.7]))
  # ||grad|| = 3 * sqrt(4) = 6 for any interpolation point.
  np.testing.assert_allclose(got, [25.0, 25.0], rtol=1e-5)


def test_feature_matching_golden():
  got = losses.feature_matching_loss(tf.constant([[1.0, 2.0], [3.0, 4.0]]),
                                     tf.constant([[0.0, 0.0], [2.0, 2.0]]))
  np.testing.assert_allclose(got, [2.5, 2.5])


def test_temporal_consistency_penalises_flicker_not_motion():
  moving = tf.reshape(tf.range(3, dtype=tf.float32), [1, 3, 1, 1, 1])
  np.testing.assert_allclose(losses.temporal_consistency_loss(moving, moving + 5.0), [0.0])
  flicker = tf.reshape(tf.constant([0.0, 1.0, 0.0]), [1, 3, 1, 1, 1])
  np.testing.assert_allclose(
      losses.temporal_consistency_loss(tf.zeros([1, 3, 1, 1, 1]), flicker), [1.0])


def test_patch_nce_golden():
  # Orthogonal unit keys; each query equals its own key: logits 1/t on the
  # diagonal, 0 elsewhere, so the loss is log(1 + (P - 1) exp(-1/t)).
  key = tf.eye(3)[None]
  got = losses.patch_nce_loss(2.0 * key, key, temperature=0.5)
  np.testing.assert_allclose(got, [np.log1p(2 * np.exp(-2.0))], rtol=1e-6)
  # A query pointing at another location's key costs more than its own.
  shuffled = tf.gather(key, [1, 2, 0], axis=1)
  assert float(losses.patch_nce_loss(shuffled, key)[0]) > float(got[0])
  assert losses.patch_nce_loss(tf.ones([2, 5, 4]), tf.ones([2, 5, 4])).shape == (2,)

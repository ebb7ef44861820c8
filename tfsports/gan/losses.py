"""GAN losses as pure functions on logits of any rank (patch discriminators).

Each returns a per-example loss [B] (mean over all other axes), so callers
reduce over the global batch under `tf.distribute` (see `trainers`).
"""

import tensorflow as tf


def _per_example(x):
  x = tf.convert_to_tensor(x)
  return tf.reduce_mean(tf.reshape(x, [tf.shape(x)[0], -1]), axis=1)


# Adversarial losses: (real_logits, fake_logits) for D, fake_logits for G.

def non_saturating_d_loss(real_logits, fake_logits):
  return _per_example(tf.nn.softplus(-real_logits)) + _per_example(
      tf.nn.softplus(fake_logits))


def non_saturating_g_loss(fake_logits):
  return _per_example(tf.nn.softplus(-fake_logits))


def hinge_d_loss(real_logits, fake_logits):
  return _per_example(tf.nn.relu(1.0 - real_logits)) + _per_example(
      tf.nn.relu(1.0 + fake_logits))


def hinge_g_loss(fake_logits):
  return _per_example(-fake_logits)


def wasserstein_d_loss(real_logits, fake_logits):
  return _per_example(fake_logits) - _per_example(real_logits)


def wasserstein_g_loss(fake_logits):
  return _per_example(-fake_logits)


ADVERSARIAL = {
    "non_saturating": (non_saturating_d_loss, non_saturating_g_loss),
    "hinge": (hinge_d_loss, hinge_g_loss),
    "wasserstein": (wasserstein_d_loss, wasserstein_g_loss),
}


# Gradient penalties.

def r1_penalty(discriminator, real):
  """R1 (Mescheder et al. 2018): 0.5 * ||grad_x D(x)||^2 on real data, [B]."""
  with tf.GradientTape() as tape:
    tape.watch(real)
    total = tf.reduce_sum(tf.cast(discriminator(real, training=True), tf.float32))
  grads = tape.gradient(total, real)
  return 0.5 * tf.reduce_sum(tf.reshape(tf.square(grads), [tf.shape(real)[0], -1]), 1)


def wgan_gp_penalty(discriminator, real, fake, weights):
  """WGAN-GP (Gulrajani et al. 2017): (||grad D(x_hat)|| - 1)^2, [B].

  x_hat = real + weights * (fake - real); `weights` [B] are the uniform
  [0, 1] interpolation weights, passed in so the function stays pure.
  """
  shape = [-1] + [1] * (len(real.shape) - 1)
  interp = real + tf.reshape(weights, shape) * (fake - real)
  with tf.GradientTape() as tape:
    tape.watch(interp)
    total = tf.reduce_sum(tf.cast(discriminator(interp, training=True), tf.float32))
  grads = tape.gradient(total, interp)
  norm = tf.sqrt(tf.reduce_sum(tf.reshape(tf.square(grads), [tf.shape(real)[0], -1]), 1)
                 + 1e-12)
  return tf.square(norm - 1.0)


# Reconstruction and feature losses.

def charbonnier_loss(target, prediction, epsilon=1e-3):
  """sqrt((x - y)^2 + eps^2): L1 that is smooth at zero."""
  return _per_example(tf.sqrt(tf.square(target - prediction) + epsilon**2))


def feature_matching_loss(real_features, fake_features):
  """Salimans et al. 2016: || mean real features - mean fake features ||^2.

  Features [B, ...]; the means are over the batch, so this returns a scalar
  broadcast to [B] for a uniform reduction by callers.
  """
  real = tf.reduce_mean(tf.reshape(real_features, [tf.shape(real_features)[0], -1]), 0)
  fake = tf.reduce_mean(tf.reshape(fake_features, [tf.shape(fake_features)[0], -1]), 0)
  loss = tf.reduce_mean(tf.square(real - fake))
  return tf.fill([tf.shape(fake_features)[0]], loss)


def temporal_consistency_loss(target_frames, predicted_frames):
  """L1 between the frame-to-frame changes of prediction and target.

  Frames [B, T, H, W, C] with T >= 2: flicker that the target does not
  have is penalised, true motion is not.
  """
  target_diff = target_frames[:, 1:] - target_frames[:, :-1]
  predicted_diff = predicted_frames[:, 1:] - predicted_frames[:, :-1]
  return _per_example(tf.abs(target_diff - predicted_diff))


def batch_hard_triplet_loss(labels, embeddings, margin=0.2):
  """Batch-hard triplet loss (Hermans et al. 2017), per example [B].

  For each anchor: the farthest same-label example and the nearest
  other-label example in the batch; max(d_pos - d_neg + margin, 0) with
  Euclidean distances. Anchors without a positive or a negative give 0.
  """
  labels = tf.reshape(labels, [-1])
  e = tf.cast(embeddings, tf.float32)
  sq = tf.reduce_sum(tf.square(e), 1)
  d2 = sq[:, None] - 2.0 * tf.matmul(e, e, transpose_b=True) + sq[None, :]
  d = tf.sqrt(tf.maximum(d2, 1e-12))
  same = tf.equal(labels[:, None], labels[None, :])
  eye = tf.eye(tf.shape(labels)[0], dtype=tf.bool)
  pos_mask = tf.logical_and(same, tf.logical_not(eye))
  neg_mask = tf.logical_not(same)
  hardest_pos = tf.reduce_max(tf.where(pos_mask, d, 0.0), 1)
  hardest_neg = tf.reduce_min(tf.where(neg_mask, d, 1e9), 1)
  valid = tf.logical_and(tf.reduce_any(pos_mask, 1), tf.reduce_any(neg_mask, 1))
  return tf.where(valid, tf.nn.relu(hardest_pos - hardest_neg + margin), 0.0)


def patch_nce_loss(query, key, temperature=0.07):
  """PatchNCE (Park et al. 2020, CUT), per example [B].

  query [B, P, C]: features of P patches of the translated image; key
  [B, P, C]: the same P locations of the input. Each query must pick its
  own location's key among the image's P keys (InfoNCE, cross-entropy over
  cosine similarities / temperature), so the translation keeps content
  where it is while the adversarial loss changes its look.
  """
  q = tf.math.l2_normalize(tf.cast(query, tf.float32), axis=-1)
  k = tf.math.l2_normalize(tf.cast(key, tf.float32), axis=-1)
  logits = tf.matmul(q, k, transpose_b=True) / temperature
  labels = tf.broadcast_to(tf.range(tf.shape(q)[1])[None], tf.shape(logits)[:2])
  return tf.reduce_mean(
      tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), axis=1)

"""DiffAugment for clips (Zhao et al. 2020, "Differentiable augmentation for
data-efficient GAN training"): colour, translation and cutout, applied the
same way to real and generated clips before every critic, differentiable in
the clip, so a critic trained on a few hundred clips cannot memorise them.

Each clip draws one set of parameters shared by all its frames (a jump
between frames would be an artefact the temporal critic could learn).
Randomness is stateless, from a per-clip seed, so a resumed run and N
replicas augment alike.
"""

import tensorflow as tf

POLICIES = ("color", "translation", "cutout")


def _uniform(seeds, salt, shape=(), low=0.0, high=1.0):
  """One uniform draw per clip: seeds int32 [B, 2] -> float32 [B, *shape]."""
  return tf.map_fn(
      lambda s: tf.random.stateless_uniform(shape, s + salt, low, high),
      seeds, fn_output_signature=tf.TensorSpec(shape, tf.float32))


def _expand(x):
  return tf.reshape(x, [-1, 1, 1, 1, 1])


def color(clips, seeds):
  """Brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5]; clips float
  [B, T, H, W, 3] in [0, 1]."""
  clips = clips + _expand(_uniform(seeds, 11, low=-0.5, high=0.5))
  mean = tf.reduce_mean(clips, axis=-1, keepdims=True)
  clips = (clips - mean) * _expand(_uniform(seeds, 12, high=2.0)) + mean
  mean = tf.reduce_mean(clips, axis=[1, 2, 3, 4], keepdims=True)
  return (clips - mean) * _expand(_uniform(seeds, 13, low=0.5, high=1.5)) + mean


def translation(clips, seeds, ratio=0.125):
  """Shifts by up to `ratio` of each side, zero filled (gathers, so the
  gradient reaches the clip)."""
  h, w = clips.shape[2], clips.shape[3]
  shift = tf.cast(tf.round(_uniform(seeds, 21, (2,), -ratio, ratio) * [h, w]), tf.int32)
  rows = tf.range(h)[None, :] - shift[:, :1]                       # [B, H]
  cols = tf.range(w)[None, :] - shift[:, 1:]
  valid = (tf.cast((rows >= 0) & (rows < h), tf.float32)[:, None, :, None, None] *
           tf.cast((cols >= 0) & (cols < w), tf.float32)[:, None, None, :, None])
  clips = tf.gather(clips, tf.clip_by_value(rows, 0, h - 1), axis=2, batch_dims=1)
  clips = tf.gather(clips, tf.clip_by_value(cols, 0, w - 1), axis=3, batch_dims=1)
  return clips * valid


def cutout(clips, seeds, ratio=0.5):
  """Zeroes one rectangle of `ratio` of each side, at a random place."""
  h, w = clips.shape[2], clips.shape[3]
  centre = _uniform(seeds, 31, (2,)) * [h, w]
  rows = tf.cast(tf.range(h), tf.float32)[None, :]
  cols = tf.cast(tf.range(w), tf.float32)[None, :]
  inside_r = tf.abs(rows - centre[:, :1]) < ratio * h / 2
  inside_c = tf.abs(cols - centre[:, 1:]) < ratio * w / 2
  hole = tf.cast(inside_r[:, :, None] & inside_c[:, None, :], tf.float32)
  return clips * (1.0 - hole[:, None, :, :, None])


def diff_augment(clips, seeds, policy=POLICIES):
  """clips float32 [B, T, H, W, 3], seeds int32 [B, 2] -> augmented clips."""
  unknown = sorted(set(policy) - set(POLICIES))
  if unknown:
    raise ValueError(f"unknown DiffAugment policies {unknown}; known: {', '.join(POLICIES)}")
  for name in policy:
    clips = {"color": color, "translation": translation, "cutout": cutout}[name](clips, seeds)
  return clips

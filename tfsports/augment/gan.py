"""The class-conditional video GAN, on the base `gan.GAN` (DVD-GAN style).

Batches are dicts: clips float32 [B, T, H, W, 3] in [0, 1], labels int32
[B], z float32 [B, 2, latent_dim] (one draw for the critics' step, one for
the generator's), seeds int32 [B, 4, 2] (DiffAugment of real and fake
clips, the generator's fakes, and the spatial critic's frame choice). The
randomness comes with the batch, seeded by the step, so a resumed run and N
replicas train alike.

Both critics see DiffAugment-ed clips, real and fake alike: the spatial one
`sampled_frames` random frames of each clip, the temporal one the whole clip
at half resolution. Hinge loss; EMA of the generator through its optimizer.
"""

import tensorflow as tf

from tfsports.augment import diffaugment
from tfsports.training import loop
from tfsports.gan import model as gan_lib


class VideoAugmentGAN(gan_lib.GAN):
  METRICS = ("g_loss", "d_loss", "d_spatial_loss", "d_temporal_loss", "d_real_accuracy")

  def __init__(self, generator, spatial_discriminator, temporal_discriminator,
               sampled_frames=4, policy=diffaugment.POLICIES, **kwargs):
    super().__init__(generator, spatial_discriminator, **kwargs)
    self.temporal_discriminator = temporal_discriminator
    self.sampled_frames = sampled_frames
    self.policy = tuple(policy)

  @property
  def discriminator_variables(self):
    return (self.discriminator.trainable_variables +
            self.temporal_discriminator.trainable_variables)

  def generate(self, data, training, draw=0):
    out = self.generator([data["z"][:, draw], data["labels"]], training=training)
    return tf.cast(out, tf.float32)

  def _logits(self, clips, data, seed_index):
    clips = diffaugment.diff_augment(clips, data["seeds"][:, seed_index], self.policy)
    batch, frames = tf.shape(clips)[0], clips.shape[1]
    pick = tf.map_fn(
        lambda s: tf.random.stateless_uniform([self.sampled_frames], s, 0, frames, tf.int32),
        data["seeds"][:, 3], fn_output_signature=tf.TensorSpec([self.sampled_frames], tf.int32))
    sampled = tf.gather(clips, pick, axis=1, batch_dims=1)          # [B, k, H, W, 3]
    sampled = tf.reshape(sampled, tf.concat([[-1], tf.shape(clips)[2:]], 0))
    labels = tf.repeat(data["labels"], self.sampled_frames)
    spatial = self.discriminator({"frames": sampled, "label": labels}, training=True)
    spatial = tf.reduce_mean(tf.reshape(tf.cast(spatial, tf.float32),
                                        [batch, self.sampled_frames]), 1, keepdims=True)
    temporal = self.temporal_discriminator({"clip": clips, "label": data["labels"]},
                                           training=True)
    return spatial, tf.cast(temporal, tf.float32)

  def discriminator_loss(self, data, fake):
    real_s, real_t = self._logits(data["clips"], data, 0)
    fake_s, fake_t = self._logits(fake, data, 1)
    spatial = self.d_loss_fn(real_s, fake_s)
    temporal = self.d_loss_fn(real_t, fake_t)
    accuracy = tf.cast(real_s[:, 0] > fake_s[:, 0], tf.float32)
    return loop.average_loss(spatial + temporal), {
        "d_spatial_loss": spatial, "d_temporal_loss": temporal, "d_real_accuracy": accuracy}

  def generator_loss(self, data):
    fake = self.generate(data, training=True, draw=1)
    fake_s, fake_t = self._logits(fake, data, 2)
    return loop.average_loss(self.g_loss_fn(fake_s) + self.g_loss_fn(fake_t)), {}

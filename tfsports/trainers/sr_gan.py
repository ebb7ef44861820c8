"""The video super-resolution GAN as a `keras.Model` with a custom
`train_step`, after the keras-io GAN examples.

Batches are (lr [B, T+2, h, w, 3], hr [B, T+2, H, W, 3]) in [0, 1]: the
generator runs on the three windows of T frames, giving three consecutive
high-res frames, so the temporal discriminator and the temporal-consistency
loss see motion.
"""

import keras
import tensorflow as tf

from tfsports import losses as losses_lib
from tfsports.trainers import common


class VideoSRGAN(keras.Model):

  def __init__(self, generator, spatial_discriminator, temporal_discriminator,
               **kwargs):
    super().__init__(**kwargs)
    self.generator = generator
    self.spatial_discriminator = spatial_discriminator
    self.temporal_discriminator = temporal_discriminator
    self.window = generator.input_shape[1]
    self.adversarial = False

  def call(self, lr, training=False):
    """The generator on the first window of lr [B, >=T, h, w, 3]."""
    return self.generator(lr[:, :self.window], training=training)

  def compile(self, g_optimizer, d_optimizer, gan_loss="hinge",
              reconstruction_weight=1.0, adversarial_weight=5e-3,
              temporal_weight=0.5, r1_weight=0.0, d_steps=1, **kwargs):
    super().compile(**kwargs)
    self.g_optimizer = g_optimizer
    self.d_optimizer = d_optimizer
    self.d_loss_fn, self.g_loss_fn = losses_lib.ADVERSARIAL[gan_loss]
    self.reconstruction_weight = reconstruction_weight
    self.adversarial_weight = adversarial_weight
    self.temporal_weight = temporal_weight
    self.r1_weight = r1_weight
    self.d_steps = d_steps
    names = ["g_loss", "reconstruction_loss", "temporal_loss", "g_adv_loss",
             "d_loss", "psnr"]
    self.trackers = {n: keras.metrics.Mean(name=n) for n in names}

  @property
  def metrics(self):
    return list(self.trackers.values())

  def build_optimizers(self):
    """Creates optimizer slots now, inside the current strategy scope: a
    multi-replica custom train_step cannot create them lazily."""
    self.g_optimizer.build(self.generator.trainable_variables)
    self.d_optimizer.build(self.spatial_discriminator.trainable_variables +
                           self.temporal_discriminator.trainable_variables)

  def generate_triplet(self, lr, training):
    """Three consecutive high-res frames [B, 3, H, W, 3] from lr [B, T+2, ...]."""
    outs = [self.generator(lr[:, k:k + self.window], training=training)
            for k in range(3)]
    return tf.cast(tf.stack(outs, axis=1), tf.float32)

  def _targets(self, hr):
    c = self.window // 2
    return hr[:, c:c + 3]

  @staticmethod
  def _as_channels(frames):
    return tf.concat(tf.unstack(frames, axis=1), axis=-1)

  def _d_losses(self, real, fake):
    d_vars = (self.spatial_discriminator.trainable_variables +
              self.temporal_discriminator.trainable_variables)
    with tf.GradientTape() as tape:
      real_s = self.spatial_discriminator(real[:, 1], training=True)
      fake_s = self.spatial_discriminator(fake[:, 1], training=True)
      real_t = self.temporal_discriminator(self._as_channels(real), training=True)
      fake_t = self.temporal_discriminator(self._as_channels(fake), training=True)
      per_example = (self.d_loss_fn(tf.cast(real_s, tf.float32), tf.cast(fake_s, tf.float32)) +
                     self.d_loss_fn(tf.cast(real_t, tf.float32), tf.cast(fake_t, tf.float32)))
      if self.r1_weight:
        per_example += self.r1_weight * losses_lib.r1_penalty(
            self.spatial_discriminator, real[:, 1])
      d_loss = common.average_loss(per_example)
      scaled = self.d_optimizer.scale_loss(d_loss)
    grads = tape.gradient(scaled, d_vars)
    self.d_optimizer.apply_gradients(zip(grads, d_vars))
    return d_loss

  def train_step(self, data):
    lr, hr = data
    real = self._targets(hr)
    d_loss = tf.constant(0.0)
    if self.adversarial:
      fake = tf.stop_gradient(self.generate_triplet(lr, training=True))
      for _ in range(self.d_steps):
        d_loss = self._d_losses(real, fake)

    g_vars = self.generator.trainable_variables
    with tf.GradientTape() as tape:
      fake = self.generate_triplet(lr, training=True)
      rec = losses_lib.charbonnier_loss(real, fake)
      temporal = losses_lib.temporal_consistency_loss(real, fake)
      per_example = self.reconstruction_weight * rec + self.temporal_weight * temporal
      g_adv = tf.zeros_like(rec)
      if self.adversarial:
        fake_s = tf.cast(self.spatial_discriminator(fake[:, 1], training=True), tf.float32)
        fake_t = tf.cast(self.temporal_discriminator(self._as_channels(fake),
                                                     training=True), tf.float32)
        g_adv = self.g_loss_fn(fake_s) + self.g_loss_fn(fake_t)
        per_example += self.adversarial_weight * g_adv
      g_loss = common.average_loss(per_example)
      scaled = self.g_optimizer.scale_loss(g_loss)
    grads = tape.gradient(scaled, g_vars)
    self.g_optimizer.apply_gradients(zip(grads, g_vars))

    mse = tf.reduce_mean(tf.square(tf.clip_by_value(fake[:, 1], 0, 1) - real[:, 1]),
                         axis=[1, 2, 3])
    psnr = -10.0 * tf.math.log(tf.maximum(mse, 1e-10)) / tf.math.log(10.0)
    values = {"g_loss": per_example, "reconstruction_loss": rec,
              "temporal_loss": temporal, "g_adv_loss": g_adv,
              "d_loss": tf.fill(tf.shape(rec), d_loss), "psnr": psnr}
    for name, value in values.items():
      self.trackers[name].update_state(value)
    return {name: m.result() for name, m in self.trackers.items()}

  def ema_generator(self):
    """A copy of the generator holding the EMA weights (for eval and export)."""
    ema = keras.models.clone_model(self.generator)
    opt = common.inner_optimizer(self.g_optimizer)
    averages = getattr(opt, "_model_variables_moving_average", None)
    ema.set_weights(self.generator.get_weights())
    if opt.use_ema and averages is not None and int(opt.iterations.numpy()) > 0:
      for var, avg in zip(ema.trainable_variables, averages):
        var.assign(tf.cast(avg, var.dtype))
    return ema

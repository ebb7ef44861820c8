"""The video super-resolution GAN, on the base `gan.GAN`.

Batches are (lr [B, T+2, h, w, 3], hr [B, T+2, H, W, 3]) in [0, 1]: the
generator runs on the three windows of T frames, giving three consecutive
high-res frames, so the temporal discriminator and the temporal-consistency
loss see motion. With `train_discriminator` off (the warm-up phase) the
generator learns reconstruction alone.
"""

import tensorflow as tf

from tfsports.training import loop
from tfsports.gan import losses as losses_lib
from tfsports.gan import model as gan_lib


class VideoSRGAN(gan_lib.GAN):
  METRICS = ("g_loss", "reconstruction_loss", "temporal_loss", "g_adv_loss", "d_loss",
             "psnr")

  def __init__(self, generator, spatial_discriminator, temporal_discriminator, **kwargs):
    super().__init__(generator, spatial_discriminator, **kwargs)
    self.temporal_discriminator = temporal_discriminator
    self.window = generator.input_shape[1]

  @property
  def spatial_discriminator(self):
    return self.discriminator

  @property
  def discriminator_variables(self):
    return (self.discriminator.trainable_variables +
            self.temporal_discriminator.trainable_variables)

  def call(self, lr, training=False):
    """The generator on the first window of lr [B, >=T, h, w, 3]."""
    return self.generator(lr[:, :self.window], training=training)

  def compile(self, d_optimizer, g_optimizer, d_loss_fn, g_loss_fn, d_steps=1,
              reconstruction_weight=1.0, adversarial_weight=5e-3, temporal_weight=0.5,
              r1_weight=0.0, gp_weight=0.0, **kwargs):
    super().compile(d_optimizer, g_optimizer, d_loss_fn, g_loss_fn, d_steps, **kwargs)
    self.reconstruction_weight = reconstruction_weight
    self.adversarial_weight = adversarial_weight
    self.temporal_weight = temporal_weight
    self.r1_weight = r1_weight
    self.gp_weight = gp_weight

  def generate(self, data, training):
    """Three consecutive high-res frames [B, 3, H, W, 3] from lr [B, T+2, ...]."""
    lr, _ = data
    outs = [self.generator(lr[:, k:k + self.window], training=training) for k in range(3)]
    return tf.cast(tf.stack(outs, axis=1), tf.float32)

  def generate_for_loss(self, data):
    """The frames the generator's loss scores (`generate` in training mode),
    and what `extra_generator_loss` needs of the same forward pass."""
    return self.generate(data, training=True), None

  def _targets(self, hr):
    c = self.window // 2
    return hr[:, c:c + 3]

  @staticmethod
  def _as_channels(frames):
    return tf.concat(tf.unstack(frames, axis=1), axis=-1)

  def _logits(self, frames):
    """(spatial, temporal) float32 logits of three frames [B, 3, H, W, 3]."""
    spatial = self.discriminator(frames[:, 1], training=True)
    temporal = self.temporal_discriminator(self._as_channels(frames), training=True)
    return tf.cast(spatial, tf.float32), tf.cast(temporal, tf.float32)

  def discriminator_loss(self, data, fake):
    real = self._targets(data[1])
    real_s, real_t = self._logits(real)
    fake_s, fake_t = self._logits(fake)
    per_example = self.d_loss_fn(real_s, fake_s) + self.d_loss_fn(real_t, fake_t)
    if self.r1_weight:
      per_example += self.r1_weight * losses_lib.r1_penalty(self.discriminator, real[:, 1])
    if self.gp_weight:
      # WGAN-GP (with gan_loss="wasserstein"), on the spatial critic.
      weights = tf.random.uniform([tf.shape(real)[0]])
      per_example += self.gp_weight * losses_lib.wgan_gp_penalty(
          self.discriminator, real[:, 1], fake[:, 1], weights)
    return loop.average_loss(per_example), {}

  def generator_loss(self, data):
    real = self._targets(data[1])
    fake, features = self.generate_for_loss(data)
    rec = losses_lib.charbonnier_loss(real, fake)
    temporal = losses_lib.temporal_consistency_loss(real, fake)
    per_example = self.reconstruction_weight * rec + self.temporal_weight * temporal
    g_adv = tf.zeros_like(rec)
    if self.train_discriminator:
      fake_s, fake_t = self._logits(fake)
      g_adv = self.g_loss_fn(fake_s) + self.g_loss_fn(fake_t)
      per_example += self.adversarial_weight * g_adv
    extra, extra_logs = self.extra_generator_loss(data, fake, features)
    per_example += extra
    psnr = tf.image.psnr(tf.clip_by_value(fake[:, 1], 0, 1), real[:, 1], max_val=1.0)
    return loop.average_loss(per_example), {
        "reconstruction_loss": rec, "temporal_loss": temporal, "g_adv_loss": g_adv,
        "psnr": psnr, **extra_logs}

  def extra_generator_loss(self, data, fake, features):
    """Per-example terms [B] a subclass adds to the generator's loss, and
    the per-example values it logs."""
    del data, features
    return tf.zeros(tf.shape(fake)[:1]), {}


class DistilledVideoSRGAN(VideoSRGAN):
  """The video SR GAN with a frozen teacher generator: the student also
  matches the teacher's frames (`output_weight`) and, through a learned 1x1
  adapter to the teacher's width, the teacher's last low-resolution
  features on the centre window (`feature_weight`), in the warm-up and the
  adversarial phase alike.

  `student_features` and `teacher_features` are models from the window to
  (frame, features [B, h, w, C]) sharing the generators' layers; the
  adapter trains with the generator's optimizer."""
  METRICS = VideoSRGAN.METRICS + ("distill_loss", "feature_loss")

  def __init__(self, generator, spatial_discriminator, temporal_discriminator, teacher,
               student_features, teacher_features, **kwargs):
    super().__init__(generator, spatial_discriminator, temporal_discriminator, **kwargs)
    self.teacher = teacher
    self.teacher.trainable = False
    self.student_features = student_features
    self.teacher_features = teacher_features
    self.teacher_features.trainable = False
    import keras
    self.adapter = keras.Sequential(
        [keras.Input(student_features.output_shape[1][1:]),
         keras.layers.Conv2D(teacher_features.output_shape[1][-1], 1, name="adapter_conv")],
        name="feature_adapter")

  def compile(self, *args, output_weight=1.0, feature_weight=0.1, **kwargs):
    super().compile(*args, **kwargs)
    self.output_weight = output_weight
    self.feature_weight = feature_weight

  @property
  def generator_variables(self):
    return self.generator.trainable_variables + self.adapter.trainable_variables

  def generate_for_loss(self, data):
    """The student's frames, and its centre window's features from the same
    forward pass (not a second run of the student)."""
    lr, _ = data
    outs = [self.student_features(lr[:, k:k + self.window], training=True) for k in range(3)]
    return tf.cast(tf.stack([o[0] for o in outs], axis=1), tf.float32), outs[1][1]

  def extra_generator_loss(self, data, fake, features):
    lr, _ = data
    # One teacher pass per window gives its frames and its centre features.
    taught = [self.teacher_features(lr[:, k:k + self.window], training=False)
              for k in range(3)]
    frames = tf.stop_gradient(tf.cast(tf.stack([t[0] for t in taught], axis=1), tf.float32))
    distill = losses_lib.charbonnier_loss(frames, fake)
    diff = tf.cast(self.adapter(features), tf.float32) - tf.stop_gradient(
        tf.cast(taught[1][1], tf.float32))
    feature = tf.reduce_mean(tf.square(diff), axis=[1, 2, 3])
    return (self.output_weight * distill + self.feature_weight * feature,
            {"distill_loss": distill, "feature_loss": feature})

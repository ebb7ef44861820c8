"""A class-conditional GAN of skeleton sequences, on the GAN core, after
Kinetic-GAN (Degardin et al. 2022): a generator of pose-feature windows,
a critic on single poses and a critic on motion (frame-to-frame
differences), both conditioned on the class by projection (Miyato and
Koyama 2018). It works in the pose stream's feature space
(`pose_stream.pose_features`), standardised per feature on the training
windows, so one GAN serves augmentation (`augment_windows`) and, with a
K+1-way pose discriminator, semi-supervised learning (`build_pose_ssgan`).

    generator:     (z float32 [B, latent_dim], label int32 [B])
                   -> standardised windows float32 [B, num_frames, FEATURES]
    pose critic:   (pose float32 [B, FEATURES], label int32 [B]) -> [B, 1]
    motion critic: (motion float32 [B, num_frames - 1, FEATURES], label) -> [B, 1]

Batches are dicts: poses float32 [B, T, F] (standardised), labels int32
[B], z float32 [B, 2, latent_dim] (one draw for the critics' step, one for
the generator's), drawn from (seed, element index) so a resumed run sees
the noise an uninterrupted one does.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from tfsports import config as config_lib
from tfsports.actions import pose_stream
from tfsports.actions import ssgan as ssgan_lib
from tfsports.gan import model as gan_lib
from tfsports.training import loop


@dataclasses.dataclass(frozen=True)
class PoseGANConfig(config_lib.Config):
  num_classes: int = 5
  num_frames: int = 7
  latent_dim: int = 32
  width: int = 128
  critic_width: int = 128
  train_steps: int = 1500
  batch_size: int = 32
  g_learning_rate: float = 2e-4
  d_learning_rate: float = 2e-4
  # 0.999 over 1500 steps keeps 22% of the random initial weights in the
  # average (0.999 ** 1500): measured, the samples collapsed to one pose.
  ema_momentum: float = 0.99
  gan_loss: str = "hinge"
  seed: int = 0


POSE_GAN_PRESETS = {
    "tiny": PoseGANConfig(),
    "test": PoseGANConfig(num_frames=4, latent_dim=4, width=16, critic_width=16,
                          train_steps=4, batch_size=4),
}
config_lib.register_presets(PoseGANConfig, POSE_GAN_PRESETS)


def apply_label_embedding(labels, num_classes, dim, name):
  return keras.layers.Embedding(num_classes, dim, name=name)(labels)


def apply_temporal_block(x, width, name):
  x = keras.layers.Conv1D(width, 3, padding="same", name=f"{name}_conv")(x)
  return keras.layers.LeakyReLU(0.2, name=f"{name}_act")(x)


def apply_projection(h, labels, num_classes, name):
  """Unconditional score plus <embed(label), h>: the projection critic."""
  score = keras.layers.Dense(1, name=f"{name}_score")(h)
  embed = apply_label_embedding(labels, num_classes, h.shape[-1], f"{name}_label")
  project = keras.layers.Dot(axes=1, name=f"{name}_projection")([embed, h])
  return keras.layers.Add(name=f"{name}_logit")([score, project])


def build_generator(config):
  z = keras.Input((config.latent_dim,), name="z")
  labels = keras.Input((), dtype="int32", name="label")
  x = keras.layers.Concatenate(name="g_input")(
      [z, apply_label_embedding(labels, config.num_classes, config.latent_dim, "g_label")])
  x = keras.layers.Dense(config.num_frames * config.width, name="g_project")(x)
  x = keras.layers.LeakyReLU(0.2, name="g_project_act")(x)
  x = keras.layers.Reshape((config.num_frames, config.width), name="g_as_sequence")(x)
  x = apply_temporal_block(x, config.width, "g_block0")
  x = apply_temporal_block(x, config.width, "g_block1")
  poses = keras.layers.Conv1D(pose_stream.FEATURES, 1, name="g_poses")(x)
  return keras.Model([z, labels], poses, name="pose_generator")


def build_pose_critic(config):
  pose = keras.Input((pose_stream.FEATURES,), name="pose")
  labels = keras.Input((), dtype="int32", name="label")
  h = pose
  for i in range(2):
    h = keras.layers.Dense(config.critic_width, name=f"pose_critic_dense{i}")(h)
    h = keras.layers.LeakyReLU(0.2, name=f"pose_critic_act{i}")(h)
  return keras.Model([pose, labels], apply_projection(h, labels, config.num_classes,
                                                      "pose_critic"), name="pose_critic")


def build_motion_critic(config):
  motion = keras.Input((config.num_frames - 1, pose_stream.FEATURES), name="motion")
  labels = keras.Input((), dtype="int32", name="label")
  h = apply_temporal_block(motion, config.critic_width, "motion_critic_block0")
  h = apply_temporal_block(h, config.critic_width, "motion_critic_block1")
  h = keras.layers.GlobalAveragePooling1D(name="motion_critic_pool")(h)
  return keras.Model([motion, labels], apply_projection(h, labels, config.num_classes,
                                                        "motion_critic"), name="motion_critic")


def motion(poses):
  return poses[:, 1:] - poses[:, :-1]


class PoseSequenceGAN(gan_lib.GAN):
  METRICS = ("d_loss", "g_loss", "d_pose_loss", "d_motion_loss")

  def __init__(self, generator, pose_critic, motion_critic, **kwargs):
    super().__init__(generator, pose_critic, **kwargs)
    self.motion_critic = motion_critic

  @property
  def discriminator_variables(self):
    return self.discriminator.trainable_variables + self.motion_critic.trainable_variables

  def generate(self, data, training, draw=0):
    return self.generator([data["z"][:, draw], data["labels"]], training=training)

  def _logits(self, poses, labels):
    batch, frames = tf.shape(poses)[0], poses.shape[1]
    single = self.discriminator([tf.reshape(poses, [-1, poses.shape[-1]]),
                                 tf.repeat(labels, frames)], training=True)
    single = tf.reduce_mean(tf.reshape(single, [batch, frames]), 1, keepdims=True)
    return single, self.motion_critic([motion(poses), labels], training=True)

  def discriminator_loss(self, data, fake):
    real_p, real_m = self._logits(data["poses"], data["labels"])
    fake_p, fake_m = self._logits(fake, data["labels"])
    single = self.d_loss_fn(real_p, fake_p)
    moving = self.d_loss_fn(real_m, fake_m)
    return loop.average_loss(single + moving), {"d_pose_loss": single, "d_motion_loss": moving}

  def generator_loss(self, data):
    fake_p, fake_m = self._logits(self.generate(data, training=True, draw=1), data["labels"])
    return loop.average_loss(self.g_loss_fn(fake_p) + self.g_loss_fn(fake_m)), {}


@dataclasses.dataclass(frozen=True)
class Standardiser:
  """Per-feature mean and spread of the training windows: the GAN works in
  standardised units so the box, the keypoints and their visibility weigh
  alike."""
  mean: np.ndarray
  std: np.ndarray

  @classmethod
  def fit(cls, windows):
    flat = np.asarray(windows, np.float32).reshape(-1, windows.shape[-1])
    return cls(flat.mean(0), flat.std(0) + 1e-3)

  def __call__(self, windows):
    return ((windows - self.mean) / self.std).astype(np.float32)

  def invert(self, windows):
    return (np.asarray(windows) * self.std + self.mean).astype(np.float32)


def gan_batches(poses, labels, config):
  """Endless batches for `PoseSequenceGAN` (see the module docstring)."""
  ds = tf.data.Dataset.from_tensor_slices((poses, labels)).repeat().shuffle(
      min(len(poses), 4096), seed=config.seed)

  def add_noise(i, xy):
    z = tf.random.stateless_normal([2, config.latent_dim],
                                   tf.stack([tf.cast(config.seed, tf.int64), i]))
    return {"poses": xy[0], "labels": xy[1], "z": z}

  return ds.enumerate().map(add_noise).batch(config.batch_size, drop_remainder=True)


def build_gan(config):
  keras.utils.set_random_seed(config.seed)
  gan = PoseSequenceGAN(build_generator(config), build_pose_critic(config),
                        build_motion_critic(config))
  return gan.compile_from_config(config, d_beta_1=0.5, g_beta_1=0.5)


def train_gan(config, windows, labels):
  """Trains on real windows float32 [N, num_frames, FEATURES] (raw pose
  features) with labels int32 [N]; returns (gan, standardiser)."""
  standardise = Standardiser.fit(windows)
  gan = build_gan(config)
  gan.fit(gan_batches(standardise(windows), labels.astype(np.int32), config),
          steps_per_epoch=config.train_steps, epochs=1, verbose=0)
  return gan, standardise


def sample(generator, standardise, labels, seed, latent_dim):
  """Generated windows in raw pose-feature units, float32 [N, T, FEATURES],
  one per entry of `labels` int32 [N]."""
  z = np.random.default_rng(seed).normal(size=(len(labels), latent_dim)).astype(np.float32)
  out = generator.predict([z, np.asarray(labels, np.int32)], batch_size=256, verbose=0)
  return standardise.invert(out)


def build_pose_ssgan(classifier_config, gan_config, learning_rate=1e-3):
  """The semi-supervised GAN over pose sequences: the discriminator is the
  pose stream with K+1 outputs (the last: "generated") returning [logits,
  head features]; the generator is `build_generator`'s. Inputs are
  standardised windows. Returns (gan, discriminator parts)."""
  keras.utils.set_random_seed(gan_config.seed)
  num_classes = classifier_config.num_classes
  config = dataclasses.replace(classifier_config, num_classes=num_classes + 1)
  _, parts = pose_stream.build_pose_classifier(config, name="discriminator")
  discriminator = pose_stream.clip_model(parts, with_features=True)
  gan = ssgan_lib.SemiSupervisedGAN(
      build_generator(dataclasses.replace(gan_config, num_classes=num_classes)),
      discriminator, num_classes, gan_config.latent_dim)
  gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
              g_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5))
  gan.build_optimizers()
  return gan, parts


def train_pose_ssgan(classifier_config, gan_config, labelled, labels, unlabelled, steps,
                     learning_rate=1e-3):
  """Standardised labelled windows [N, T, F] with labels [N] and unlabelled
  windows [M, T, F]; returns the trained `SemiSupervisedGAN`."""
  gan, _ = build_pose_ssgan(classifier_config, gan_config, learning_rate)
  batch, seed = gan_config.batch_size, gan_config.seed
  lab = ssgan_lib._repeat_batches(labelled, labels.astype(np.int32), min(batch, len(labels)),
                                  seed)
  if len(labels) < batch:
    lab = lab.unbatch().batch(batch, drop_remainder=True)
  unl = ssgan_lib._repeat_batches(unlabelled, None, batch, seed + 1)
  gan.fit(tf.data.Dataset.zip((lab, unl)), steps_per_epoch=steps, epochs=1, verbose=0)
  return gan

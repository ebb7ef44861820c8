"""The trajectory GAN, on the base `gan.GAN`, after Social GAN.

Batches are dicts: paths float32 [B, A, T, 2] metres (whole windows),
known float32 [B, A, T] (the task: what the generator is given), team
int32 [B, A], noise float32 [B, num_samples + 1, A, noise_dim]. Padding
agents have no known frame. The noise comes with the batch, seeded by the
step, so a resumed run and a run on more replicas draw the same samples.

The generator loss is Social GAN's variety loss, the best of `num_samples`
futures, taken two ways and mixed by `agent_variety_weight`: per scene (by
the mean displacement over the unknown frames of all agents together, so
the best sample is a joint one) and per agent (each agent's best, which
keeps every agent's samples spread out in a crowded scene). Plus the
adversarial loss of two critics: one judges each agent's path, the other
the group's.
"""

import tensorflow as tf

from tfsports.training import loop
from tfsports.gan import model as gan_lib


def _masked_mean(x, weights, axis):
  return tf.reduce_sum(x * weights, axis) / tf.maximum(tf.reduce_sum(weights, axis), 1.0)


class TrajectoryGAN(gan_lib.GAN):
  METRICS = ("g_loss", "variety_loss", "g_adv_loss", "d_loss", "d_agent_loss",
             "d_group_loss")

  def __init__(self, generator, agent_discriminator, group_discriminator, num_samples=8,
               agent_variety_weight=0.5, **kwargs):
    super().__init__(generator, agent_discriminator, **kwargs)
    self.agent_variety_weight = agent_variety_weight
    self.group_discriminator = group_discriminator
    self.num_samples = num_samples
    self.noise_shape = tuple(generator.input["noise"].shape[1:])

  @property
  def agent_discriminator(self):
    return self.discriminator

  @property
  def discriminator_variables(self):
    return (self.discriminator.trainable_variables +
            self.group_discriminator.trainable_variables)

  def compile(self, d_optimizer, g_optimizer, d_loss_fn, g_loss_fn, d_steps=1,
              adversarial_weight=0.05, **kwargs):
    super().compile(d_optimizer, g_optimizer, d_loss_fn, g_loss_fn, d_steps, **kwargs)
    self.adversarial_weight = adversarial_weight

  def _sample(self, data, copies, offset, training):
    """copies x B samples [copies, B, A, T, 2], from the batch's noise
    `offset` to `offset + copies`."""
    batch = tf.shape(data["paths"])[0]
    tile = lambda x: tf.tile(x, [copies] + [1] * (len(x.shape) - 1))
    noise = tf.transpose(data["noise"][:, offset:offset + copies], (1, 0, 2, 3))
    noise = tf.reshape(noise, tf.concat([[copies * batch], self.noise_shape], 0))
    out = self.generator({"paths": tile(data["paths"]), "known": tile(data["known"]),
                          "team": tile(data["team"]), "noise": noise}, training=training)
    return tf.reshape(tf.cast(out, tf.float32),
                      tf.concat([[copies, batch], tf.shape(data["paths"])[1:]], 0))

  def generate(self, data, training):
    return self._sample(data, 1, self.num_samples, training)[0]

  def _present(self, data):
    return tf.cast(tf.reduce_max(data["known"], -1) > 0.5, tf.float32)     # [B, A]

  def _logits(self, paths, data):
    inputs = {"paths": paths, "known": data["known"], "team": data["team"]}
    agent = tf.cast(self.discriminator(inputs, training=True), tf.float32)
    group = tf.cast(self.group_discriminator(inputs, training=True), tf.float32)
    return agent, group

  def _per_agent(self, loss_fn, data, *logits):
    """A loss over agent logits [B, A]: each agent an example, averaged over
    the present agents of each scene -> [B]."""
    flat = [tf.reshape(x, [-1, 1]) for x in logits]
    per_agent = tf.reshape(loss_fn(*flat), tf.shape(logits[0]))
    return _masked_mean(per_agent, self._present(data), 1)

  def discriminator_loss(self, data, fake):
    real_a, real_g = self._logits(data["paths"], data)
    fake_a, fake_g = self._logits(fake, data)
    agent = self._per_agent(self.d_loss_fn, data, real_a, fake_a)
    group = self.d_loss_fn(real_g, fake_g)
    return loop.average_loss(agent + group), {"d_agent_loss": agent, "d_group_loss": group}

  def generator_loss(self, data):
    samples = self._sample(data, self.num_samples, 0, training=True)     # [K, B, A, T, 2]
    unknown = (1.0 - data["known"]) * self._present(data)[..., None]  # [B, A, T]
    # Known frames are exact (zero distance): keep the root's gradient finite.
    dist = tf.sqrt(tf.reduce_sum(tf.square(samples - data["paths"][None]), -1) + 1e-12)
    joint = tf.reduce_min(_masked_mean(dist, unknown[None], (2, 3)), axis=0)          # [B]
    per_agent = tf.reduce_min(_masked_mean(dist, unknown[None], 3), axis=0)         # [B, A]
    has_unknown = tf.cast(tf.reduce_max(unknown, -1) > 0, tf.float32)
    w = self.agent_variety_weight
    variety = (1 - w) * joint + w * _masked_mean(per_agent, has_unknown, 1)
    per_example = variety
    g_adv = tf.zeros_like(variety)
    if self.train_discriminator:
      fake_a, fake_g = self._logits(samples[0], data)
      g_adv = self._per_agent(self.g_loss_fn, data, fake_a) + self.g_loss_fn(fake_g)
      per_example += self.adversarial_weight * g_adv
    return loop.average_loss(per_example), {"variety_loss": variety, "g_adv_loss": g_adv}

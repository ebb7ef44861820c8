"""The base GAN: a `keras.Model` with a custom `train_step`, after keras-io's
WGAN-GP example, that every job's GAN subclasses.

    gan = VideoSRGAN(generator, discriminator)
    gan.compile(d_optimizer, g_optimizer, d_loss_fn, g_loss_fn, d_steps=1)
    gan.build_optimizers()          # inside strategy.scope()
    gan.fit(dataset)

A subclass says what its networks compute; the base owns the step:

  generate(data, training)            fakes for a batch
  discriminator_loss(data, fake)      (scalar loss, {metric: per-example})
  generator_loss(data)                (scalar loss, {metric: per-example})

Each of the `d_steps` discriminator updates calls `generate` again: fresh
fakes only where `generate` draws its own noise (the semi-supervised GAN);
the SR generator has none, and the forecast and augmentation GANs take
theirs from the batch (so a resumed run and 2 replicas see the same noise),
so their extra updates see the same fakes. Losses are averaged over the
global batch (`loop.average_loss`), so N replicas step as one; optimizers
wrapped for loss scaling (mixed_float16) scale and unscale.
"""

import keras
import tensorflow as tf

from tfsports.gan import losses as losses_lib
from tfsports.training import loop


class GAN(keras.Model):
  """Generator, discriminator(s), two optimizers and the losses.

  `METRICS` names the values the subclass logs; each is a running mean.
  """
  METRICS = ("d_loss", "g_loss")

  def __init__(self, generator, discriminator, **kwargs):
    super().__init__(**kwargs)
    self.generator = generator
    self.discriminator = discriminator
    self.train_discriminator = True

  def compile(self, d_optimizer, g_optimizer, d_loss_fn=None, g_loss_fn=None,
              d_steps=1, **kwargs):
    super().compile(**kwargs)
    self.d_optimizer = d_optimizer
    self.g_optimizer = g_optimizer
    self.d_loss_fn = d_loss_fn
    self.g_loss_fn = g_loss_fn
    self.d_steps = d_steps
    self.trackers = {n: keras.metrics.Mean(name=n) for n in self.METRICS}

  @property
  def metrics(self):
    return list(self.trackers.values())

  @property
  def generator_variables(self):
    return self.generator.trainable_variables

  @property
  def discriminator_variables(self):
    return self.discriminator.trainable_variables

  def build_optimizers(self):
    """Creates the optimizer slots now, inside the current strategy scope: a
    multi-replica custom train_step cannot create them lazily."""
    self.d_optimizer.build(self.discriminator_variables)
    self.g_optimizer.build(self.generator_variables)
    # The networks are built functional models; this stops `fit` from
    # tracing `call` on a batch whose structure only train_step knows.
    self.built = True

  def compile_from_config(self, config, d_beta_1, g_beta_1, **kwargs):
    """compile() from a recipe config's d_learning_rate, g_learning_rate,
    ema_momentum and gan_loss (a `losses.ADVERSARIAL` name): Adam for both
    networks, the generator's with the moving average that evaluation and
    export use; then builds the optimizers (call inside the strategy scope).
    `kwargs` go to the subclass's compile."""
    d_loss_fn, g_loss_fn = losses_lib.ADVERSARIAL[config.gan_loss]
    self.compile(
        d_optimizer=loop.make_optimizer(config.d_learning_rate, beta_1=d_beta_1),
        g_optimizer=loop.make_optimizer(config.g_learning_rate, beta_1=g_beta_1, use_ema=True,
                                        ema_momentum=config.ema_momentum),
        d_loss_fn=d_loss_fn, g_loss_fn=g_loss_fn, **kwargs)
    self.build_optimizers()
    return self

  def run_directory(self, run_dir, max_to_keep=3, **discriminators):
    """The run directory's checkpoints of the generator, the named
    discriminators (their names are the checkpoint keys) and both
    optimizers."""
    return loop.RunDirectory(run_dir, max_to_keep, generator=self.generator,
                             g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
                             **discriminators)

  def generate(self, data, training):
    raise NotImplementedError

  def discriminator_loss(self, data, fake):
    raise NotImplementedError

  def generator_loss(self, data):
    raise NotImplementedError

  @staticmethod
  def _descend(optimizer, loss_fn, variables):
    with tf.GradientTape() as tape:
      loss, logs = loss_fn()
      scaled = optimizer.scale_loss(loss)
    optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
    return loss, logs

  def train_step(self, data):
    d_logs = {}
    if self.train_discriminator:
      for _ in range(self.d_steps):
        fake = tf.stop_gradient(self.generate(data, training=True))
        d_loss, d_logs = self._descend(
            self.d_optimizer, lambda: self.discriminator_loss(data, fake),
            self.discriminator_variables)
      d_logs = dict(d_logs, d_loss=d_loss)
    g_loss, g_logs = self._descend(self.g_optimizer, lambda: self.generator_loss(data),
                                   self.generator_variables)
    for name, value in {**d_logs, "g_loss": g_loss, **g_logs}.items():
      if name in self.trackers:
        self.trackers[name].update_state(value)
    return {n: m.result() for n, m in self.trackers.items()}

  def ema_generator(self):
    """A copy of the generator holding the generator optimizer's moving
    averages (or its weights, without EMA), for evaluation and export."""
    ema = keras.models.clone_model(self.generator)
    ema.set_weights(self.generator.get_weights())
    opt = loop.inner_optimizer(self.g_optimizer)
    if opt.use_ema and int(opt.iterations.numpy()) > 0:
      live = [v.numpy() for v in self.generator.trainable_variables]
      # The public way to read the averages: write them into the variables,
      # copy them out, then put the training weights back.
      opt.finalize_variable_values(self.generator.trainable_variables)
      ema.set_weights(self.generator.get_weights())
      for var, value in zip(self.generator.trainable_variables, live):
        var.assign(value)
    return ema

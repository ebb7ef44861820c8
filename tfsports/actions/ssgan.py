"""Semi-supervised GAN classifier (Salimans et al. 2016, "Improved
techniques for training GANs"): the discriminator is the video classifier
with K+1 outputs (K actions and "generated"); a class-conditional video
generator trains against it with feature matching.

Discriminator losses, per example:
  labelled:   cross-entropy over the K real classes
  unlabelled: -log D(x),        D(x) = 1 - p(generated | x)
  generated:  -log p(generated | G(z))
Generator loss: || mean f(real) - mean f(G(z)) ||^2 on the discriminator's
head features.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from tfsports.gan import losses as losses_lib
from tfsports.data import synthetic
from tfsports.actions import model as classifier_models
from tfsports.models import video_generator as video_gan
from tfsports.training import loop
from tfsports.gan import model as gan_lib
from tfsports import config as config_lib
from tfsports.serving import exports as exports_lib
from tfsports.training import job as job_lib
from tfsports.data import real as real_data


def ssgan_d_losses(logits_labelled, labels, logits_unlabelled, logits_fake, num_classes):
  """Per-example (supervised [B], unsupervised [B]) discriminator losses from
  K+1 logits (the last is "generated")."""
  supervised = tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels, logits_labelled[:, :num_classes])
  lse_real = tf.reduce_logsumexp(logits_unlabelled[:, :num_classes], -1)
  lse_all = tf.reduce_logsumexp(logits_unlabelled, -1)
  unsup_real = -(lse_real - lse_all)                       # -log D(x)
  unsup_fake = tf.reduce_logsumexp(logits_fake, -1) - logits_fake[:, num_classes]
  return supervised, unsup_real + unsup_fake


class SemiSupervisedGAN(gan_lib.GAN):
  """Batches are ((labelled [B, T, H, W, 3] float [0, 1], labels int32 [B]),
  unlabelled [B, T, H, W, 3]). The discriminator maps a float clip to
  [logits over K+1, head features]."""
  METRICS = ("d_supervised", "d_unsupervised", "g_feature_matching", "accuracy")

  def __init__(self, generator, discriminator, num_classes, latent_dim, **kwargs):
    super().__init__(generator, discriminator, **kwargs)
    self.num_classes = num_classes
    self.latent_dim = latent_dim

  def call(self, frames, training=False):
    return self.discriminator(frames, training=training)[0]

  def compile(self, d_optimizer, g_optimizer, unsupervised_weight=1.0, **kwargs):
    super().compile(d_optimizer, g_optimizer, **kwargs)
    self.unsupervised_weight = unsupervised_weight

  def generate(self, data, training, stream=0):
    """Class-conditional fakes; each optimizer step draws new ones. The
    noise is drawn for the global batch and each replica takes its slice,
    so N replicas see the fakes one replica would."""
    local = tf.shape(data[1])[0]
    ctx = tf.distribute.get_replica_context()
    replica, replicas = (ctx.replica_id_in_sync_group, ctx.num_replicas_in_sync) \
        if ctx else (0, 1)
    step = tf.cast(loop.inner_optimizer(self.d_optimizer).iterations, tf.int32)
    seed = tf.stack([step, stream])
    total = local * replicas
    z = tf.random.stateless_normal([total, self.latent_dim], seed)
    labels = tf.random.stateless_uniform([total], seed + 1, 0, self.num_classes, tf.int32)
    begin = local * tf.cast(replica, tf.int32)
    return self.generator([z[begin:begin + local], labels[begin:begin + local]],
                          training=training)

  def discriminator_loss(self, data, fake):
    (labelled, labels), unlabelled = data
    logits_l, _ = self.discriminator(labelled, training=True)
    logits_u, _ = self.discriminator(unlabelled, training=True)
    logits_f, _ = self.discriminator(fake, training=True)
    supervised, unsupervised = ssgan_d_losses(logits_l, labels, logits_u, logits_f,
                                              self.num_classes)
    loss = (loop.average_loss(supervised) +
            self.unsupervised_weight * loop.average_loss(unsupervised))
    hits = tf.equal(tf.argmax(logits_l[:, :self.num_classes], -1, output_type=tf.int32),
                    labels)
    return loss, {"d_supervised": supervised, "d_unsupervised": unsupervised,
                  "accuracy": tf.cast(hits, tf.float32)}

  def generator_loss(self, data):
    fake = self.generate(data, training=True, stream=1)
    _, feats_fake = self.discriminator(fake, training=True)
    _, feats_real = self.discriminator(data[1], training=True)
    # Feature matching compares means over the global batch, so N replicas
    # match the features one replica would.
    fm = losses_lib.feature_matching_loss(
        tf.stop_gradient(_global_mean(feats_real))[None], _global_mean(feats_fake)[None])
    per_example = tf.fill([tf.shape(feats_fake)[0]], fm[0])
    return loop.average_loss(per_example), {"g_feature_matching": per_example}


def _global_mean(x):
  """Mean of x [B, D] over the batch of every replica: [D]."""
  total = tf.reduce_sum(tf.cast(x, tf.float32), 0)
  count = tf.cast(tf.shape(x)[0], tf.float32)
  ctx = tf.distribute.get_replica_context()
  if ctx is not None and ctx.num_replicas_in_sync > 1:
    total = ctx.all_reduce(tf.distribute.ReduceOp.SUM, total)
    count = ctx.all_reduce(tf.distribute.ReduceOp.SUM, count)
  return total / count


@dataclasses.dataclass(frozen=True)
class LabelEfficiencyConfig(config_lib.Config):
  """The label-efficiency experiment: a pool of training clips of which
  `labels_per_class` per class keep their labels, and held-back test clips."""
  data: str = "synthetic"
  eval_fraction: float = 0.25
  classifier_preset: str = "tiny"
  generator_preset: str = "small"
  num_frames: int = 8
  image_size: tuple = (32, 32)
  fps: float = 5.0
  num_train_clips: int = 500
  num_test_clips: int = 250
  labels_per_class: tuple = (5, 10, 25, 0)         # 0 = all labelled
  seeds: tuple = (0, 1, 2)
  train_steps: int = 250
  batch_size: int = 16
  learning_rate: float = 2e-3



EXPERIMENT_PRESETS = {
    "default": LabelEfficiencyConfig(),
    # The real basketball clips (or any class-per-folder set): 7-frame
    # portrait clips, held back by file.
    "footage": LabelEfficiencyConfig(data=real_data.path("actions", "basketball_jennycs"),
                                     num_frames=8, image_size=(48, 32), fps=24.0,
                                     labels_per_class=(5, 10, 0), train_steps=400),
    "test": LabelEfficiencyConfig(classifier_preset="test", generator_preset="test",
                                  num_frames=4, image_size=(16, 16),
                                  num_train_clips=20, num_test_clips=10,
                                  labels_per_class=(2,), seeds=(0,), train_steps=3,
                                  batch_size=4),
}
config_lib.register_presets(LabelEfficiencyConfig, EXPERIMENT_PRESETS)


def _classifier_config(config, num_classes):
  base = classifier_models.ClassifierConfig.from_preset(config.classifier_preset)
  return dataclasses.replace(base, num_frames=config.num_frames,
                             image_size=tuple(config.image_size), num_classes=num_classes)


def render_pool(config, seed, count, start):
  scene = synthetic.SceneConfig.from_preset("action", image_size=tuple(config.image_size),
                                       num_frames=config.num_frames, fps=config.fps)
  clips = [synthetic.render_clip(scene, seed=seed, index=start + k) for k in range(count)]
  return (np.stack([c["frames"] for c in clips]),
          np.array([int(c["label"]) for c in clips], np.int32))


def load_pools(config):
  """(train frames, train labels, test frames, test labels, class names):
  uint8 [N, T, H, W, 3] and int32 [N]. Synthetic: two renderer seeds. A
  class-per-folder directory: a file-level split (`sources.split_by_file`),
  one centred window per file."""
  if config.data in ("synthetic", "", None):
    train_x, train_y = render_pool(config, seed=100, count=config.num_train_clips, start=0)
    test_x, test_y = render_pool(config, seed=200, count=config.num_test_clips, start=0)
    return train_x, train_y, test_x, test_y, tuple(synthetic.ACTION_CLASSES)
  from tfsports.data import sources
  paths, labels, names = sources.list_videos(config.data)
  train, held = sources.split_by_file(paths, labels, config.eval_fraction)

  def pool(indices):
    clips = []
    for i in indices:
      frames = sources.load_clip(paths[i], config.fps, config.image_size)
      windows = sources.clip_windows(frames, config.num_frames)
      clips.append(windows[len(windows) // 2])
    return np.stack(clips), np.array([labels[i] for i in indices], np.int32)

  return (*pool(train), *pool(held), tuple(names))


def choose_labelled(labels, per_class, rng, num_classes):
  if not per_class:
    return np.arange(len(labels))
  picks = [rng.choice(np.nonzero(labels == k)[0], min(per_class, int((labels == k).sum())),
                      replace=False) for k in range(num_classes)]
  return np.concatenate(picks)


def _repeat_batches(x, y, batch, seed):
  ds = tf.data.Dataset.from_tensor_slices((x, y)) if y is not None else \
      tf.data.Dataset.from_tensor_slices(x)
  return ds.repeat().shuffle(max(len(x), 1), seed=seed).batch(batch, drop_remainder=True)


def train_supervised(config, frames, labels, num_classes, seed):
  keras.utils.set_random_seed(seed)
  cconfig = _classifier_config(config, num_classes)
  model, _ = classifier_models.build_classifier(cconfig, float_input=True)
  model.compile(keras.optimizers.Adam(config.learning_rate),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  ds = _repeat_batches(frames.astype(np.float32) / 255.0, labels,
                       min(config.batch_size, len(labels)), seed)
  model.fit(ds, steps_per_epoch=config.train_steps, epochs=1, verbose=0)
  return model


def build_ssgan(config, num_classes, seed):
  keras.utils.set_random_seed(seed)
  cconfig = _classifier_config(config, num_classes)
  parts = classifier_models.ClassifierLayers(cconfig, num_outputs=num_classes + 1,
                                             name="discriminator")
  discriminator = classifier_models.clip_model(parts, float_input=True, with_features=True)
  gconfig = video_gan.VideoGeneratorConfig(
      num_classes=num_classes, num_frames=config.num_frames,
      image_size=tuple(config.image_size),
      filters=video_gan.VideoGeneratorConfig.from_preset(config.generator_preset).filters)
  gan = SemiSupervisedGAN(video_gan.build_video_generator(gconfig), discriminator,
                          num_classes, gconfig.latent_dim)
  gan.compile(d_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=0.5),
              g_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=0.5))
  gan.build_optimizers()
  return gan, parts


def train_ssgan(config, labelled, labels, unlabelled, num_classes, seed):
  gan, parts = build_ssgan(config, num_classes, seed)
  batch = config.batch_size
  lab = _repeat_batches(labelled.astype(np.float32) / 255.0, labels,
                        min(batch, len(labels)), seed)
  unl = _repeat_batches(unlabelled.astype(np.float32) / 255.0, None, batch, seed + 1)
  # Labelled and unlabelled batches may differ in size; pad the labelled
  # stream up by repetition so both are `batch`.
  if len(labels) < batch:
    lab = lab.unbatch().batch(batch, drop_remainder=True)
  gan.fit(tf.data.Dataset.zip((lab, unl)), steps_per_epoch=config.train_steps, epochs=1,
          verbose=0)
  return gan, parts


def top1(model_fn, frames, labels, num_classes):
  logits = model_fn(frames.astype(np.float32) / 255.0)
  return float(np.mean(np.argmax(logits[:, :num_classes], -1) == labels))


def label_efficiency(config, log=print):
  """Runs the experiment; returns rows of (labels_per_class, seed, method, top1)."""
  train_x, train_y, test_x, test_y, names = load_pools(config)
  num_classes = len(names)
  rows = []
  for per_class in config.labels_per_class:
    for seed in config.seeds:
      rng = np.random.default_rng(seed)
      idx = choose_labelled(train_y, per_class, rng, num_classes)
      sup = train_supervised(config, train_x[idx], train_y[idx], num_classes, seed)
      acc_sup = top1(lambda x: sup.predict(x, batch_size=32, verbose=0), test_x, test_y,
                     num_classes)
      gan, _ = train_ssgan(config, train_x[idx], train_y[idx], train_x, num_classes, seed)
      acc_gan = top1(lambda x: gan.discriminator.predict(x, batch_size=32, verbose=0)[0],
                     test_x, test_y, num_classes)
      rows.append((per_class, seed, "supervised", acc_sup))
      rows.append((per_class, seed, "ssgan", acc_gan))
      log(f"labels/class={per_class or 'all'} seed={seed}: supervised {acc_sup:.3f} "
          f"ssgan {acc_gan:.3f}")
  return rows


def summarise(rows):
  """Markdown table: mean top-1 over seeds per labels-per-class setting."""
  settings = sorted({r[0] for r in rows}, key=lambda v: v or 10**9)
  lines = ["| labels per class | supervised top-1 | SSGAN top-1 | SSGAN - supervised |",
           "|---:|---:|---:|---:|"]
  for s in settings:
    sup = np.mean([r[3] for r in rows if r[0] == s and r[2] == "supervised"])
    gan = np.mean([r[3] for r in rows if r[0] == s and r[2] == "ssgan"])
    lines.append(f"| {s or 'all'} | {100 * sup:.1f} | {100 * gan:.1f} | {100 * (gan - sup):+.1f} |")
  return "\n".join(lines)


def train_and_export(config, labels_per_class, run_dir, seed=0):
  """Trains the semi-supervised GAN on the experiment's pool with
  `labels_per_class` labels (0 = all), evaluates its discriminator on the
  held-back clips and exports it like the classifier (its K+1th class is
  "generated"). Returns the report."""
  import json
  import os
  from tfsports.actions import export as classifier_export
  # A fresh run each time (no checkpoints): the config is recorded, not checked.
  os.makedirs(run_dir, exist_ok=True)
  with open(config_lib.config_path(run_dir), "w") as f:
    json.dump(dict(config.to_dict(), labels_per_class=labels_per_class, seed=seed), f,
              indent=2)
  train_x, train_y, test_x, test_y, names = load_pools(config)
  num_classes = len(names)
  idx = choose_labelled(train_y, labels_per_class, np.random.default_rng(seed), num_classes)
  gan, parts = train_ssgan(config, train_x[idx], train_y[idx], train_x, num_classes, seed)
  acc = top1(lambda x: gan.discriminator.predict(x, batch_size=32, verbose=0)[0],
             test_x, test_y, num_classes)
  with exports_lib.AtomicExport(os.path.join(run_dir, "export")) as staging:
    exports = classifier_export.export_classifier.__wrapped__(
        classifier_models.clip_model(parts), parts, staging.path,
        tuple(names) + ("generated",), config.fps, representative=test_x[:4])
    report = staging.final({"labels_per_class": labels_per_class,
                            "num_labelled": int(len(idx)), "top1": acc, "exports": exports})
    exports_lib.write_report(staging.path, report)
  return report


def _train_job(config, labels_per_class=10, run_dir="runs/ssgan", seed=0):
  return train_and_export(config, labels_per_class, run_dir, seed)


def summary(report):
  import json
  return json.dumps(report, indent=2)


JOB = job_lib.JobSpec(
    name="ssgan",
    description="The semi-supervised GAN classifier (the discriminator is a K+1-way video "
                "classifier) trained with few labels; its discriminator is evaluated on "
                "held-back clips and exported like the action classifier.",
    config_class=LabelEfficiencyConfig, train=_train_job, summary=summary,
    extra_flags=(
        job_lib.Flag("labels_per_class", int, 10, "Labelled clips per class (0 = all)."),
        job_lib.Flag("run_dir", str, "runs/ssgan", "Output directory."),
        job_lib.Flag("seed", int, 0, "Seed."),
    ),
    examples=("tfsports train ssgan --labels_per_class=10 --run_dir=runs/ssgan",),
)

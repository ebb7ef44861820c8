"""Trains the class-conditional video GAN on a class-per-folder dataset.

    RUN_DIR/config.json                 the run's resolved AugmentTrainConfig
    RUN_DIR/checkpoints/                resumable state
    RUN_DIR/logs/                       TensorBoard scalars and sample clips
    RUN_DIR/export/...                  see export.py

The GAN trains on the training part of a file-level split of `data`
(`sources.split_by_file`, the classifier's split at the same
`eval_fraction`), so the held-back files stay unseen by the generator and by
any classifier trained on its clips. Clips are decoded at the data's frame
rate and `image_size`, padded to `num_frames` by repeating the last frame,
with the classifier pipeline's crop, mirror and colour jitter.
"""

import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf

from tfsports import config as config_lib
from tfsports.augment import gan as gan_lib
from tfsports.augment import model as model_lib
from tfsports.data import pipelines
from tfsports.data import sources
from tfsports.data import video_io
from tfsports.training import loop
from tfsports.training import job as job_lib
from tfsports.training import run as run_lib
from tfsports.augment import export as export_lib
from tfsports.data import spec
from tfsports.training import registry
from tfsports.data import real as real_data

REAL_ROOT = real_data.REAL_ROOT
BASKETBALL = os.path.join(REAL_ROOT, "actions", "basketball_jennycs")


@dataclasses.dataclass(frozen=True)
class AugmentTrainConfig(config_lib.Config):
  """class_names and fps are resolved from the data at the start of a run."""
  preset: str = "tiny"
  data: str = BASKETBALL
  eval_fraction: float = 0.25
  max_per_class: int = 0               # train on the first N files per class only
  class_names: tuple = ()
  fps: float = 0.0
  run_dir: str = "runs/augment_tiny"
  strategy: str = "default"
  train_steps: int = 3000
  batch_size: int = 8
  # Two time-scales (the critics faster), as DVD-GAN: with equal rates the
  # generator fooled the critics from the first hundred steps and they never
  # recovered (hinge loss stuck at 2 + 2).
  g_learning_rate: float = 1e-4
  d_learning_rate: float = 4e-4
  ema_momentum: float = 0.999
  gan_loss: str = "hinge"
  policy: tuple = ("color", "translation", "cutout")
  checkpoint_every: int = 250
  sample_every: int = 500
  seed: int = 0
  verbose: int = 2
  RESUMABLE_FIELDS = ("train_steps", "verbose", "strategy", "run_dir", "checkpoint_every",
                      "sample_every", "data")

  def model_config(self):
    return model_lib.AugmentGANConfig.from_preset(self.preset,
                                                  num_classes=len(self.class_names))


TRAIN_PRESETS = config_lib.register_presets(AugmentTrainConfig, {
    "tiny": AugmentTrainConfig(),
    "base": AugmentTrainConfig(preset="base", run_dir="runs/augment_base", train_steps=20000,
                               batch_size=32),
    "test": AugmentTrainConfig(preset="test", run_dir="runs/augment_test", train_steps=4,
                               batch_size=4, checkpoint_every=2, sample_every=2),
})


def resolve(config):
  """The class names and frame rate of `data`."""
  paths, _, names = sources.list_videos(config.data)
  if not names:
    raise ValueError(f"{config.data}: no class folders; a class-per-folder dataset is "
                     "DIR/<class name>/<video files>")
  if config.class_names and tuple(config.class_names) != tuple(names):
    raise config_lib.ConfigMismatchError(
        f"the run's classes {list(config.class_names)} are not the data's {list(names)}")
  fps = config.fps
  if not fps:
    rates = []
    for p in paths:
      try:
        rates.append(video_io.probe(p).fps)
      except video_io.VideoReadError:
        pass
    fps = round(float(np.median([r for r in rates if r] or [25.0])), 3)
  return dataclasses.replace(config, class_names=tuple(names), fps=fps)


def split(config):
  """(train, held back) lists of (path, label), split by file."""
  # The classifier's split (and few-labels cut), so both see the same files.
  return spec.folder_split(config.data, config.eval_fraction, config.max_per_class)


def make_dataset(config, begin, strategy):
  """Batches of the step-seeded dicts `gan.VideoAugmentGAN` trains on,
  positioned at step `begin`."""
  m = config.model_config()
  train, _ = split(config)
  paths, labels = zip(*train)

  def build(input_context=None):
    clips = pipelines.labelled_clips(paths, labels, m.num_frames, tuple(m.image_size),
                                     config.fps, seed=config.seed, input_context=input_context)
    batch = (input_context.get_per_replica_batch_size(config.batch_size)
             if input_context else config.batch_size)
    replica = input_context.input_pipeline_id if input_context else 0

    def finish(step, example):
      frames, label = example
      seed = tf.stack([tf.cast(config.seed, tf.int64), step * 8 + replica])
      z = tf.random.stateless_normal([batch, 2, m.latent_dim], seed)
      seeds = tf.random.stateless_uniform([batch, 4, 2], seed + 1, 0, 2**30, tf.int32)
      return {"clips": tf.cast(frames, tf.float32) / 255.0, "labels": label, "z": z,
              "seeds": seeds}

    ds = clips.batch(batch, drop_remainder=True).skip(begin)
    return ds.enumerate(begin).map(finish).prefetch(2)

  return strategy.distribute_datasets_from_function(build)


def build_trainer(config):
  m = config.model_config()
  trainer = gan_lib.VideoAugmentGAN(model_lib.build_generator(m),
                                    model_lib.build_spatial_discriminator(m),
                                    model_lib.build_temporal_discriminator(m),
                                    sampled_frames=m.sampled_frames, policy=config.policy)
  return trainer.compile_from_config(config, d_beta_1=0.0, g_beta_1=0.0)


def run_directory(trainer, run_dir):
  return trainer.run_directory(run_dir, spatial_discriminator=trainer.discriminator,
                               temporal_discriminator=trainer.temporal_discriminator)


class SampleClips(keras.callbacks.Callback):
  """Writes one generated clip per class to TensorBoard (frames side by
  side) every `every` steps, from fixed noise."""

  def __init__(self, log_dir, config, every):
    super().__init__()
    self.writer = tf.summary.create_file_writer(log_dir)
    m = config.model_config()
    self.z = tf.random.stateless_normal([m.num_classes, m.latent_dim], (config.seed, 99))
    self.labels = tf.range(m.num_classes)
    self.every = every

  def on_train_batch_end(self, batch, logs=None):
    step = int(loop.inner_optimizer(self.model.g_optimizer).iterations.numpy())
    if step % self.every:
      return
    clips = self.model.generator([self.z, self.labels], training=False)
    strip = tf.concat(tf.unstack(clips, axis=1), axis=2)       # [K, H, T*W, 3]
    with self.writer.as_default():
      tf.summary.image("one clip per class (frames left to right)", strip, step=step,
                       max_outputs=int(clips.shape[0]))


def build(config, classifier_run=None):
  """The trainer, compiled, with its run directory; parts: the real-only
  classifier run the evaluation uses (None: trained after the GAN)."""
  trainer = build_trainer(config)
  return run_lib.Trained(trainer, run_directory(trainer, config.run_dir),
                         loop.inner_optimizer(trainer.g_optimizer).iterations, config,
                         parts=classifier_run)


def fit(trained, strategy):
  config = trained.config
  logs = os.path.join(config.run_dir, "logs")
  callbacks = [keras.callbacks.TensorBoard(logs, update_freq=max(1, config.checkpoint_every // 5),
                                           write_graph=False),
               SampleClips(logs, config, config.sample_every)]
  steps = loop.fit_resumable(trained.model, trained.run, trained.step,
                             lambda begin: make_dataset(config, begin, strategy),
                             config.train_steps, config.checkpoint_every, config.verbose,
                             callbacks)
  return {"steps": steps}


def train(config, classifier_run=None):
  """Trains (or resumes) in config.run_dir; returns the `run.Trained`
  (its config resolved)."""
  return run_lib.train(RECIPE, config, classifier_run=classifier_run)


# ---- evaluation and export -----------------------------------------------

def _fit_clip(clip, num_frames, image_size):
  """uint8 [T, h, w, 3] -> [num_frames, H, W, 3]: resized, padded by
  repeating the last frame (as the classifier pads), or cut."""
  import cv2
  h, w = image_size
  frames = [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in clip]
  frames += [frames[-1]] * (num_frames - len(frames))
  return np.stack(frames[:num_frames])


def real_clips(items, fps, image_size, num_frames):
  """The first window of each (path, label): uint8 [N, T, H, W, 3], labels."""
  clips, labels = [], []
  for path, label in items:
    try:
      frames = sources.load_clip(path, fps, image_size)
    except video_io.VideoReadError:
      continue
    clips.append(sources.clip_windows(frames, num_frames)[0])
    labels.append(label)
  return np.stack(clips), np.array(labels)


def evaluate(runner, config, classifier_run, seed=10_000):
  """Fréchet distance and KID in the real-only classifier's features, with
  the real-vs-real floor, and conditioning accuracy.

  Reference set: the held-back real clips. Generated: as many clips per
  class as the real training part has, against the same reference; the
  floor is the real training part itself. Conditioning accuracy: the
  classifier's top-1 on generated clips against the class asked for,
  beside its top-1 on the held-back real clips."""
  from tfsports.actions import model as classifier_models
  from tfsports.metrics import distribution
  c_config, _, parts, _ = registry.get("actions").load_run(classifier_run)
  if tuple(c_config.class_names) != tuple(config.class_names):
    raise ValueError(f"{classifier_run}: classes {list(c_config.class_names)} are not the "
                     f"GAN's {list(config.class_names)}")
  features = classifier_models.clip_model(parts, with_features=True)
  size, frames = tuple(c_config.image_size), c_config.num_frames
  train, held = split(config)
  real_train, train_labels = real_clips(train, c_config.fps, size, frames)
  real_held, held_labels = real_clips(held, c_config.fps, size, frames)
  gen_labels = np.sort(train_labels)
  generated = runner.generate(gen_labels, seed + np.arange(len(gen_labels)))
  generated = np.stack([_fit_clip(c[:runner.clip_frames], frames, size) for c in generated])

  def feats(clips):
    logits, f = features.predict(clips, batch_size=16, verbose=0)
    return np.asarray(logits), np.asarray(f)

  (_, ft), (lh, fh), (lg, fg) = feats(real_train), feats(real_held), feats(generated)
  kid_g, kid_g_sd = distribution.kernel_distance(fg, fh)
  kid_r, kid_r_sd = distribution.kernel_distance(ft, fh)
  return {
      "classifier": classifier_run, "reference_clips": len(fh), "generated_clips": len(fg),
      "real_train_clips": len(ft),
      "frechet_generated_vs_held": distribution.frechet_distance(fg, fh),
      "frechet_real_train_vs_held": distribution.frechet_distance(ft, fh),
      "kid_generated_vs_held": kid_g, "kid_generated_vs_held_sd": kid_g_sd,
      "kid_real_train_vs_held": kid_r, "kid_real_train_vs_held_sd": kid_r_sd,
      "conditioning_accuracy": float(np.mean(lg.argmax(-1) == gen_labels)),
      "classifier_top1_held_back_real": float(np.mean(lh.argmax(-1) == held_labels)),
      "chance": 1.0 / len(config.class_names),
  }


def check_export(exports, num=3):
  """Max |difference| (uint8 levels) between SavedModel and TFLite clips."""
  a = export_lib.GeneratorRunner(exports["saved_model"])
  b = export_lib.GeneratorRunner(exports["tflite_float32"])
  ids, seeds = np.arange(num) % len(a.class_names), np.arange(num) + 7
  return {"saved_model_vs_tflite_max_abs": int(np.abs(
      a.generate(ids, seeds).astype(int) - b.generate(ids, seeds).astype(int)).max())}


def write_grids(runner, config, out_dir, per_class=8):
  """out_dir/<class>_generated.gif and <class>_real.gif (training clips)."""
  from tfsports.augment import command
  m = config.model_config()
  train, _ = split(config)
  os.makedirs(out_dir, exist_ok=True)
  for k, name in enumerate(config.class_names):
    real, _ = real_clips([t for t in train if t[1] == k][:per_class], config.fps,
                         tuple(m.image_size), m.num_frames)
    gen = runner.generate(np.full(per_class, k), np.arange(per_class))
    for what, clips in (("real", real[:, :runner.clip_frames]),
                        ("generated", gen[:, :runner.clip_frames])):
      video_io.write_gif(os.path.join(out_dir, f"{name}_{what}.gif"),
                         command.grid(clips, per_class), fps=min(config.fps, 12))


def clip_length(config):
  """The dataset's clip length: the median frame count of its training files."""
  train, _ = split(config)
  counts = []
  for path, _ in train[:40]:
    try:
      counts.append(video_io.probe(path).num_frames)
    except video_io.VideoReadError:
      pass
  m = config.model_config()
  return int(min(np.median(counts) if counts else m.num_frames, m.num_frames))


def export(trained, export_dir, report):
  """SavedModel, TFLite and the Keras generator; then, through the
  SavedModel, the quality in a real-only classifier's features (that
  classifier is trained into RUN_DIR/classifier when the run was given
  none) and the sample grids."""
  config = trained.config
  exports = export_lib.export.__wrapped__(trained.model.ema_generator(), config, export_dir,
                                          clip_length(config))
  classifier_run = trained.parts
  if not classifier_run:
    classifier_run = os.path.join(config.run_dir, "classifier")
    classifier = registry.get("actions")
    classifier.train(classifier.config_class.from_preset(
        "footage", data=config.data, eval_fraction=config.eval_fraction, fps=config.fps,
        run_dir=classifier_run, seed=config.seed, verbose=0, tflite_variants=("float32",)))
  runner = export_lib.GeneratorRunner(exports["saved_model"])
  report["skipped_files"] = spec.skipped_files(config.data)
  report["export_check"] = check_export(exports)
  report["quality"] = evaluate(runner, config, classifier_run)
  write_grids(runner, config, os.path.join(export_dir, "samples"))
  return exports


RECIPE = run_lib.Recipe("augment", build=build, fit=fit, evaluate=lambda trained: {},
                        export=export, resolve=resolve)


def train_augment(config, classifier_run=None):
  """Train (resuming), export, evaluate. classifier_run: a real-only
  action classifier run on the same data (trained here into
  RUN_DIR/classifier if not given). Returns the report."""
  return run_lib.run(RECIPE, config, classifier_run=classifier_run)


def summary(report):
  q = report["quality"]
  return "\n".join([
      f"Fréchet distance (classifier features) generated vs held-back real: "
      f"{q['frechet_generated_vs_held']:.2f} (real train vs held-back, the floor: "
      f"{q['frechet_real_train_vs_held']:.2f})",
      f"KID: {q['kid_generated_vs_held']:.4f} +- {q['kid_generated_vs_held_sd']:.4f} "
      f"(floor {q['kid_real_train_vs_held']:.4f} +- {q['kid_real_train_vs_held_sd']:.4f})",
      f"conditioning accuracy: {q['conditioning_accuracy']:.3f} (the real-only classifier's "
      f"top-1 on held-back real clips: {q['classifier_top1_held_back_real']:.3f}; chance "
      f"{q['chance']:.3f})",
      f"SavedModel vs TFLite: {report['export_check']}",
      *(f"{k}: {v}" for k, v in report["exports"].items())])


def _train_job(config, classifier=None):
  return train_augment(config, classifier)


JOB = job_lib.JobSpec(
    name="augment",
    description="The class-conditional video GAN on a class-per-folder dataset (the training "
                "part of its file-level split); Fréchet/KID and conditioning accuracy in a "
                "real-only classifier's features; exports SavedModel and TFLite.",
    config_class=AugmentTrainConfig, train=_train_job, summary=summary,
    extra_flags=(
        job_lib.Flag("classifier", str, None, "A real-only action classifier run on the same "
                     "data, for the Fréchet/KID features and the conditioning accuracy; "
                     "trained into RUN_DIR/classifier if not given."),),
    field_help={"data": "Class-per-folder video dataset.",
                "fps": "Frame rate the clips are sampled at (0: the data's).",
                "strategy": "tf.distribute strategy: default, mirrored, multi_worker, tpu."},
    examples=("tfsports train augment --preset=tiny --data=/videos/by_class "
              "--run_dir=runs/augment_tiny",),
)

"""The action-classifier recipe: train, evaluate on held-back files, export.

    RUN_DIR/config.json                        the resolved config (class names, fps)
    RUN_DIR/checkpoints/                       resumable
    RUN_DIR/export/saved_model/classifier/1/   signatures: serving_default
                                               (clip), stream_step, initial_states
    RUN_DIR/export/tflite/stream_{float32,int8}.tflite
    RUN_DIR/export/model_info.json             class names, fps, window
    RUN_DIR/export/eval_report.json            top-1 vs chance and majority,
                                               confusion matrix, TFLite check

`data` is "synthetic" (the renderer's five actions) or a class-per-folder
directory of videos (DIR/<class>/*.mp4, as UCF101): the folder names are the
class names and set `num_classes`. `DIR,generated:GEN_DIR[,generated:...]`
adds generated clips (`tfsports generate`'s class-per-folder output, class
folders matched by name) to the training part only: they are never held
back, and `generated_fraction` sets their share of each batch (0: as many as
their count gives). `max_per_class` keeps the first N real training files of
each class (the few-labels regime); `init_from` starts from another run's
weights (a second, real-only stage after a mixed one). Held-back evaluation uses `eval_data`
(another class-per-folder directory with the same classes) or, without it, a
file-level split of `data` (`sources.split_by_file`): no window of a
held-back file is trained on.

Every clip is sampled at the run's `fps` (0 = 10 fps for synthetic data, the
median frame rate of the files for a folder), and `classify` samples any
video at the rate the model was trained at. A clip shorter than the model's
window (`num_frames`) is padded by repeating its last frame, in training and
at inference alike.
"""

import dataclasses
import os
import typing

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from tfsports import config as config_lib
from tfsports.actions import export as classifier_export
from tfsports.actions import model as classifier_models
from tfsports.actions import pose_stream
from tfsports.data import pose as pose_lib
from tfsports.data import pipelines
from tfsports.data import sources
from tfsports.data import spec
from tfsports.data import synthetic
from tfsports.data import video_io
from tfsports.training import loop
from tfsports.metrics import classification
from tfsports.serving import exports as exports_lib
from tfsports.training import job as job_lib
from tfsports.training import run as run_lib

SYNTHETIC_FPS = 10.0


@dataclasses.dataclass(frozen=True)
class ClassifierTrainConfig(config_lib.Config):
  """One training run. Zero / empty fields are resolved from the data when
  the run starts (`resolve`) and written resolved to RUN_DIR/config.json.

  preset: the model preset (`ClassifierConfig`); num_frames and image_size
    (height, width) override its window and frame size.
  cameras: the synthetic scenes' cameras, mixed evenly.
  streams: "pixels", or "both": a pose stream (BlazePose keypoints,
    `actions.pose_stream`) is trained beside the pixels on the same files
    and windows, for `pose_train_steps`, and the two are fused by a
    weighted sum of their logits (a weighted product of the two streams'
    class probabilities).
  fusion_fraction: with streams="both", this share of each class's
    training files (its latest, as the held-back split) is kept out of both
    streams' training, and the two fusion weights are fitted on it
    (`fit_fusion_weights`). 0: the weights are 1 and 1, and every training
    file trains the streams.
  pose_mode: "crop" (player-centred clips: the landmark model on the whole
    frame) or "frame" (full frames: BlazePose's detector finds the person).
  """
  preset: str = "tiny"
  data: str = "synthetic"
  eval_data: str = ""
  eval_fraction: float = 0.25
  generated_fraction: float = 0.0
  max_per_class: int = 0
  init_from: str = ""
  class_names: tuple = ()
  fps: float = 0.0
  num_frames: int = 0
  image_size: tuple = ()
  cameras: tuple = ("close",)
  stabilize: bool = False
  denoise: bool = False
  run_dir: str = "runs/classifier_tiny"
  train_steps: int = 1500
  batch_size: int = 16
  learning_rate: float = 2e-3
  weight_decay: float = 0.0
  dropout: float = -1.0
  checkpoint_every: int = 100
  keep_checkpoints: int = 3
  strategy: str = "default"
  seed: int = 0
  streams: str = "pixels"
  pose_mode: str = "crop"
  pose_preset: str = "tiny"
  pose_train_steps: int = 1500
  pose_learning_rate: float = 1e-3
  fusion_fraction: float = 0.0
  eval_clips: int = 200
  tflite_variants: tuple = ("float32", "int8")
  verbose: int = 1

  RESUMABLE_FIELDS = ("train_steps", "pose_train_steps", "verbose", "strategy", "run_dir", "checkpoint_every",
                      "keep_checkpoints", "tflite_variants", "eval_data", "eval_clips")


TRAIN_PRESETS = {
    # Synthetic actions seen through every camera at the writer's 16:9.
    "tiny": ClassifierTrainConfig(image_size=(72, 128),
                                  cameras=("close", "broadcast", "static")),
    "base": ClassifierTrainConfig(preset="base", run_dir="runs/classifier_base",
                                  train_steps=4000),
    # Real class-per-folder footage, a few hundred clips: strong
    # regularisation and many passes over it. The window (num_frames at the
    # data's frame rate) should cover an action: pass --fps/--num_frames.
    "footage": ClassifierTrainConfig(preset="base", run_dir="runs/classifier_footage",
                                     num_frames=8, image_size=(96, 64), train_steps=1500,
                                     weight_decay=0.05, dropout=0.5),
    "test": ClassifierTrainConfig(preset="test", train_steps=4, batch_size=4,
                                  checkpoint_every=2, eval_clips=8, verbose=0,
                                  pose_preset="test", pose_train_steps=4,
                                  tflite_variants=("float32",)),
}
config_lib.register_presets(ClassifierTrainConfig, TRAIN_PRESETS)


def generated_files(config):
  """[(path, label)] of the generated folders, labels by the run's class names."""
  return spec.generated_files(config.data, config.class_names)


def skipped_files(config):
  """[(path, reason)] of the unreadable files left out of the run's data."""
  return spec.skipped_files(config.data)


STREAMS = ("pixels", "both")


def uses_pose(config):
  return config.streams == "both"


def resolve(config):
  """Fills the fields left to the data: class names, fps, window, size."""
  if config.streams not in STREAMS:
    raise ValueError(f"--streams must be one of {', '.join(STREAMS)}; got {config.streams!r}")
  if not 0 <= config.fusion_fraction < 1:
    raise ValueError(f"--fusion_fraction must be in [0, 1); got {config.fusion_fraction}")
  if config.fusion_fraction and not uses_pose(config):
    raise ValueError("--fusion_fraction fits the weights of the two streams: it needs "
                     "--streams=both")
  if uses_pose(config) and (spec.is_synthetic(config.data) or spec.is_tfrecord(config.data)):
    raise ValueError("--streams=both needs a class-per-folder video directory: the pose "
                     "stream runs BlazePose on the files themselves")
  model_config = classifier_models.ClassifierConfig.from_preset(config.preset)
  changes = {}
  if not config.num_frames:
    changes["num_frames"] = model_config.num_frames
  if not config.image_size:
    changes["image_size"] = tuple(model_config.image_size)
  if spec.is_synthetic(config.data):
    names = tuple(synthetic.ACTION_CLASSES)
    fps = SYNTHETIC_FPS
  elif spec.is_tfrecord(config.data):
    # Shards carry label indices and frames, not class names nor a rate.
    if not config.class_names or not config.fps or not config.eval_data:
      raise ValueError("TFRecord training data needs --class_names (in label order), "
                       "--fps (the rate the clips were cut at) and --eval_data "
                       "(a class-per-folder directory)")
    names = tuple(config.class_names)
    fps = config.fps
  else:
    paths, _, names = sources.list_videos(spec.data_parts(config.data)[0])
    if not names:
      raise ValueError(f"{config.data}: no class folders; a class-per-folder dataset "
                       f"is DIR/<class name>/<video files>")
    fps = float(np.median([_fps(p) for p in paths]))
  if config.class_names and tuple(config.class_names) != tuple(names):
    raise config_lib.ConfigMismatchError(
        f"the run's classes {list(config.class_names)} are not the data's {list(names)}")
  changes["class_names"] = tuple(names)
  if not config.fps:
    changes["fps"] = round(fps, 3)
  return dataclasses.replace(config, **changes)


def _fps(path):
  """A file's frame rate; 25 for one that cannot be probed (training skips
  it with a warning)."""
  try:
    return video_io.probe(path).fps or 25.0
  except video_io.VideoReadError:
    return 25.0


def model_config_for(config):
  changes = {"num_classes": len(config.class_names), "num_frames": config.num_frames,
             "image_size": tuple(config.image_size)}
  if config.dropout >= 0:
    changes["dropout"] = config.dropout
  return classifier_models.ClassifierConfig.from_preset(config.preset, **changes)


def scene_config(config, camera):
  """The "action" scene preset at the run's clip size and frame rate."""
  return synthetic.SceneConfig.from_preset(
      "action", image_size=tuple(config.image_size), num_frames=config.num_frames,
      fps=config.fps, camera=camera)


def folder_split(config):
  """(train, eval) lists of (path, label) of a class-per-folder run."""
  return spec.folder_split(config.data, config.eval_fraction, config.max_per_class,
                           config.eval_data, config.class_names)


def training_split(config):
  """(files the streams train on, files the fusion weights are fitted on):
  lists of (path, label) from the training part of `folder_split`."""
  train, _ = folder_split(config)
  if not (config.fusion_fraction and uses_pose(config)):
    return train, []
  paths, labels = zip(*train)
  fit, held = sources.split_by_file(paths, labels, config.fusion_fraction)
  return [train[i] for i in fit], [train[i] for i in held]


def eval_files(config):
  return spec.eval_files(config.eval_data, config.class_names)


def train_dataset(config, input_context=None, skip=0):
  """Batches of (uint8 [B, T, H, W, 3], int32 [B]) for training."""
  if spec.is_tfrecord(config.data):
    clips = pipelines.clip_dataset(config.data, config.num_frames, config.image_size,
                                   seed=config.seed, input_context=input_context,
                                   stabilize=config.stabilize, denoise=config.denoise)
    return pipelines.classification_batches(
        clips, config.batch_size, seed=config.seed, input_context=input_context,
        shuffle_buffer=256).skip(skip)
  if spec.is_synthetic(config.data):
    parts = [pipelines.clip_dataset("synthetic", config.num_frames, config.image_size,
                                    seed=config.seed + 97 * k, input_context=input_context,
                                    scene_config=scene_config(config, camera))
             for k, camera in enumerate(config.cameras)]
    clips = parts[0] if len(parts) == 1 else tf.data.Dataset.sample_from_datasets(
        parts, seed=config.seed)
    ds = pipelines.classification_batches(clips, config.batch_size, seed=config.seed,
                                          input_context=input_context)
    return ds.skip(skip)
  train, _ = training_split(config)
  generated = generated_files(config)
  if config.generated_fraction and generated:
    parts = [pipelines.labelled_clips(*zip(*files), config.num_frames, config.image_size,
                                      config.fps, seed=config.seed + k,
                                      input_context=input_context, stabilize=config.stabilize,
                                      denoise=config.denoise)
             for k, files in enumerate((train, generated))]
    clips = tf.data.Dataset.sample_from_datasets(
        parts, [1 - config.generated_fraction, config.generated_fraction], seed=config.seed)
  else:
    paths, labels = zip(*(train + generated))
    clips = pipelines.labelled_clips(paths, labels, config.num_frames, config.image_size,
                                     config.fps, seed=config.seed, input_context=input_context,
                                     stabilize=config.stabilize, denoise=config.denoise)
  batch = input_context.get_per_replica_batch_size(config.batch_size) \
      if input_context else config.batch_size
  return clips.batch(batch, drop_remainder=True).skip(skip).prefetch(tf.data.AUTOTUNE)


def eval_set(config):
  """Held-back clips: (list of windows uint8 [N_i, T, H, W, 3], labels, names).

  Synthetic: clips of a seed training never uses, one window each. A
  folder: every held-back file, cut into windows as `classify` cuts it.
  """
  if spec.is_synthetic(config.data) and not config.eval_data:
    n = config.eval_clips
    cams = config.cameras
    clips = [synthetic.render_clip(scene_config(config, cams[k % len(cams)]),
                                   seed=config.seed + 10_000, index=k) for k in range(n)]
    return ([c["frames"][None] for c in clips], np.array([int(c["label"]) for c in clips]),
            [f"synthetic_{k}" for k in range(n)])
  if config.eval_data:
    held = eval_files(config)
  else:
    held = folder_split(config)[1]
  return clip_set(config, held, config.eval_data or spec.data_parts(config.data)[0])


def clip_set(config, files, root):
  """Every file of `files` ((path, label)) cut into windows as `classify`
  cuts it: (list of uint8 [N_i, T, H, W, 3], labels int64, paths relative
  to `root`); unreadable files are left out with a warning."""
  windows, labels, names = [], [], []
  for path, label in files:
    try:
      frames = sources.load_clip(path, config.fps, config.image_size, config.stabilize,
                                 config.denoise)
    except video_io.VideoReadError as e:
      logging.warning("held-back file left out: %s", e)
      continue
    windows.append(sources.clip_windows(frames, config.num_frames))
    labels.append(label)
    names.append(os.path.relpath(path, root))
  return windows, np.array(labels, np.int64), names


def pose_config_for(config):
  return pose_stream.PoseStreamConfig.from_preset(
      config.pose_preset, num_classes=len(config.class_names), num_frames=config.num_frames)


def build_pose(config):
  """(pose clip model, its `PoseStreamLayers`), compiled, optimizer built."""
  model, parts = pose_stream.build_pose_classifier(pose_config_for(config))
  schedule = keras.optimizers.schedules.CosineDecay(
      config.pose_learning_rate, max(config.pose_train_steps, 1), alpha=0.05)
  model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=1e-3),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
  model.optimizer.build(model.trainable_variables)
  return model, parts


def build(config):
  """(clip model, shared layers), compiled, optimizer slots built."""
  parts = classifier_models.ClassifierLayers(model_config_for(config))
  model = classifier_models.clip_model(parts)
  schedule = keras.optimizers.schedules.CosineDecay(
      config.learning_rate, max(config.train_steps, 1), alpha=0.05)
  model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
  model.optimizer.build(model.trainable_variables)
  return model, parts


@dataclasses.dataclass
class Parts:
  """What the action recipe's hooks share: the pixel stream's layers and,
  with streams="both", the pose stream's model and layers."""
  pixels: typing.Any
  pose_model: typing.Any = None
  pose: typing.Any = None

  @property
  def config(self):
    return self.pixels.config


def build_run(config):
  """The clip model and its shared layers, compiled, with the run directory
  (and the pose stream, checkpointed in the same run, with streams="both")."""
  model, pixel_parts = build(config)
  parts = Parts(pixel_parts)
  trackables = {"model": model, "optimizer": model.optimizer}
  if uses_pose(config):
    parts.pose_model, parts.pose = build_pose(config)
    trackables.update(pose_model=parts.pose_model, pose_optimizer=parts.pose_model.optimizer)
  run = loop.RunDirectory(config.run_dir, config.keep_checkpoints, **trackables)
  return run_lib.Trained(model, run, model.optimizer.iterations, config, parts=parts)


def restore(trained):
  """The run's latest checkpoint; a new run with `init_from` starts from
  that run's weights (the optimizer and its step start afresh)."""
  restored = trained.run.restore()
  if not restored and trained.config.init_from:
    init = loop.RunDirectory(trained.config.init_from, model=trained.model)
    if not init.manager.latest_checkpoint:
      raise FileNotFoundError(f"{trained.config.init_from}: no checkpoint to start from")
    init.checkpoint.restore(init.manager.latest_checkpoint).expect_partial()
  return restored


def pose_poser(config):
  return pose_lib.ClipPoser(config.pose_mode)


def pose_train_data(config):
  """Every window of the training files' poses and their mirror images:
  (float32 [N, num_frames, FEATURES], int32 [N])."""
  train, _ = training_split(config)
  poser = pose_poser(config)
  poses, labels = [], []
  for path, label in train:
    try:
      poses.append(pose_stream.file_poses(path, config.fps, config.pose_mode, poser))
    except video_io.VideoReadError as e:
      logging.warning("training file left out of the pose stream: %s", e)
      continue
    labels.append(label)
  return pose_stream.training_windows(poses, labels, config.num_frames)


def fit_pose(trained, strategy):
  """The pose stream, after the pixels, in the same run directory: its
  checkpoints are numbered after the pixel stream's last."""
  config = trained.config
  model = trained.parts.pose_model
  windows, labels = pose_train_data(config)
  offset = loop.epochs_for(config.train_steps, config.checkpoint_every) * config.checkpoint_every

  def dataset(ctx, begin):
    batch = ctx.get_per_replica_batch_size(config.batch_size) if ctx else config.batch_size
    if ctx and ctx.num_input_pipelines > 1:
      ds = pose_stream.window_batches(windows, labels, batch, config.seed + ctx.input_pipeline_id)
    else:
      ds = pose_stream.window_batches(windows, labels, batch, config.seed)
    return ds.skip(begin - offset).prefetch(2)

  loop.fit_resumable(
      model, trained.run, loop.OffsetStep(model.optimizer.iterations, offset),
      lambda begin: strategy.distribute_datasets_from_function(lambda ctx: dataset(ctx, begin)),
      offset + config.pose_train_steps, config.checkpoint_every, config.verbose)
  return {"pose_windows": int(len(windows))}


def fit(trained, strategy):
  config = trained.config
  loop.fit_resumable(
      trained.model, trained.run, trained.step,
      lambda begin: strategy.distribute_datasets_from_function(
          lambda ctx: train_dataset(config, ctx, begin)),
      config.train_steps, config.checkpoint_every, config.verbose)
  if uses_pose(config):
    return fit_pose(trained, strategy)
  return None


def train(config):
  """Trains (resuming from config.run_dir); returns the `run.Trained`.
  `config` is resolved (`resolve`) and written to RUN_DIR/config.json, or
  checked against the run already there."""
  return run_lib.train(RECIPE, config)


def window_logits(model, windows):
  """Logits [N, K] of a clip's windows."""
  return np.asarray(model.predict(windows, batch_size=16, verbose=0))


def clip_top1(logits, labels, class_names, names=None):
  """Clip-level summary from each clip's window logits [N_i, K]: a clip's
  windows' probabilities are averaged."""
  predictions = [int(np.argmax(tf.nn.softmax(l, -1).numpy().mean(0))) for l in logits]
  report = classification.summary(labels, np.array(predictions), class_names)
  if names is not None:
    report["clips"] = [{"clip": n, "label": class_names[int(t)], "prediction": class_names[p]}
                       for n, t, p in zip(names, labels, predictions)]
  return report


def evaluate(model, windows, labels, class_names, names=None):
  """Clip-level top-1: each clip's windows' probabilities are averaged.
  Returns top-1, chance, majority-class rate, confusion matrix (rows: truth,
  columns: prediction, in `class_names` order) and the per-clip predictions."""
  return clip_top1([window_logits(model, w) for w in windows], labels, class_names, names)


def pose_eval_windows(config, names, root=None):
  """The pose windows of the files `names` (relative to `root`, default the
  held-back files' folder), cut as the pixel windows are
  (`sources.clip_windows` of the same frames): float32 [N_i, T, FEATURES]."""
  root = root or config.eval_data or spec.data_parts(config.data)[0]
  poser = pose_poser(config)
  return [sources.clip_windows(pose_stream.pose_features(pose_stream.file_poses(
      os.path.join(root, n), config.fps, config.pose_mode, poser)), config.num_frames)
          for n in names]


def fused_logits(pixel_logits, pose_logits, weights):
  """Per clip, the weighted sum of the two streams' window logits [N_i, K]."""
  a, b = weights
  return [a * p + b * q for p, q in zip(pixel_logits, pose_logits)]


def _clip_nll(logits, labels):
  """Mean negative log of each clip's window-averaged probability of its label."""
  nll = 0.0
  for l, y in zip(logits, labels):
    e = np.exp(l - l.max(-1, keepdims=True))
    nll -= np.log(max((e / e.sum(-1, keepdims=True)).mean(0)[int(y)], 1e-12))
  return nll / max(len(labels), 1)


FUSION_GRID = np.round(np.arange(0.0, 2.01, 0.1), 2)


def fit_fusion_weights(pixel_logits, pose_logits, labels):
  """(pixel weight, pose weight) on a 0.1 grid in [0, 2], neither both 0,
  that minimise the clips' negative log-likelihood (`_clip_nll`) of the
  weighted sum of the streams' logits.

  A grid rather than a gradient: the clip likelihood averages window
  probabilities, so it is not convex in the weights, and with a few dozen
  validation clips two weights to 0.1 are as much as the data can tell.
  Ties go to the weights nearest (1, 1), the plain sum.
  """
  best = None
  for a in FUSION_GRID:
    for b in FUSION_GRID:
      if a == 0 and b == 0:
        continue
      key = (round(_clip_nll(fused_logits(pixel_logits, pose_logits, (a, b)), labels), 9),
             abs(a - 1) + abs(b - 1))
      if best is None or key < best[0]:
        best = (key, (float(a), float(b)))
  return best[1]


def fit_fusion(trained):
  """The fusion weights of a run, with what they were fitted on: the
  `training_split` fusion files' clip-level top-1 per stream and fused."""
  config = trained.config
  _, files = training_split(config)
  if not files:
    return (1.0, 1.0), None
  root = spec.data_parts(config.data)[0]
  windows, labels, names = clip_set(config, files, root)
  pixel = [window_logits(trained.model, w) for w in windows]
  pose = [window_logits(trained.parts.pose_model, w)
          for w in pose_eval_windows(config, names, root)]
  weights = fit_fusion_weights(pixel, pose, labels)
  names_ = config.class_names
  return weights, {
      "weights": {"pixels": weights[0], "pose": weights[1]},
      "num_clips": int(len(labels)),
      "top1": {"pixels": clip_top1(pixel, labels, names_)["top1"],
               "pose": clip_top1(pose, labels, names_)["top1"],
               "sum": clip_top1(fused_logits(pixel, pose, (1, 1)), labels, names_)["top1"],
               "fitted": clip_top1(fused_logits(pixel, pose, weights), labels, names_)["top1"]}}


def representative_clips(windows, count=8):
  return np.stack([w[0] for w in windows[:count]])


def evaluate_run(trained):
  """Clip-level top-1 and the confusion matrix on the held-back clips; with
  the pose stream, of pixels alone, pose alone and both (the run's result)."""
  config = trained.config
  if config.strategy == "multi_worker":
    # The chief evaluates alone: a model bound to the cluster would wait on
    # collectives the finished workers never join.
    model, pixel_parts = build(config)
    model.set_weights(trained.model.get_weights())
    trained.model, trained.parts.pixels = model, pixel_parts
    if uses_pose(config):
      pose_model, pose_parts = build_pose(config)
      pose_model.set_weights(trained.parts.pose_model.get_weights())
      trained.parts.pose_model, trained.parts.pose = pose_model, pose_parts
  windows, labels, names = eval_set(config)
  trained.eval_data = windows
  result = {"step": int(trained.step.numpy()), "skipped_files": skipped_files(config)}
  pixel_logits = [window_logits(trained.model, w) for w in windows]
  if not uses_pose(config):
    result["eval"] = clip_top1(pixel_logits, labels, config.class_names, names)
    return result
  pose_windows = pose_eval_windows(config, names)
  trained.eval_data = (windows, pose_windows)
  pose_logits = [window_logits(trained.parts.pose_model, w) for w in pose_windows]
  weights, fusion = fit_fusion(trained)
  trained.fusion_weights = weights
  result["fusion"] = fusion or {"weights": {"pixels": 1.0, "pose": 1.0}}
  both = fused_logits(pixel_logits, pose_logits, weights)
  result["eval"] = clip_top1(both, labels, config.class_names, names)
  result["eval_streams"] = {
      "pixels": clip_top1(pixel_logits, labels, config.class_names)["top1"],
      "pose": clip_top1(pose_logits, labels, config.class_names)["top1"],
      "both": result["eval"]["top1"]}
  if fusion:
    result["eval_streams"]["sum"] = clip_top1(
        fused_logits(pixel_logits, pose_logits, (1, 1)), labels, config.class_names)["top1"]
  return result


def export(trained, export_dir, report):
  """SavedModel (clip and streaming signatures, and with the pose stream its
  pose and fused signatures) and streaming TFLite, calibrated on held-back
  windows; the TFLite streams checked against the SavedModel."""
  config = trained.config
  windows, pose_windows = trained.eval_data if uses_pose(config) else (trained.eval_data, None)
  parts = trained.parts
  exports = classifier_export.export_classifier.__wrapped__(
      trained.model, parts.pixels, export_dir, config.class_names, config.fps,
      representative=representative_clips(windows), variants=config.tflite_variants,
      pose_model=parts.pose_model, pose_parts=parts.pose,
      pose_mode=config.pose_mode if uses_pose(config) else None,
      fusion_weights=getattr(trained, "fusion_weights", (1.0, 1.0)))
  report["tflite"] = classifier_export.check_stream_tflite(
      exports, parts.pixels, representative_clips(windows, 4))
  if uses_pose(config):
    report["tflite"].update(classifier_export.check_pose_tflite(
        exports, representative_clips(pose_windows, 4)))
  return exports


RECIPE = run_lib.Recipe("actions", build=build_run, fit=fit, evaluate=evaluate_run,
                        export=export, resolve=resolve, restore=restore)


def train_classifier(config):
  """Train, evaluate on held-back clips, export; returns the report."""
  return run_lib.run(RECIPE, config)


def load_run(run_dir):
  """(config, model, parts, step) of the latest checkpoint of a run, with the
  config the run was trained with (RUN_DIR/config.json)."""
  trained = run_lib.load(RECIPE, ClassifierTrainConfig, run_dir)
  return trained.config, trained.model, trained.parts.pixels, int(trained.step.numpy())


def export_run(run_dir, eval_data=None):
  """Re-evaluates and re-exports the latest checkpoint of a run, as the run
  was configured; `eval_data` evaluates on another class-per-folder set."""
  return run_lib.export_run(RECIPE, ClassifierTrainConfig, run_dir,
                            **({"eval_data": eval_data} if eval_data else {}))


def print_report(report, out=print):
  ev = report["eval"]
  out(f"top-1 on {ev['num_clips']} held-back clips: {ev['top1']:.3f} "
      f"(chance {ev['chance']:.3f}, majority class {ev['majority']:.3f})")
  if "eval_streams" in report:
    s = report["eval_streams"]
    out(f"by stream: pixels {s['pixels']:.3f}, pose {s['pose']:.3f}, both {s['both']:.3f}")
    fusion = report.get("fusion", {})
    if "num_clips" in fusion:
      w = fusion["weights"]
      out(f"fusion weights pixels {w['pixels']:.1f}, pose {w['pose']:.1f}, fitted on "
          f"{fusion['num_clips']} training files held out of both streams "
          f"(held-back top-1 with the plain sum: {s['sum']:.3f})")
  out("confusion matrix (rows: truth, columns: prediction)")
  out(classification.format_confusion(ev))
  for name, path in report["exports"].items():
    out(f"{name}: {path}")


def main(config):
  """The training script's body: exit status 0, 2 for bad data or a
  conflicting run directory, 3 if training diverged."""
  import sys
  try:
    report = train_classifier(config)
  except loop.NonFiniteLossError as e:
    print(f"error: {e}", file=sys.stderr)
    return 3
  except (FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  if "eval" not in report:
    print("worker done; the chief evaluates and exports")
    return 0
  print_report(report)
  print(f"report: {os.path.join(report['config']['run_dir'], 'export', 'eval_report.json')}")
  return 0


def summary(report):
  """What `tfsports train actions` prints when a run ends."""
  lines = []
  print_report(report, out=lines.append)
  run_dir = report.get("config", {}).get("run_dir")
  if run_dir:
    lines.append(f"report: {os.path.join(run_dir, 'export', exports_lib.REPORT)}")
  return "\n".join(lines)


JOB = job_lib.JobSpec(
    name="actions",
    description="The streaming action classifier: trains on synthetic actions or a "
                "class-per-folder video directory, evaluates on files held back by file, "
                "exports SavedModel (clip + streaming signatures) and streaming TFLite.",
    config_class=ClassifierTrainConfig, train=train_classifier, summary=summary,
    export=export_run, load_run=load_run, export_flags=(
        job_lib.Flag("eval_data", str, None, "Class-per-folder directory to evaluate on."),),
    field_help={
        "data": "'synthetic', a class-per-folder video directory (with generated:DIR parts to "
                "mix in generated clips, comma-separated), or TFRecord shards.",
        "eval_data": "Held-back class-per-folder directory (default: a file-level split).",
        "class_names": "Class names in label order (TFRecord data only).",
        "fps": "Frame rate clips are sampled at (0: the data's).",
        "image_size": "HEIGHT,WIDTH of the model's frames (empty: the preset's).",
        "init_from": "Start from another run's weights (a second stage).",
        "max_per_class": "Keep only the first N real training files of each class (0: all).",
        "generated_fraction": "Share of each batch from the generated:DIR parts of --data.",
        "strategy": "tf.distribute strategy: default, mirrored, multi_worker, tpu.",
        "streams": "pixels, or both: a BlazePose keypoint stream trained beside the pixels "
                   "and fused with them (needs mediapipe's model files).",
        "pose_mode": "crop (player-centred clips) or frame (BlazePose finds the person).",
        "fusion_fraction": "--streams=both: share of each class's training files kept out "
                           "of training to fit the two streams' fusion weights on (0: add "
                           "the logits).",
    },
    list_types={"image_size": int},
    examples=("tfsports train actions                   # tiny, the renderer's five actions",
              "tfsports train actions --preset=footage --data=/videos/by_class "
              "--run_dir=runs/my_actions",
              "tfsports train actions --preset=footage --streams=both --data=/videos/by_class",
              "tfsports export actions --run_dir=runs/my_actions --eval_data=/videos/test"),
)

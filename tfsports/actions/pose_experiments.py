"""Pose-space experiments on a class-per-folder set of real clips, held back
by file: the skeleton GAN (`pose_gan`) as augmentation, and as a
semi-supervised K+1-way pose discriminator, each against the same pose
stream trained on the real labels alone.

    pools = load_pose_pools(data, fps=0, mode="crop", num_frames=0)
    augmentation(pools, per_class=10, seeds=range(5))  -> rows
    label_efficiency(pools, (5, 10, 0), seeds=range(3)) -> rows
    player_pose_windows(videos, fps, num_frames)  -> unlabelled windows
"""

import dataclasses
import json
import os

import keras
import numpy as np
import tensorflow as tf

from tfsports.actions import players as players_lib
from tfsports.actions import pose_gan
from tfsports.actions import pose_stream
from tfsports.actions import ssgan as ssgan_lib
from tfsports.data import pose as pose_lib
from tfsports.data import sources
from tfsports.data import spec
from tfsports.data import video_io


@dataclasses.dataclass
class PosePools:
  """Per clip of the training and held-back files: windows float32 [N_i,
  num_frames, FEATURES] of its poses, and of its mirror image (held-back
  mirrors for test-time averaging only); labels int32; the class names,
  the frame rate and window."""
  train: list
  train_mirrored: list
  train_labels: np.ndarray
  held: list
  held_labels: np.ndarray
  class_names: tuple
  fps: float
  num_frames: int
  held_mirrored: list = dataclasses.field(default_factory=list)


def load_pose_pools(data, fps=0.0, mode="crop", num_frames=0, eval_fraction=0.25):
  """BlazePose on every file (cached per file), the recipe's file-level
  split (the latest `eval_fraction` of each class's files held back).
  `fps` 0: the median of the files'; `num_frames` 0: the median clip's
  length (shorter clips are padded, longer ones give several windows)."""
  train, held = spec.folder_split(data, eval_fraction)
  names = tuple(sources.readable_class_folders(spec.data_parts(data)[0])[2])
  fps = fps or float(np.median([video_io.probe(p).fps or 25.0 for p, _ in train]))
  poser = pose_lib.ClipPoser(mode)
  train_poses = [pose_stream.file_poses(p, fps, mode, poser) for p, _ in train]
  held_poses = [pose_stream.file_poses(p, fps, mode, poser) for p, _ in held]
  num_frames = num_frames or int(np.median([len(p["score"]) for p in train_poses + held_poses]))
  cut = lambda p: pose_stream.all_windows(pose_stream.pose_features(p), num_frames)
  return PosePools(
      train=[cut(p) for p in train_poses],
      train_mirrored=[cut(pose_stream.flipped(p)) for p in train_poses],
      train_labels=np.array([l for _, l in train], np.int32),
      held=[cut(p) for p in held_poses],
      held_labels=np.array([l for _, l in held], np.int32),
      class_names=names, fps=fps, num_frames=num_frames,
      held_mirrored=[cut(pose_stream.flipped(p)) for p in held_poses])


def windows_of(pools, indices):
  """Every window of the chosen training clips and of their mirror images:
  (float32 [N, T, FEATURES], int32 [N])."""
  xs, ys = [], []
  for i in indices:
    for w in (pools.train[i], pools.train_mirrored[i]):
      xs.append(w)
      ys.append(np.full(len(w), pools.train_labels[i], np.int32))
  return np.concatenate(xs), np.concatenate(ys)


def clip_accuracy(model, clips, labels, num_classes=None, mirrored=None):
  """Clip-level top-1: each clip's windows' probabilities averaged, over the
  first `num_classes` logits (a K+1-way discriminator's real classes); with
  `mirrored` (the clips' mirror images, window for window) averaged with
  theirs too."""
  hits = []
  for i, (windows, label) in enumerate(zip(clips, labels)):
    views = [windows] + ([mirrored[i]] if mirrored is not None else [])
    logits = np.concatenate([np.asarray(model.predict(v, verbose=0)) for v in views])
    probs = tf.nn.softmax(logits[:, :num_classes], -1).numpy()
    hits.append(int(np.argmax(probs.mean(0))) == label)
  return float(np.mean(hits))


def fit_classifier(x, y, num_classes, num_frames, seed, epochs=150, pretrain=None,
                   noise=0.02):
  """The pose stream (`tiny`) trained on windows x [N, T, F] and labels y [N]
  for `epochs` (AdamW, batch 16, keypoint jitter `noise`); with `pretrain`
  = (x, y), first on those (the generated-then-real schedule)."""
  keras.utils.set_random_seed(seed)
  config = pose_stream.PoseStreamConfig(num_classes=num_classes, num_frames=num_frames)
  model, _ = pose_stream.build_pose_classifier(config)
  rng = np.random.default_rng(seed)
  model.compile(keras.optimizers.AdamW(1e-3, weight_decay=1e-3),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  for data, count in ([(pretrain, max(epochs // 3, 1))] if pretrain else []) + [((x, y), epochs)]:
    jitter = data[0] + rng.normal(0, noise, data[0].shape).astype(np.float32)
    # One fit over a repeated dataset: epochs of a few batches each would
    # spend their time in per-epoch overhead.
    steps = count * -(-len(jitter) // 16)
    ds = tf.data.Dataset.from_tensor_slices((jitter, data[1])).repeat().shuffle(
        len(jitter), seed=seed).batch(16)
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
  return model


def choose_per_class(labels, per_class, seed, num_classes):
  return ssgan_lib.choose_labelled(labels, per_class, np.random.default_rng(seed), num_classes)


def split_for_validation(labels, indices, fraction=0.2):
  """(fit, validation) of the chosen training clips: the latest `fraction`
  of each class's (at least one), as the held-back files are chosen."""
  fit, val = [], []
  for k in np.unique(labels[indices]):
    mine = sorted(i for i in indices if labels[i] == k)
    n = max(1, int(round(fraction * len(mine))))
    fit += mine[:-n]
    val += mine[-n:]
  return np.array(fit), np.array(val)


def generated_for(gan, standardise, labels, count, seed, config):
  """`count` generated windows, classes in the proportions of `labels`."""
  rng = np.random.default_rng(seed)
  wanted = rng.choice(labels, count)
  return pose_gan.sample(gan.ema_generator(), standardise, wanted, seed, config.latent_dim), \
      wanted.astype(np.int32)


def gan_config(pools, seed, preset="tiny", **overrides):
  base = pose_gan.PoseGANConfig.from_preset(preset)
  return dataclasses.replace(base, num_classes=len(pools.class_names),
                             num_frames=pools.num_frames, seed=seed, **overrides)


def augmentation_arms(pools, indices, eval_clips, eval_labels, seed, shares, epochs, gconfig,
                      log=print):
  """Top-1 on (eval_clips, eval_labels) of real only, real plus generated at
  each of `shares` (the generated fraction of the training windows) and
  generated then real, with one GAN trained on the chosen clips."""
  k = len(pools.class_names)
  x, y = windows_of(pools, indices)
  gan, standardise = pose_gan.train_gan(gconfig, x, y)
  out = {"real only": clip_accuracy(fit_classifier(x, y, k, pools.num_frames, seed, epochs),
                                    eval_clips, eval_labels)}
  for share in shares:
    fx, fy = generated_for(gan, standardise, y, int(round(share / (1 - share) * len(x))),
                           seed + 1, gconfig)
    model = fit_classifier(np.concatenate([x, fx]), np.concatenate([y, fy]), k,
                           pools.num_frames, seed, epochs)
    out[f"real + generated {share:.2f}"] = clip_accuracy(model, eval_clips, eval_labels)
  fx, fy = generated_for(gan, standardise, y, 4 * len(x), seed + 2, gconfig)
  out["generated then real"] = clip_accuracy(
      fit_classifier(x, y, k, pools.num_frames, seed, epochs, pretrain=(fx, fy)),
      eval_clips, eval_labels)
  log(f"  seed {seed}, {len(indices)} clips: " +
      ", ".join(f"{n} {v:.1%}" for n, v in out.items()))
  return out, gan, standardise


def augmentation(pools, per_class, seeds, shares=(0.25, 0.5), epochs=150, gan_preset="tiny",
                 log=print):
  """The pose-space augmentation experiment at `per_class` training clips
  per class (0: all). The mixing share is chosen once, with the first seed,
  on a validation part of the chosen training files (the latest 20% of each
  class's); then each seed trains a GAN on its chosen clips and reports real
  only, real plus generated at the chosen share, and generated then real on
  the held-back files. Returns {"share": s, "rows": [(seed, arm, top1)]}."""
  k = len(pools.class_names)
  chosen = choose_per_class(pools.train_labels, per_class, seeds[0], k)
  fit, val = split_for_validation(pools.train_labels, chosen)
  tuned, _, _ = augmentation_arms(
      pools, fit, [pools.train[i] for i in val], pools.train_labels[val], seeds[0], shares,
      epochs, gan_config(pools, seeds[0], gan_preset), log=lambda m: log("  validation" + m))
  share = max(shares, key=lambda s: tuned[f"real + generated {s:.2f}"])
  rows = []
  for seed in seeds:
    chosen = choose_per_class(pools.train_labels, per_class, seed, k)
    out, _, _ = augmentation_arms(pools, chosen, pools.held, pools.held_labels, seed, (share,),
                                  epochs, gan_config(pools, seed, gan_preset), log)
    rows += [(seed, arm.replace(f" {share:.2f}", ""), v) for arm, v in out.items()]
  return {"share": share, "validation": tuned, "rows": rows}


def label_efficiency(pools, labels_per_class, seeds, steps=1500, unlabelled_extra=None,
                     gan_preset="tiny", log=print):
  """Supervised pose stream against the semi-supervised pose GAN (same
  network with K+1 outputs, same steps) at each labels-per-class setting
  (0: all); the unlabelled pool is every training clip's windows, plus
  `unlabelled_extra` float32 [M, T, FEATURES] when given. Rows of
  (labels_per_class, seed, method, top1), as `ssgan.summarise` reads."""
  k = len(pools.class_names)
  all_x, _ = windows_of(pools, np.arange(len(pools.train)))
  if unlabelled_extra is not None and len(unlabelled_extra):
    all_x = np.concatenate([all_x, unlabelled_extra])
  standardise = pose_gan.Standardiser.fit(all_x)
  held = [standardise(w) for w in pools.held]
  unlabelled = standardise(all_x)
  config = pose_stream.PoseStreamConfig(num_classes=k, num_frames=pools.num_frames)
  rows = []
  for per_class in labels_per_class:
    for seed in seeds:
      idx = choose_per_class(pools.train_labels, per_class, seed, k)
      x, y = windows_of(pools, idx)
      x = standardise(x)
      keras.utils.set_random_seed(seed)
      sup, _ = pose_stream.build_pose_classifier(config)
      sup.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
      sup.fit(ssgan_lib._repeat_batches(x, y, min(32, len(y)), seed), steps_per_epoch=steps,
              epochs=1, verbose=0)
      acc_sup = clip_accuracy(sup, held, pools.held_labels)
      gan = pose_gan.train_pose_ssgan(config, gan_config(pools, seed, gan_preset), x, y,
                                      unlabelled, steps)
      classifier = keras.Model(gan.discriminator.input, gan.discriminator.output[0])
      acc_gan = clip_accuracy(classifier, held, pools.held_labels, k)
      rows += [(per_class, seed, "supervised", acc_sup), (per_class, seed, "ssgan", acc_gan)]
      log(f"  labels/class={per_class or 'all'} seed={seed}: supervised {acc_sup:.1%} "
          f"ssgan {acc_gan:.1%}")
  return rows


# Player crops are cut at this (height, width): the aspect of one standing
# player, as the basketball set's crops are.
PLAYER_CROP = (256, 128)


def _video_player_windows(path, fps, num_frames, detector, tracker_config, poser,
                          min_found):
  from tfsports.tracking import pipeline
  info = video_io.probe(path)
  tracks = pipeline.track_frames(video_io.iter_frames(path), detector, info.fps or 25.0,
                                 tracker_config)["tracks"]
  out = []
  for _, _, _, _, crops, _ in players_lib.track_windows(
      path, tracks, fps, PLAYER_CROP, num_frames, pose_size=PLAYER_CROP):
    poses = poser(crops)
    if np.mean(poses["score"] > 0) < min_found:
      continue
    out += [pose_stream.pose_features(poses), pose_stream.pose_features(
        pose_stream.flipped(poses))]
  return (np.stack(out) if out else
          np.zeros((0, num_frames, pose_stream.FEATURES), np.float32))


def player_pose_windows(videos, fps, num_frames, detector="real", tracker_preset="centernet",
                        min_found=0.5, cache_dir=None, log=print):
  """Unlabelled pose windows of the players of real videos, for a
  semi-supervised discriminator: each video's players detected and tracked
  (`tfsports track`'s detector and tracker), each track cut into windows of
  `num_frames` crops at `fps` (`players.track_windows`), BlazePose on each
  crop, and each window and its mirror image kept where a pose was found in
  at least `min_found` of its frames. Cached per video (key: the file, the
  rate, the window, the detector, the tracker, the pose post-processing).
  Returns float32 [M, num_frames, FEATURES]."""
  from tfsports.serving import loader
  from tfsports.tracking import tracker as tracker_lib
  config = tracker_lib.TrackerConfig.from_preset(tracker_preset)
  loaded = {}

  def windows_of(path):
    if not loaded:
      loaded.update(detector=loader.load("detector", detector, prefer="tflite"),
                    poser=pose_lib.ClipPoser("crop"))
    return {"windows": _video_player_windows(path, fps, num_frames, loaded["detector"], config,
                                             loaded["poser"], min_found)}

  extra = json.dumps([float(fps), num_frames, detector, tracker_preset, min_found, PLAYER_CROP])
  out = []
  for path in videos:
    # The per-file pose cache, with the whole tracking pass as its "poser".
    windows = pose_lib.cached_clip_poses(path, lambda p: p, windows_of, cache_dir,
                                         mode="players", extra=extra)["windows"]
    log(f"  {os.path.basename(path)}: {len(windows)} player pose windows")
    out.append(windows)
  return (np.concatenate(out) if out else
          np.zeros((0, num_frames, pose_stream.FEATURES), np.float32))

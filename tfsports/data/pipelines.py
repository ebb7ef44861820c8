"""Batched, prefetched `tf.data` pipelines for each task.

    clips = pipelines.clip_dataset("synthetic", num_frames=5, image_size=(128, 128))
    ds = pipelines.sr_batches(clips, DegradationConfig(scale=4), patch_size=32,
                              batch_size=8)

`data` picks the source everywhere: "synthetic" (rendered on the fly), a
folder of videos, one video file, or TFRecord files (a path or glob ending
in .tfrecord); several, comma-separated, are mixed evenly.
Every function takes a `tf.distribute.InputContext` (one shard per input
pipeline; batch sizes are global and divided per replica) and a seed.
"""

import dataclasses
import os

from absl import logging
import numpy as np
import tensorflow as tf

from tfsports.data import degrade as degrade_lib
from tfsports.data import preprocess
from tfsports.data import sources
from tfsports.data import synthetic
from tfsports.data import tfrecord
from tfsports.data import video_io


def clip_dataset(data, num_frames, image_size, seed=0, input_context=None,
                 scene_config=None, num_clips=None, start_index=0,
                 deterministic=True, stride=1, native_video=False,
                 stabilize=False, denoise=False):
  """Clips from `data` (see module doc); elements as in `sources`.

  Synthetic clips use `scene_config` (default: the "base" preset) with
  `num_frames` and `image_size` applied; video frames are resized to
  `image_size` (height, width), or kept at their own size with
  `native_video` (frames [T, None, None, 3]: crop before batching).
  `stabilize` and `denoise` run `preprocess.stabilize_step` and
  `denoise_step` on every clip.
  """
  if stabilize or denoise:
    ds = clip_dataset(data, num_frames, image_size, seed, input_context, scene_config,
                      num_clips, start_index, deterministic, stride, native_video)
    steps = ([preprocess.stabilize_step()] if stabilize else []) + (
        [preprocess.denoise_step()] if denoise else [])
    for step in steps:
      ds = ds.map(step, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    return ds
  image_size = tuple(image_size)
  if data and "," in data:
    # Several sources, mixed evenly; each repeats so none runs dry.
    parts = [clip_dataset(d, num_frames, image_size, seed, input_context,
                          scene_config, None, start_index, deterministic, stride,
                          native_video).repeat()
             for d in data.split(",") if d]
    return tf.data.Dataset.sample_from_datasets(parts, seed=seed,
                                                stop_on_empty_dataset=False)
  if data in ("synthetic", "", None):
    config = scene_config or synthetic.SceneConfig.from_preset("base")
    config = dataclasses.replace(config, num_frames=num_frames,
                                           image_size=image_size)
    return sources.synthetic_clips(config, seed=seed, num_clips=num_clips,
                                   start_index=start_index,
                                   input_context=input_context,
                                   deterministic=deterministic)
  video_size = None if native_video else image_size
  if ".tfrecord" in os.fspath(data) or "*" in os.fspath(data):
    return tfrecord.tfrecord_clips(data, num_frames, video_size,
                                   input_context=input_context,
                                   deterministic=deterministic)
  if os.path.isfile(data):
    paths, labels = [data], [-1]
  else:
    paths, labels, _ = sources.list_videos(data)
  return sources.video_clips(paths, labels, num_frames, video_size, stride=stride,
                             input_context=input_context,
                             deterministic=deterministic)


def _per_replica(batch_size, input_context):
  if input_context is None:
    return batch_size
  return input_context.get_per_replica_batch_size(batch_size)


def _seeds(dataset, seed, input_context):
  """Pairs each element with a stateless seed unique to it: its index in the
  unsharded stream. Sources shard round-robin, so with N input pipelines
  (workers) the element a pipeline sees i-th is element i * N + its id of
  the whole stream, and N workers get the seeds, and the global batches, of
  one process."""
  worker = input_context.input_pipeline_id if input_context else 0
  pipelines = input_context.num_input_pipelines if input_context else 1
  return dataset.enumerate().map(
      lambda i, x: (tf.stack([tf.constant(seed * 7919, tf.int64), i * pipelines + worker]),
                    x))


def _finish(dataset, batch_size, input_context, shuffle_buffer, seed, repeat):
  if repeat:
    dataset = dataset.repeat()
  if shuffle_buffer:
    dataset = dataset.shuffle(shuffle_buffer, seed=seed)
  dataset = dataset.batch(_per_replica(batch_size, input_context),
                          drop_remainder=True)
  return dataset.prefetch(tf.data.AUTOTUNE)


def sr_pairs(clip, degradation, patch_size, seed):
  """One (low-res, high-res) pair from a clip, in graph.

  Returns lr float32 [T, p, p, 3] and hr float32 [T, p*s, p*s, 3] in [0, 1]
  (p = patch_size, s = degradation.scale; patch_size None keeps the frame).
  """
  frames = clip["frames"]
  seed = tf.cast(seed, tf.int32)
  if patch_size:
    hr_size = patch_size * degradation.scale
    frames, _ = preprocess.random_crop_clip(frames, (hr_size, hr_size), seed)
    frames = tf.ensure_shape(frames, [frames.shape[0], hr_size, hr_size, 3])
  hr = degrade_lib.soften_source(frames, degradation, seed + tf.constant([0, 11]))
  lr = degrade_lib.degrade_clip(hr, degradation, seed + tf.constant([0, 7]))
  return lr / 255.0, hr / 255.0


def sr_batches(clips, degradation, patch_size, batch_size, seed=0,
               input_context=None, shuffle_buffer=0, repeat=True, crops_per_clip=1):
  """Batches of (lr float32 [B, T, p, p, 3], hr float32 [B, T, ps, ps, 3]).

  `crops_per_clip` > 1 takes several random crops of each decoded clip,
  which pays for decoding large real footage once.
  """
  ds = _seeds(clips, seed, input_context)
  if crops_per_clip > 1:
    ds = ds.flat_map(lambda s, c: tf.data.Dataset.from_tensors(c).repeat(
        crops_per_clip).enumerate().map(
            lambda j, clip: (s * 1000003 + j, clip)))
  ds = ds.map(lambda s, c: sr_pairs(c, degradation, patch_size, s),
              num_parallel_calls=tf.data.AUTOTUNE)
  return _finish(ds, batch_size, input_context, shuffle_buffer, seed, repeat)


def classification_batches(clips, batch_size, seed=0, input_context=None,
                           shuffle_buffer=0, repeat=True, keep_unlabelled=False):
  """Batches of (frames uint8 [B, T, H, W, 3], label int32 [B]).

  Frames stay uint8 so the model's own input layer owns the scaling (the
  exported model takes uint8 too). Unlabelled clips (label -1) are dropped
  unless `keep_unlabelled`.
  """
  ds = clips
  if not keep_unlabelled:
    ds = ds.filter(lambda c: c["label"] >= 0)
  ds = ds.map(lambda c: (c["frames"], c["label"]),
              num_parallel_calls=tf.data.AUTOTUNE)
  return _finish(ds, batch_size, input_context, shuffle_buffer, seed, repeat)


def labelled_clips(paths, labels, num_frames, image_size, fps, seed=0,
                   input_context=None, stabilize=False, denoise=False, min_crop=0.8):
  """Training clips from labelled video files (a class-per-folder dataset):
  (frames uint8 [T, H, W, 3], label int32 []), forever, shuffled.

  Each file is decoded once at `fps` and `image_size` (`sources.load_clip`,
  optionally stabilised and denoised), as inference decodes it, and cached
  in memory. Every visit takes a random window of `num_frames` (a shorter
  clip is padded by repeating its last frame, as `sources.clip_windows`
  does at inference), a random crop of `min_crop` to all of each side
  resized back to `image_size`, a random mirror and a brightness/contrast
  jitter. A file that cannot be read is logged and skipped.
  """
  height, width = image_size

  def load(path):
    try:
      return sources.load_clip(path.decode(), fps, image_size, stabilize, denoise)
    except (video_io.VideoReadError, ValueError) as e:
      logging.warning("skipping %s", e)
      return np.zeros((0, height, width, 3), np.uint8)

  def decode(path, label):
    frames = tf.numpy_function(load, [path], tf.uint8, stateful=False)
    return tf.ensure_shape(frames, [None, height, width, 3]), label

  def window(seed, clip):
    frames, label = clip
    seed = tf.cast(seed % (2**31 - 1), tf.int32)
    n = tf.shape(frames)[0]
    pad = tf.maximum(num_frames - n, 0)
    frames = tf.concat([frames, tf.repeat(frames[-1:], pad, axis=0)], 0)
    start = tf.random.stateless_uniform([], seed, 0, tf.maximum(n - num_frames, 0) + 1,
                                        tf.int32)
    frames = frames[start:start + num_frames]
    u = tf.random.stateless_uniform([4], seed + 2)
    crop = (tf.cast(tf.round(height * (min_crop + (1 - min_crop) * u[3])), tf.int32),
            tf.cast(tf.round(width * (min_crop + (1 - min_crop) * u[3])), tf.int32))
    frames, _ = preprocess.random_crop_clip(frames, crop, seed + 1)
    x = tf.image.resize(tf.cast(frames, tf.float32), (height, width))
    x = tf.cond(u[0] < 0.5, lambda: x[:, :, ::-1], lambda: x)
    x = (x - 128.0) * (0.75 + 0.5 * u[1]) + 128.0 + (u[2] - 0.5) * 50.0
    frames = tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)
    return tf.ensure_shape(frames, [num_frames, height, width, 3]), label

  files = tf.data.Dataset.from_tensor_slices(
      (tf.constant([os.fspath(p) for p in paths]), tf.constant(labels, tf.int32)))
  files = sources._shard(files, input_context)
  clips = files.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
  clips = clips.filter(lambda f, l: tf.shape(f)[0] > 0).cache()
  clips = clips.repeat().shuffle(max(len(paths), 1), seed=seed)
  return _seeds(clips, seed, input_context).map(window,
                                                num_parallel_calls=tf.data.AUTOTUNE)

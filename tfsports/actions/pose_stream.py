"""The pose stream of the action classifier: a causal temporal network over
per-frame body keypoints (`data.pose`), streaming with explicit state like
the pixel stream (it reuses that stream's `CausalTemporalConv`, on a 1x1
"image" of keypoint features).

Per frame the input is `FEATURES` floats: 33 keypoints (x, y) relative to
the person's box, centred on the hips and scaled by the torso (so the
stream sees the pose, not where the box sits), their visibility, and the
box's centre and size relative to the frame (so it sees a jump or a run).

    clip model:   keypoints float32 [B, T, FEATURES] -> logits [B, K]
    stream model: (keypoints [B, FEATURES], *states) -> (logits, *states)
"""

import dataclasses

import keras
import numpy as np

from tfsports import config as config_lib
from tfsports.actions import model as model_lib
from tfsports.data import pose as pose_lib

LEFT_HIP, RIGHT_HIP = 23, 24
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
FEATURES = pose_lib.NUM_KEYPOINTS * 3 + 4


@dataclasses.dataclass(frozen=True)
class PoseStreamConfig(config_lib.Config):
  num_classes: int = 5
  num_frames: int = 7
  filters: tuple = (64, 64, 64)
  temporal_kernel: int = 3
  head_dim: int = 64
  dropout: float = 0.3


POSE_PRESETS = {
    "tiny": PoseStreamConfig(),
    "test": PoseStreamConfig(num_frames=4, filters=(8, 8), head_dim=8, dropout=0.0),
}
config_lib.register_presets(PoseStreamConfig, POSE_PRESETS)


# Left and right keypoints swap under a horizontal flip.
FLIP = [0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19, 22, 21,
        24, 23, 26, 25, 28, 27, 30, 29, 32, 31]


def flipped(poses):
  """The same poses mirrored: x -> 1 - x in the box and in the frame, left
  and right keypoints swapped."""
  out = dict(poses)
  kp = np.asarray(poses["keypoints"])[:, FLIP].copy()
  kp[..., 0] = 1.0 - kp[..., 0]
  out["keypoints"] = kp
  out["visibility"] = np.asarray(poses["visibility"])[:, FLIP]
  boxes = np.asarray(poses["boxes"]).copy()
  boxes[:, 0] = 1.0 - boxes[:, 0] - boxes[:, 2]
  out["boxes"] = boxes
  return out


def file_poses(path, fps, mode="crop", poser=None):
  """BlazePose on every frame of a video sampled at `fps` (as the pixel
  stream samples it), cached per file (`data.pose.cached_clip_poses`)."""
  from tfsports.data import video_io
  poser = poser or pose_lib.ClipPoser(mode)
  return pose_lib.cached_clip_poses(path, lambda p: video_io.read_frames_at(p, fps), poser,
                                    mode=mode, extra=f"fps={float(fps):.3f}")


def all_windows(features, num_frames):
  """Every window of `num_frames` consecutive frames of a clip's features
  float32 [T, F] (one, padded by repeating the last frame, for a shorter
  clip): float32 [max(T - num_frames + 1, 1), num_frames, F]."""
  features = np.asarray(features, np.float32)
  if len(features) < num_frames:
    features = np.concatenate(
        [features, np.repeat(features[-1:], num_frames - len(features), 0)])
  count = len(features) - num_frames + 1
  return np.stack([features[i:i + num_frames] for i in range(count)])


def training_windows(poses_list, labels, num_frames, mirror=True):
  """(windows float32 [N, num_frames, FEATURES], labels int32 [N]) of every
  window of every clip, and of its mirror image with `mirror` (an action
  done left-handed is the same action)."""
  xs, ys = [], []
  for poses, label in zip(poses_list, labels):
    for p in ([poses, flipped(poses)] if mirror else [poses]):
      w = all_windows(pose_features(p), num_frames)
      xs.append(w)
      ys.append(np.full(len(w), label, np.int32))
  return np.concatenate(xs), np.concatenate(ys)


def window_batches(windows, labels, batch_size, seed=0, noise=0.02):
  """Endless shuffled batches (float32 [B, T, FEATURES], int32 [B]) with
  Gaussian jitter of `noise` on the keypoints, drawn from (seed, element
  index) so a resumed run sees the batches an uninterrupted one does."""
  import tensorflow as tf
  ds = tf.data.Dataset.from_tensor_slices((windows, labels)).repeat().shuffle(
      min(len(windows), 4096), seed=seed)

  def jitter(i, xy):
    x, y = xy
    e = tf.random.stateless_normal(tf.shape(x), tf.stack([tf.cast(seed, tf.int64), i]))
    return x + noise * e, y

  return ds.enumerate().map(jitter).batch(batch_size, drop_remainder=True)


def pose_features(poses):
  """`data.pose.ClipPoser` output -> float32 [T, FEATURES]: keypoints
  centred on the hip centre and divided by the torso length (hips to
  shoulders, at least 0.1 of the box), visibility, and the box's centre
  and size. Frames where nobody was found are zeros."""
  kp = np.asarray(poses["keypoints"], np.float32)          # [T, 33, 2], box-relative
  boxes = np.asarray(poses["boxes"], np.float32)           # [T, 4], frame-relative
  # Box-relative units are not square: back to the box's own aspect first.
  aspect = np.maximum(boxes[:, 3:4], 1e-6) / np.maximum(boxes[:, 2:3], 1e-6)
  xy = kp * np.stack([np.ones_like(aspect), aspect], -1)
  hips = xy[:, [LEFT_HIP, RIGHT_HIP]].mean(1, keepdims=True)
  shoulders = xy[:, [LEFT_SHOULDER, RIGHT_SHOULDER]].mean(1, keepdims=True)
  torso = np.maximum(np.linalg.norm(shoulders - hips, axis=-1, keepdims=True), 0.1 * aspect[:, None])
  xy = (xy - hips) / torso
  centre = boxes[:, :2] + boxes[:, 2:] / 2
  found = (np.asarray(poses["score"]) > 0)[:, None]
  out = np.concatenate([xy.reshape(len(kp), -1), np.asarray(poses["visibility"], np.float32),
                        centre, boxes[:, 2:]], 1)
  return np.where(found, out, 0.0).astype(np.float32)


class PoseStreamLayers:
  """The pose stream's layers, shared by its clip and stream models."""

  def __init__(self, config, name="pose"):
    self.config = config
    self.name = name
    self.input_norm = keras.layers.LayerNormalization(name=f"{name}_input_norm")
    self.temporal = [model_lib.CausalTemporalConv(f, config.temporal_kernel,
                                                  name=f"{name}_block{i}_temporal")
                     for i, f in enumerate(config.filters)]
    self.relu = [keras.layers.ReLU(name=f"{name}_block{i}_relu")
                 for i in range(len(config.filters))]
    self.features = keras.layers.Dense(config.head_dim, activation="relu",
                                       name=f"{name}_features")
    self.dropout = keras.layers.Dropout(config.dropout, name=f"{name}_dropout")
    self.logits = keras.layers.Dense(config.num_classes, name=f"{name}_logits")

  def head(self, pooled, training=None):
    feats = self.features(pooled)
    return self.logits(self.dropout(feats, training=training)), feats


def build_pose_classifier(config, name="pose"):
  """(clip model float32 [B, T, FEATURES] -> logits [B, K], the shared
  `PoseStreamLayers`)."""
  parts = PoseStreamLayers(config, name)
  return clip_model(parts), parts


def clip_model(parts, with_features=False):
  """The clip model of `parts`: keypoints float32 [B, T, FEATURES] -> logits
  [B, K], and with `with_features` also the head features [B, head_dim]
  (the semi-supervised GAN's feature matching)."""
  config, name = parts.config, parts.name
  keypoints = keras.Input((config.num_frames, FEATURES), name="keypoints")
  x = parts.input_norm(keypoints)
  x = keras.layers.Reshape((config.num_frames, 1, 1, FEATURES), name=f"{name}_as_image")(x)
  for conv, relu in zip(parts.temporal, parts.relu):
    x = relu(conv(x))
  x = keras.layers.Reshape((config.num_frames, config.filters[-1]), name=f"{name}_pooled")(x)
  pooled = model_lib.MeanOverTime(name=f"{name}_time_mean")(x)
  logits, feats = parts.head(pooled)
  return keras.Model(keypoints, [logits, feats] if with_features else logits, name=name)


def stream_state_specs(config):
  """Names and per-example shapes of the stream model's states, in order:
  each temporal block keeps its last k-1 inputs."""
  inputs = (FEATURES,) + tuple(config.filters[:-1])
  specs = [(f"state_block{i}", (config.temporal_kernel - 1, 1, 1, c))
           for i, c in enumerate(inputs)]
  return specs + [("state_sum", (config.filters[-1],)), ("state_count", (1,))]


def initial_states(config, batch_size=1):
  return {name: np.zeros((batch_size,) + shape, np.float32)
          for name, shape in stream_state_specs(config)}


def build_stream_model(parts, batch_size=None):
  """(keypoints [B, FEATURES], *states) -> (logits [B, K], *new states),
  equal frame by frame to the clip model's running result."""
  config, name = parts.config, parts.name
  keypoints = keras.Input((FEATURES,), batch_size=batch_size, name="keypoints")
  states = [keras.Input(shape, batch_size=batch_size, name=n)
            for n, shape in stream_state_specs(config)]
  x = parts.input_norm(keypoints)
  x = keras.layers.Reshape((1, 1, FEATURES), name=f"{name}_frame_as_image")(x)
  new_states = []
  for i, (conv, relu) in enumerate(zip(parts.temporal, parts.relu)):
    x, s = model_lib.TemporalStep(conv, name=f"{name}_step{i}")(x, states[i])
    x = relu(x)
    new_states.append(s)
  x = keras.layers.Reshape((config.filters[-1],), name=f"{name}_frame_pooled")(x)
  mean, total, count = model_lib.CumulativeMean(name=f"{name}_cumulative_mean")(
      x, states[-2], states[-1])
  logits, _ = parts.head(mean)
  return keras.Model([keypoints] + states, [logits] + new_states + [total, count],
                     name=f"{name}_stream")

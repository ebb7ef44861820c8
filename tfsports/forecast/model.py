"""The trajectory generator and its two discriminators (Keras functional).

One generator both forecasts and fills gaps: it sees every agent's window
of `num_frames` positions with a `known` mask (forecasting: the first
`num_observed` frames known; gap filling: all but a gap), and returns the
whole window with the unknown frames filled. It predicts a residual over the
baseline path (`BaselinePath`: constant velocity after the last known frame,
a straight line across a gap), in a scene frame normalised to the attacking
direction (`SceneFrame`: origin at the agents' mean known position, x from
team 0's mean position towards team 1's), so the network learns what the
baselines miss rather than the sport's coordinates. Agents interact through
transformer blocks over the agent axis; noise per agent makes the futures
samples of a joint distribution.

Inputs (fixed shapes, batch first): paths float32 [B, A, T, 2] metres (any
value where unknown), known float32 [B, A, T] (1 known), team int32 [B, A]
(0, 1; -1 unknown), noise float32 [B, A, noise_dim]. Agents with no known
frame are padding. Everything is builtin-op TFLite; no Lambda layers.
"""

import dataclasses

import keras
from keras import ops
import numpy as np

from tfsports import config as config_lib
from tfsports.layers import PACKAGE


@dataclasses.dataclass(frozen=True)
class ForecastConfig(config_lib.Config):
  """max_agents: agents per scene (padded; 22 soccer players fit).
  num_observed / num_future: frames at `fps` (the protocol: 2 s + 4 s at 5 Hz).
  scale_m: metres per unit of the normalised scene frame."""
  max_agents: int = 24
  num_observed: int = 10
  num_future: int = 20
  fps: float = 5.0
  noise_dim: int = 16
  width: int = 128
  num_heads: int = 4
  depth: int = 3
  disc_width: int = 128
  scale_m: float = 10.0

  @property
  def num_frames(self):
    return self.num_observed + self.num_future


PRESETS = config_lib.register_presets(ForecastConfig, {
    "base": ForecastConfig(),
    "tiny": ForecastConfig(width=96, depth=2, disc_width=96),
    "test": ForecastConfig(max_agents=6, width=16, num_heads=2, depth=1, disc_width=16,
                           noise_dim=4),
})


@keras.saving.register_keras_serializable(package=PACKAGE)
class BaselinePath(keras.layers.Layer):
  """(paths [B, A, T, 2], known [B, A, T]) -> [B, A, T, 2]: known frames
  kept; a straight line between the known ends of a gap; constant velocity
  (from the last two known frames) after the last known frame; the first
  known position held before it. The baselines of the protocol, in-graph."""

  def call(self, paths, known):
    num_frames = known.shape[-1]
    s = ops.arange(num_frames, dtype="float32")
    k = ops.expand_dims(ops.cast(known > 0.5, "float32"), -2)       # [B, A, 1, S]
    le = ops.cast(s[None, :] <= s[:, None], "float32")               # [T, S]: s <= t
    lt = ops.cast(s[None, :] < s[:, None], "float32")
    ge = 1.0 - lt
    prev = ops.max(ops.where(k * le > 0, s, -1.0), axis=-1)          # [B, A, T]
    nxt = ops.min(ops.where(k * ge > 0, s, float(num_frames)), axis=-1)
    before = ops.max(ops.where(k * lt > 0, s, -1.0), axis=-1)        # last known < t

    def one_hot(index):
      return ops.one_hot(ops.cast(ops.clip(index, 0, num_frames - 1), "int32"), num_frames)

    def at(index):
      return ops.matmul(one_hot(index), paths)

    prev2 = ops.sum(one_hot(prev) * ops.expand_dims(before, -2), axis=-1)
    prev2 = ops.where(prev >= 0, prev2, -1.0)
    has_prev, has_next, has_prev2 = prev >= 0, nxt < num_frames, prev2 >= 0
    x_prev, x_next, x_prev2 = at(prev), at(nxt), at(prev2)
    w = ops.expand_dims((s - prev) / ops.maximum(nxt - prev, 1.0), -1)
    line = x_prev + w * (x_next - x_prev)
    velocity = ops.where(ops.expand_dims(has_prev2, -1),
                         (x_prev - x_prev2) / ops.expand_dims(ops.maximum(prev - prev2, 1.0), -1),
                         0.0)
    ahead = x_prev + ops.expand_dims(s - prev, -1) * velocity
    both = ops.expand_dims(has_prev & has_next, -1)
    out = ops.where(both, line,
                    ops.where(ops.expand_dims(has_prev, -1), ahead,
                              ops.where(ops.expand_dims(has_next, -1), x_next, 0.0)))
    return out

  def compute_output_shape(self, paths_shape, known_shape):
    return paths_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class SceneFrame(keras.layers.Layer):
  """(paths [B, A, T, 2], known [B, A, T], team [B, A]) -> [B, 4]: origin
  (x, y) and the x axis (cos, sin). The origin is the mean known position;
  the axis points from team 0's mean known position to team 1's (the
  attacking direction where team 0 attacks), +x if a team is missing."""

  def call(self, paths, known, team):
    k = ops.expand_dims(known, -1)
    origin = ops.sum(paths * k, axis=(1, 2)) / ops.maximum(ops.sum(k, axis=(1, 2)), 1.0)

    def centre(which):
      w = k * ops.reshape(ops.cast(ops.equal(team, which), "float32"),
                          (-1, team.shape[1], 1, 1))
      count = ops.sum(w, axis=(1, 2))
      return ops.sum(paths * w, axis=(1, 2)) / ops.maximum(count, 1.0), count[:, 0] > 0

    c0, has0 = centre(0)
    c1, has1 = centre(1)
    d = c1 - c0
    # Floored inside the root: sqrt's gradient at 0 is infinite (d is 0
    # when neither team is known), which the where below would not mask.
    norm = ops.sqrt(ops.maximum(ops.sum(d * d, axis=-1), 1e-12))
    ok = ops.expand_dims(has0 & has1 & (norm > 1e-3), -1)
    axis = ops.where(ok, d / ops.expand_dims(ops.maximum(norm, 1e-3), -1),
                     ops.convert_to_tensor([[1.0, 0.0]]))
    return ops.concatenate([origin, axis], axis=-1)

  def compute_output_shape(self, paths_shape, known_shape, team_shape):
    return (paths_shape[0], 4)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ToSceneFrame(keras.layers.Layer):
  """(points [B, A, T, 2], frame [B, 4]) -> points in the scene frame, in
  units of `scale_m`; `inverse` maps back to metres; `translate=False` maps
  displacements (no origin)."""

  def __init__(self, scale_m, inverse=False, translate=True, **kwargs):
    super().__init__(**kwargs)
    self.scale_m, self.inverse, self.translate = scale_m, inverse, translate

  def call(self, points, frame):
    frame = ops.reshape(frame, (-1, 1, 1, 4))
    origin, c, s = frame[..., 0:2], frame[..., 2:3], frame[..., 3:4]
    x, y = points[..., 0:1], points[..., 1:2]
    if self.inverse:
      out = ops.concatenate([x * c - y * s, x * s + y * c], axis=-1) * self.scale_m
      return out + origin if self.translate else out
    if self.translate:
      x, y = x - origin[..., 0:1], y - origin[..., 1:2]
    return ops.concatenate([x * c + y * s, y * c - x * s], axis=-1) / self.scale_m

  def compute_output_shape(self, points_shape, frame_shape):
    return points_shape

  def get_config(self):
    return {**super().get_config(), "scale_m": self.scale_m, "inverse": self.inverse,
            "translate": self.translate}


@keras.saving.register_keras_serializable(package=PACKAGE)
class AgentFeatures(keras.layers.Layer):
  """(normalised paths [B, A, T, 2], normalised baseline [B, A, T, 2], known
  [B, A, T], team [B, A]) -> [B, A, 6T + 1]: known positions, the baseline,
  per-frame displacements (x10: about unit size at 5 Hz), the mask and the
  team one-hot (-1, 0, 1)."""

  def call(self, paths, baseline, known, team):
    num_agents = known.shape[1]
    k = ops.expand_dims(known, -1)
    steps = (baseline[:, :, 1:] - baseline[:, :, :-1]) * 10.0
    parts = [paths * k, baseline, steps]
    flat = [ops.reshape(p, (-1, num_agents, p.shape[2] * 2)) for p in parts]
    teams = ops.one_hot(ops.cast(team, "int32") + 1, 3)
    return ops.concatenate(flat + [known, teams], axis=-1)

  def compute_output_shape(self, paths_shape, *shapes):
    t = paths_shape[2]
    return (paths_shape[0], paths_shape[1], 2 * t + 2 * t + 2 * (t - 1) + t + 3)


@keras.saving.register_keras_serializable(package=PACKAGE)
class AgentPresence(keras.layers.Layer):
  """known [B, A, T] -> (present [B, A, 1] float, attention mask [B, A, A]
  bool: every agent attends to the present agents)."""

  def call(self, known):
    present = ops.max(known, axis=-1)
    mask = ops.expand_dims(present, 1) * ops.ones_like(ops.expand_dims(present, 2))
    return ops.expand_dims(present, -1), mask > 0.5

  def compute_output_shape(self, known_shape):
    b, a = known_shape[0], known_shape[1]
    return (b, a, 1), (b, a, a)


@keras.saving.register_keras_serializable(package=PACKAGE)
class FillUnknown(keras.layers.Layer):
  """(paths, known, baseline, residual, present) -> the known frames as
  given, the unknown ones baseline + residual; padding agents zero."""

  def call(self, paths, known, baseline, residual, present):
    k = ops.expand_dims(known, -1)
    out = k * paths + (1.0 - k) * (baseline + residual)
    return out * ops.expand_dims(present, -1)

  def compute_output_shape(self, paths_shape, *shapes):
    return paths_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedMean(keras.layers.Layer):
  """(x [B, A, C], present [B, A, 1]) -> [B, C], the mean over present agents."""

  def call(self, x, present):
    return ops.sum(x * present, axis=1) / ops.maximum(ops.sum(present, axis=1), 1.0)

  def compute_output_shape(self, x_shape, present_shape):
    return (x_shape[0], x_shape[2])


def noise_for(seed, batch, num_samples, config):
  """float32 [batch * num_samples, A, noise_dim]: the generator's noise for
  `seed`, the same in training reports, exports and runners."""
  import tensorflow as tf
  return tf.random.stateless_normal((batch * num_samples, config.max_agents, config.noise_dim),
                                    (seed, 0))


def _inputs(config, noise=False):
  a, t = config.max_agents, config.num_frames
  inputs = {"paths": keras.Input((a, t, 2), name="paths"),
            "known": keras.Input((a, t), name="known"),
            "team": keras.Input((a,), dtype="int32", name="team")}
  if noise:
    inputs["noise"] = keras.Input((a, config.noise_dim), name="noise")
  return inputs


def apply_normalise_block(inputs, config, name, whole=False):
  """Baseline, scene frame, per-agent features and presence of `inputs`.
  whole: the paths are complete windows to judge (a critic's input): their
  features hold the whole path where a generator's hold the baseline."""
  paths, known, team = inputs["paths"], inputs["known"], inputs["team"]
  baseline = BaselinePath(name=f"{name}_baseline")(paths, known)
  # The frame comes from the known part alone, for a critic too.
  frame = SceneFrame(name=f"{name}_frame")(baseline, known, team)
  to_frame = ToSceneFrame(config.scale_m, name=f"{name}_to_frame")
  shown = paths if whole else baseline
  features = AgentFeatures(name=f"{name}_features")(
      to_frame(paths, frame), to_frame(shown, frame), known, team)
  present, mask = AgentPresence(name=f"{name}_presence")(known)
  return baseline, frame, features, present, mask


def apply_agent_attention_block(x, mask, config, name):
  """Pre-norm transformer block over the agent axis."""
  h = keras.layers.LayerNormalization(name=f"{name}_norm1")(x)
  h = keras.layers.MultiHeadAttention(config.num_heads, config.width // config.num_heads,
                                      name=f"{name}_attention")(h, h, attention_mask=mask)
  x = keras.layers.Add(name=f"{name}_add1")([x, h])
  h = keras.layers.LayerNormalization(name=f"{name}_norm2")(x)
  h = keras.layers.Dense(2 * config.width, activation="gelu", name=f"{name}_mlp1")(h)
  h = keras.layers.Dense(config.width, name=f"{name}_mlp2")(h)
  return keras.layers.Add(name=f"{name}_add2")([x, h])


def build_trajectory_generator(config):
  """{paths, known, team, noise} -> paths float32 [B, A, T, 2] metres, the
  unknown frames filled (see the module docstring)."""
  inputs = _inputs(config, noise=True)
  baseline, frame, features, present, mask = apply_normalise_block(inputs, config, "input")
  x = keras.layers.Dense(config.width, activation="gelu", name="encode1")(features)
  x = keras.layers.Dense(config.width, name="encode2")(x)
  z = keras.layers.Dense(config.width, name="noise_embed")(inputs["noise"])
  x = keras.layers.Add(name="add_noise")([x, z])
  for i in range(config.depth):
    x = apply_agent_attention_block(x, mask, config, f"block{i}")
  x = keras.layers.LayerNormalization(name="head_norm")(x)
  x = keras.layers.Dense(config.num_frames * 2, name="head", kernel_initializer="zeros")(x)
  x = keras.layers.Reshape((config.max_agents, config.num_frames, 2), name="head_frames")(x)
  residual = ToSceneFrame(config.scale_m, inverse=True, translate=False,
                          name="residual_metres")(x, frame)
  out = FillUnknown(name="paths_out")(inputs["paths"], inputs["known"], baseline, residual,
                                      present)
  return keras.Model(inputs, out, name="trajectory_generator")


def apply_sn_dense(x, units, name, activation=True):
  x = keras.layers.SpectralNormalization(keras.layers.Dense(units, name=f"{name}_dense"),
                                         name=name)(x)
  return keras.layers.LeakyReLU(0.2, name=f"{name}_lrelu")(x) if activation else x


def _disc_trunk(config, name):
  inputs = _inputs(config)
  _, _, features, present, _ = apply_normalise_block(inputs, config, "input", whole=True)
  x = apply_sn_dense(features, config.disc_width, "agent1")
  x = apply_sn_dense(x, config.disc_width, "agent2")
  return inputs, x, present


def build_agent_discriminator(config):
  """{paths (whole windows), known, team} -> logits [B, A]: is each agent's
  path real? The frame and the known part are the conditioning."""
  inputs, x, _ = _disc_trunk(config, "agent")
  x = apply_sn_dense(x, 1, "logit", activation=False)
  out = keras.layers.Reshape((config.max_agents,), name="logits")(x)
  return keras.Model(inputs, out, name="agent_discriminator")


def build_group_discriminator(config):
  """{paths, known, team} -> logits [B, 1]: are the agents' paths, together,
  a real scene? Pools the agents after mixing them with attention."""
  inputs, x, present = _disc_trunk(config, "group")
  known_mask = AgentPresence(name="group_presence")(inputs["known"])[1]
  h = keras.layers.MultiHeadAttention(config.num_heads, config.disc_width // config.num_heads,
                                      name="group_attention")(x, x, attention_mask=known_mask)
  x = keras.layers.Add(name="group_add")([x, h])
  x = apply_sn_dense(x, config.disc_width, "group1")
  x = MaskedMean(name="group_pool")(x, present)
  x = apply_sn_dense(x, config.disc_width, "group2")
  out = apply_sn_dense(x, 1, "logits", activation=False)
  return keras.Model(inputs, out, name="group_discriminator")


def sample_generator(generator, config, paths, known, team, num_samples, seed):
  """num_samples fills of one padded window: [K, A, T, 2] (seeded noise)."""
  m = config.model_config
  noise = noise_for(seed, 1, num_samples, m).numpy()
  tile = lambda x: np.repeat(x[None], num_samples, 0)
  return np.asarray(generator({"paths": tile(paths), "known": tile(known),
                               "team": tile(team), "noise": noise}, training=False))

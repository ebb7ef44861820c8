"""Exports the trajectory generator, and runs the exports.

SavedModel (TF Serving layout, EXPORT_DIR/saved_model/forecast/1):

  serving_default(observed float32 [B, A, 10, 2] metres, mask float32
      [B, A, 10] (1 observed), team int32 [B, A] (0, 1; -1 unknown), seed
      int32 []) -> futures float32 [B, K, A, 20, 2] metres
  fill(paths float32 [B, A, T, 2], known float32 [B, A, T], team, seed)
      -> paths float32 [B, K, A, T, 2]: the unknown frames filled

Agents without an observed frame are padding (A = max_agents). The noise
of sample k of scene b is `tf.random.stateless_normal([B*K, A, noise_dim],
(seed, 0))[b*K + k]`, so a seed gives the same futures everywhere.

TFLite (EXPORT_DIR/forecast_float32.tflite): the generator itself at the
fixed batch K: paths [K, A, T, 2], known [K, A, T], team [K, A], noise
[K, A, noise_dim] -> [K, A, T, 2]; builtin ops only. `ForecastRunner`
runs either export, or a Keras generator, with the same noise.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from tfsports.forecast import model as model_lib
from tfsports.serving import exports as exports_lib
from tfsports.serving import loader
from tfsports.serving import saved_model as saved_model_lib
from tfsports.serving import tflite as tflite_lib

NAME = "forecast"


def export_saved_model(generator, config, export_dir, num_samples, version=1):
  a, t, o = config.max_agents, config.num_frames, config.num_observed
  archive = keras.export.ExportArchive()
  archive.track(generator)

  def run(paths, known, team, seed):
    batch = tf.shape(paths)[0]
    rep = lambda x: tf.repeat(x, num_samples, axis=0)
    out = generator({"paths": rep(paths), "known": rep(known), "team": rep(team),
                     "noise": model_lib.noise_for(seed, batch, num_samples, config)}, training=False)
    return tf.reshape(out, (batch, num_samples, a, t, 2))

  def forecast_fn(observed, mask, team, seed):
    batch = tf.shape(observed)[0]
    pad = tf.zeros((batch, a, t - o), tf.float32)
    paths = tf.concat([observed, tf.stack([pad, pad], -1)], axis=2)
    known = tf.concat([mask, pad], axis=2)
    return {"futures": run(paths, known, team, seed)[:, :, :, o:]}

  def fill_fn(paths, known, team, seed):
    return {"paths": run(paths, known, team, seed)}

  seed = tf.TensorSpec([], tf.int32, name="seed")
  team = tf.TensorSpec([None, a], tf.int32, name="team")
  saved_model_lib.add_checked_endpoint(archive, "serving_default", forecast_fn, input_signature=[
      tf.TensorSpec([None, a, o, 2], tf.float32, name="observed"),
      tf.TensorSpec([None, a, o], tf.float32, name="mask"), team, seed])
  saved_model_lib.add_checked_endpoint(archive, "fill", fill_fn, input_signature=[
      tf.TensorSpec([None, a, t, 2], tf.float32, name="paths"),
      tf.TensorSpec([None, a, t], tf.float32, name="known"), team, seed])
  warmup = {"observed": np.zeros((1, a, o, 2), np.float32),
            "mask": np.ones((1, a, o), np.float32), "team": np.zeros((1, a), np.int32),
            "seed": np.array(0, np.int32)}
  return saved_model_lib.write_saved_model(archive, os.path.join(export_dir, "saved_model"),
                                           NAME, [warmup], version=version)


@exports_lib.atomic_export
def export(generator, train_config, export_dir):
  """SavedModel, float32 TFLite and model_info.json; returns their paths."""
  config = train_config.model_config
  k = train_config.eval_samples
  os.makedirs(export_dir, exist_ok=True)
  saved = export_saved_model(generator, config, export_dir, k)
  signature = [{"paths": tf.TensorSpec((k, config.max_agents, config.num_frames, 2),
                                       tf.float32, name="paths"),
                "known": tf.TensorSpec((k, config.max_agents, config.num_frames), tf.float32,
                                       name="known"),
                "team": tf.TensorSpec((k, config.max_agents), tf.int32, name="team"),
                "noise": tf.TensorSpec((k, config.max_agents, config.noise_dim), tf.float32,
                                       name="noise")}]
  tfl = tflite_lib.export_tflite(generator, signature, export_dir,
                                 file_name="forecast_{variant}.tflite")
  info = {"model_config": config.to_dict(), "num_samples": k, "preset": train_config.preset}
  return exports_lib.finish_export(export_dir, generator, info, saved, tfl, "generator.keras",
                                   "forecast")


class ForecastRunner:
  """Samples fills of padded windows from a SavedModel, TFLite file or run.

      runner = ForecastRunner("runs/forecast_tiny")
      runner.fill(paths, known, team, seed) -> float32 [K, A, T, 2]
  """

  def __init__(self, path, num_threads=2):
    located = path if isinstance(path, loader.Located) else loader.locate("forecast", path)
    self.kind, self.path, info = located.kind, located.path, located.info
    if not info:
      raise FileNotFoundError(f"{located.name}: no {loader.MODEL_INFO}; the export is incomplete")
    self.config = model_lib.ForecastConfig.from_dict(info["model_config"])
    self.num_samples = info["num_samples"]
    if self.kind == "saved_model":
      self.fn = tf.saved_model.load(self.path).signatures["fill"]
    else:
      from tfsports.serving import interpreters
      interpreter = interpreters.load_interpreter(self.path, num_threads)
      self.fn = interpreter.get_signature_runner()

  def fill(self, paths, known, team, seed=0):
    """paths float [A, T, 2], known [A, T], team int [A] (A <= max_agents)
    -> K fills float32 [K, A, T, 2]."""
    c, k = self.config, self.num_samples
    a = len(paths)
    if a > c.max_agents:
      raise ValueError(f"{a} agents; the model takes at most {c.max_agents}")
    p = np.zeros((c.max_agents, c.num_frames, 2), np.float32)
    kn = np.zeros((c.max_agents, c.num_frames), np.float32)
    tm = np.full(c.max_agents, -1, np.int32)
    p[:a], kn[:a], tm[:a] = paths, known, team
    if self.kind == "saved_model":
      out = self.fn(paths=tf.constant(p[None]), known=tf.constant(kn[None]),
                    team=tf.constant(tm[None]), seed=tf.constant(seed, tf.int32))
      return out["paths"].numpy()[0, :, :a]
    rep = lambda x: np.repeat(x[None], k, 0)
    out = self.fn(paths=rep(p), known=rep(kn), team=rep(tm),
                  noise=model_lib.noise_for(seed, 1, k, c).numpy())
    return next(iter(out.values()))[:, :a]

  def forecast(self, observed, mask, team, seed=0):
    """observed float [A, num_observed, 2], mask [A, num_observed], team
    [A] -> K futures float32 [K, A, num_future, 2]."""
    c = self.config
    paths = np.zeros((len(observed), c.num_frames, 2), np.float32)
    known = np.zeros((len(observed), c.num_frames), np.float32)
    paths[:, :c.num_observed], known[:, :c.num_observed] = observed, mask
    return self.fill(paths, known, team, seed)[:, :, c.num_observed:]


def check_export(paths, train_config, seed=3):
  """Max |difference| (metres) between the Keras generator, the SavedModel
  and the TFLite model on one synthetic window, same noise."""
  from tfsports.forecast import data as data_lib
  config = train_config.model_config
  scene = data_lib.resample(data_lib.synthetic_scenes(1, seed=seed, seconds=7)[0], config.fps)
  xy, _, team = data_lib.windows(scene, config.num_frames, 1, config.max_agents)[0]
  generator = keras.saving.load_model(paths["keras"], safe_mode=True)
  padded, teams, present = data_lib.pad_window(xy, team, config.max_agents)
  known = data_lib.forecast_mask(present, config.num_frames, config.num_observed)
  ref = model_lib.sample_generator(generator, train_config, padded, known, teams,
                                train_config.eval_samples, seed)[:, :len(xy)]
  out = {}
  for name, path in (("saved_model", paths["saved_model"]),
                     ("tflite_float32", paths["tflite_float32"])):
    runner = ForecastRunner(path)
    got = runner.fill(xy, known[:len(xy)], team, seed)
    out[f"{name}_vs_keras_max_abs_m"] = float(np.abs(got - ref).max())
  return out


def runner_for(located, num_threads=2):
  """The `loader.load` factory."""
  return ForecastRunner(located, num_threads)

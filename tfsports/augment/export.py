"""Exports the clip generator, and runs the exports.

SavedModel (TF Serving layout, EXPORT_DIR/saved_model/generator/1):

  serving_default(class_ids int32 [B], seeds int32 [B]) -> clips uint8
      [B, T, H, W, 3], class_names string [B]

The latent of seed s is `tf.random.stateless_normal([latent_dim], (s, 0))`,
so a (class, seed) pair names one clip everywhere. TFLite
(EXPORT_DIR/generator_float32.tflite): z float32 [1, latent_dim], label
int32 [1] -> uint8 [1, T, H, W, 3], builtin ops only. model_info.json holds
the class names, the frame rate and the dataset's clip length.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from tfsports import layers
from tfsports.serving import exports as exports_lib
from tfsports.serving import loader
from tfsports.serving import saved_model as saved_model_lib
from tfsports.serving import tflite as tflite_lib

NAME = "generator"


def latents(seeds, latent_dim):
  """float32 [N, latent_dim]: the latent of each seed."""
  return tf.map_fn(lambda s: tf.random.stateless_normal([latent_dim], tf.stack([s, 0])),
                   tf.cast(seeds, tf.int32), fn_output_signature=tf.float32)


def uint8_generator(generator):
  """{z, label} -> uint8 clips: the generator with the conversion inside."""
  z = keras.Input(generator.input[0].shape[1:], name="z")
  label = keras.Input((), dtype="int32", name="label")
  return keras.Model([z, label], layers.ToUint8(name="to_uint8")(generator([z, label])),
                     name="generator_uint8")


@exports_lib.atomic_export
def export(generator, config, export_dir, clip_frames):
  """SavedModel, float32 TFLite, model_info.json and the Keras generator;
  returns their paths. clip_frames: the dataset's clip length."""
  os.makedirs(export_dir, exist_ok=True)
  m = config.model_config()
  served = uint8_generator(generator)
  names = tf.constant(list(config.class_names))
  archive = keras.export.ExportArchive()
  archive.track(served)

  def generate_fn(class_ids, seeds):
    # An id out of range would gather garbage on a GPU, not fail.
    n = len(config.class_names)
    ok = tf.debugging.Assert(
        tf.reduce_all((class_ids >= 0) & (class_ids < n))
        & tf.equal(tf.size(class_ids), tf.size(seeds)),
        [f"class_ids must lie in [0, {n}) ({', '.join(config.class_names)}) and have one "
         "seed each; got class_ids, seeds", class_ids, seeds])
    with tf.control_dependencies([ok]):
      class_ids = tf.identity(class_ids)
    clips = served([latents(seeds, m.latent_dim), class_ids], training=False)
    return {"clips": clips, "class_names": tf.gather(names, class_ids)}

  saved_model_lib.add_checked_endpoint(archive, "serving_default", generate_fn, input_signature=[
      tf.TensorSpec([None], tf.int32, name="class_ids"),
      tf.TensorSpec([None], tf.int32, name="seeds")])
  saved = saved_model_lib.write_saved_model(
      archive, os.path.join(export_dir, "saved_model"), NAME,
      [{"class_ids": np.zeros([1], np.int32), "seeds": np.zeros([1], np.int32)}])
  tfl = tflite_lib.export_tflite(
      served, [[tf.TensorSpec((1, m.latent_dim), tf.float32, name="z"),
                tf.TensorSpec((1,), tf.int32, name="label")]],
      export_dir, file_name="generator_{variant}.tflite")
  info = {"class_names": list(config.class_names), "fps": config.fps,
          "clip_frames": int(clip_frames), "model_config": m.to_dict()}
  return exports_lib.finish_export(export_dir, generator, info, saved, tfl, "generator.keras",
                                   "augment")


class GeneratorRunner:
  """Clips from a generator export: runner.generate(class_ids, seeds) ->
  uint8 [N, T, H, W, 3]; runner.class_names, fps, clip_frames."""

  def __init__(self, path, num_threads=2):
    located = path if isinstance(path, loader.Located) else loader.locate("augment", path)
    self.kind, self.path, info = located.kind, located.path, located.info
    if not info:
      raise FileNotFoundError(f"{located.name}: no {loader.MODEL_INFO}; the export is incomplete")
    self.class_names = info["class_names"]
    self.fps = info["fps"]
    self.clip_frames = info["clip_frames"]
    self.latent_dim = info["model_config"]["latent_dim"]
    if self.kind == "saved_model":
      self.fn = tf.saved_model.load(self.path).signatures["serving_default"]
    else:
      from tfsports.serving import interpreters
      self.fn = interpreters.load_interpreter(self.path, num_threads).get_signature_runner()

  def class_id(self, name):
    if name not in self.class_names:
      raise ValueError(f"unknown class {name!r}; known: {', '.join(self.class_names)}")
    return self.class_names.index(name)

  def generate(self, class_ids, seeds):
    class_ids = np.asarray(class_ids, np.int32)
    seeds = np.asarray(seeds, np.int32)
    if self.kind == "saved_model":
      return self.fn(class_ids=tf.constant(class_ids), seeds=tf.constant(seeds))["clips"].numpy()
    z = latents(seeds, self.latent_dim).numpy()
    return np.concatenate([next(iter(self.fn(z=z[i:i + 1], label=class_ids[i:i + 1]).values()))
                           for i in range(len(seeds))])


def runner_for(located, num_threads=2):
  """The `loader.load` factory."""
  return GeneratorRunner(located, num_threads)

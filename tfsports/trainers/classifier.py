"""The action-classifier recipe: train, evaluate, export.

    RUN_DIR/checkpoints/                       resumable
    RUN_DIR/export/saved_model/classifier/1/   signatures: serving_default
                                               (clip), stream_step, initial_states
    RUN_DIR/export/tflite/stream_{float32,int8}.tflite
    RUN_DIR/export/eval_report.json            top-1, confusion matrix, TFLite check
"""

import dataclasses
import json
import os

import keras
import numpy as np
import tensorflow as tf

from tfsports.data import pipelines
from tfsports.data import synthetic
from tfsports.models import classifier as classifier_models
from tfsports.serving import classifier_export
from tfsports.trainers import common


@dataclasses.dataclass(frozen=True)
class ClassifierTrainConfig:
  preset: str = "tiny"
  data: str = "synthetic"
  run_dir: str = "runs/classifier_tiny"
  train_steps: int = 1500
  batch_size: int = 16
  learning_rate: float = 2e-3
  checkpoint_every: int = 100
  keep_checkpoints: int = 3
  strategy: str = "default"
  seed: int = 0
  fps: float = 10.0
  eval_clips: int = 200
  tflite_variants: tuple = ("float32", "int8")
  verbose: int = 1

  @classmethod
  def preset_config(cls, name, **changes):
    return dataclasses.replace(TRAIN_PRESETS[name], **changes)


TRAIN_PRESETS = {
    "tiny": ClassifierTrainConfig(),
    "base": ClassifierTrainConfig(preset="base", run_dir="runs/classifier_base",
                                  train_steps=4000),
    "test": ClassifierTrainConfig(preset="test", train_steps=4, batch_size=4,
                                  checkpoint_every=2, eval_clips=8, verbose=0,
                                  tflite_variants=("float32",)),
}

CLASS_NAMES = synthetic.ACTION_CLASSES


def scene_config(model_config, fps):
  """The "action" scene preset at the model's clip size: a close camera on
  the play, so actions are visible at low resolution."""
  return synthetic.SceneConfig.preset("action", image_size=tuple(model_config.image_size),
                                      num_frames=model_config.num_frames, fps=fps)


def train_dataset(config, model_config, input_context=None, skip=0):
  clips = pipelines.clip_dataset(config.data, model_config.num_frames,
                                 model_config.image_size, seed=config.seed,
                                 input_context=input_context,
                                 scene_config=scene_config(model_config, config.fps))
  ds = pipelines.classification_batches(clips, config.batch_size, seed=config.seed,
                                        input_context=input_context)
  return ds.skip(skip)


def eval_clips(config, model_config, num_clips):
  """Held-back synthetic clips (a seed training never uses): frames, labels."""
  scene = scene_config(model_config, config.fps)
  clips = [synthetic.render_clip(scene, seed=config.seed + 10_000, index=k)
           for k in range(num_clips)]
  return (np.stack([c["frames"] for c in clips]),
          np.array([int(c["label"]) for c in clips]))


def confusion_matrix(labels, predictions, num_classes):
  m = np.zeros((num_classes, num_classes), np.int64)
  for a, b in zip(labels, predictions):
    m[a, b] += 1
  return m


def train(config):
  """Trains (resuming from config.run_dir); returns (model, parts, step)."""
  keras.utils.set_random_seed(config.seed)
  strategy = common.make_strategy(config.strategy)
  model_config = classifier_models.ClassifierConfig.preset(config.preset)
  with strategy.scope():
    model, parts = classifier_models.build_classifier(model_config)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.optimizer.build(model.trainable_variables)
  run = common.RunDirectory(config.run_dir, config.keep_checkpoints, model=model,
                            optimizer=model.optimizer)
  run.restore()
  step_var = model.optimizer.iterations
  common.fit_resumable(
      model, run, step_var,
      lambda begin: strategy.distribute_datasets_from_function(
          lambda ctx: train_dataset(config, model_config, ctx, begin)),
      config.train_steps, config.checkpoint_every, config.verbose)
  return model, parts, int(step_var.numpy())


def evaluate(model, frames, labels, num_classes):
  logits = model.predict(frames, batch_size=16, verbose=0)
  predictions = np.argmax(logits, -1)
  return {"top1": float(np.mean(predictions == labels)),
          "num_clips": int(len(labels)),
          "confusion_matrix": confusion_matrix(labels, predictions, num_classes).tolist(),
          "class_names": list(CLASS_NAMES)}


def train_classifier(config):
  """Train, evaluate on held-back clips, export; returns the report."""
  model, parts, step = train(config)
  model_config = parts.config
  frames, labels = eval_clips(config, model_config, config.eval_clips)
  report = {"config": dataclasses.asdict(config), "step": step,
            "eval": evaluate(model, frames, labels, model_config.num_classes)}
  export_dir = os.path.join(config.run_dir, "export")
  report["exports"] = classifier_export.export_classifier(
      model, parts, export_dir, CLASS_NAMES, representative=frames[:8],
      variants=config.tflite_variants)
  report["tflite"] = classifier_export.check_stream_tflite(
      report["exports"], parts, frames[:4])
  with open(os.path.join(export_dir, "eval_report.json"), "w") as f:
    json.dump(report, f, indent=2, default=str)
  return report


def export_run(config):
  """Re-exports the latest checkpoint of config.run_dir without training."""
  model, parts, step = train(dataclasses.replace(config, train_steps=0))
  if step == 0:
    raise FileNotFoundError(f"{config.run_dir}: no checkpoint to export")
  frames, _ = eval_clips(config, parts.config, 8)
  return classifier_export.export_classifier(
      model, parts, os.path.join(config.run_dir, "export"), CLASS_NAMES,
      representative=frames, variants=config.tflite_variants)

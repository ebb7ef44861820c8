"""Athlete recognition recipe: team, jersey number and re-identification
embedding from player crops; evaluation on held-back scenes; export.

    RUN_DIR/export/saved_model/athlete/1/     crops uint8 -> kit, tens, units, embedding
    RUN_DIR/export/tflite/athlete_float32.tflite
    RUN_DIR/export/eval_report.json           team / number accuracy, rank-1 re-ID
"""

import dataclasses
import json
import os

import keras
import numpy as np
import tensorflow as tf

from tfsports.gan import losses as losses_lib
from tfsports.data import crops as crops_lib
from tfsports.data import synthetic
from tfsports.athletes import model as athlete_models
from tfsports.training import loop as common
from tfsports.serving import exports as exports_lib
from tfsports.serving import saved_model as saved_model_lib
from tfsports.serving import tflite as tflite_lib
from tfsports import config as config_lib
from tfsports.training import job as job_lib
from tfsports.training import run as run_lib


@dataclasses.dataclass(frozen=True)
class AthleteTrainConfig(config_lib.Config):
  preset: str = "tiny"
  run_dir: str = "runs/athlete_tiny"
  train_steps: int = 1500
  batch_size: int = 64
  learning_rate: float = 1e-3
  triplet_weight: float = 1.0
  checkpoint_every: int = 100
  seed: int = 0
  eval_clips: int = 30
  verbose: int = 1

  RESUMABLE_FIELDS = ("train_steps", "verbose", "run_dir", "checkpoint_every", "eval_clips")



TRAIN_PRESETS = {
    "tiny": AthleteTrainConfig(),
    "test": AthleteTrainConfig(preset="test", train_steps=4, batch_size=8,
                               checkpoint_every=2, eval_clips=2, verbose=0),
}
config_lib.register_presets(AthleteTrainConfig, TRAIN_PRESETS)


class TripletLoss(keras.losses.Loss):
  """Batch-hard triplet loss on identity labels, as a Keras loss."""

  def __init__(self, margin=0.2, name="triplet", **kwargs):
    super().__init__(name=name, **kwargs)
    self.margin = margin

  def call(self, y_true, y_pred):
    return losses_lib.batch_hard_triplet_loss(y_true, y_pred, self.margin)


def _to_targets(crop, labels):
  return crop, {"kit": labels["kit"], "tens": labels["tens"], "units": labels["units"],
                "embedding": labels["identity"]}


def build(config):
  """The athlete model, compiled, with its run directory."""
  model_config = athlete_models.AthleteConfig.from_preset(config.preset)
  model = athlete_models.build_athlete_model(model_config)
  ce = lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                loss={"kit": ce(), "tens": ce(), "units": ce(), "embedding": TripletLoss()},
                loss_weights={"kit": 1.0, "tens": 1.0, "units": 1.0,
                              "embedding": config.triplet_weight})
  model.optimizer.build(model.trainable_variables)
  run = common.RunDirectory(config.run_dir, model=model, optimizer=model.optimizer)
  return run_lib.Trained(model, run, model.optimizer.iterations, config, parts=model_config)


def fit(trained, strategy):
  config, model_config = trained.config, trained.parts
  # Shuffling over a few scenes' crops mixes scenes yet keeps each player
  # several times per batch, which the triplet loss needs.
  make_dataset = lambda begin: (
      crops_lib.athlete_examples(model_config.crop_size, seed=config.seed)
      .shuffle(8 * config.batch_size, seed=config.seed)
      .map(_to_targets).batch(config.batch_size, drop_remainder=True)
      .skip(begin).prefetch(tf.data.AUTOTUNE))
  common.fit_resumable(trained.model, trained.run, trained.step, make_dataset,
                       config.train_steps, config.checkpoint_every, config.verbose)


def train(config):
  """Trains (or resumes) in config.run_dir; returns the `run.Trained`."""
  return run_lib.train(RECIPE, config)


def evaluate(model, config):
  """Team and number accuracy over held-back scenes' crops, and rank-1
  re-identification: each player in a scene's first frame is matched to the
  nearest embedding among the players in its last frame."""
  model_config = athlete_models.AthleteConfig.from_preset(config.preset)
  team_hits, number_hits, number_total, reid_hits, reid_total, n = 0, 0, 0, 0, 0, 0
  for k in range(config.eval_clips):
    clip = synthetic.render_clip(crops_lib.CROP_SCENE, seed=config.seed + 10_000, index=k)
    c = crops_lib.player_crops(clip, model_config.crop_size)
    if not len(c["crops"]):
      continue
    out = model.predict(c["crops"], verbose=0, batch_size=128)
    # The predicted team is the team of the clip wearing the predicted kit.
    kit_to_team = {int(k): int(t) for k, t in zip(c["kit"], c["team"])}
    team = np.array([kit_to_team.get(int(k), -1) for k in out["kit"].argmax(-1)])
    number = out["tens"].argmax(-1) * 10 + out["units"].argmax(-1)
    team_hits += int((team == c["team"]).sum())
    n += len(team)
    players = c["jersey"] > 0
    number_hits += int((number[players] == c["jersey"][players]).sum())
    number_total += int(players.sum())
    first, last = c["frame"] == c["frame"].min(), c["frame"] == c["frame"].max()
    if c["frame"].min() == c["frame"].max():
      continue
    gallery_ids = c["track_id"][last]
    gallery = out["embedding"][last]
    for q, tid in zip(out["embedding"][first], c["track_id"][first]):
      if tid not in gallery_ids:
        continue
      nearest = gallery_ids[np.argmin(np.sum((gallery - q) ** 2, -1))]
      reid_hits += int(nearest == tid)
      reid_total += 1
  return {"team_accuracy": team_hits / max(n, 1),
          "number_accuracy": number_hits / max(number_total, 1),
          "reid_rank1": reid_hits / max(reid_total, 1),
          "num_crops": n, "num_reid_queries": reid_total}


@exports_lib.atomic_export
def export(model, export_dir):
  """SavedModel (TF Serving layout, dynamic batch) and float32 TFLite (batch
  1) of the athlete model: uint8 crops -> kit, tens, units, embedding; and
  model_info.json."""
  h, w = model.input_shape[1:3]
  exports_lib.write_model_info(export_dir, "athletes", model)
  saved = saved_model_lib.write_saved_model(
      model, os.path.join(export_dir, "saved_model"), "athlete",
      [{"crops": np.zeros((1, h, w, 3), np.uint8)}],
      input_signature=[tf.TensorSpec([None, h, w, 3], tf.uint8, name="crops")])
  lite = tflite_lib.export_tflite(
      model, [tf.TensorSpec([1, h, w, 3], tf.uint8, name="crops")],
      os.path.join(export_dir, "tflite"), ("float32",), file_name="athlete_{variant}.tflite")
  return {"saved_model": saved, "tflite_float32": lite["float32"]}


RECIPE = run_lib.Recipe(
    "athletes", build=build, fit=fit,
    evaluate=lambda trained: {"eval": evaluate(trained.model, trained.config)},
    # Staged by `run` already: the undecorated exporter writes into it.
    export=lambda trained, export_dir, report: export.__wrapped__(trained.model, export_dir))


def train_athlete(config):
  return run_lib.run(RECIPE, config)


def summary(report):
  lines = [json.dumps(report["eval"], indent=2)]
  lines += [f"{name}: {path}" for name, path in report["exports"].items()]
  return "\n".join(lines)


JOB = job_lib.JobSpec(
    name="athletes",
    description="Athlete recognition (kit/team, jersey number, re-ID embedding) from player "
                "crops of synthetic scenes, evaluated on held-back scenes, exported as "
                "SavedModel and TFLite.",
    config_class=AthleteTrainConfig, train=train_athlete, summary=summary,
    examples=("tfsports train athletes --run_dir=runs/athlete_tiny --train_steps=1500",),
)

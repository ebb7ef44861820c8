"""The one sequence every job's training run follows.

    trained = run.train(RECIPE, config)      # fit only (resumes in config.run_dir)
    report = run.run(RECIPE, config)         # fit, then evaluate and export on the chief
    report = run.export_run(RECIPE, run_dir) # a run's latest checkpoint, re-evaluated

`run` owns the order: the config is resolved, RUN_DIR/config.json is
written (or checked against a run already there), precision and seed are
set, the networks are built inside the strategy's scope, the latest
checkpoint is restored, the resumable fit runs, and then the chief alone
evaluates and exports into RUN_DIR/export, atomically, with
eval_report.json beside the exports. A job supplies a `Recipe`: its
builders, its dataset (inside `fit`), its evaluation and its export.
(`tfsports train` locks RUN_DIR around all of it: `training.lock`.)
"""

import dataclasses
import os
import time
import typing

import keras

from tfsports import config as config_lib
from tfsports.serving import exports as exports_lib
from tfsports.training import loop


@dataclasses.dataclass
class Trained:
  """A built (and, after `train`, fitted) job.

  model: the keras.Model that is fitted (a GAN trainer, or the model);
  run: its `loop.RunDirectory`; step: the tf.Variable counting its steps;
  parts: what else the job's hooks need (shared layers, data);
  status: what `train` measured (start_step, step, seconds, and the job's own);
  eval_data: what `evaluate` read, for `export` to calibrate on.
  """
  model: typing.Any
  run: typing.Any
  step: typing.Any
  config: typing.Any
  parts: typing.Any = None
  status: dict = dataclasses.field(default_factory=dict)
  eval_data: typing.Any = None


@dataclasses.dataclass(frozen=True)
class Recipe:
  """What a job hands `run`.

  build(config, **extras) -> Trained, called inside the strategy's scope:
    networks built and compiled, optimizer slots built.
  fit(trained, strategy) -> dict merged into trained.status; it calls
    `loop.fit_resumable` with the job's dataset.
  evaluate(trained) -> dict merged into the report (held-back data only).
  export(trained, export_dir, report) -> {name: path} of what it wrote into
    export_dir; it may add checks of the exports to `report`.
  resolve(config) -> config with the fields derived from the data filled in.
  restore(trained) -> what the run restored; default `trained.run.restore()`.
  """
  job: str
  build: typing.Callable
  fit: typing.Callable
  evaluate: typing.Callable
  export: typing.Callable
  resolve: typing.Optional[typing.Callable] = None
  restore: typing.Optional[typing.Callable] = None


def _restore(recipe, trained):
  return (recipe.restore or (lambda t: t.run.restore()))(trained)


def train(recipe, config, **extras):
  """Builds, restores and fits; returns the `Trained` job. `extras` reach
  `recipe.build`."""
  if recipe.resolve:
    config = recipe.resolve(config)
  config_lib.prepare_run_dir(config.run_dir, config)
  loop.set_precision(getattr(config, "mixed_precision", None))
  # Seeded initialisation: a run and its resumed twin start from the same weights.
  keras.utils.set_random_seed(config.seed)
  strategy = loop.make_strategy(getattr(config, "strategy", "default"))
  with strategy.scope():
    trained = recipe.build(config, **extras)
  _restore(recipe, trained)
  start = int(trained.step.numpy())
  t0 = time.perf_counter()
  status = recipe.fit(trained, strategy) or {}
  trained.status = {"start_step": start, "step": int(trained.step.numpy()),
                    "seconds": time.perf_counter() - t0, **status}
  return trained


def evaluate_and_export(recipe, trained):
  """Evaluates `trained` and exports it into RUN_DIR/export, which is
  replaced only once everything, eval_report.json included, is written.
  Returns the report (its paths point into RUN_DIR/export)."""
  export_dir = os.path.join(trained.config.run_dir, "export")
  with exports_lib.AtomicExport(export_dir) as staging:
    report = {"config": trained.config.to_dict()}
    report.update(recipe.evaluate(trained) or {})
    report["exports"] = recipe.export(trained, staging.path, report)
    if trained.status:
      report["training"] = trained.status
    report = staging.final(report)
    exports_lib.write_report(staging.path, report)
  return report


def run(recipe, config, **extras):
  """Train (resuming if possible), then evaluate and export on the chief.
  Returns the report; a non-chief worker returns only its training status."""
  trained = train(recipe, config, **extras)
  if not loop.is_chief():
    return {"config": trained.config.to_dict(), "training": trained.status}
  return evaluate_and_export(recipe, trained)


def load(recipe, config_class, run_dir, **changes):
  """The latest checkpoint of a run, built with its own RUN_DIR/config.json
  (`changes` replace fields that concern only evaluation and export)."""
  config = config_lib.read_run_config(run_dir, config_class)
  config = dataclasses.replace(config, run_dir=run_dir, **changes)
  trained = recipe.build(config)
  if not _restore(recipe, trained):
    raise FileNotFoundError(f"{run_dir}: no checkpoint to export")
  return trained


def export_run(recipe, config_class, run_dir, **changes):
  """Re-evaluates and re-exports the latest checkpoint of a run; returns
  the report."""
  return evaluate_and_export(recipe, load(recipe, config_class, run_dir, **changes))

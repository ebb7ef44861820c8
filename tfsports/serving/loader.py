"""One way to go from what a user names with --model to the job's runner.

    loader.load("superres", "rep_x4")               # a bundled preset
    loader.load("detector", "runs/detector_tiny")   # a run directory
    loader.load("forecast", "runs/f/export")        # an export folder
    loader.load("actions", ".../saved_model/classifier/1")   # a SavedModel
    loader.load("augment", ".../generator_float32.tflite")   # a TFLite file

`locate` finds the model file and its model_info.json without importing
TensorFlow (commands call it before loading anything, so a wrong path is a
one-line error at once); `load` then hands the `Located` model to the job's
runner factory. A model_info.json of another job is refused by name.
"""

import dataclasses
import importlib
import json
import os

from tfsports import errors

MODEL_INFO = "model_info.json"
PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class WrongModelError(errors.UserError):
  """A model of another job (its model_info.json says which)."""


@dataclasses.dataclass(frozen=True)
class Located:
  """kind: "saved_model" or "tflite"; path: the SavedModel directory (with
  saved_model.pb) or the .tflite file; info: its model_info.json ({} for an
  export older than model_info.json); name: what the user gave."""
  kind: str
  path: str
  info: dict
  name: str


@dataclasses.dataclass(frozen=True)
class ModelKind:
  """Where a job's models live inside presets, runs and exports.

  saved_models / tflite: candidate paths inside an export folder (or a
  bundled preset's folder), most wanted first; runner: "module:function"
  making the job's runner from a `Located` (imported only by `load`);
  train: the command that trains one, for error messages."""
  job: str
  what: str
  presets_dir: str
  saved_models: tuple
  tflite: tuple
  runner: str
  train: str
  prefer: str = "saved_model"

  def presets(self):
    """{name: folder} of the bundled presets that hold a model."""
    if not os.path.isdir(self.presets_dir):
      return {}
    found = {}
    for name in sorted(os.listdir(self.presets_dir)):
      folder = os.path.join(self.presets_dir, name)
      if any(os.path.exists(os.path.join(folder, p)) for p in self.saved_models + self.tflite):
        found[name] = folder
    return found

  def locate(self, model, prefer=None):
    """The `Located` model a preset name, run directory, export folder,
    SavedModel (version or base directory) or .tflite file names.
    `prefer`: "saved_model" or "tflite" when a folder holds both."""
    if not model:
      raise errors.UserError(f"no --model given ({self._hint()})")
    presets = self.presets()
    path = presets.get(model) or os.path.expanduser(str(model))
    if not os.path.exists(path):
      raise FileNotFoundError(f"{model}: no such model file, directory or preset "
                              f"({self._hint()})")
    if os.path.isdir(os.path.join(path, "export")):           # a run directory
      path = os.path.join(path, "export")
    if os.path.isfile(path):
      if not path.endswith(".tflite"):
        raise errors.UserError(f"{model}: not a .tflite file, SavedModel or {self.what} run")
      return self._found("tflite", path, model)
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
      return self._found("saved_model", path, model)
    versions = sorted((int(v) for v in os.listdir(path) if v.isdigit() and
                       os.path.isfile(os.path.join(path, v, "saved_model.pb"))))
    if versions:                                               # a TF Serving base directory
      return self._found("saved_model", os.path.join(path, str(versions[-1])), model)
    order = ((("saved_model", self.saved_models), ("tflite", self.tflite))
             if (prefer or self.prefer) == "saved_model" else
             (("tflite", self.tflite), ("saved_model", self.saved_models)))
    for kind, candidates in order:
      for sub in candidates:
        candidate = os.path.join(path, sub)
        if kind == "tflite" and os.path.isfile(candidate):
          return self._found(kind, candidate, model)
        if kind == "saved_model" and os.path.isfile(os.path.join(candidate, "saved_model.pb")):
          return self._found(kind, candidate, model)
    raise errors.UserError(f"{model}: not a {self.what} run, export, SavedModel or .tflite "
                           f"file ({self._hint()})")

  def _hint(self):
    names = ", ".join(self.presets())
    if names:
      return f"bundled presets: {names}"
    return f"no {self.what} model is bundled; train one first: {self.train}, then --model=RUN_DIR"

  def _found(self, kind, path, name):
    info = model_info_near(path)
    job = info.get("job")
    if job and job != self.job:
      raise WrongModelError(f"{name}: a {job} model (its {MODEL_INFO} says so), "
                            f"not a {self.what} model")
    return Located(kind, os.path.normpath(path), info, str(name))


def model_info_near(path):
  """The model_info.json of the export a model path lies in: a SavedModel's
  assets.extra first, then the folder and up to four above it; {} if none."""
  path = os.path.abspath(path)
  candidates = [os.path.join(path, "assets.extra", MODEL_INFO)] if os.path.isdir(path) else []
  folder = path if os.path.isdir(path) else os.path.dirname(path)
  for _ in range(5):
    candidates.append(os.path.join(folder, MODEL_INFO))
    folder = os.path.dirname(folder)
  for candidate in candidates:
    if os.path.isfile(candidate):
      try:
        with open(candidate) as f:
          return json.load(f)
      except (OSError, ValueError) as e:
        raise errors.UserError(f"{candidate}: unreadable ({e})") from None
  return {}


def _presets(job):
  return os.path.join(PACKAGE, job, "presets")


# Every job that serves a model: where its files lie, and its runner.
KINDS = {
    "superres": ModelKind(
        "superres", "super-resolution", _presets("superres"),
        saved_models=("saved_model", os.path.join("saved_model", "sr", "1")),
        tflite=(os.path.join("tflite", "float32.tflite"),),
        runner="tfsports.superres.command:runner_for",
        train="tfsports train superres"),
    "detector": ModelKind(
        "detector", "detector", _presets("tracking"),
        saved_models=(os.path.join("saved_model", "detector", "1"),),
        tflite=("detector_float32.tflite", os.path.join("tflite", "detector_float32.tflite")),
        runner="tfsports.tracking.command:runner_for",
        train="tfsports train detector", prefer="tflite"),
    "actions": ModelKind(
        "actions", "action classifier", _presets("actions"),
        saved_models=(os.path.join("saved_model", "classifier", "1"),),
        tflite=(os.path.join("tflite", "stream_float32.tflite"),),
        runner="tfsports.actions.command:runner_for",
        train="tfsports train actions --preset=footage --data=DIR"),
    "forecast": ModelKind(
        "forecast", "forecasting", _presets("forecast"),
        saved_models=(os.path.join("saved_model", "forecast", "1"),),
        tflite=("forecast_float32.tflite",),
        runner="tfsports.forecast.export:runner_for",
        train="tfsports train forecast"),
    "augment": ModelKind(
        "augment", "clip generator", _presets("augment"),
        saved_models=(os.path.join("saved_model", "generator", "1"),),
        tflite=("generator_float32.tflite",),
        runner="tfsports.augment.export:runner_for",
        train="tfsports train augment --data=DIR"),
}


def kind(job):
  if job not in KINDS:
    raise KeyError(f"no models for job {job!r}; jobs with models: {', '.join(KINDS)}")
  return KINDS[job]


def locate(job, model, prefer=None):
  return kind(job).locate(model, prefer)


def load(job, model, prefer=None, **options):
  """The job's runner for `model` (see the module docstring); `options`
  reach the job's runner factory (num_threads, threshold, ...)."""
  located = model if isinstance(model, Located) else locate(job, model, prefer)
  module, function = kind(job).runner.split(":")
  return getattr(importlib.import_module(module), function)(located, **options)

"""What the generator exports of several jobs share: an export folder of a
TF Serving SavedModel, TFLite files, the Keras model and model_info.json,
and finding those again from any path a user may give."""

import functools
import inspect
import json
import os
import shutil

MODEL_INFO = "model_info.json"
REPORT = "eval_report.json"
# What an export folder may hold; a folder with anything else is not
# replaced (a user's --export_dir=~ must never be swapped away).
EXPORT_ENTRIES = ("saved_model", "tflite", "samples", MODEL_INFO, REPORT,
                  "detector_config.json")
EXPORT_SUFFIXES = (".tflite", ".keras", ".weights.h5", ".json", ".md", ".png", ".gif")


class AtomicExport:
  """An export folder written all at once.

      with AtomicExport(export_dir) as staging:
        ... write everything into staging.path ...
      report = staging.final(report)   # paths inside moved to export_dir

  Everything is written into EXPORT_DIR.partial beside it; only when the
  block ends without an error does it replace EXPORT_DIR (two renames). An
  export that fails halfway (a full disk, a conversion error, a kill)
  leaves the previous export as it was.
  """

  def __init__(self, export_dir):
    self.export_dir = os.path.normpath(export_dir)
    self.path = self.export_dir + ".partial"

  def __enter__(self):
    if os.path.isdir(self.export_dir) and not looks_like_export(self.export_dir):
      raise FileExistsError(f"{self.export_dir}: exists and holds more than an export; "
                            "refusing to replace it, choose an empty or new folder")
    shutil.rmtree(self.path, ignore_errors=True)      # a crashed export's leftovers
    os.makedirs(self.path)
    return self

  def __exit__(self, kind, value, traceback):
    if kind is not None:
      shutil.rmtree(self.path, ignore_errors=True)
      return False
    previous = self.export_dir + ".previous"
    shutil.rmtree(previous, ignore_errors=True)
    if os.path.exists(self.export_dir):
      os.rename(self.export_dir, previous)
    os.rename(self.path, self.export_dir)
    shutil.rmtree(previous, ignore_errors=True)
    return False

  def final(self, value):
    """`value` (paths, or dicts/lists of them) with the staging folder
    replaced by the export folder."""
    if isinstance(value, str):
      if value == self.path or value.startswith(self.path + os.sep):
        return self.export_dir + value[len(self.path):]
      return value
    if isinstance(value, dict):
      return {k: self.final(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
      return type(value)(self.final(v) for v in value)
    return value


def _write_json(path, value):
  """Writes `path` whole: aside, then renamed, so a kill mid-write leaves
  the previous file."""
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "w") as f:
    json.dump(value, f, indent=2, default=str)
  os.replace(tmp, path)
  return path


def write_report(export_dir, report):
  """Writes EXPORT_DIR/eval_report.json whole; returns its path."""
  return _write_json(os.path.join(export_dir, REPORT), report)


def looks_like_export(folder):
  return all(name in EXPORT_ENTRIES or name.endswith(EXPORT_SUFFIXES)
             for name in os.listdir(folder))


def atomic_export(fn):
  """Decorates an exporter that takes `export_dir`: it writes into a staging
  folder that replaces `export_dir` only when it returns (see
  `AtomicExport`); the paths it returns point into `export_dir`."""
  signature = inspect.signature(fn)

  @functools.wraps(fn)
  def wrapper(*args, **kwargs):
    bound = signature.bind(*args, **kwargs)
    with AtomicExport(bound.arguments["export_dir"]) as staging:
      bound.arguments["export_dir"] = staging.path
      result = fn(*bound.args, **bound.kwargs)
    return staging.final(result)

  return wrapper


def library_version():
  try:
    from importlib import metadata
    return metadata.version("tfsports")
  except Exception:  # pylint: disable=broad-except
    return "unknown"     # running from a checkout that was never installed


def input_signature(model):
  """{input name: {shape, dtype}} of a Keras model (None: any size)."""
  return {t.name.split(":")[0]: {"shape": [None if d is None else int(d) for d in t.shape],
                                 "dtype": str(t.dtype).replace("tf.", "")}
          for t in model.inputs}


def write_model_info(folder, job, model=None, **fields):
  """Writes FOLDER/model_info.json, the one description every export
  carries: job, library version, the Keras model's input signature (given
  `model`), and the job's own fields (class names, frame rate, preset, ...).
  Returns the dict."""
  info = {"job": job, "library_version": library_version(), **fields}
  if model is not None:
    info["inputs"] = input_signature(model)
  _write_json(os.path.join(folder, MODEL_INFO), info)
  return info


def finish_export(export_dir, model, info, saved_model, tflite_paths, keras_name, job):
  """Writes model_info.json (`info` plus what every export carries) and the
  Keras model beside the SavedModel and TFLite files; returns
  {saved_model, tflite_<variant>, keras: path}."""
  write_model_info(export_dir, job, model, **info)
  keras_path = os.path.join(export_dir, keras_name)
  model.save(keras_path)
  return {"saved_model": saved_model, **{f"tflite_{v}": p for v, p in tflite_paths.items()},
          "keras": keras_path}

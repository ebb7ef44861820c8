"""serving.loader: every way a user names a model reaches the same file and
model_info.json, and a wrong one is a one-line UserError (no TensorFlow)."""

import json
import os

import pytest

from tfsports import errors
from tfsports.serving import loader


def _export(folder, job, saved_model=None, tflite=None):
  os.makedirs(folder, exist_ok=True)
  with open(os.path.join(folder, loader.MODEL_INFO), "w") as f:
    json.dump({"job": job, "class_names": ["a", "b"]}, f)
  if saved_model:
    os.makedirs(os.path.join(folder, saved_model), exist_ok=True)
    open(os.path.join(folder, saved_model, "saved_model.pb"), "wb").close()
  if tflite:
    os.makedirs(os.path.dirname(os.path.join(folder, tflite)), exist_ok=True)
    open(os.path.join(folder, tflite), "wb").close()
  return str(folder)


def test_every_name_of_one_export_finds_the_same_model(tmp_path):
  run = tmp_path / "run"
  export = _export(run / "export", "forecast", os.path.join("saved_model", "forecast", "1"),
                   "forecast_float32.tflite")
  version = os.path.join(export, "saved_model", "forecast", "1")
  tflite = os.path.join(export, "forecast_float32.tflite")
  for name in (str(run), export, version, os.path.dirname(version)):
    found = loader.locate("forecast", name)
    assert (found.kind, found.path) == ("saved_model", os.path.normpath(version))
    assert found.info["class_names"] == ["a", "b"]
  assert loader.locate("forecast", str(run), prefer="tflite").path == tflite
  assert loader.locate("forecast", tflite).kind == "tflite"


def test_bundled_presets_are_found_by_name():
  for job in ("superres", "detector", "forecast"):
    presets = loader.kind(job).presets()
    assert presets, job
    name = next(iter(presets))
    found = loader.locate(job, name)
    assert os.path.exists(found.path) and found.path.startswith(presets[name])
  assert loader.locate("detector", "tiny").path.endswith("detector_float32.tflite")


def test_the_model_of_another_job_is_refused_by_name(tmp_path):
  export = _export(tmp_path / "e", "superres", os.path.join("saved_model", "forecast", "1"))
  with pytest.raises(loader.WrongModelError, match="a superres model"):
    loader.locate("forecast", export)


@pytest.mark.parametrize("name,match", [
    (None, "no --model given"),
    ("/nonexistent/model", "no such model file, directory or preset"),
    ("README.md", "not a .tflite file"),
])
def test_bad_model_names_are_one_line_user_errors(name, match, tmp_path):
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  name = os.path.join(root, name) if name == "README.md" else name
  with pytest.raises((errors.UserError, FileNotFoundError), match=match) as e:
    loader.locate("actions", name)
  assert "\n" not in str(e.value)
  # An empty folder names what it is not, and how to train one.
  with pytest.raises(errors.UserError, match="tfsports train actions"):
    loader.locate("actions", str(tmp_path))


def test_unknown_job():
  with pytest.raises(KeyError, match="superres"):
    loader.locate("nope", "tiny")

"""The REST requests of docs/serving.md, built by its own snippets and parsed the way
TF Serving's REST API parses them, run through the exported signatures, so
the documented requests cannot drift from the models."""

import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from tfsports.actions import export as classifier_export
from tfsports.actions import model as classifier_models
from tfsports.athletes import model as athlete_model
from tfsports.athletes import recipe as athlete_recipe
from tfsports.augment import export as augment_export
from tfsports.augment import model as augment_model
from tfsports.augment import recipe as augment_recipe
from tfsports.serving import rest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme_requests():
  """{model name: snippet} of docs/serving.md's "# rest request: NAME" blocks."""
  text = open(os.path.join(ROOT, "docs", "serving.md")).read()
  section = text.split("## Serving with TF Serving", 1)[1].split("\n## ", 1)[0]
  blocks = re.findall(r"```python\n(# rest request: (\w+)\n.*?)```", section, re.S)
  return {name: code for code, name in blocks}


SNIPPETS = readme_requests()


def test_the_readme_documents_a_request_per_model():
  assert set(SNIPPETS) == {"sr", "classifier", "athlete", "detector", "forecast", "generator"}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
  """Export folders for the models the README points at in a run directory;
  the bundled presets serve as they are."""
  root = tmp_path_factory.mktemp("rest")
  config = classifier_models.ClassifierConfig.from_preset("test", num_classes=3)
  model, parts = classifier_models.build_classifier(config)
  classifier = classifier_export.export_classifier(
      model, parts, str(root / "classifier"), ("a", "b", "c"), 10.0, variants=("float32",))
  athlete = athlete_recipe.export(athlete_model.build_athlete_model(
      athlete_model.AthleteConfig.from_preset("tiny")), str(root / "athlete"))
  names = ("defense", "dribbling", "nothing", "passing", "shooting")
  augment = augment_recipe.AugmentTrainConfig.from_preset("test", class_names=names, fps=8.0)
  generator = augment_export.export(augment_model.build_generator(augment.model_config()),
                                    augment, str(root / "generator"), 4)
  return {"classifier": classifier["saved_model"], "athlete": athlete["saved_model"],
          "generator": generator["saved_model"]}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_readme_request_runs_through_the_signature(name, exports, tmp_path, monkeypatch):
  code = SNIPPETS[name]
  if name in exports:
    code = re.sub(r'^EXPORT = .*$', f"EXPORT = {exports[name]!r}", code, count=1, flags=re.M)
  monkeypatch.chdir(ROOT)
  request = tmp_path / "request.json"
  exec(compile(code.replace('"request.json"', repr(str(request))), name, "exec"), {})
  body = json.load(open(request))
  export = re.search(r'^EXPORT = (.*)$', code, re.M).group(1)
  loaded = tf.saved_model.load(os.path.join(ROOT, eval(export)))
  response = rest.predict(loaded, body)
  if "instances" in body:
    assert len(response["predictions"]) == len(body["instances"])
  else:
    assert response["outputs"]
  json.dumps(response)


@pytest.fixture(scope="module")
def athlete(exports):
  return tf.saved_model.load(exports["athlete"])


@pytest.mark.parametrize("body,match", [
    ({"instances": [{"crops": [[[0, 0]]]}, {"crops": [[[0, 0, 0]]]}]}, "rectangular"),
    ({"instances": [{"crops": np.full((48, 24, 3), 0.5).tolist()}]}, "floating point"),
    ({"instances": [{"crops": np.full((48, 24, 3), 300).tolist()}]}, "range of uint8"),
    ({"instances": [], "inputs": {}}, "exactly one of"),
    ({}, "exactly one of"),
    ({"instances": [{"pictures": 1}]}, "inputs \\['crops'\\]"),
    ({"signature_name": "nope", "inputs": {"crops": []}}, "no signature 'nope'"),
])
def test_bad_rest_requests_are_refused(athlete, body, match):
  with pytest.raises(rest.RequestError, match=match):
    rest.predict(athlete, body)


def test_row_and_columnar_formats_agree(athlete):
  crops = np.random.default_rng(0).integers(0, 256, (2, 48, 24, 3))
  rows = rest.predict(athlete, {"instances": [{"crops": c.tolist()} for c in crops]})
  columns = rest.predict(athlete, {"inputs": {"crops": crops.tolist()}})
  for k in ("kit", "embedding"):
    np.testing.assert_allclose([p[k] for p in rows["predictions"]], columns["outputs"][k],
                               atol=1e-6)

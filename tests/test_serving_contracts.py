"""Every exported SavedModel signature refuses a bad input with an error that
names the expected dtype and shape (wrong dtype, rank, fixed size, empty
batch), through `tf.saved_model.load` and through `saved_model_cli run`."""

import os
import subprocess
import sys

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
from tfsports.forecast import export as forecast_export
from tfsports.forecast import model as forecast_model
from tfsports.serving import saved_model as saved_model_lib
from tfsports.superres import model as sr_models
from tfsports.tracking import detector as detector_lib


def _sr(d):
  generator = sr_models.build_sr_generator(sr_models.SRConfig.from_preset("tiny"))
  window = generator.input_shape[1]
  return saved_model_lib.export_frame_model(generator, d, "sr", (window, None, None, 3))


def _classifier(d):
  config = classifier_models.ClassifierConfig.from_preset("test", num_classes=3)
  model, parts = classifier_models.build_classifier(config)
  stream = classifier_models.build_stream_model(parts)
  return classifier_export.export_classifier_saved_model(model, stream, config, d,
                                                         ("a", "b", "c"))


def _athletes(d):
  model = athlete_model.build_athlete_model(athlete_model.AthleteConfig.from_preset("test"))
  return athlete_recipe.export(model, d)["saved_model"]


def _detector(d):
  config = detector_lib.DetectorConfig.from_preset("test")
  shape = tuple(config.image_size) + (3 * config.num_frames,)
  return saved_model_lib.write_saved_model(
      detector_lib.build_detector(config), d, "detector",
      [{"frames": np.zeros((1,) + shape, np.uint8)}],
      input_signature=[tf.TensorSpec((None,) + shape, tf.uint8, name="frames")])


def _augment(d):
  config = augment_recipe.AugmentTrainConfig.from_preset("test", class_names=("a", "b"),
                                                          fps=8.0)
  generator = augment_model.build_generator(config.model_config())
  return augment_export.export(generator, config, d, 4)["saved_model"]


def _forecast(d):
  config = forecast_model.ForecastConfig.from_preset("test")
  generator = forecast_model.build_trajectory_generator(config)
  return forecast_export.export_saved_model(generator, config, d, 2)


EXPORTS = {"sr": _sr, "classifier": _classifier, "athletes": _athletes,
           "detector": _detector, "augment": _augment, "forecast": _forecast}


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Shipped inside the package (re-saved with the checks by
# `saved_model.add_input_checks`).
BUNDLED = {"bundled_sr_x4": "tfsports/superres/presets/tiny_x4/saved_model",
           "bundled_rep_x4": "tfsports/superres/presets/rep_x4/saved_model",
           "bundled_broadcast_x2": "tfsports/superres/presets/broadcast_x2/saved_model",
           "bundled_rep_x2": "tfsports/superres/presets/rep_x2/saved_model",
           "bundled_deep_x4": "tfsports/superres/presets/deep_x4/saved_model",
           "bundled_sr_x2": "tfsports/superres/presets/tiny_x2/saved_model",
           "bundled_forecast": "tfsports/forecast/presets/tiny/saved_model/forecast/1",
           "bundled_detector": "tfsports/tracking/presets/tiny/saved_model/detector/1",
           "bundled_ball": "tfsports/tracking/presets/ball/saved_model/detector/1"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  root = tmp_path_factory.mktemp("contracts")
  made = {name: make(str(root / name)) for name, make in EXPORTS.items()}
  return dict(made, **{k: os.path.join(ROOT, p) for k, p in BUNDLED.items()})


def _valid(spec):
  shape = [1 if i == 0 and d is None else (d or 16) for i, d in enumerate(spec.shape)]
  if spec.dtype == tf.string:
    return tf.constant("", shape=shape)
  return tf.zeros(shape, spec.dtype) + (1 if not spec.shape.rank else 0)


def bad_inputs(spec):
  """(kind, tensor) for each way to get this input wrong."""
  good = _valid(spec)
  other = tf.float32 if spec.dtype != tf.float32 else tf.int32
  yield "dtype", tf.cast(good, other)
  yield "rank", good[None]
  if spec.shape.rank:
    fixed = [i for i, d in enumerate(spec.shape) if d is not None]
    if fixed:
      shape = list(good.shape)
      shape[fixed[-1]] += 1
      yield "size", tf.zeros(shape, spec.dtype)
    if spec.shape[0] is None:
      yield "empty batch", tf.zeros([0] + list(good.shape[1:]), spec.dtype)
  elif spec.dtype.is_integer and "size" in spec.name:
    yield "empty batch", tf.constant(0, spec.dtype)


def _cases(exported):
  for name, path in exported.items():
    loaded = tf.saved_model.load(path)
    for sig_name, fn in loaded.signatures.items():
      specs = fn.structured_input_signature[1]
      yield name, sig_name, fn, specs


def test_valid_inputs_pass_every_signature(exported):
  for name, sig_name, fn, specs in _cases(exported):
    fn(**{k: _valid(s) for k, s in specs.items()})


def test_every_signature_refuses_each_bad_input(exported):
  tried = 0
  for name, sig_name, fn, specs in _cases(exported):
    for key, spec in specs.items():
      for kind, bad in bad_inputs(spec):
        feeds = {k: _valid(s) for k, s in specs.items()}
        feeds[key] = bad
        with pytest.raises((tf.errors.InvalidArgumentError, TypeError, ValueError)) as e:
          fn(**feeds)
        message = str(e.value)
        where = f"{name}.{sig_name}({key}) {kind}: {message[:300]}"
        if kind == "dtype":
          # TF's own refusal: "input #3 was expected to be a float tensor but is a int32".
          expected = {"float32": "float"}.get(spec.dtype.name, spec.dtype.name)
          assert f"expected to be a {expected} tensor" in message, where
        else:
          dims = ",".join("?" if d is None else str(d) for d in spec.shape)
          assert (f"expected shape [{dims}]" in message
                  or saved_model_lib.describe_input(spec) in message
                  or f"{spec.name} must be >= 1" in message), where
        tried += 1
  assert tried >= 90, tried


def test_out_of_range_class_id_is_refused(exported):
  fn = tf.saved_model.load(exported["augment"]).signatures["serving_default"]
  with pytest.raises(tf.errors.InvalidArgumentError, match=r"class_ids must lie in \[0, 2\)"):
    fn(class_ids=tf.constant([2]), seeds=tf.constant([0]))


def _saved_model_cli_run(path, key, array, tmp_path):
  np.save(tmp_path / "input.npy", array)
  return subprocess.run(
      [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "run",
       "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default",
       "--inputs", f"{key}={tmp_path / 'input.npy'}"],
      capture_output=True, text=True, timeout=300)


SR_WINDOW = 3     # the tiny SR generator's window


@pytest.mark.parametrize("name,key,shape,match", [
    ("sr", "frames", (0, SR_WINDOW, 16, 16, 3), "got an empty batch"),
    # saved_model_cli's session checks a feed's shape against the signature itself.
    ("sr", "frames", (1, SR_WINDOW, 16, 16, 4), f"which has shape (None, {SR_WINDOW}, None"),
    ("classifier", "frames", (1, 4, 16, 16, 3, 1), "which has shape (None, 4, 16, 16, 3)"),
    ("athletes", "crops", (1, 16, 9, 3), "which has shape (None, 16, 8, 3)"),
    ("athletes", "crops", (0, 16, 8, 3), "got an empty batch"),
])
def test_saved_model_cli_run_refuses_bad_input(exported, tmp_path, name, key, shape, match):
  proc = _saved_model_cli_run(exported[name], key, np.zeros(shape, np.uint8), tmp_path)
  assert proc.returncode != 0
  assert match in proc.stderr, proc.stderr[-2000:]


def test_saved_model_cli_run_accepts_good_input(exported, tmp_path):
  proc = _saved_model_cli_run(exported["athletes"], "crops", np.zeros((2, 16, 8, 3), np.uint8),
                              tmp_path)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "embedding" in proc.stdout

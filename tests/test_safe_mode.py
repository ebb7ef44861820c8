"""Every network the suite builds, and every Keras file it exports, loads
with `safe_mode=True` (no Lambda layer, every custom layer registered) and
computes what it computed before saving. (The bundled presets ship
SavedModels and TFLite files, which safe_mode does not concern.)"""

import os

import keras
import numpy as np
import pytest

from tests import test_case
from tfsports.models import video_generator as video_generator
from tfsports.actions import model as classifier_models
from tfsports.athletes import model as athlete_model
from tfsports.augment import model as augment_model
from tfsports.forecast import model as forecast_model
from tfsports.superres import model as sr_models
from tfsports.tracking import detector as detector_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _classifier_parts():
  return classifier_models.build_classifier(
      classifier_models.ClassifierConfig.from_preset("test", num_classes=3))[1]


SR = sr_models.SRConfig.from_preset("tiny")
AUGMENT = augment_model.AugmentGANConfig.from_preset("test", num_classes=3)
FORECAST = forecast_model.ForecastConfig.from_preset("test")

BUILDERS = {
    "sr_generator": lambda: sr_models.build_sr_generator(SR),
    "sr_spatial_discriminator": lambda: sr_models.build_spatial_discriminator(SR),
    "sr_temporal_discriminator": lambda: sr_models.build_temporal_discriminator(SR),
    "classifier": lambda: classifier_models.build_classifier(
        classifier_models.ClassifierConfig.from_preset("test", num_classes=3))[0],
    "classifier_stream": lambda: classifier_models.build_stream_model(_classifier_parts()),
    "ssgan_discriminator": lambda: classifier_models.clip_model(
        _classifier_parts(), float_input=True, with_features=True),
    "video_generator": lambda: video_generator.build_video_generator(
        video_generator.VideoGeneratorConfig.from_preset("test")),
    "augment_generator": lambda: augment_model.build_generator(AUGMENT),
    "augment_spatial_discriminator": lambda: augment_model.build_spatial_discriminator(AUGMENT),
    "augment_temporal_discriminator": lambda: augment_model.build_temporal_discriminator(
        AUGMENT),
    "athletes": lambda: athlete_model.build_athlete_model(
        athlete_model.AthleteConfig.from_preset("test")),
    "detector": lambda: detector_lib.build_detector(detector_lib.DetectorConfig.from_preset(
        "test")),
    "forecast_generator": lambda: forecast_model.build_trajectory_generator(FORECAST),
    "forecast_agent_discriminator": lambda: forecast_model.build_agent_discriminator(FORECAST),
    "forecast_group_discriminator": lambda: forecast_model.build_group_discriminator(FORECAST),
}


def example_inputs(model, seed=0):
  """Random inputs for every input of `model` (free sizes set to 16)."""
  rng = np.random.default_rng(seed)

  def one(tensor):
    shape = [2] + [d or 16 for d in tensor.shape[1:]]
    dtype = keras.backend.standardize_dtype(tensor.dtype)
    if dtype == "uint8":
      return rng.integers(0, 256, shape).astype("uint8")
    if "int" in dtype:
      return np.zeros(shape, dtype)      # class ids, teams: 0 is valid everywhere
    return rng.uniform(0, 1, shape).astype(dtype)

  inputs = model._inputs_struct if hasattr(model, "_inputs_struct") else model.inputs
  return keras.tree.map_structure(one, inputs)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_network_reloads_in_safe_mode(name, tmp_path):
  model = BUILDERS[name]()
  assert not [l.name for l in model._flatten_layers() if isinstance(l, keras.layers.Lambda)]
  test_case.run_model_saving_test(model, example_inputs(model), tmp_path, atol=1e-5)


def test_exported_keras_files_load_in_safe_mode(tmp_path):
  """The exporters that write a .keras file beside the SavedModel."""
  from tfsports.augment import export as augment_export
  from tfsports.augment import recipe as augment_recipe
  config = augment_recipe.AugmentTrainConfig.from_preset("test", class_names=("a", "b"),
                                                          fps=8.0)
  paths = augment_export.export(augment_model.build_generator(config.model_config()), config,
                                str(tmp_path / "augment"), 4)
  keras.saving.load_model(paths["keras"], safe_mode=True)

import dataclasses
import json
import os

import pytest

from tfsports import config as config_lib
from tfsports.superres import model as sr_models
from tfsports.superres import recipe as sr_recipe

def _all_configs():
  """Every config class with presets: importing every module of the
  package registers them all (`config.register_presets`)."""
  import importlib
  import pkgutil
  import tfsports
  for info in pkgutil.walk_packages(tfsports.__path__, "tfsports."):
    if ".presets" not in info.name and not info.name.endswith("__main__"):
      importlib.import_module(info.name)
  return config_lib.registered()


CONFIGS = _all_configs()


def test_the_registry_walk_finds_every_job_config():
  names = {c.__name__ for c in CONFIGS}
  assert {"SRTrainConfig", "ClassifierTrainConfig", "DetectorTrainConfig", "ForecastTrainConfig",
          "AugmentTrainConfig", "AthleteTrainConfig", "LabelEfficiencyConfig"} <= names
  assert len(CONFIGS) >= 17, sorted(names)


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_every_preset_survives_a_json_round_trip(cls):
  names = cls.preset_names()
  assert names
  for name in names:
    config = cls.from_preset(name)
    assert dataclasses.is_dataclass(config) and isinstance(config, config_lib.Config)
    with pytest.raises(dataclasses.FrozenInstanceError):
      setattr(config, dataclasses.fields(cls)[0].name, None)
    assert cls.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_unknown_preset_names_the_presets():
  with pytest.raises(ValueError, match="tiny_x9.*presets: tiny, base"):
    sr_models.SRConfig.from_preset("tiny_x9")


def test_run_directory_keeps_config_and_refuses_a_conflicting_resume(tmp_path):
  run_dir = str(tmp_path / "run")
  config = sr_recipe.SRTrainConfig.from_preset("test", run_dir=run_dir)
  config_lib.prepare_run_dir(run_dir, config)
  assert config_lib.read_run_config(run_dir, sr_recipe.SRTrainConfig) == config
  # Training longer is a resume; another degradation is another run.
  longer = dataclasses.replace(config, train_steps=10)
  config_lib.prepare_run_dir(run_dir, longer)
  with pytest.raises(config_lib.ConfigMismatchError,
                     match=r"degradation: 'real' in the run, 'broadcast' now"):
    config_lib.prepare_run_dir(run_dir, dataclasses.replace(config, degradation="broadcast"))
  assert config_lib.read_run_config(run_dir, sr_recipe.SRTrainConfig) == longer


def test_reading_a_run_without_config_is_a_clear_error(tmp_path):
  with pytest.raises(FileNotFoundError, match="no config.json"):
    config_lib.read_run_config(str(tmp_path), sr_recipe.SRTrainConfig)
  (tmp_path / "config.json").write_text(json.dumps({"scale": 2, "colour": "red"}))
  with pytest.raises(config_lib.ConfigMismatchError, match="colour"):
    config_lib.read_run_config(str(tmp_path), sr_recipe.SRTrainConfig)


def test_training_script_refuses_a_conflicting_run_directory(tmp_path):
  import subprocess
  import sys
  run_dir = tmp_path / "run"
  config_lib.prepare_run_dir(str(run_dir), sr_recipe.SRTrainConfig.from_preset(
      "test", run_dir=str(run_dir)))
  # The script's defaults are the tiny preset: another run, so refused.
  proc = subprocess.run([sys.executable, "training/train_sr.py", f"--run_dir={run_dir}"],
                        capture_output=True, text=True, timeout=120,
                        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  assert proc.returncode == 2, proc.stderr[-2000:]
  assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
  assert "holds a run with another config" in proc.stderr

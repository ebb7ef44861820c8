"""One config mechanism for every job: frozen dataclasses with named presets,
written to and read back from each run directory.

    @dataclasses.dataclass(frozen=True)
    class SRConfig(config.Config):
      scale: int = 4
      ...

    config.register_presets(SRConfig, {"tiny": SRConfig(), ...})
    SRConfig.from_preset("tiny", scale=2)

A recipe writes its resolved config to RUN_DIR/config.json when a run
starts (`prepare_run_dir`); export, evaluation and resume read it back, so a
re-export reproduces the run, and resuming with a config that would change
the run is refused with the fields that differ.
"""

import dataclasses
import json
import os
import typing

from tfsports import errors

CONFIG_FILE = "config.json"

_PRESETS = {}


class ConfigMismatchError(errors.UserError):
  """A run directory holds a run with a different config."""


class Config:
  """Mixin for frozen dataclass configs: presets and a JSON round trip.

  `RESUMABLE_FIELDS` names the fields a resumed run may change (how long to
  train, how to log, where to run); any other difference is refused.
  """
  RESUMABLE_FIELDS: typing.ClassVar[tuple] = ()

  @classmethod
  def from_preset(cls, name, **changes):
    presets = _PRESETS.get(cls, {})
    if name not in presets:
      raise ValueError(f"unknown {cls.__name__} preset {name!r}; "
                       f"presets: {', '.join(presets) or 'none'}")
    return dataclasses.replace(presets[name], **changes)

  @classmethod
  def preset_names(cls):
    return list(_PRESETS.get(cls, {}))

  def to_dict(self):
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, values):
    """The inverse of `to_dict` (JSON lists become tuples again)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
      raise ConfigMismatchError(f"{cls.__name__} has no fields {unknown}")
    return cls(**{k: _as_field(v) for k, v in values.items()})


def _as_field(value):
  if isinstance(value, list):
    return tuple(_as_field(v) for v in value)
  return value


def register_presets(cls, presets):
  """Registers `presets` ({name: instance}) for `cls.from_preset`."""
  for name, value in presets.items():
    if type(value) is not cls:
      raise TypeError(f"preset {name!r} is a {type(value).__name__}, not {cls.__name__}")
  _PRESETS[cls] = dict(presets)
  return presets


def registered():
  """Every config class that has presets, in registration order."""
  return list(_PRESETS)


def config_path(run_dir):
  return os.path.join(run_dir, CONFIG_FILE)


def read_run_config(run_dir, cls):
  """The config RUN_DIR/config.json holds, as a `cls`."""
  path = config_path(run_dir)
  if not os.path.exists(path):
    raise FileNotFoundError(f"{run_dir}: no {CONFIG_FILE}; is it a run directory?")
  with open(path) as f:
    return cls.from_dict(json.load(f))


def differences(old, new, ignore=()):
  """[(field, old value, new value)] where two configs differ."""
  a, b = old.to_dict(), new.to_dict()
  return [(k, a[k], b[k]) for k in a if k not in ignore and a[k] != b[k]]


def prepare_run_dir(run_dir, config):
  """Writes `config` to RUN_DIR/config.json, or checks it against the one
  already there (a resume); refuses a config that would change the run.
  Returns the config. (`tfsports train` locks RUN_DIR first: `training.lock`.)"""
  os.makedirs(run_dir, exist_ok=True)
  path = config_path(run_dir)
  if os.path.exists(path):
    old = read_run_config(run_dir, type(config))
    diff = differences(old, config, ignore=type(config).RESUMABLE_FIELDS)
    if diff:
      lines = ", ".join(f"{k}: {a!r} in the run, {b!r} now" for k, a, b in diff)
      raise ConfigMismatchError(
          f"{run_dir} holds a run with another config ({lines}); use another "
          f"--run_dir, or the run's own settings to resume it")
  # Per process: the workers of a multi-worker run all write the same file.
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "w") as f:
    json.dump(config.to_dict(), f, indent=2)
  os.replace(tmp, path)
  return config

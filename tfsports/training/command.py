r"""`tfsports train JOB` and `tfsports export JOB`: every job's recipe behind
one command, with one flag per field of the job's config.

    tfsports train superres --preset=test --run_dir=runs/sr_test
    tfsports train actions --preset=footage --data=/videos/by_class
    tfsports export superres --run_dir=runs/sr_test

A flag left out keeps the preset's value (`--help` shows it); a rerun with
the same --run_dir resumes. The run directory is locked while a run uses it.
Exit status: 0, 2 for bad input (one line, `error: ...`), 3 if training
diverged (a loss became NaN or Inf; the last good checkpoint is kept).
"""

import contextlib
import dataclasses
import sys

from absl import flags

from tfsports import errors

FLAGS = flags.FLAGS

_KINDS = {bool: flags.DEFINE_bool, int: flags.DEFINE_integer, float: flags.DEFINE_float,
          str: flags.DEFINE_string, list: flags.DEFINE_list,
          "multi": flags.DEFINE_multi_string}


def _field_kind(value):
  if isinstance(value, bool):
    return bool
  if isinstance(value, (int, float, str)):
    return type(value)
  if isinstance(value, tuple):
    return list
  return str


def config_fields(spec):
  """[(field name, kind, preset default)] of the flags made from the config."""
  preset = spec.config_class.from_preset(spec.preset)
  if spec.run_dir is not None:
    preset = dataclasses.replace(preset, run_dir=spec.run_dir(preset))
  # `verbose` (Keras' progress output) is not a flag: --verbose belongs to
  # the command line as a whole (TensorFlow's logging).
  return [(f.name, _field_kind(getattr(preset, f.name)), getattr(preset, f.name))
          for f in dataclasses.fields(spec.config_class) if f.name not in ("preset", "verbose")]


def _show(value):
  if isinstance(value, bool):
    return str(value).lower()
  if isinstance(value, tuple):
    return ",".join(map(str, value)) if value else "(none)"
  return repr(value) if isinstance(value, str) else str(value)


def define_flags(spec, mode):
  """Defines the flags of `tfsports train|export JOB`."""
  if mode == "train":
    presets = spec.config_class.preset_names()
    flags.DEFINE_enum("preset", spec.preset, presets, "Preset the other flags start from.")
    extra = spec.extra_flags
    aliased = {f.name for f in extra}
    for name, kind, default in config_fields(spec):
      if name in aliased:
        continue
      doc = spec.field_help.get(name, name.replace("_", " ").capitalize() + ".")
      _KINDS[kind](name, None, f"{doc} ({spec.preset} preset: {_show(default)})")
  else:
    flags.DEFINE_string("run_dir", None, "Run directory with checkpoints and config.json.")
    extra = spec.export_flags
    by_name = {name: (kind, default) for name, kind, default in config_fields(spec)}
    for name in spec.export_fields:
      kind, default = by_name[name]
      doc = spec.field_help.get(name, name.replace("_", " ").capitalize() + ".")
      _KINDS[kind](name, None, f"{doc} (default: the run's)")
  for f in extra:
    if f.name not in FLAGS:
      _KINDS[f.kind](f.name, f.default, f.help)


def _convert(value, template, element=None):
  """A flag's value as the type of the field's preset value."""
  if isinstance(template, tuple):
    items = [v for v in value if v != ""]
    element = element or (type(template[0]) if template else str)
    try:
      return tuple(element(v) for v in items)
    except ValueError as e:
      raise errors.UserError(f"expected {element.__name__} values, got {value}: {e}") from e
  return value


def changes_from_flags(spec, mode):
  """{config field: value} of the flags given, and {name: value} of the
  job's extra flags."""
  fields = {name: default for name, _, default in config_fields(spec)}
  names = fields if mode == "train" else spec.export_fields
  changes = {name: _convert(FLAGS[name].value, fields[name], spec.list_types.get(name))
             for name in names if name in FLAGS and FLAGS[name].value is not None}
  extras = {}
  for f in (spec.extra_flags if mode == "train" else spec.export_flags):
    value = FLAGS[f.name].value
    if f.convert is not None:
      value = f.convert(value)
    if f.field:
      if value not in (None, [], ()):
        changes[f.field] = _convert(value, fields[f.field])
    else:
      extras[f.name] = value
  return changes, extras


def make_config(spec, mode="train"):
  changes, extras = changes_from_flags(spec, mode)
  config = spec.config_class.from_preset(FLAGS.preset, **changes)
  if "run_dir" not in changes and spec.run_dir is not None:
    config = dataclasses.replace(config, run_dir=spec.run_dir(config))
  return config, extras


def main(spec, mode, argv):
  """Runs `tfsports train|export JOB`; returns the exit status."""
  from tfsports.training import loop
  if len(argv) > 1:
    raise errors.UserError(f"unexpected arguments: {' '.join(argv[1:])}")
  try:
    if mode == "train":
      config, extras = make_config(spec)
      run_dir = extras.get("run_dir") or config.run_dir
      with _locked(run_dir):
        report = spec.train(config, **extras)
    else:
      if spec.export is None:
        raise errors.UserError(f"{spec.name} has no separate export; its training run exports")
      if not FLAGS.run_dir:
        raise errors.UserError("--run_dir is required: the run to export")
      changes, extras = changes_from_flags(spec, mode)
      with _locked(FLAGS.run_dir):
        report = spec.export(FLAGS.run_dir, **changes, **extras)
  except loop.NonFiniteLossError as e:
    print(f"error: {e}", file=sys.stderr)
    return 3
  except (errors.UserError, FileNotFoundError, ValueError) as e:
    print(f"error: {_one_line(e)}", file=sys.stderr)
    return 2
  if not loop.is_chief():
    print("worker done; the chief evaluates and exports")
    return 0
  text = spec.summary(report)
  if text:
    print(text)
  return 0


@contextlib.contextmanager
def _locked(run_dir):
  from tfsports.training import lock
  held = lock.acquire_for_run(run_dir)
  try:
    yield
  finally:
    if held:
      lock.release(run_dir)


def _one_line(e):
  text = str(e).strip() or type(e).__name__
  return " ".join(text.split())

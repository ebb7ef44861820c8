"""What a job hands the shared training command: its config class and the
functions that train, export and summarise it.

    JOB = job.JobSpec(
        name="superres", config_class=SRTrainConfig, train=train_sr,
        export=export_run, summary=summary,
        extra_flags=(job.Flag("deterministic", bool, False, "Op determinism ..."),))

`tfsports train JOB` defines one flag per config field (`--preset` picks
the preset, a flag given overrides its field), plus the job's extra flags,
which reach `train` as keyword arguments."""

import dataclasses
import typing


@dataclasses.dataclass(frozen=True)
class Flag:
  """A flag that is not a config field. `kind`: bool, int, float, str,
  list (comma-separated) or "multi" (repeatable string). With `field`, its
  value goes into that config field (an alias kept for old command lines);
  without, it is passed to the job's function as a keyword argument."""
  name: str
  kind: typing.Any
  default: typing.Any
  help: str
  field: str = ""
  convert: typing.Optional[typing.Callable] = None


@dataclasses.dataclass(frozen=True)
class JobSpec:
  """A job for `tfsports train` / `tfsports export`.

  train(config, **extras) -> report dict; the run goes into config.run_dir.
  export(run_dir, **changes) -> report dict: re-exports a run with its own
  config.json; `export_fields` are the config fields an export may change.
  summary(report) -> text printed when a run ends.
  load_run(run_dir) -> the job's trained networks, for other jobs that
  build on them (see `registry`).
  run_dir(config) -> the run directory when --run_dir is not given
  (default: the preset's). `field_help` documents fields in --help;
  `list_types` gives the element type of tuple fields whose presets leave
  them empty.
  """
  name: str
  description: str
  config_class: type
  train: typing.Callable
  summary: typing.Callable
  export: typing.Optional[typing.Callable] = None
  load_run: typing.Optional[typing.Callable] = None
  export_fields: tuple = ()
  extra_flags: tuple = ()
  export_flags: tuple = ()
  run_dir: typing.Optional[typing.Callable] = None
  field_help: typing.Mapping = dataclasses.field(default_factory=dict)
  list_types: typing.Mapping = dataclasses.field(default_factory=dict)
  examples: tuple = ()
  default_preset: str = ""

  @property
  def preset(self):
    names = self.config_class.preset_names()
    return self.default_preset or ("tiny" if "tiny" in names else names[0])

r"""The `tfsports` command: one entry point, one subcommand per job.

    tfsports --help
    tfsports SUBCOMMAND --help          the subcommand's arguments, flags and examples
    tfsports train JOB [--preset=P] [--FIELD=VALUE ...]
    tfsports export JOB --run_dir=RUN_DIR

`python -m tfsports ...` does the same. Each subcommand lives in its job's
package as a module with `define_flags()` and `main(argv) -> exit status`
(optionally `check(argv)`, run before TensorFlow is imported, for the
failures that cost nothing to find); flags are defined only for the
subcommand that runs, so two subcommands may share a flag name. Bad input,
a bad flag included, gets a one-line `error: ...` and exit status 2 here, in
one place. TensorFlow's C++ logging is off unless --verbose is given.
"""

import importlib
import os
import re
import sys
import textwrap

from tfsports.training import registry

# name -> (module, one-line description); the order is the one --help shows.
COMMANDS = {
    "upscale": ("tfsports.superres.command",
                "upscale or restore a video with a super-resolution model"),
    "classify": ("tfsports.actions.command",
                 "label the actions in a video, window by window"),
    "detect": ("tfsports.tracking.detect",
               "find people and the ball in a folder of images or a video"),
    "track": ("tfsports.tracking.command",
              "track players and the ball in a video, or players in a MOT detections file"),
    "forecast": ("tfsports.forecast.command",
                 "sample players' futures, or fill gaps in their tracks"),
    "generate": ("tfsports.augment.command",
                 "write labelled clips from a trained video GAN, class per folder"),
    "train": ("tfsports.training.command", "train, evaluate and export a job's model"),
    "export": ("tfsports.training.command", "re-export a trained run with its own config"),
    "probe": ("tfsports.data.probe", "print video metadata as JSON lines"),
    "synth": ("tfsports.data.synthetic.command",
              "write a synthetic sports dataset with full ground truth"),
    "tfrecord": ("tfsports.data.tfrecord_command", "write clips as TFRecord shards"),
}

def usage():
  width = max(map(len, COMMANDS))
  lines = ["usage: tfsports SUBCOMMAND [ARGS] [--FLAGS]", "", "subcommands:"]
  lines += [f"  {name:<{width}}  {desc}" for name, (_, desc) in COMMANDS.items()]
  lines += ["", "jobs (tfsports train JOB, tfsports export JOB):"]
  width = max(map(len, registry.JOBS))
  lines += [f"  {name:<{width}}  {desc}" for name, (_, desc) in registry.JOBS.items()]
  lines += ["", "tfsports SUBCOMMAND --help shows a subcommand's arguments, flags and examples;",
            "--verbose (any subcommand) shows TensorFlow's own log lines."]
  return "\n".join(lines)


def _quiet():
  # Before TensorFlow is imported: its C++ INFO/WARNING lines (oneDNN, CPU
  # features, absl's pre-init notice) are noise to a user.
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
  os.environ.setdefault("TFSPORTS_QUIET", "1")    # LiteRT's XNNPACK notice (serving.interpreters)
  import warnings
  warnings.filterwarnings("ignore")
  _filter_native_stderr()


# absl's C++ log lines ("I0000 00:00:1796.. 1234 port.cc:153] ..."), its
# pre-init notice, and the second line of TensorFlow's CPU-feature notice.
_NATIVE_NOISE = re.compile(
    rb"^([IWE]\d{4} [\d:.]+ +\d+ [\w./-]+:\d+\] |"
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called|"
    rb"To enable the following instructions: )")


def _filter_native_stderr():
  """Drops TensorFlow's native notices from file descriptor 2.

  On some CPUs TensorFlow prints its oneDNN notice before absl's logging
  starts, whatever TF_CPP_MIN_LOG_LEVEL says, so the variable alone does not
  keep a command quiet. fd 2 becomes a pipe that a thread copies to the real
  stderr, line by line (and "\r" progress updates as they come), less those
  lines. At exit the real stderr comes back and the thread drains the rest.
  """
  import atexit
  import threading
  try:
    real = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
  except OSError:
    return

  def pump():
    pending = b""
    try:
      while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
          break
        pending += chunk
        while True:
          cut = min((i for i in (pending.find(b"\n"), pending.find(b"\r")) if i >= 0),
                    default=-1)
          if cut < 0:
            break
          piece, pending = pending[:cut + 1], pending[cut + 1:]
          if not _NATIVE_NOISE.match(piece):
            os.write(real, piece)
      if pending and not _NATIVE_NOISE.match(pending):
        os.write(real, pending)
    except OSError:
      os.dup2(real, 2)   # never leave writers blocked on a pipe nobody reads

  thread = threading.Thread(target=pump, name="stderr-filter", daemon=True)
  thread.start()

  def restore():
    try:
      sys.stderr.flush()
    except (OSError, ValueError):
      pass
    os.dup2(real, 2)     # the pipe's last writer goes: the thread sees its end
    thread.join(timeout=5)

  atexit.register(restore)


def _fail(message):
  print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
  return 2


def _flag_line(flag):
  if flag.boolean:
    text = f"  --[no]{flag.name}"
    default = None if flag.default is None else str(bool(flag.default)).lower()
  else:
    text = f"  --{flag.name}"
    value = flag.default
    if isinstance(value, (list, tuple)):
      value = ",".join(map(str, value))
    default = None if value in (None, "", []) else str(value)
  helptext = flag.help or ""
  if default is not None and "preset:" not in helptext:
    helptext += f" (default: {default})"
  return text + " " * max(2, 28 - len(text)) + helptext


def format_help(doc, own_flags):
  lines = [(doc or "").strip("\n"), "", "flags:"]
  lines += [_flag_line(f) for f in sorted(own_flags, key=lambda f: f.name)]
  lines += ["  --verbose" + " " * 19 + "show TensorFlow's and absl's log lines",
            "  -h, --help" + " " * 18 + "this help; --helpfull adds absl's own flags"]
  return "\n".join(lines)


def _job_spec(args):
  """(JobSpec, remaining args) for `tfsports train|export JOB ...`."""
  if not args or args[0].startswith("-"):
    return None, args
  return registry.get(args[0]), args[1:]


def main(argv=None):
  argv = list(sys.argv if argv is None else argv)
  args = argv[1:]
  verbose = "--verbose" in args
  args = [a for a in args if a != "--verbose"]
  if not verbose:
    _quiet()
  if not args or args[0] in ("-h", "--help", "help"):
    print(usage())
    return 0 if args else 2
  name, args = args[0], args[1:]
  if name not in COMMANDS:
    return _fail(f"unknown subcommand {name!r}; subcommands: {', '.join(COMMANDS)} "
                 "(tfsports --help)")
  wants_help = any(a in ("-h", "--help") for a in args)
  from absl import flags
  from absl import logging
  module = importlib.import_module(COMMANDS[name][0])
  spec = None
  prog = f"tfsports {name}"
  if name in ("train", "export"):
    try:
      spec, args = _job_spec(args)
    except KeyError as e:
      return _fail(e.args[0])
  # Flags defined from here on are the subcommand's own; importing a job
  # (TensorFlow with it) registers absl flags of its own, kept for --helpfull.
  before = set(flags.FLAGS)
  if name in ("train", "export"):
    if spec is None:
      if wants_help or not args:
        print(f"usage: tfsports {name} JOB [--FLAGS]\n\n{module.__doc__.strip()}\n\njobs:")
        for job, (_, desc) in registry.JOBS.items():
          print(f"  {job:<10}  {desc}")
        return 0 if wants_help else 2
      return _fail(f"tfsports {name} needs a job first: {', '.join(registry.JOBS)}")
    module.define_flags(spec, name)
    prog += f" {spec.name}"
    doc = (f"usage: {prog} [--FLAGS]\n\n{textwrap.fill(spec.description, 79)}\n\n"
           + ("examples:\n" + "\n".join(f"  {e}" for e in spec.examples) + "\n"
              if spec.examples else ""))
  else:
    module.define_flags()
    doc = module.__doc__
  own = [flags.FLAGS[n] for n in flags.FLAGS if n not in before]
  own = list({id(f): f for f in own}.values())     # a short name lists a flag twice
  if wants_help:
    print(format_help(doc, own))
    return 0
  if "--helpfull" in args:
    print(format_help(doc, own))
    print("\nabsl flags:\n" + flags.FLAGS.main_module_help())
    return 0
  try:
    positional = flags.FLAGS([prog] + args)
  except flags.Error as e:
    return _fail(f"{e}; see {prog} --help")
  logging.set_verbosity(logging.INFO if verbose else logging.WARNING)
  try:
    if hasattr(module, "check"):
      status = module.check(positional)
      if status is not None:       # it answered already (--list_models)
        return status
    if spec is not None:
      return module.main(spec, name, positional)
    return module.main(positional)
  except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    return 130
  except _user_errors() as e:
    return _fail(e)


def _user_errors():
  from tfsports import errors
  return (errors.UserError, FileNotFoundError, IsADirectoryError, PermissionError)


if __name__ == "__main__":
  sys.exit(main())

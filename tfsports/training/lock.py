"""One process per run directory.

A run takes an exclusive lock on RUN_DIR/.lock for as long as the process
lives; a second process started on the same directory is refused with the
pid and command line of the one holding it. Two trainings writing
checkpoints into one directory corrupt each other silently otherwise (a run
thought killed kept training while its rerun started). The lock is an
`fcntl.flock`, so the kernel drops it when its holder dies, kill -9
included: a stale .lock file never blocks a rerun. In a multi-worker run
only the chief locks (every worker shares the directory)."""

import fcntl
import os
import socket
import sys
import time

from tfsports import errors

LOCK_FILE = ".lock"

_held = {}    # real path of the run directory -> open lock file


class RunDirectoryInUseError(errors.UserError):
  """Another process holds the run directory."""


def acquire(run_dir):
  """Locks `run_dir` for this process (again: a no-op). Raises
  `RunDirectoryInUseError` naming the holder if another process has it."""
  key = os.path.realpath(run_dir)
  if key in _held:
    return
  os.makedirs(run_dir, exist_ok=True)
  path = os.path.join(run_dir, LOCK_FILE)
  f = open(path, "a+")
  try:
    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    f.seek(0)
    holder = f.read().strip() or "another process"
    f.close()
    raise RunDirectoryInUseError(
        f"{run_dir} is in use by {holder}; wait for it to finish or stop it, "
        "or use another --run_dir") from None
  f.seek(0)
  f.truncate()
  command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
  f.write(f"process {os.getpid()} on {socket.gethostname()} since "
          f"{time.strftime('%Y-%m-%d %H:%M:%S')} ({command[:200]})\n")
  f.flush()
  _held[key] = f


def acquire_for_run(run_dir):
  """`acquire` on the chief of a multi-worker run (or a lone process); the
  other workers share the chief's directory and take no lock. Returns
  whether this process holds it."""
  from tfsports.training import loop
  if not loop.is_chief():
    return False
  acquire(run_dir)
  return True


def release(run_dir):
  f = _held.pop(os.path.realpath(run_dir), None)
  if f is not None:
    fcntl.flock(f, fcntl.LOCK_UN)
    f.close()

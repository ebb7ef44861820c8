"""One process per run directory: a second one is refused, naming the
holder; the lock dies with its holder (kill -9 included)."""

import signal
import subprocess
import sys

import pytest

from tests import test_case
from tfsports.training import lock

HOLD = ("import sys, time; from tfsports.training import lock; lock.acquire(sys.argv[1]); "
        "print('held', flush=True); time.sleep(120)")


def _holder(run_dir):
  proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE,
                          text=True)
  assert proc.stdout.readline().strip() == "held"
  return proc


def test_a_second_process_is_refused_naming_the_holder(tmp_path):
  run_dir = tmp_path / "run"
  holder = _holder(run_dir)
  try:
    with pytest.raises(lock.RunDirectoryInUseError, match=f"in use by process {holder.pid} "):
      lock.acquire(str(run_dir))
  finally:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
  # The kernel drops a killed holder's lock: the stale .lock file does not block.
  assert (run_dir / lock.LOCK_FILE).exists()
  lock.acquire(str(run_dir))
  lock.acquire(str(run_dir))           # the same process again: a no-op
  lock.release(str(run_dir))


@pytest.mark.integration
def test_train_on_a_locked_run_directory_is_one_line_exit_2(tmp_path):
  run_dir = tmp_path / "run"
  holder = _holder(run_dir)
  try:
    proc = test_case.run_command_error_test("train", "superres", "--preset=test",
                                            f"--run_dir={run_dir}", match="is in use by process")
    assert str(holder.pid) in proc.stderr
    assert not (run_dir / "checkpoints").exists()     # nothing written beside the holder
  finally:
    holder.send_signal(signal.SIGKILL)
    holder.wait()


def test_non_chief_workers_do_not_lock(tmp_path, monkeypatch):
  import json
  run_dir = tmp_path / "run"
  holder = _holder(run_dir)
  try:
    monkeypatch.setenv("TF_CONFIG", json.dumps(
        {"cluster": {"worker": ["localhost:1", "localhost:2"]},
         "task": {"type": "worker", "index": 1}}))
    assert lock.acquire_for_run(str(run_dir)) is False    # worker 1 shares the chief's folder
    monkeypatch.setenv("TF_CONFIG", json.dumps(
        {"cluster": {"worker": ["localhost:1", "localhost:2"]},
         "task": {"type": "worker", "index": 0}}))
    with pytest.raises(lock.RunDirectoryInUseError):
      lock.acquire_for_run(str(run_dir))
  finally:
    holder.send_signal(signal.SIGKILL)
    holder.wait()

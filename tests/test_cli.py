import importlib.metadata

import pytest

from tests import test_case
from tfsports import cli
from tfsports.training import registry

SUBCOMMANDS = ("upscale", "classify", "detect", "track", "forecast", "generate", "probe", "synth",
               "tfrecord")


def test_help_lists_every_subcommand():
  proc = test_case.run_command("--help")
  assert proc.returncode == 0
  for name in SUBCOMMANDS:
    assert f"  {name}" in proc.stdout
  assert set(cli.COMMANDS) == set(SUBCOMMANDS) | {"train", "export"}
  for job in registry.JOBS:
    assert f"  {job}" in proc.stdout


def test_console_script_is_declared():
  scripts = {ep.name: ep.value for ep in importlib.metadata.entry_points(
      group="console_scripts")}
  assert scripts.get("tfsports") == "tfsports.cli:main"


def test_unknown_subcommand():
  test_case.run_command_error_test("bogus", match="unknown subcommand 'bogus'")


@pytest.fixture(scope="module")
def bad_video(tmp_path_factory):
  path = tmp_path_factory.mktemp("bad") / "bad.mp4"
  path.write_text("not a video")
  return path


@pytest.mark.integration
def test_each_subcommand_refuses_bad_input(bad_video, tmp_path):
  test_case.run_command_error_test("probe", bad_video, match="bad.mp4")
  test_case.run_command_error_test("upscale", bad_video, tmp_path / "out.mp4")
  test_case.run_command_error_test("classify", bad_video, "--model=/nonexistent/m.tflite")
  test_case.run_command_error_test("synth")
  test_case.run_command_error_test("tfrecord", f"--source={tmp_path}/none",
                                   f"--out={tmp_path}/x", match="none: no such file or directory")
  test_case.run_command_error_test("tfrecord", f"--source={bad_video}",
                                   f"--out={tmp_path}/x", match="not a directory of videos")
  assert not (tmp_path / "out.mp4").exists()


ALL = SUBCOMMANDS + ("train", "export")
ABSL_GLOBALS = ("test_tmpdir", "pdb_post_mortem", "only_check_args")


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_subcommand_help(name, flag):
  proc = test_case.run_command(name, flag)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert f"tfsports {name}" in proc.stdout          # its usage / examples
  assert "flags:" in proc.stdout or name in ("train", "export")
  for hidden in ABSL_GLOBALS:
    assert hidden not in proc.stdout
  assert proc.stderr == ""


@pytest.mark.integration      # each imports its job, TensorFlow with it
@pytest.mark.parametrize("job", list(registry.JOBS))
def test_train_help_lists_config_fields_with_preset_defaults(job):
  import dataclasses
  import importlib
  spec = importlib.import_module(registry.JOBS[job][0]).JOB
  proc = test_case.run_command("train", job, "--help")
  assert proc.returncode == 0, proc.stderr[-2000:]
  for field in dataclasses.fields(spec.config_class):
    if field.name not in ("preset", "verbose"):
      assert f"--{field.name}" in proc.stdout or f"--[no]{field.name}" in proc.stdout, field
  assert "preset:" in proc.stdout or not dataclasses.fields(spec.config_class)
  for hidden in ABSL_GLOBALS:
    assert hidden not in proc.stdout


_TF = pytest.mark.integration     # imports a job, TensorFlow with it


@pytest.mark.parametrize("args", [
    ("upscale", "a.mp4", "b.mp4", "--modle=x"),
    ("track", "--bogus"),
    pytest.param(("train", "superres", "--train_stepz=3"), marks=_TF),
    pytest.param(("train", "superres", "--train_steps=many"), marks=_TF),
    pytest.param(("export", "forecast", "--nope"), marks=_TF),
    ("forecast", "--samples=lots"),
    ("classify", "--threads=two"),
])
def test_bad_flag_is_one_line_exit_2(args):
  proc = test_case.run_command_error_test(*args)
  assert "FATAL" not in proc.stderr and "USAGE" not in proc.stderr


def test_unknown_job_and_missing_job():
  test_case.run_command_error_test("train", "bogus", match="unknown job 'bogus'")
  proc = test_case.run_command("train")
  assert proc.returncode == 2 and "superres" in proc.stdout


def test_cheap_failures_come_before_tensorflow(tmp_path):
  """A missing input or an unknown model is refused without importing
  TensorFlow (seconds a user would wait for nothing)."""
  import subprocess
  import sys
  cases = [["upscale", str(tmp_path / "missing.mp4"), str(tmp_path / "o.mp4")],
           ["upscale", __file__, str(tmp_path / "o.mp4"), "--model=no_such_preset"],
           ["upscale", __file__, str(tmp_path / "o.mp4"), "--degradation=gaussian"],
           ["upscale", __file__, str(tmp_path / "o.mp4"), f"--model={tmp_path}", "--int8"],
           ["classify", str(tmp_path / "missing.mp4"), "--model=x"],
           ["classify", __file__],
           ["track", str(tmp_path / "missing.mp4"), f"--out={tmp_path}"],
           ["track", __file__, f"--out={tmp_path}", "--model=no_such_preset"],
           ["forecast", str(tmp_path / "missing.csv"), f"--out={tmp_path}"],
           ["generate", "--class=all", f"--out={tmp_path}"],
           ["detect", str(tmp_path), f"--out={tmp_path / 'o'}"],
           ["detect", __file__, f"--out={tmp_path / 'o'}"],
           ["detect", str(tmp_path / "missing"), f"--out={tmp_path / 'o'}"]]
  code = ("import sys; from tfsports import cli; status = cli.main(['tfsports'] + sys.argv[1:]); "
          "print('tensorflow' in sys.modules); sys.exit(status)")
  for args in cases:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, (args, proc.stderr)
    assert proc.stdout.strip() == "False", (args, proc.stdout)
    assert proc.stderr.strip().startswith("error:") and len(proc.stderr.strip().splitlines()) == 1


def test_commands_without_a_bundled_model_say_what_to_train(tmp_path):
  proc = test_case.run_command_error_test("classify", __file__)
  assert "tfsports train actions" in proc.stderr
  proc = test_case.run_command_error_test("generate", "--class=all", f"--out={tmp_path}")
  assert "tfsports train augment" in proc.stderr


@pytest.mark.parametrize("name,expect", [("upscale", "rep_x4"), ("track", "tiny"),
                                         ("detect", "real"),
                                         ("forecast", "tiny"),
                                         ("classify", "tfsports train actions"),
                                         ("generate", "tfsports train augment")])
def test_list_models(name, expect, tmp_path):
  import subprocess
  import sys
  proc = subprocess.run([sys.executable, "-m", "tfsports", name, "--list_models"],
                        capture_output=True, text=True, timeout=120, cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr
  assert expect in proc.stdout


def test_list_models_finds_trained_runs(tmp_path):
  import subprocess
  import sys
  marker = tmp_path / "runs" / "my_actions" / "export" / "saved_model" / "classifier" / "1"
  marker.mkdir(parents=True)
  (marker / "saved_model.pb").write_bytes(b"")
  proc = subprocess.run([sys.executable, "-m", "tfsports", "classify", "--list_models"],
                        capture_output=True, text=True, timeout=120, cwd=tmp_path)
  assert proc.returncode == 0 and "runs/my_actions" in proc.stdout, proc.stdout


def test_progress_lines_in_a_log_file_have_no_carriage_returns():
  import io
  from tfsports import progress
  out = io.StringIO()
  meter = progress.Progress("upscale", total=100, out=out)
  for n in range(1, 101):
    meter.update(n)
  meter.done()
  text = out.getvalue()
  assert "\r" not in text
  lines = text.splitlines()
  assert 9 <= len(lines) <= 11, lines       # one per tenth, and the last
  assert lines[-1].startswith("upscale: 100/100 frames (") and "/s" in lines[-1]
  assert "ETA" in lines[0]


def test_outputs_follow_the_umask(tmp_path):
  import os
  import numpy as np
  from tfsports.data import video_io
  old = os.umask(0o022)
  try:
    video_io.write_video(tmp_path / "v.mp4", [np.zeros((16, 16, 3), np.uint8)] * 3, fps=25)
    (tmp_path / "t.csv").write_text("x")
  finally:
    os.umask(old)
  assert (os.stat(tmp_path / "v.mp4").st_mode & 0o777) == 0o644
  assert (os.stat(tmp_path / "t.csv").st_mode & 0o777) == 0o644

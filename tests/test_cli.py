import importlib.metadata

import pytest

from tests import test_case
from tfsports import cli

SUBCOMMANDS = ("upscale", "classify", "track", "forecast", "generate", "probe", "synth", "tfrecord")


def test_help_lists_every_subcommand():
  proc = test_case.run_command("--help")
  assert proc.returncode == 0
  for name in SUBCOMMANDS:
    assert f"  {name}" in proc.stdout
  assert set(cli.COMMANDS) == set(SUBCOMMANDS)


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

"""A non-editable install trains and exports: `pip install .` copies the
package (its presets included) out of the checkout, and `tfsports train`
runs from it with the checkout nowhere on the path."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.integration
def test_a_non_editable_install_trains_and_exports(tmp_path):
  target = tmp_path / "site"
  subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                  "--no-build-isolation", "--target", str(target), ROOT],
                 check=True, capture_output=True, text=True, timeout=600)
  assert (target / "tfsports" / "training" / "command.py").is_file()
  assert (target / "tfsports" / "superres" / "presets" / "tiny_x4" / "saved_model").is_dir()
  work = tmp_path / "work"
  work.mkdir()
  env = dict(os.environ, PYTHONPATH=str(target))
  # Run from outside the checkout, so only the installed copy can be imported.
  code = ("import sys, tfsports; assert tfsports.__file__.startswith(sys.argv[1]), "
          "tfsports.__file__; from tfsports import cli; sys.exit(cli.main(['tfsports'] + "
          "sys.argv[2:]))")
  run = lambda *args: subprocess.run([sys.executable, "-c", code, str(target), *args], cwd=work,
                                     env=env, capture_output=True, text=True, timeout=900)
  proc = run("train", "superres", "--preset=test", "--run_dir=runs/sr_test")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "PSNR-Y" in proc.stdout
  assert (work / "runs" / "sr_test" / "export" / "tflite" / "float32.tflite").is_file()
  proc = run("export", "superres", "--run_dir=runs/sr_test")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "saved_model:" in proc.stdout

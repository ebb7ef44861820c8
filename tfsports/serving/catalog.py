"""What models a command can use, found without importing TensorFlow: the
presets bundled in the package and the exports of the user's own runs, and
the one-line errors for a model that is not there.

    catalog.listing("classifier", bundled={}, runs=catalog.find_runs(MARKER),
                    train="tfsports train actions --preset=footage --data=DIR")
"""

import glob
import os

from tfsports import errors


def bundled(preset_dir, marker):
  """{name: folder} of the presets under `preset_dir` that hold `marker`."""
  if not os.path.isdir(preset_dir):
    return {}
  return {name: os.path.join(preset_dir, name) for name in sorted(os.listdir(preset_dir))
          if os.path.exists(os.path.join(preset_dir, name, marker))}


def find_runs(marker, root="runs"):
  """Run directories under `root` (two levels deep) whose export holds
  `marker` (a path inside RUN_DIR/export)."""
  found = []
  for depth in ("*", os.path.join("*", "*")):
    for run in sorted(glob.glob(os.path.join(root, depth))):
      if os.path.exists(os.path.join(run, "export", marker)):
        found.append(run)
  return found


def listing(what, bundled_models, runs, train):
  """The text of `--list_models`: bundled presets, then trained runs, or
  how to train one when there is neither."""
  lines = [f"{name}\t{path}" for name, path in bundled_models.items()]
  lines += [f"{run}\t(trained run)" for run in runs]
  if not lines:
    lines = [f"no {what} model is bundled and none was found under runs/; train one with:",
             f"  {train}"]
  return "\n".join(lines)


def require_inputs(paths):
  """One-line `UserError` for an input file that is missing or unreadable."""
  for path in paths:
    if not os.path.exists(path):
      raise errors.UserError(f"{path}: no such file")
    if not os.access(path, os.R_OK):
      raise errors.UserError(f"{path}: not readable (permission denied)")

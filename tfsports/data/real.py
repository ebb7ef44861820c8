"""Where the real footage is: the one place every job looks it up.

TFSPORTS_REAL_DATA names the folder; without it, ../shared/data/real from the
working directory (a checkout's root, as the README's commands run), then
the same folder beside the checkout the package was imported from. Jobs
name their files under it (`path("video", "basketball_gym.mp4")`)."""

import os

_RELATIVE = os.path.join("..", "shared", "data", "real")


def root():
  if os.environ.get("TFSPORTS_REAL_DATA"):
    return os.environ["TFSPORTS_REAL_DATA"]
  if os.path.isdir(_RELATIVE):
    return _RELATIVE
  return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                       _RELATIVE))


REAL_ROOT = root()


def path(*parts):
  return os.path.join(REAL_ROOT, *parts)

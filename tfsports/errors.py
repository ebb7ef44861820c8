"""The one base class of errors that are the user's to fix (a missing file,
a bad flag value, a model that does not fit): `tfsports` prints them as one
line, `error: ...`, and exits with status 2. Anything else is a bug and
keeps its traceback."""


class UserError(ValueError):
  """Bad input: the message says what is wrong and, where it can, what to do.

  A ValueError, so code that already catches ValueError for bad input
  keeps working."""


def public_mode(path):
  """Gives a file the mode a plain `open(path, "w")` would have under the
  process's umask: files first written through `tempfile.mkstemp` (0600)
  and then renamed into place otherwise keep that private mode."""
  import os
  mask = os.umask(0)
  os.umask(mask)
  os.chmod(path, 0o666 & ~mask)

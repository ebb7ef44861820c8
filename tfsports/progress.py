"""Progress on stderr with the rate and an ETA.

On a terminal the line is redrawn in place (at most 4 times a second); in a
log file (stderr not a TTY) it is one line per tenth of the work, so logs
carry no `\\r` redraws."""

import sys
import time


def format_seconds(seconds):
  seconds = int(round(max(seconds, 0)))
  if seconds >= 3600:
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
  if seconds >= 60:
    return f"{seconds // 60}m{seconds % 60:02d}s"
  return f"{seconds}s"


class Progress:
  """progress = Progress("upscale", total=1200, unit="frames"); progress.update(n);
  progress.done(). `total` may be None (unknown length: no ETA)."""

  def __init__(self, label, total=None, unit="frames", out=None, interactive=None):
    self.label, self.total, self.unit = label, total or None, unit
    self.out = sys.stderr if out is None else out
    self.interactive = (getattr(self.out, "isatty", lambda: False)()
                        if interactive is None else interactive)
    self.start = time.perf_counter()
    self.count = 0
    self._last_draw = 0.0
    self._last_tenth = 0

  def line(self):
    elapsed = time.perf_counter() - self.start
    rate = self.count / elapsed if elapsed > 0 else 0.0
    text = f"{self.label}: {self.count}"
    if self.total:
      text += f"/{self.total}"
    text += f" {self.unit} ({rate:.1f}/s"
    if self.total and rate > 0:
      text += f", ETA {format_seconds((self.total - self.count) / rate)}"
    return text + ")"

  def update(self, count):
    self.count = count
    now = time.perf_counter()
    if self.interactive:
      if now - self._last_draw >= 0.25:
        self._last_draw = now
        print("\r" + self.line(), end="", file=self.out, flush=True)
    elif self.total:
      tenth = int(10 * count / self.total)
      if tenth > self._last_tenth and count < self.total:
        self._last_tenth = tenth
        print(self.line(), file=self.out, flush=True)

  def done(self):
    print(("\r" if self.interactive else "") + self.line(), file=self.out, flush=True)

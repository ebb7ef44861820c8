r"""Peak memory of the upscaling tool on a 100-frame and a 1000-frame clip.

    python benchmarks/upscale_memory.py [--model=tiny_x4] [--height=90 --width=160]

Each run is its own process, so its peak RSS is its own. Target: the
1000-frame run peaks at most 10% above the 100-frame run.
"""

import os
import subprocess
import sys
import tempfile

from absl import app
from absl import flags

from tfsports.data import synthetic
from tfsports.data import video_io

FLAGS = flags.FLAGS
flags.DEFINE_string("model", "tiny_x4", "Model for the upscaling tool.")
flags.DEFINE_integer("height", 90, "Input height.")
flags.DEFINE_integer("width", 160, "Input width.")

_MEASURE = ("import resource, subprocess, sys; "
            "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, "
            "stderr=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def write_clip(path, num_frames, size):
  config = synthetic.SceneConfig(image_size=size, num_frames=50, camera="broadcast")

  def frames():
    for k in range(0, num_frames, 50):
      yield from synthetic.render_clip(config, seed=3, index=k // 50)["frames"][:num_frames - k]

  video_io.write_video(path, frames())


def main(argv):
  del argv
  size = (FLAGS.height, FLAGS.width)
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    for n in (100, 1000):
      src = os.path.join(tmp, f"in_{n}.mp4")
      write_clip(src, n, size)
      cmd = [sys.executable, "-m", "tfsports", "upscale", src, os.path.join(tmp, f"out_{n}.mp4"),
             f"--model={FLAGS.model}", "--noprogress"]
      out = subprocess.run([sys.executable, "-c", _MEASURE] + cmd, capture_output=True,
                           text=True, check=True)
      rows.append((n, int(out.stdout.strip()) / 1024.0))
  print(f"| frames ({size[1]}x{size[0]} in, model {FLAGS.model}) | peak RSS (MiB) |")
  print("|---:|---:|")
  for n, mib in rows:
    print(f"| {n} | {mib:.0f} |")
  print(f"1000-frame peak / 100-frame peak = {rows[1][1] / rows[0][1]:.3f} (target <= 1.10)")


if __name__ == "__main__":
  app.run(main)

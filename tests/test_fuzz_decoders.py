"""Fuzzing the video readers: every damaged file either decodes or raises
`VideoReadError`; no other exception, no crash of the process, no hang.

The files are decoded in a child process, so a crash in FFmpeg shows as its
exit status and a hang as its per-file alarm, naming the file either way.
The default run tries about 50 mutants across mp4, avi and gif; the slow one
(`-m slow`) tries 600.
"""

import json
import os
import random
import struct
import subprocess
import sys

import numpy as np
import pytest

from tfsports.data import video_io

WORKER = r"""
import json, signal, sys, traceback
from tfsports.data import video_io

def alarm(*_):
  raise TimeoutError("hang")

signal.signal(signal.SIGALRM, alarm)
results = {}
progress = sys.argv[2]
for path in open(sys.argv[1]).read().split("\n"):
  if not path:
    continue
  with open(progress, "w") as f:
    f.write(path)
  signal.alarm(20)
  try:
    info = video_io.probe(path)
    frames = video_io.read_frames(path, size=(24, 32))
    results[path] = ["decoded", int(frames.shape[0])]
  except video_io.VideoReadError as e:
    results[path] = ["VideoReadError", e.reason[:200]]
  except BaseException as e:
    results[path] = ["OTHER", type(e).__name__ + ": " + str(e)[:200] + traceback.format_exc()[-600:]]
  finally:
    signal.alarm(0)
print(json.dumps(results))
"""


def _seed_files(folder):
  rng = np.random.default_rng(0)
  frames = rng.integers(0, 255, (12, 48, 64, 3), np.uint8)
  frames[:, 10:30, 20:40] = 200     # something for the codecs to predict
  paths = {"mp4": os.path.join(folder, "seed.mp4"), "avi": os.path.join(folder, "seed.avi"),
           "gif": os.path.join(folder, "seed.gif")}
  video_io.write_video(paths["mp4"], frames, fps=12)
  import av
  with av.open(paths["avi"], "w") as out:
    stream = out.add_stream("mjpeg", rate=12)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
    for f in frames:
      for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
        out.mux(packet)
    for packet in stream.encode():
      out.mux(packet)
  video_io.write_gif(paths["gif"], frames, fps=12)
  return {k: open(p, "rb").read() for k, p in paths.items()}


def _atoms(data):
  """Offsets of the size fields of mp4 atoms / RIFF chunks / GIF blocks the
  mutator may damage."""
  tags = [b"moov", b"mdat", b"trak", b"stsz", b"stco", b"avcC", b"ftyp", b"movi", b"LIST",
          b"strh", b"idx1", b"NETSCAPE"]
  found = []
  for tag in tags:
    at = data.find(tag)
    while at >= 4 and len(found) < 64:
      found.append(at - 4)
      at = data.find(tag, at + 1)
  return found


def mutate(data, rng):
  """(kind, damaged bytes): bit flips, truncation, a chunk deleted or
  duplicated, or a container size field overwritten."""
  data = bytearray(data)
  kind = rng.choice(["bitflip", "truncate", "delete", "duplicate", "atom_size"])
  n = len(data)
  if kind == "bitflip":
    for _ in range(rng.randint(1, 20)):
      data[rng.randrange(n)] ^= 1 << rng.randrange(8)
  elif kind == "truncate":
    data = data[:rng.randrange(1, n)]
  elif kind == "delete":
    a = rng.randrange(n)
    del data[a:a + rng.randint(1, max(1, n // 8))]
  elif kind == "duplicate":
    a = rng.randrange(n)
    chunk = data[a:a + rng.randint(1, max(1, n // 8))]
    data[a:a] = chunk
  else:
    offsets = _atoms(bytes(data)) or [rng.randrange(max(1, n - 4))]
    at = rng.choice(offsets)
    value = rng.choice([0, 1, 7, 0xFFFFFFFF, 0x7FFFFFFF, rng.randrange(1 << 32), n * 2])
    data[at:at + 4] = struct.pack(">I", value)
  return kind, bytes(data)


def run_fuzz(folder, count, seed=0):
  """Writes `count` mutants and decodes them in a child process; returns
  {path: (kind, outcome, detail)}."""
  seeds = _seed_files(str(folder))
  rng = random.Random(seed)
  kinds = {}
  for i in range(count):
    ext = list(seeds)[i % len(seeds)]
    kind, data = mutate(seeds[ext], rng)
    path = os.path.join(str(folder), f"mutant_{i:04d}.{ext}")
    with open(path, "wb") as f:
      f.write(data)
    kinds[path] = kind
  listing = os.path.join(str(folder), "files.txt")
  progress = os.path.join(str(folder), "progress.txt")
  with open(listing, "w") as f:
    f.write("\n".join(kinds))
  proc = subprocess.run([sys.executable, "-c", WORKER, listing, progress], capture_output=True,
                        text=True, timeout=60 + 25 * count)
  last = open(progress).read() if os.path.exists(progress) else None
  assert proc.returncode == 0, (f"the decoder process died (status {proc.returncode}) on "
                                f"{last}: {proc.stderr[-1500:]}")
  results = json.loads(proc.stdout.strip().splitlines()[-1])
  return {p: (kinds[p], *results[p]) for p in kinds}


def _check(results):
  bad = {p: r for p, r in results.items() if r[1] not in ("decoded", "VideoReadError")}
  assert not bad, json.dumps(bad, indent=1)[:3000]
  outcomes = [r[1] for r in results.values()]
  # Damage must actually be noticed: a fuzzer whose files all decode tests nothing.
  assert outcomes.count("VideoReadError") >= len(results) // 5, outcomes


def test_fuzzed_videos_decode_or_raise_video_read_error(tmp_path):
  results = run_fuzz(tmp_path, 51)
  _check(results)
  assert {os.path.splitext(p)[1] for p in results} == {".mp4", ".avi", ".gif"}
  assert len({r[0] for r in results.values()}) == 5


@pytest.mark.slow
def test_fuzzed_videos_many(tmp_path):
  _check(run_fuzz(tmp_path, 600, seed=1))

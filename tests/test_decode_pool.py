"""The decode pool: the same clips as the threads, in the same order, and
safe when a pass is abandoned, a file is bad or a worker dies."""

import os
import signal

import numpy as np
import pytest

from tests.conftest import decoded_index, index_frames
from tfsports.data import decode_pool
from tfsports.data import sources
from tfsports.data import video_io


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
  folder = tmp_path_factory.mktemp("videos")
  paths = []
  # Different lengths and sizes, so files finish at different turns.
  for k, (n, h, w) in enumerate([(13, 16, 16), (5, 16, 16), (9, 24, 32), (11, 16, 16)]):
    path = folder / f"v{k}.mp4"
    video_io.write_video(path, index_frames(n + k, h, w)[k:])
    paths.append(os.fspath(path))
  truncated = folder / "truncated.mp4"
  # Noise, so the frames after the first take up the file and a cut halfway
  # leaves some of them readable.
  noise = np.random.default_rng(0).integers(0, 256, (24, 32, 32, 3), dtype=np.uint8)
  video_io.write_video(folder / "long.mp4", noise)
  data = (folder / "long.mp4").read_bytes()
  truncated.write_bytes(data[:len(data) // 2])
  return paths, os.fspath(truncated)


def _clips(paths, decode, **kwargs):
  kwargs.setdefault("image_size", (16, 16))
  ds = sources.video_clips(paths, list(range(len(paths))), kwargs.pop("num_frames", 3),
                           decode=decode, **kwargs)
  # Held all at once: a buffer reused while TensorFlow still held it would
  # change a clip already taken.
  return [(c["frames"], int(c["label"])) for c in ds.as_numpy_iterator()]


@pytest.mark.parametrize("kwargs", [
    {}, {"stride": 2}, {"hop": 1}, {"image_size": None, "num_frames": 2}])
def test_processes_yield_the_threads_clips_in_the_same_order(videos, kwargs):
  paths, _ = videos
  got = _clips(paths, "processes", **dict(kwargs))
  want = _clips(paths, "threads", **dict(kwargs))
  assert len(got) == len(want) > 4
  for (a, la), (b, lb) in zip(got, want):
    assert la == lb
    np.testing.assert_array_equal(a, b)


def test_a_truncated_file_keeps_its_first_clips_and_the_pass_goes_on(videos, caplog):
  paths, truncated = videos
  files = [paths[0], truncated, paths[3]]
  got = _clips(files, "processes")
  want = _clips(files, "threads")
  assert [l for _, l in got] == [l for _, l in want]
  assert 0 < sum(l == 1 for _, l in got) < 8       # some of its 24 frames, not all
  assert {0, 2} <= {l for _, l in got}
  assert "truncated.mp4" in caplog.text


def test_an_abandoned_pass_leaves_the_pool_ready_for_the_next(videos):
  paths, _ = videos
  with decode_pool.acquire(2) as pool:
    first = pool.clips([(p, 0) for p in paths], 3, size=(16, 16))
    for _ in range(2):
      next(first)
    first.close()                  # the consumer stops with clips in flight
    again = [f for f, _ in pool.clips([(p, 0) for p in paths], 3, size=(16, 16))]
  want = [f for f, _ in sources.parallel_interleave(
      [(p, 0) for p in paths],
      lambda item: ((c, 0) for c in video_io.iter_clips(item[0], 3, size=(16, 16))), 2)]
  assert [decoded_index(f[0]) for f in again] == [decoded_index(f[0]) for f in want]


def test_a_dead_worker_raises_and_the_next_pass_gets_a_new_pool(videos):
  paths, _ = videos
  with pytest.raises(decode_pool.DecodeWorkerError, match="died"):
    with decode_pool.acquire(3) as pool:
      clips = pool.clips([(p, 0) for p in paths] * 20, 3, size=(16, 16))
      next(clips)
      os.kill(pool.workers[0].process.pid, signal.SIGKILL)
      for _ in clips:
        pass
  with decode_pool.acquire(3) as fresh:
    assert fresh is not pool
    assert len(list(fresh.clips([(paths[0], 0)], 3, size=(16, 16)))) == 4


def test_clips_too_large_for_the_slots_are_an_error(videos):
  paths, _ = videos
  with decode_pool.acquire(2) as pool:
    with pytest.raises(decode_pool.DecodeWorkerError, match="larger than the pool's slots"):
      list(pool.clips([(paths[2], 0)], 3, size=None, slot_bytes=3 * 16 * 16 * 3))
  with pytest.raises(ValueError, match="decode must be"):
    sources.video_clips(paths, [0] * 4, 3, (16, 16), decode="gpu")


def test_files_ending_mid_clip_do_not_use_up_the_slots(videos):
  # Each file's tail takes a slot for a clip it never fills; many such files
  # on one worker, over more passes than it has slots, must not stall it.
  paths, _ = videos
  files = [(paths[1], k) for k in range(12)]          # 5 frames: one clip of 3, a tail of 2
  with decode_pool.acquire(1) as pool:
    for _ in range(2):
      got = list(pool.clips(files, 3, size=(16, 16)))
      assert [label for _, label in got] == list(range(12))

"""Video decoding in long-lived worker processes, into shared memory.

Decoding threads share one interpreter: PyAV's colour conversion holds the
GIL, so on 2 cores two decoding threads plus the training loop deliver about
half of one bare decoder's frame rate. Here each file decodes in a worker
process, straight into a ring of clip slots in shared memory; the consumer
copies a slot out once and frees it. Workers are started once per process
(spawned: forking a process that runs TensorFlow is unsafe) and serve every
later pass, so an epoch costs no start-up.

Order is that of `sources.parallel_interleave` with the same `cycle_length`
(one clip from each open file in turn; a finished file's worker takes the
next file), so the processes and the threads yield the same clips.
"""

import atexit
import contextlib
import multiprocessing
import os
import queue
import sys
import threading
import time
import types
from multiprocessing import shared_memory

import numpy as np

from tfsports.data import video_io

_CONTEXT = multiprocessing.get_context("spawn")
# How often a blocked worker or consumer looks up from its wait to see
# whether it should give up (an abandoned pass, a dead peer).
_POLL_S = 0.1


class DecodeWorkerError(RuntimeError):
  """A decode worker died or raised something other than a bad file."""


class _Abandoned(Exception):
  """The consumer gave up this pass."""


def _take_slot(free, abort, generation):
  while not free.acquire(timeout=_POLL_S):
    if abort.value != generation:
      return False
  if abort.value != generation:
    free.release()
    return False
  return True


def _worker_main(tasks, results, free, abort, num_slots):
  """One worker: decodes the files it is sent, one at a time, clip by clip
  into slot `k % num_slots` of the block the task names."""
  parent = os.getppid()
  block, slot = None, 0
  while True:
    try:
      task = tasks.get(timeout=1.0)
    except queue.Empty:
      if os.getppid() != parent:  # the parent died without closing the pool
        return
      continue
    if task is None:
      break
    generation, name, slot_bytes, path, label, num_frames, stride, hop, size = task
    if block is None or block.name != name:
      if block is not None:
        block.close()
      block = shared_memory.SharedMemory(name=name)

    # A slot taken for a clip the file ends before filling is handed back
    # when the file is done: no message will free it.
    held = [False]

    def new_clip(shape):
      if int(np.prod(shape)) > slot_bytes:
        raise ValueError(f"{path}: a clip of {shape} is larger than the pool's slots")
      if not _take_slot(free, abort, generation):
        raise _Abandoned
      held[0] = True
      return np.ndarray(shape, np.uint8, buffer=block.buf,
                        offset=(slot % num_slots) * slot_bytes)

    try:
      for clip in video_io.iter_clips(path, num_frames, stride=stride, hop=hop, size=size,
                                      new_clip=new_clip):
        if clip.base is None:  # overlapping windows are stacked, not written in place
          new_clip(clip.shape)[...] = clip
        held[0] = False
        results.put(("clip", generation, slot % num_slots, clip.shape, label))
        slot += 1
    except _Abandoned:
      pass
    except video_io.VideoReadError as e:
      results.put(("bad_file", generation, str(e)))
    except Exception as e:  # anything else is a bug: the consumer raises it
      results.put(("error", generation, f"{path}: {type(e).__name__}: {e}"))
    if held[0]:
      free.release()
    results.put(("done", generation))
  if block is not None:
    block.close()


class _Worker:

  def __init__(self, num_slots):
    self.num_slots = num_slots
    self.tasks = _CONTEXT.Queue()
    self.results = _CONTEXT.Queue()
    self.free = _CONTEXT.Semaphore(num_slots)
    self.abort = _CONTEXT.Value("q", 0, lock=False)
    self.block = None
    self.busy = False
    self.process = _CONTEXT.Process(
        target=_worker_main, args=(self.tasks, self.results, self.free, self.abort, num_slots),
        daemon=True)
    with _bare_main():
      self.process.start()

  def ensure_block(self, slot_bytes):
    if self.block is None or self.block.size < slot_bytes * self.num_slots:
      self.free_block()
      self.block = shared_memory.SharedMemory(create=True, size=slot_bytes * self.num_slots)
      self.slot_bytes = slot_bytes

  def free_block(self):
    if self.block is not None:
      self.block.close()
      self.block.unlink()
      self.block = None

  def get(self):
    """The next message, raising if the worker has died."""
    while True:
      try:
        return self.results.get(timeout=_POLL_S)
      except queue.Empty:
        if not self.process.is_alive():
          raise DecodeWorkerError(
              f"a decode worker died (exit code {self.process.exitcode})") from None

  def settle(self, generation):
    """Waits out the task in flight (abandoned: `abort` says so), freeing
    the slots its clips took, so the next pass starts on an idle worker."""
    while self.busy:
      message = self.get()
      if message[0] == "clip":
        self.free.release()
      elif message[0] == "done" and message[1] == generation:
        self.busy = False

  def close(self):
    with contextlib.suppress(Exception):
      self.tasks.put(None)
      self.process.join(timeout=2.0)
    if self.process.is_alive():
      self.process.terminate()
    self.free_block()


@contextlib.contextmanager
def _bare_main():
  # A spawned child re-imports the parent's main script (a benchmark or a
  # training script importing TensorFlow: seconds and hundreds of MB per
  # worker). The worker needs nothing from it, so it is hidden while the
  # child's start-up data is taken.
  main = sys.modules.get("__main__")
  sys.modules["__main__"] = types.ModuleType("__main__")
  try:
    yield
  finally:
    if main is not None:
      sys.modules["__main__"] = main


class _Buffers:
  """Aligned arrays for the clips handed to TensorFlow, reused once
  TensorFlow has let go of them.

  TensorFlow adopts a 64-byte-aligned array as a tensor without a copy (a
  large numpy array is only 16-byte aligned, and would be copied again),
  and holds a reference while the tensor lives; an array nobody else holds
  is free. Reuse matters because a 720p clip is past malloc's mmap
  threshold: each new one costs its page faults, as much as the copy.
  """

  def __init__(self, keep=8):
    self.keep = keep
    self.raw = []

  def take(self, shape, alignment=64):
    nbytes = int(np.prod(shape))
    raw = next((r for r in self.raw if r.nbytes == nbytes + alignment
                and sys.getrefcount(r) <= 3), None)  # the list, `r`, the call
    if raw is None:
      raw = np.empty(nbytes + alignment, np.uint8)
      # One still held by TensorFlow lives on through TensorFlow's reference.
      self.raw = self.raw[-(self.keep - 1):] + [raw]
    start = -raw.ctypes.data % alignment
    return raw[start:start + nbytes].reshape(shape)


class DecodePool:
  """`num_workers` decode processes, each with a ring of `num_slots` clip
  slots in shared memory. One pass at a time (`clips`); see `acquire`."""

  def __init__(self, num_workers=2, num_slots=4):
    self.num_workers = num_workers
    self.workers = [_Worker(num_slots) for _ in range(num_workers)]
    self.generation = 0
    self.buffers = _Buffers()

  def clips(self, files, num_frames, stride=1, hop=None, size=None, slot_bytes=None,
            on_bad_file=None):
    """Yields (frames uint8 [num_frames, H, W, 3], label) for every clip of
    `files` ((path, label) pairs), as `video_io.iter_clips` cuts them, in
    `sources.parallel_interleave` order with cycle_length = num_workers.

    `slot_bytes` bounds one clip (default: `num_frames` frames of `size`).
    A file that cannot be read goes to `on_bad_file(message)` with the
    clips before the damage kept.
    """
    if slot_bytes is None:
      if size is None:
        raise ValueError("native-size clips need slot_bytes")
      slot_bytes = num_frames * size[0] * size[1] * 3
    self.generation += 1
    generation = self.generation
    size = tuple(size) if size else None
    for worker in self.workers:
      worker.ensure_block(slot_bytes)
      worker.abort.value = generation
    pending = iter(files)

    def start(worker):
      item = next(pending, None)
      if item is None:
        return False
      path, label = item
      worker.busy = True
      worker.tasks.put((generation, worker.block.name, worker.slot_bytes, os.fspath(path),
                        label, num_frames, stride, hop, size))
      return True

    buffers = self.buffers
    open_workers = [w for w in self.workers if start(w)]
    k = 0
    try:
      while open_workers:
        k %= len(open_workers)
        worker = open_workers[k]
        message = worker.get()
        kind = message[0]
        if kind == "clip":
          _, _, slot, shape, label = message
          view = np.ndarray(shape, np.uint8, buffer=worker.block.buf,
                            offset=slot * worker.slot_bytes)
          frames = buffers.take(shape)
          np.copyto(frames, view)
          worker.free.release()
          yield frames, label
          k += 1
        elif kind == "done":
          worker.busy = False
          if start(worker):
            k += 1       # as tf.data does: the new file's turn comes next cycle
          else:
            del open_workers[k]
        elif kind == "bad_file":
          if on_bad_file:
            on_bad_file(message[2])
        else:
          raise DecodeWorkerError(message[2])
    finally:
      # Abandoned or failed mid-pass: stop the workers' files and drain them.
      self.generation += 1
      for worker in self.workers:
        worker.abort.value = self.generation
      for worker in self.workers:
        worker.settle(generation)

  def close(self):
    for worker in self.workers:
      worker.close()


_idle = []
_all = []
_lock = threading.Lock()


@contextlib.contextmanager
def acquire(num_workers=2):
  """An idle pool of `num_workers` (started on first use, kept for the
  process's life). Concurrent passes get pools of their own."""
  with _lock:
    pool = next((p for p in _idle if p.num_workers == num_workers), None)
    if pool is not None:
      _idle.remove(pool)
  if pool is None:
    pool = DecodePool(num_workers)
    with _lock:
      _all.append(pool)
  healthy = True
  try:
    yield pool
  except DecodeWorkerError:
    healthy = False
    raise
  finally:
    with _lock:
      if healthy:
        _idle.append(pool)
      else:
        _all.remove(pool)
    if not healthy:
      pool.close()


@atexit.register
def _close_all():
  with _lock:
    pools = list(_all)
    _all.clear()
    _idle.clear()
  for pool in pools:
    pool.close()

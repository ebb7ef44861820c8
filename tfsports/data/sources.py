"""Clip datasets from the three sources: the synthetic renderer, a folder of
video files, and TFRecord shards.

Every source yields the same element, a dict ("a clip"), M = `max_objects`:
  frames:       uint8 [T, H, W, 3]
  label:        int32 []          action / class index, -1 if unknown
  boxes:        float32 [T, M, 4] (x, y, w, h) pixels; zero padding
  visibility:   float32 [T, M]    0 for padding
  positions:    float32 [T, M, 2] pitch metres
  track_ids:    int32 [M]         -1 for padding
  teams:        int32 [M]         -1 for padding, 2 = referee
  jerseys:      int32 [M]
  ball:         float32 [T, 3]    pitch metres
  ball_pixels:  float32 [T, 2]
  ball_visible: bool [T]
  pitch_size:   float32 [2]       (length, width) metres; 0 if unknown
Video files carry only frames and label; their other fields are padding.

Each takes a `tf.distribute.InputContext`: worker k of n reads shard k
(disjoint), and a seed; with `deterministic=True` the order is fixed.
"""

import itertools
import os
import queue
import re
import threading

from absl import logging
import numpy as np
import tensorflow as tf

from tfsports.data import synthetic
from tfsports.data import video_io

MAX_OBJECTS = 32
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg",
                    ".mpeg", ".gif", ".ts")

_FIELDS = {
    "boxes": (tf.float32, lambda T, M: [T, M, 4]),
    "visibility": (tf.float32, lambda T, M: [T, M]),
    "positions": (tf.float32, lambda T, M: [T, M, 2]),
    "track_ids": (tf.int32, lambda T, M: [M]),
    "teams": (tf.int32, lambda T, M: [M]),
    "jerseys": (tf.int32, lambda T, M: [M]),
    "ball": (tf.float32, lambda T, M: [T, 3]),
    "ball_pixels": (tf.float32, lambda T, M: [T, 2]),
    "ball_visible": (tf.bool, lambda T, M: [T]),
    "pitch_size": (tf.float32, lambda T, M: [2]),
}


def pad_objects(clip, max_objects=MAX_OBJECTS):
  """Pads (numpy) per-object arrays of a rendered clip to `max_objects`."""
  n = len(clip["track_ids"])
  if n > max_objects:
    raise ValueError(f"clip has {n} objects, more than max_objects={max_objects}")
  pad = max_objects - n
  out = dict(clip)
  for key, axis, value in (("boxes", 1, 0), ("visibility", 1, 0),
                           ("positions", 1, 0), ("track_ids", 0, -1),
                           ("teams", 0, -1), ("jerseys", 0, 0)):
    widths = [(0, 0)] * clip[key].ndim
    widths[axis] = (0, pad)
    out[key] = np.pad(clip[key], widths, constant_values=value)
  return out


def empty_annotations(num_frames, max_objects=MAX_OBJECTS):
  """Padding for every annotation field of a clip that has none (numpy)."""
  out = {}
  for key, (dtype, shape) in _FIELDS.items():
    value = -1 if key in ("track_ids", "teams") else 0
    out[key] = np.full(shape(num_frames, max_objects), value,
                       dtype.as_numpy_dtype)
  return out


def _shard(dataset, input_context):
  if input_context and input_context.num_input_pipelines > 1:
    dataset = dataset.shard(input_context.num_input_pipelines,
                            input_context.input_pipeline_id)
  return dataset


def _options(dataset, deterministic):
  options = tf.data.Options()
  options.deterministic = deterministic
  return dataset.with_options(options)


def _set_shapes(clip, num_frames, image_size, max_objects):
  height, width = image_size
  clip["frames"].set_shape([num_frames, height, width, 3])
  clip["label"].set_shape([])
  for key, (_, shape) in _FIELDS.items():
    clip[key].set_shape(shape(num_frames, max_objects))
  return clip


def synthetic_clips(config, seed=0, num_clips=None, start_index=0,
                    input_context=None, max_objects=MAX_OBJECTS,
                    num_parallel_calls=tf.data.AUTOTUNE, deterministic=True):
  """Clips rendered on the fly: clip k is `render_clip(config, seed, k)`.

  Args:
    config: `synthetic.SceneConfig`.
    num_clips: clip indices start_index..start_index+num_clips-1; None repeats
      forever with fresh indices.
  Returns: a `tf.data.Dataset` of clips (see module doc).
  """
  T = config.num_frames
  keys = ["frames", "label"] + list(_FIELDS)
  dtypes = [tf.uint8, tf.int32] + [d for d, _ in _FIELDS.values()]

  def render(index):
    clip = pad_objects(synthetic.render_clip(config, seed=seed, index=int(index)),
                       max_objects)
    return [np.asarray(clip[k], d.as_numpy_dtype) for k, d in zip(keys, dtypes)]

  def to_clip(index):
    values = tf.numpy_function(render, [index], dtypes, stateful=False)
    return _set_shapes(dict(zip(keys, values)), T, config.image_size, max_objects)

  if num_clips is None:
    indices = tf.data.Dataset.range(start_index, 2**62)
  else:
    indices = tf.data.Dataset.range(start_index, start_index + num_clips)
  indices = _shard(indices, input_context)
  dataset = indices.map(to_clip, num_parallel_calls=num_parallel_calls,
                        deterministic=deterministic)
  return _options(dataset, deterministic)


def list_videos(root):
  """Returns (paths, labels, class_names) of the videos under `root`.

  With class subfolders (root/<class>/*.mp4, as UCF101) labels index the
  sorted class names; videos directly in `root` get label -1.
  """
  if not os.path.isdir(root):
    reason = "not a directory of videos" if os.path.exists(root) else "no such file or directory"
    raise FileNotFoundError(f"{root}: {reason}")
  class_names = sorted(d for d in os.listdir(root)
                       if os.path.isdir(os.path.join(root, d)))
  paths, labels = [], []
  for name in sorted(os.listdir(root)):
    if name.lower().endswith(VIDEO_EXTENSIONS):
      paths.append(os.path.join(root, name))
      labels.append(-1)
  for k, cls in enumerate(class_names):
    for dirpath, _, files in sorted(os.walk(os.path.join(root, cls))):
      for name in sorted(files):
        if name.lower().endswith(VIDEO_EXTENSIONS):
          paths.append(os.path.join(dirpath, name))
          labels.append(k)
  if not paths:
    raise FileNotFoundError(f"{root}: no video files ({', '.join(VIDEO_EXTENSIONS)})")
  return paths, labels, class_names


def labelled_videos(root):
  """(paths, labels) of the readable videos in the class folders of `root`
  (see `readable_class_folders`); files lying in `root` itself (previews,
  such as `tfsports generate`'s GIF grids) are not part of a class-per-folder
  dataset."""
  paths, labels, _, _ = readable_class_folders(root)
  return paths, labels


_DECODE_CHECKS = {}


def unreadable(path):
  """None if every frame of `path` decodes, else why not; decoded once per
  path, size and modification time."""
  stat = os.stat(path)
  key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
  if key not in _DECODE_CHECKS:
    try:
      for _ in video_io.iter_frames(path):
        pass
      _DECODE_CHECKS[key] = None
    except video_io.VideoReadError as e:
      _DECODE_CHECKS[key] = e.reason
  return _DECODE_CHECKS[key]


def readable_class_folders(root):
  """(paths, labels, class_names, skipped) of a class-per-folder dataset.

  Every file is decoded once before training starts: a corrupt or truncated
  one is logged, left out and listed in `skipped` as (path, reason), which
  the run reports. A class folder without one readable clip raises
  ValueError naming it: a class must not silently vanish from training.
  """
  paths, labels, names = list_videos(root)
  kept, skipped = [], []
  for path, label in zip(paths, labels):
    if label < 0:
      continue
    reason = unreadable(path)
    if reason:
      logging.warning("skipping %s: %s", path, reason)
      skipped.append((path, reason))
    else:
      kept.append((path, label))
  empty = [os.path.join(root, name) for k, name in enumerate(names)
           if not any(label == k for _, label in kept)]
  if empty:
    raise ValueError(f"class folder{'s' if len(empty) > 1 else ''} without a readable clip: "
                     + ", ".join(empty))
  return [p for p, _ in kept], [l for _, l in kept], names, skipped


def natural_key(path):
  """Sort key that orders clip_2 before clip_10."""
  parts = re.split(r"(\d+)", os.path.basename(os.fspath(path)))
  return [int(p) if p.isdigit() else p.lower() for p in parts]


def split_by_file(paths, labels, eval_fraction):
  """A file-level split: (train indices, eval indices) into `paths`.

  Within each class the files are put in natural order (clip_2 before
  clip_10) and the last `eval_fraction` of them (at least one where a class
  has two or more) is held back. Datasets numbered in recording order so
  hold back their latest clips, and no window of a held-back file is ever
  trained on.
  """
  if not 0 < eval_fraction < 1:
    raise ValueError(f"eval_fraction must be in (0, 1), got {eval_fraction}")
  train, held = [], []
  for label in sorted(set(labels)):
    idx = sorted((i for i, l in enumerate(labels) if l == label),
                 key=lambda i: natural_key(paths[i]))
    n_eval = int(round(len(idx) * eval_fraction))
    if len(idx) >= 2:
      n_eval = min(max(n_eval, 1), len(idx) - 1)
    else:
      n_eval = 0
    train += idx[:len(idx) - n_eval]
    held += idx[len(idx) - n_eval:]
  return sorted(train), sorted(held)


def load_clip(path, fps, size, stabilize=False, denoise=False):
  """A whole video at `fps` (see `video_io.resample_fps`), resized to
  `size` (height, width), optionally stabilised and denoised: uint8
  [T, H, W, 3]."""
  from tfsports.data import preprocess
  frames = video_io.read_frames_at(path, fps, size=tuple(size))
  if stabilize and len(frames) > 1:
    frames = preprocess.stabilize_clip(frames)[0]
  if denoise:
    frames = preprocess.denoise_clip(frames, method="bilateral")
  return frames


def clip_windows(frames, num_frames):
  """Non-overlapping windows covering a clip: uint8 [N, num_frames, H, W, 3].

  A clip shorter than a window, and the last partial window, are padded by
  repeating the last frame (a held pose, not a jump back to the start).
  """
  frames = np.asarray(frames)
  windows = []
  for start in range(0, len(frames), num_frames):
    w = frames[start:start + num_frames]
    if len(w) < num_frames:
      w = np.concatenate([w, np.repeat(w[-1:], num_frames - len(w), 0)])
    windows.append(w)
  return np.stack(windows)


def parallel_interleave(items, produce, cycle_length=2, buffer_size=4):
  """Yields the elements of `produce(item)` for every item, interleaved as
  `tf.data.Dataset.interleave` does with deterministic order (one element
  from each of `cycle_length` open items in turn; a finished item's slot
  goes to the next), while each open item is produced ahead in its own
  thread, up to `buffer_size` elements.

  PyAV releases the GIL while it decodes, so `cycle_length` files decode at
  once: this is how the video pipeline keeps up with bare decoding, which a
  `from_generator` per file (one Python call per element, under the GIL)
  could not.
  """
  items = list(items)
  stop = threading.Event()
  done = object()

  def put(out, element):
    """False once the consumer has stopped, so no producer blocks forever."""
    while not stop.is_set():
      try:
        out.put(element, timeout=0.1)
        return True
      except queue.Full:
        continue
    return False

  def work(item, out):
    try:
      for element in produce(item):
        if not put(out, element):
          return
    except BaseException as e:  # handed to the consumer, raised there
      put(out, _Raised(e))
      return
    put(out, done)

  def open_slot(item):
    out = queue.Queue(maxsize=buffer_size)
    thread = threading.Thread(target=work, args=(item, out), daemon=True)
    thread.start()
    return out

  pending = iter(items)
  slots = [open_slot(item) for item in itertools.islice(pending, cycle_length)]
  k = 0
  try:
    while slots:
      k %= len(slots)
      element = slots[k].get()
      if element is done:
        nxt = next(pending, None)
        if nxt is None:
          del slots[k]
        else:
          # As tf.data does: the new item's turn comes round next cycle.
          slots[k] = open_slot(nxt)
          k += 1
        continue
      if isinstance(element, _Raised):
        raise element.error
      yield element
      k += 1
  finally:
    stop.set()


def from_numpy_iterator(make_iterator, specs):
  """A dataset of the numpy tuples an iterator yields, matching `specs`
  (tf.TensorSpec per item).

  `Dataset.from_generator` converts every element inside its Python call,
  which caps it near the rate of a single decoder for 720p clips. Here the
  generator yields only a ticket; the element itself is handed over by a
  `tf.numpy_function`, which takes the array as it is. Order is kept.
  """
  store = {}
  counter = itertools.count()

  def tickets():
    for element in make_iterator():
      k = next(counter)
      store[k] = element
      yield k

  def fetch(k):
    return store.pop(int(k))

  def to_tensors(k):
    items = tf.numpy_function(fetch, [k], [spec.dtype for spec in specs], stateful=True)
    return tuple(tf.ensure_shape(x, spec.shape) for x, spec in zip(items, specs))

  ds = tf.data.Dataset.from_generator(tickets,
                                      output_signature=tf.TensorSpec([], tf.int64))
  return ds.map(to_tensors)


def _frame_pixels(path):
  """Height x width of a file's frames; 1 for a file that cannot be probed
  (its worker reports it as a bad file)."""
  try:
    info = video_io.probe(path)
  except video_io.VideoReadError:
    return 1
  return info.width * info.height


class _Raised:
  def __init__(self, error):
    self.error = error


def video_clips(paths, labels, num_frames, image_size, stride=1, hop=None,
                input_context=None, cycle_length=2, deterministic=True,
                max_objects=MAX_OBJECTS, decode="processes"):
  """Clips decoded from video files with PyAV, in one pass per file,
  `cycle_length` files at once: in long-lived worker processes writing to
  shared memory (`decode_pool`, the default), or with decode="threads" in
  threads of this process (`parallel_interleave`; the same clips in the
  same order, slower where the colour conversion holds the GIL).

  A file that turns out corrupt or unreadable is logged with its reason and
  skipped (clips before the damage are kept); the pipeline goes on.

  Returns: a `tf.data.Dataset` of clips, frames uint8 [T, H, W, 3] resized
  to `image_size` (height, width), or at each file's own size if None;
  label int32 []; the annotation fields empty (see `empty_annotations`).
  The order is the same on every pass.
  """
  paths = [os.fspath(p) for p in paths]
  if len(paths) != len(labels):
    raise ValueError("paths and labels differ in length")
  files = list(zip(paths, labels))
  if input_context and input_context.num_input_pipelines > 1:
    files = files[input_context.input_pipeline_id::input_context.num_input_pipelines]
  size = tuple(image_size) if image_size else None

  def file_clips(item):
    path, label = item
    try:
      for frames in video_io.iter_clips(path, num_frames, stride=stride, hop=hop,
                                        size=size):
        yield frames, np.int32(label)
    except video_io.VideoReadError as e:
      logging.warning("skipping the rest of %s", e)

  if decode not in ("processes", "threads"):
    raise ValueError(f"decode must be 'processes' or 'threads', got {decode!r}")
  # Native-size slots fit the largest file: probed once here, not every pass.
  slot_bytes = None if size or decode != "processes" else num_frames * 3 * max(
      (_frame_pixels(p) for p, _ in files), default=1)

  def pooled():
    from tfsports.data import decode_pool
    with decode_pool.acquire(cycle_length) as pool:
      for frames, label in pool.clips(
          files, num_frames, stride=stride, hop=hop, size=size, slot_bytes=slot_bytes,
          on_bad_file=lambda m: logging.warning("skipping the rest of %s", m)):
        yield frames, np.int32(label)

  height, width = image_size or (None, None)
  signature = (tf.TensorSpec([num_frames, height, width, 3], tf.uint8),
               tf.TensorSpec([], tf.int32))
  empty = {k: tf.constant(v) for k, v in empty_annotations(num_frames, max_objects).items()}
  make = pooled if decode == "processes" else (
      lambda: parallel_interleave(files, file_clips, cycle_length))
  dataset = from_numpy_iterator(make, signature)
  dataset = dataset.map(lambda f, l: dict(frames=f, label=l, **empty))
  return _options(dataset, deterministic)

"""The `--data` string of the class-per-folder jobs (actions, augment), read
one way for all of them.

    "synthetic"                          the renderer
    "/videos/by_class"                   DIR/<class name>/<video files>
    "/videos/by_class,generated:/gen"    plus generated clips (never held back)
    "/shards/train-*.tfrecord"           TFRecord shards

Splits are by file (`sources.split_by_file`), never by window of a file.
"""

import os

from tfsports.data import sources

GENERATED = "generated:"


def is_synthetic(data):
  return data in ("synthetic", "", None)


def is_tfrecord(data):
  return ".tfrecord" in str(data) or "*" in str(data)


def data_parts(data):
  """(the real folder, [generated folders]) of a class-per-folder `data`;
  FileNotFoundError for a folder that is not there."""
  parts = [p for p in str(data).split(",") if p]
  real = [p for p in parts if not p.startswith(GENERATED)]
  generated = [p[len(GENERATED):] for p in parts if p.startswith(GENERATED)]
  if len(real) != 1:
    raise ValueError(f"{data}: give one real class-per-folder directory (and any number of "
                     f"{GENERATED}DIR), got {len(real)} real ones")
  for folder in [real[0]] + generated:
    if not os.path.isdir(folder):
      raise FileNotFoundError(f"{folder}: no such data directory")
  return real[0], generated


def generated_files(data, class_names):
  """[(path, label)] of the generated folders of `data`, labels by
  `class_names` (the real data's)."""
  out = []
  for folder in data_parts(data)[1]:
    paths, labels, names, _ = sources.readable_class_folders(folder)
    unknown = sorted(set(names) - set(class_names))
    if unknown:
      raise ValueError(f"{folder}: class folders {unknown} are not among the real data's "
                       f"{list(class_names)}")
    out += [(p, list(class_names).index(names[l])) for p, l in zip(paths, labels)]
  return out


def skipped_files(data):
  """[(path, reason)] of the unreadable files left out of a class-per-folder
  `data` (real and generated), for a run report."""
  if is_synthetic(data) or is_tfrecord(data):
    return []
  real, generated = data_parts(data)
  return [s for folder in [real] + generated for s in sources.readable_class_folders(folder)[3]]


def eval_files(eval_data, class_names):
  """[(path, label)] of the class-per-folder `eval_data`, its class folders
  matched to `class_names` by name (any subset of them, in any order)."""
  paths, labels, names = sources.list_videos(eval_data)
  unknown = sorted(set(names) - set(class_names))
  if not names or unknown:
    raise ValueError(f"{eval_data}: class folders {unknown or '(none)'} are not "
                     f"among the run's classes {list(class_names)}")
  index = [list(class_names).index(n) for n in names]
  return [(p, index[l]) for p, l in zip(paths, labels) if l >= 0]


def folder_split(data, eval_fraction, max_per_class=0, eval_data="", class_names=()):
  """(train, held back) lists of (path, label) of the real folder of `data`:
  `eval_data` when given, else `eval_fraction` of each class's files; with
  `max_per_class`, the first N training files of each class in natural
  (recording) order."""
  paths, labels = sources.labelled_videos(data_parts(data)[0])
  if eval_data:
    train, held = list(zip(paths, labels)), eval_files(eval_data, class_names)
  else:
    t, h = sources.split_by_file(paths, labels, eval_fraction)
    train, held = [(paths[i], labels[i]) for i in t], [(paths[i], labels[i]) for i in h]
  if max_per_class:
    train = sorted(train, key=lambda pl: (pl[1], sources.natural_key(pl[0])))
    train = [pl for k, pl in enumerate(train)
             if sum(1 for q in train[:k] if q[1] == pl[1]) < max_per_class]
  return train, held

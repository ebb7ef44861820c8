"""Real frames with box labels in the YOLO layout (what Roboflow and
Ultralytics export): FOLDER/images/<stem>.jpg, FOLDER/labels/<stem>.txt with
one `class cx cy w h` line per box (normalised), FOLDER/data.yaml naming
the classes.

Every class is mapped onto the suite's two detection classes: person
(player, goalkeeper, referee, team_one, ...) and ball. Sets whose frames
were stretched to a square are given `aspect` (16/9 for a broadcast
frame): the image is resized back to it, which leaves normalised labels
as they are.

    items = detection.read_yolo_set(".../soccer_dfl_players")
    train, held = detection.split_by_game(items, held_games=("a9f16c",))
"""

import ast
import dataclasses
import os
import re

import numpy as np

from tfsports import errors

CLASSES = ("person", "ball")
PERSON, BALL = 0, 1
BALL_NAMES = ("ball", "sports ball", "football", "volleyball", "basketball")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class DetectionSetError(errors.UserError):
  """A folder that is not a readable YOLO-layout set."""


@dataclasses.dataclass(frozen=True)
class LabelledImage:
  """path: the image file; game: the id frames of one game share (the
  first `game_chars` characters of the file name); boxes: float32 [N, 4]
  (x, y, w, h) normalised to the image; classes: int32 [N] (0 person, 1
  ball); labelled: the classes the set labels (a ball-only set says
  nothing about people); aspect: width / height to show the image at
  (None: as stored)."""
  path: str
  game: str
  boxes: np.ndarray
  classes: np.ndarray
  labelled: tuple
  aspect: float = None

  def read(self):
    """The image, uint8 [H, W, 3] RGB, at its true aspect ratio."""
    import cv2
    image = cv2.imread(self.path, cv2.IMREAD_COLOR)
    if image is None:
      raise DetectionSetError(f"{self.path}: not a readable image")
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if self.aspect:
      h = image.shape[0]
      image = cv2.resize(image, (int(round(h * self.aspect)), h), interpolation=cv2.INTER_AREA)
    return image

  def pixel_boxes(self, size):
    """Boxes float32 [N, 4] (x, y, w, h) in pixels of an image of `size`
    (height, width)."""
    h, w = size
    out = self.boxes.copy()
    out[:, [0, 2]] *= w
    out[:, [1, 3]] *= h
    return out


def class_names(folder):
  """The class names of FOLDER/data.yaml, in label order."""
  path = os.path.join(folder, "data.yaml")
  if not os.path.isfile(path):
    raise DetectionSetError(f"{folder}: no data.yaml naming the classes")
  text = open(path, encoding="utf-8", errors="replace").read()
  inline = re.search(r"^names:\s*(\[.*\])\s*$", text, re.M)
  if inline:
    return [str(n) for n in ast.literal_eval(inline.group(1))]
  block = re.search(r"^names:\s*\n((?:\s*-\s*.*\n?)+)", text, re.M)
  if block:
    return [line.strip()[1:].strip().strip("'\"") for line in block.group(1).splitlines()
            if line.strip().startswith("-")]
  mapping = re.search(r"^names:\s*\n((?:\s+\d+:\s*.*\n?)+)", text, re.M)
  if mapping:
    pairs = [line.split(":", 1) for line in mapping.group(1).splitlines() if ":" in line]
    return [name.strip().strip("'\"") for _, name in sorted(pairs, key=lambda p: int(p[0]))]
  raise DetectionSetError(f"{path}: no `names:` list")


def to_suite_class(name):
  """0 (person) or 1 (ball) for a set's class name."""
  return BALL if name.strip().lower() in BALL_NAMES else PERSON


def read_labels(path, names):
  """(boxes float32 [N, 4] x, y, w, h normalised, classes int32 [N]) of
  one YOLO label file; a missing file is an image without boxes."""
  if not os.path.exists(path):
    return np.zeros((0, 4), np.float32), np.zeros((0,), np.int32)
  boxes, classes = [], []
  with open(path) as f:
    for number, line in enumerate(f, 1):
      parts = line.split()
      if not parts:
        continue
      try:
        k = int(parts[0])
        cx, cy, w, h = (float(v) for v in parts[1:5])
      except (ValueError, IndexError):
        raise DetectionSetError(f"{path}:{number}: not `class cx cy w h`: {line.strip()!r}")
      if not 0 <= k < len(names):
        raise DetectionSetError(f"{path}:{number}: class {k}; data.yaml names {len(names)}")
      boxes.append((cx - w / 2, cy - h / 2, w, h))
      classes.append(to_suite_class(names[k]))
  return (np.array(boxes, np.float32).reshape(-1, 4), np.array(classes, np.int32))


def read_yolo_set(folder, aspect=None, game_chars=6):
  """The labelled images of a YOLO-layout folder, sorted by file name.
  `aspect`: width / height the images were stretched from (None: as
  stored)."""
  images = os.path.join(folder, "images")
  if not os.path.isdir(images):
    raise DetectionSetError(f"{folder}: no images/ folder (a YOLO set is images/, labels/, "
                            "data.yaml)")
  names = class_names(folder)
  labelled = tuple(sorted({to_suite_class(n) for n in names}))
  items = []
  for name in sorted(os.listdir(images)):
    stem, suffix = os.path.splitext(name)
    if suffix.lower() not in IMAGE_SUFFIXES:
      continue
    boxes, classes = read_labels(os.path.join(folder, "labels", stem + ".txt"), names)
    items.append(LabelledImage(os.path.join(images, name), name[:game_chars], boxes, classes,
                               labelled, aspect))
  if not items:
    raise DetectionSetError(f"{images}: no images")
  return items


def games(items):
  return sorted({item.game for item in items})


def split_by_game(items, held_games):
  """(training items, held-back items): whole games on one side."""
  held_games = set(held_games)
  return ([i for i in items if i.game not in held_games],
          [i for i in items if i.game in held_games])

"""The detectors `tfsports track` can run, all with one output.

Each is called on the frames of a video in order, `detector(frame)` with
uint8 [H, W, 3] RGB, and returns float32 [N, 6] rows (x, y, w, h, score,
class) in frame pixels, class an index into `detector.CLASSES` (0 player,
1 ball):

- `CenterNetDetector`: the Keras CenterNet model, from a Keras model, a
  SavedModel or a .tflite file (`DetectorRunner`);
- `BackgroundDetector`: OpenCV MOG2 background subtraction, for a static
  camera; players only;
- `MOTDetector`: boxes read from a MOT-format file, for any outside
  detector.
"""

import os

import cv2
import numpy as np

from tfsports.data import mot
from tfsports.tracking import detector as detector_lib

NO_DETECTIONS = np.zeros((0, 6), np.float32)


class DetectorRunner:
  """Runs a detector's heads on one input: uint8 [H, W, 3 * num_frames] ->
  {heatmap, size, offset} float32 arrays without the batch dimension.

  model: a keras.Model, a SavedModel directory or a .tflite file.
  """

  def __init__(self, model, num_threads=2):
    self.kind = "keras"
    if isinstance(model, (str, os.PathLike)):
      model = os.fspath(model)
      if model.endswith(".tflite"):
        if not os.path.isfile(model):
          raise FileNotFoundError(f"{model}: no such TFLite file")
        from tfsports.serving import interpreters
        self.interpreter = interpreters.load_interpreter(model, num_threads)
        self.fn = self.interpreter.get_signature_runner()
        self.kind = "tflite"
        shape = self.interpreter.get_input_details()[0]["shape"][1:]
      elif os.path.exists(os.path.join(model, "saved_model.pb")):
        import tensorflow as tf
        self.loaded = tf.saved_model.load(model)
        self.fn = self.loaded.signatures["serving_default"]
        self.kind = "saved_model"
        shape = next(iter(self.fn.structured_input_signature[1].values())).shape[1:]
      else:
        raise FileNotFoundError(f"{model}: not a SavedModel directory or .tflite file")
    else:
      self.model = model
      shape = model.input_shape[1:]
    self.input_shape = tuple(int(d) for d in shape)

  def __call__(self, x):
    if x.shape != self.input_shape or x.dtype != np.uint8:
      raise ValueError(f"detector input must be uint8 {self.input_shape}, got "
                       f"{x.dtype} {x.shape}")
    if self.kind == "tflite":
      out = self.fn(frames=x[None])
    elif self.kind == "saved_model":
      import tensorflow as tf
      out = self.fn(frames=tf.constant(x[None]))
    else:
      out = self.model(x[None], training=False)
    return {k: np.asarray(out[k])[0].astype(np.float32) for k in ("heatmap", "size", "offset")}


def tile_columns(frame_size, model_size, overlap=0.1):
  """Left edges and width of the full-height tiles that cover a frame wider
  than the model's aspect ratio (a panorama) with at least `overlap` of a
  tile shared between neighbours; one tile for ordinary frames."""
  height, width = frame_size
  tile = min(width, round(height * model_size[1] / model_size[0]))
  if width <= tile * 1.3:
    return [0], width
  n = int(np.ceil((width - tile * overlap) / (tile * (1 - overlap))))
  return [round(x) for x in np.linspace(0, width - tile, n)], tile


def tile_grid(frame_size, model_size, rows=1, overlap=0.1):
  """[(y0, x0, height, width)] of the tiles a frame is run in: `rows`
  overlapping rows (sharing `overlap` of a tile's height), each cut into
  columns of about the model's aspect ratio (`tile_columns`)."""
  height, width = frame_size
  if rows <= 1:
    starts, tile_w = tile_columns(frame_size, model_size, overlap)
    return [(0, x0, height, tile_w) for x0 in starts]
  tile_h = min(height, int(np.ceil(height / (rows - (rows - 1) * overlap))))
  tile_w = min(width, round(tile_h * model_size[1] / model_size[0]))
  n = 1 if width <= tile_w else int(np.ceil((width - tile_w * overlap) /
                                            (tile_w * (1 - overlap))))
  ys = [round(y) for y in np.linspace(0, height - tile_h, rows)]
  xs = [round(x) for x in np.linspace(0, width - tile_w, n)]
  return [(y0, x0, tile_h, tile_w) for y0 in ys for x0 in xs]


def suppress_duplicates(rows, iou=0.5):
  """Keeps the best of boxes of one class overlapping by more than `iou`
  (where tiles overlap). rows: [N, 6] as detectors return."""
  if len(rows) < 2:
    return rows
  keep = []
  for k in np.unique(rows[:, 5]):
    idx = np.flatnonzero(rows[:, 5] == k)
    picked = cv2.dnn.NMSBoxes(rows[idx, :4].tolist(), rows[idx, 4].tolist(), 0.0, iou)
    keep += idx[np.asarray(picked, int).reshape(-1)].tolist()
  out = rows[sorted(keep)]
  return out[np.argsort(-out[:, 4])]


def _discount_cut_boxes(rows, tile, frame_size, margin=2):
  """Halves the score of a tile's boxes that touch an edge it shares with
  another tile: the part of a person the neighbouring tile sees whole."""
  y0, x0, th, tw = tile
  height, width = frame_size
  x, y, w, h = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
  cut = (((x0 > 0) & (x <= margin)) | ((x0 + tw < width) & (x + w >= tw - margin)) |
         ((y0 > 0) & (y <= margin)) | ((y0 + th < height) & (y + h >= th - margin)))
  rows = rows.copy()
  rows[cut, 4] *= 0.5
  return rows, cut


def suppress_contained(rows, candidates, share=0.7):
  """Drops the `candidates` (bool [N]: boxes cut by a tile's edge) lying
  mostly (`share` of their area) inside a better box of their class: the
  cut-off part of a person another tile sees whole."""
  if len(rows) < 2:
    return rows
  x0, y0 = rows[:, 0], rows[:, 1]
  x1, y1 = x0 + rows[:, 2], y0 + rows[:, 3]
  iw = np.clip(np.minimum(x1[:, None], x1[None]) - np.maximum(x0[:, None], x0[None]), 0, None)
  ih = np.clip(np.minimum(y1[:, None], y1[None]) - np.maximum(y0[:, None], y0[None]), 0, None)
  area = np.maximum(rows[:, 2] * rows[:, 3], 1e-6)
  # inside[i, j]: box j lies mostly inside the better box i of its class.
  inside = ((iw * ih >= share * area[None]) & (rows[:, 4][:, None] > rows[:, 4][None]) &
            (rows[:, 5][:, None] == rows[:, 5][None]))
  out = rows[~(inside.any(0) & candidates)]
  return out[np.argsort(-out[:, 4])]


class CenterNetDetector:
  """The CenterNet model on each frame; with `num_frames` > 1 (the ball
  preset) on the newest frames, the first repeated until there are enough.
  A frame much wider than the model (a panorama) runs in overlapping
  full-height tiles of the model's aspect ratio, so players are not
  squeezed sideways; with `config.tile_rows` > 1 in a grid of smaller
  tiles (`tile_grid`), so that small players keep enough pixels.

  threshold: the least heatmap peak reported; low peaks are kept for the
  tracker's second stage, so keep this under its `low_score`.
  """

  def __init__(self, model, config, threshold=0.1, num_threads=2):
    self.config = config
    self.runner = DetectorRunner(model, num_threads)
    expected = tuple(config.image_size) + (3 * config.num_frames,)
    if self.runner.input_shape != expected:
      raise ValueError(f"the model takes {self.runner.input_shape}, its config says "
                       f"{expected}")
    self.threshold = threshold
    self.classes = [detector_lib.CLASSES.index(c) for c in config.classes]
    self.windows = {}

  def __call__(self, frame):
    h, w = self.config.image_size
    tiles = tile_grid(frame.shape[:2], (h, w), self.config.tile_rows)
    grid = self.config.tile_rows > 1 and len(tiles) > 1
    rows, cut = [], []
    for y0, x0, th, tw in tiles:
      small = cv2.resize(frame[y0:y0 + th, x0:x0 + tw], (w, h), interpolation=cv2.INTER_AREA)
      window = self.windows.get((y0, x0)) or [small] * self.config.num_frames
      self.windows[(y0, x0)] = window = window[1:] + [small]
      x = np.concatenate(window, axis=-1) if len(window) > 1 else small
      out = detector_lib.decode(self.runner(x), self.config, (th, tw), self.threshold)
      if grid:
        out, edge = _discount_cut_boxes(out, (y0, x0, th, tw), frame.shape[:2])
        cut.append(edge)
      out[:, 0] += x0
      out[:, 1] += y0
      rows.append(out)
    out = np.concatenate(rows) if len(rows) > 1 else rows[0]
    if grid:
      out = suppress_contained(out, np.concatenate(cut))
    out = suppress_duplicates(out) if len(rows) > 1 else out
    out[:, 5] = np.asarray(self.classes, np.float32)[out[:, 5].astype(int)]
    return out


class BackgroundDetector:
  """Players on a static camera by OpenCV MOG2 background subtraction.

  Frames are processed at most `work_pixels` in area (a 6K panorama at
  1.5 megapixels still has players 50 pixels tall). Shadows (MOG2 marks them
  127) are dropped, speckle noise removed by a morphological opening, and
  split limbs joined by a closing; then each connected blob of a plausible
  size and shape is a player. The score is the share of the box that is
  foreground, so ragged blobs land in the tracker's low stage. The first
  `warmup` frames only train the background model.
  """

  def __init__(self, work_pixels=1.5e6, min_height=0.03, max_height=0.6, warmup=5,
               history=250, var_threshold=24):
    self.subtractor = cv2.createBackgroundSubtractorMOG2(history, var_threshold,
                                                         detectShadows=True)
    self.work_pixels = work_pixels
    self.min_height, self.max_height = min_height, max_height
    self.warmup = warmup
    self.history = history
    self.count = 0

  def __call__(self, frame):
    height, width = frame.shape[:2]
    scale = min(1.0, (self.work_pixels / (width * height)) ** 0.5)
    small = cv2.resize(frame, (round(width * scale), round(height * scale)),
                       interpolation=cv2.INTER_AREA) if scale < 1 else frame
    # OpenCV's automatic rate learns at 1/frames seen, which soaks a
    # player into the background within a few frames of the start; past
    # the warm-up the rate is fixed at 1/history.
    self.count += 1
    rate = -1 if self.count <= self.warmup else 1.0 / self.history
    mask = self.subtractor.apply(small, learningRate=rate)
    if self.count <= self.warmup:
      return NO_DETECTIONS
    mask = (mask > 200).astype(np.uint8)
    k = max(3, int(round(small.shape[0] / 240)) | 1)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3 * k, k), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    x, y, w, h, area = stats[1:].T.astype(np.float32)
    h_frac = h / small.shape[0]
    keep = ((h_frac >= self.min_height) & (h_frac <= self.max_height)
            & (w <= 1.5 * h) & (h <= 6 * w))
    fill = area / np.maximum(w * h, 1)
    rows = np.stack([x, y, w, h, np.clip(fill * 1.4, 0.1, 1.0),
                     np.zeros_like(x)], 1)[keep]
    rows[:, :4] /= scale
    return rows.astype(np.float32)


class MOTDetector:
  """Detections from a MOT-format file (`frame, id, x, y, w, h, score`),
  all of class player; frames are counted from the first call."""

  def __init__(self, path):
    self.rows = mot.read_mot(path, with_score=True)
    self.frame = -1

  def __call__(self, frame):
    self.frame += 1
    r = self.rows.get(self.frame)
    if r is None:
      return NO_DETECTIONS
    return np.concatenate([r[:, 1:6], np.zeros((len(r), 1), np.float32)], 1)

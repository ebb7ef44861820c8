"""CenterNet-style detectors (Zhou et al. 2019, "Objects as Points"): a
heatmap of object centres per class, with size and sub-cell offset heads,
over a shared small backbone.

One builder serves both detectors of the tracking job:
- players (and a ball class), from one frame;
- the ball alone in the manner of TrackNet (Huang et al. 2019), from
  `num_frames` consecutive frames stacked on channels, so that a small fast
  ball is told from a static white blob by its motion. Its heatmap is for
  the newest frame, which keeps it online.

Every op maps to a TFLite builtin (int8 included); decoding the heads into
boxes is numpy (`decode`), shared by the Keras, SavedModel and TFLite
runners.
"""

import dataclasses

import cv2
import keras
import numpy as np
from keras import ops

from tfsports import config as config_lib
from tfsports import layers

CLASSES = ("player", "ball")


@dataclasses.dataclass(frozen=True)
class DetectorConfig(config_lib.Config):
  """image_size: the model's (height, width); frames are resized to it.
  num_frames: consecutive frames stacked on channels (1 for players).
  stride: output cell size in input pixels (2 or 4).
  classes: names of the heatmap channels, from CLASSES.
  filters: backbone widths at strides 2, 4, 8, 16.
  tile_rows: a frame is run in this many overlapping rows of tiles of the
  model's aspect ratio (2: a 1080p frame in four 594x1056 tiles, so that a
  40-pixel player spans about 20 input pixels); 1 resizes it whole."""
  image_size: tuple = (288, 512)
  num_frames: int = 1
  stride: int = 4
  classes: tuple = CLASSES
  filters: tuple = (16, 24, 32, 48)
  head_filters: int = 32
  tile_rows: int = 1

  def __post_init__(self):
    if self.stride not in (2, 4):
      raise ValueError(f"stride must be 2 or 4, got {self.stride}")
    h, w = self.image_size
    if h % 16 or w % 16:
      raise ValueError(f"image_size must be multiples of 16, got {self.image_size}")
    if not set(self.classes) <= set(CLASSES) or not self.classes:
      raise ValueError(f"classes must be among {CLASSES}, got {self.classes}")
    if self.tile_rows < 1:
      raise ValueError(f"tile_rows must be at least 1, got {self.tile_rows}")
    if self.num_frames < 1 or len(self.filters) != 4:
      raise ValueError("need num_frames >= 1 and four backbone widths")

  @property
  def output_size(self):
    return (self.image_size[0] // self.stride, self.image_size[1] // self.stride)


DETECTOR_PRESETS = {
    # Players and ball at 288x512: real time on 2 CPU cores (benchmarks/).
    "tiny": DetectorConfig(),
    # The tiny network trained on real labelled broadcast frames, run in
    # 2 rows of tiles: people 15x40 pixels in a 1080p frame are found.
    "real": DetectorConfig(tile_rows=2),
    # TrackNet-style ball detector: three frames at 360x640, stride 2, so a
    # 5-pixel error at 720p is one output cell.
    "ball": DetectorConfig(image_size=(352, 640), num_frames=3, stride=2, classes=("ball",),
                           filters=(16, 24, 32, 48)),
    "test": DetectorConfig(image_size=(64, 96), filters=(4, 4, 8, 8), head_filters=8),
    "ball_test": DetectorConfig(image_size=(64, 96), num_frames=3, stride=2,
                                classes=("ball",), filters=(4, 4, 8, 8), head_filters=8),
}
config_lib.register_presets(DetectorConfig, DETECTOR_PRESETS)


def apply_conv_block(x, filters, name, strides=1):
  x = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                          name=f"{name}_conv")(x)
  x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
  return keras.layers.ReLU(name=f"{name}_relu")(x)


def apply_up_block(x, skip, filters, name):
  """Nearest upsampling by 2 joined to the backbone's skip at that stride."""
  x = keras.layers.UpSampling2D(2, name=f"{name}_up")(x)
  skip = keras.layers.Conv2D(filters, 1, name=f"{name}_skip")(skip)
  x = keras.layers.Conv2D(filters, 1, name=f"{name}_proj")(x)
  x = keras.layers.Add(name=f"{name}_add")([x, skip])
  return apply_conv_block(x, filters, f"{name}_fuse")


def apply_head(x, filters, channels, name, bias=0.0, activation=None):
  x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu",
                          name=f"{name}_conv")(x)
  return keras.layers.Conv2D(channels, 1, activation=activation, name=name,
                             bias_initializer=keras.initializers.Constant(bias))(x)


def build_detector(config):
  """uint8 frames [B, H, W, 3 * num_frames] (oldest first) -> {heatmap
  [B, h, w, C] in [0, 1], size [B, h, w, 2] (box w, h in output cells),
  offset [B, h, w, 2] (centre within its cell)}, h, w = image_size /
  stride."""
  h, w = config.image_size
  frames = keras.Input((h, w, 3 * config.num_frames), dtype="uint8", name="frames")
  x = layers.Rescale(name="rescale")(frames)
  skips = []
  for i, f in enumerate(config.filters):
    x = apply_conv_block(x, f, f"down{i}", strides=2)
    x = apply_conv_block(x, f, f"down{i}_b")
    skips.append(x)
  # Up from stride 16 to the output stride through the skips at 8, 4 (, 2).
  level = 3
  while 2 ** (level + 1) > config.stride:
    level -= 1
    x = apply_up_block(x, skips[level], config.filters[level], f"up{level}")
  # CenterNet's prior: start every cell at p = 0.1 so the focal loss is not
  # swamped by the background at the first steps.
  outputs = {
      "heatmap": apply_head(x, config.head_filters, len(config.classes), "heatmap",
                            bias=-2.19, activation="sigmoid"),
      "size": apply_head(x, config.head_filters, 2, "size"),
      "offset": apply_head(x, config.head_filters, 2, "offset"),
  }
  return keras.Model(frames, outputs, name="detector")


def focal_loss(y_true, y_pred):
  """CenterNet's penalty-reduced focal loss (alpha 2, beta 4) per example,
  over a Gaussian target heatmap whose peaks are exactly 1, normalised by
  the number of peaks (at least 1). Target cells below 0 are ignored: a
  class not labelled in that image (players in a ball-only real frame)."""
  y_pred = ops.clip(y_pred, 1e-4, 1 - 1e-4)
  peak = ops.cast(y_true >= 1.0, y_pred.dtype)
  valid = ops.cast(y_true >= 0.0, y_pred.dtype)
  pos = -ops.log(y_pred) * ops.square(1 - y_pred) * peak
  neg = (-ops.log(1 - y_pred) * ops.square(y_pred) * ops.power(1 - ops.abs(y_true), 4.0)
         * (1 - peak) * valid)
  axes = tuple(range(1, len(y_true.shape)))
  return ops.sum(pos + neg, axis=axes) / ops.maximum(ops.sum(peak, axis=axes), 1.0)


def masked_l1(y_true, y_pred):
  """L1 at object centres: y_true [..., 3] is (target x, target y, mask)."""
  mask = y_true[..., 2:]
  axes = tuple(range(1, len(y_true.shape)))
  return (ops.sum(ops.abs(y_true[..., :2] - y_pred) * mask, axis=axes)
          / ops.maximum(ops.sum(mask, axis=axes), 1.0))


def draw_targets(config, boxes, classes, unlabelled=()):
  """Training targets for one image.

  boxes: float [N, 4] (x, y, w, h) in model-input pixels; classes: int [N]
  indices into config.classes; unlabelled: class indices this image has no
  labels for, whose heatmap is ignored (-1). Returns {heatmap float32 [h, w, C],
  size float32 [h, w, 3], offset float32 [h, w, 3]} (the last two with a
  mask channel), as `focal_loss` and `masked_l1` take.
  """
  oh, ow = config.output_size
  heat = np.zeros((oh, ow, len(config.classes)), np.float32)
  size = np.zeros((oh, ow, 3), np.float32)
  offset = np.zeros((oh, ow, 3), np.float32)
  yy, xx = np.mgrid[0:oh, 0:ow]
  for (x, y, w, h), k in zip(np.asarray(boxes, np.float64).reshape(-1, 4), classes):
    cx, cy = (x + w / 2) / config.stride, (y + h / 2) / config.stride
    ix, iy = int(cx), int(cy)
    if not (0 <= ix < ow and 0 <= iy < oh):
      continue
    # CenterNet's radius is about a third of the smaller side; sigma a third
    # of that, at least one cell so a small ball still has a peak to learn.
    sigma = max(min(w, h) / config.stride / 6, 0.8)
    g = np.exp(-((xx - ix) ** 2 + (yy - iy) ** 2) / (2 * sigma ** 2))
    heat[..., k] = np.maximum(heat[..., k], g)
    heat[iy, ix, k] = 1.0
    size[iy, ix] = (w / config.stride, h / config.stride, 1)
    offset[iy, ix] = (cx - ix, cy - iy, 1)
  for k in unlabelled:
    heat[..., k] = -1.0
  return {"heatmap": heat, "size": size, "offset": offset}


def decode(outputs, config, frame_size, threshold=0.1, max_detections=100):
  """Boxes from one image's heads.

  outputs: {heatmap [h, w, C], size [h, w, 2], offset [h, w, 2]} (batch
  dimension removed); frame_size: (height, width) of the original frame.
  Returns float32 [N, 6] rows (x, y, w, h, score, class index) in frame
  pixels, best first. Peaks are local maxima over 3x3 cells (CenterNet's
  max-pool NMS).
  """
  heat = np.asarray(outputs["heatmap"], np.float32)
  peaks = heat == cv2.dilate(heat, np.ones((3, 3), np.uint8)).reshape(heat.shape)
  iy, ix, k = np.nonzero(peaks & (heat >= threshold))
  scores = heat[iy, ix, k]
  order = np.argsort(-scores)[:max_detections]
  iy, ix, k, scores = iy[order], ix[order], k[order], scores[order]
  size = np.asarray(outputs["size"], np.float32)[iy, ix]
  off = np.asarray(outputs["offset"], np.float32)[iy, ix]
  sy = frame_size[0] / config.image_size[0] * config.stride
  sx = frame_size[1] / config.image_size[1] * config.stride
  cx, cy = (ix + off[:, 0]) * sx, (iy + off[:, 1]) * sy
  w, h = np.maximum(size[:, 0], 0) * sx, np.maximum(size[:, 1], 0) * sy
  return np.stack([cx - w / 2, cy - h / 2, w, h, scores, k], 1).astype(np.float32)

"""The detector on real labelled frames (YOLO-layout sets, `data.detection`):
the augmented training stream, and the scores on frames of games it never
saw, through pycocotools.

Augmentation, as small players on broadcast frames need: scale jitter (a
frame's height maps to `scale_range` model input heights, around the
scale the tiles of `tile_rows` run at), random crops, flips, mosaic (four
crops in one image), colour, blur and JPEG re-compression.
"""

import os

import cv2
import numpy as np

from tfsports.data import detection as detection_data
from tfsports.metrics import detection as detection_metrics
from tfsports.tracking import detectors as detectors_lib

# Boxes drawn and counted for precision and recall; lower scores are kept
# in the files `tfsports detect` writes, for AP.
DRAW_THRESHOLD = 0.3
SUITE_TO_MODEL = {detection_data.PERSON: "player", detection_data.BALL: "ball"}


def parse_set(entry, real_root):
  """(folder, aspect or None) of a `FOLDER[@ASPECT]` entry; relative
  folders lie under real_root."""
  folder, _, aspect = entry.partition("@")
  folder = folder if os.path.isabs(folder) else os.path.join(real_root, folder)
  return folder, (float(aspect) if aspect else None)


def read_sets(entries, real_root):
  """{entry: [LabelledImage]} of the sets that exist (missing ones are
  skipped: a checkout without ../shared still trains on the renderer)."""
  out = {}
  for entry in entries:
    folder, aspect = parse_set(entry, real_root)
    if os.path.isdir(folder):
      out[entry] = detection_data.read_yolo_set(folder, aspect)
  return out


def training_items(config):
  """The labelled frames trained on, per set: the labelled sets but their
  held-back games."""
  out = []
  for found in read_sets(config.labelled_sets, config.real_root).values():
    items = detection_data.split_by_game(found, config.held_games)[0]
    if items:
      out.append(items)
  return out


def held_back(config):
  """{name: [LabelledImage]}: the held-back games of each labelled set, and
  each evaluation set whole."""
  out = {}
  for entry, found in read_sets(config.labelled_sets, config.real_root).items():
    held = detection_data.split_by_game(found, config.held_games)[1]
    if held:
      out[f"{os.path.basename(parse_set(entry, '')[0])} (held-back games)"] = held
  for entry, found in read_sets(config.eval_sets, config.real_root).items():
    out[f"{os.path.basename(parse_set(entry, '')[0])} (never trained on)"] = found
  return out


def _targets(item, size, model_config):
  """Boxes in pixels of an image of `size`, model class indices, and the
  model classes the set does not label (their heatmap is ignored)."""
  classes = [model_config.classes.index(SUITE_TO_MODEL[int(k)])
             if SUITE_TO_MODEL[int(k)] in model_config.classes else -1 for k in item.classes]
  keep = np.array([k >= 0 for k in classes], bool)
  boxes = item.pixel_boxes(size)[keep] if len(keep) else np.zeros((0, 4), np.float32)
  labelled = {SUITE_TO_MODEL[k] for k in item.labelled}
  unlabelled = tuple(i for i, c in enumerate(model_config.classes) if c not in labelled)
  return boxes, [k for k in classes if k >= 0], unlabelled


def _scaled_crop(image, boxes, out_size, scale, rng):
  """A random `out_size` crop of `image` scaled by `scale`, and its boxes."""
  h, w = out_size
  H, W = image.shape[:2]
  x0 = rng.uniform(0, max(W * scale - w, 0))
  y0 = rng.uniform(0, max(H * scale - h, 0))
  m = np.array([[scale, 0, -x0], [0, scale, -y0]], np.float32)
  crop = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT,
                        borderValue=(114, 114, 114))
  boxes = np.asarray(boxes, np.float32).reshape(-1, 4) * scale
  boxes[:, :2] -= (x0, y0)
  return crop, boxes


def _clip_to(boxes, classes, size):
  """The boxes whose centre lies inside an image of `size`, cut to it (a
  mosaic quadrant must not label its neighbour's pixels)."""
  h, w = size
  c = boxes[:, :2] + boxes[:, 2:] / 2
  keep = (c[:, 0] >= 0) & (c[:, 0] < w) & (c[:, 1] >= 0) & (c[:, 1] < h)
  boxes = boxes[keep]
  x0, y0 = np.clip(boxes[:, 0], 0, w), np.clip(boxes[:, 1], 0, h)
  x1 = np.clip(boxes[:, 0] + boxes[:, 2], 0, w)
  y1 = np.clip(boxes[:, 1] + boxes[:, 3], 0, h)
  return (np.stack([x0, y0, x1 - x0, y1 - y0], 1).astype(np.float32),
          [k for k, kept in zip(classes, keep) if kept])


def _photometric(image, rng):
  """Colour, blur and compression jitter of a uint8 image."""
  x = image.astype(np.float32)
  x = x * rng.uniform(0.7, 1.3) + rng.uniform(-25, 25)               # contrast, brightness
  grey = x.mean(-1, keepdims=True)
  x = grey + (x - grey) * rng.uniform(0.6, 1.4)                      # saturation
  x = x * rng.uniform(0.9, 1.1, size=3)                              # white balance
  x = np.clip(x, 0, 255).astype(np.uint8)
  if rng.random() < 0.3:
    k = int(rng.choice([3, 5]))
    x = cv2.GaussianBlur(x, (k, k), 0)
  if rng.random() < 0.5:
    ok, data = cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 90))])
    if ok:
      x = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
  return x


def labelled_examples(model_config, config, seed):
  """Endless augmented (uint8 [H, W, 3], boxes float32 [N, 4] pixels,
  class indices [N], unlabelled class indices) from the training part of
  `config.labelled_sets`; None when none of them exists. Single-frame
  models only (the ball preset stacks frames of a video)."""
  sets = training_items(config)
  if not sets or model_config.num_frames != 1:
    return None
  return _labelled_stream(model_config, config, sets, seed)


def _labelled_stream(model_config, config, sets, seed):
  rng = np.random.default_rng([seed, 7])
  h, w = model_config.image_size
  lo, hi = config.scale_range

  def sample(out_size, items):
    item = items[int(rng.integers(len(items)))]
    image = item.read()
    boxes, classes, unlabelled = _targets(item, image.shape[:2], model_config)
    scale = rng.uniform(lo, hi) * h / image.shape[0]
    crop, boxes = _scaled_crop(image, boxes, out_size, scale, rng)
    return crop, boxes, classes, unlabelled

  while True:
    # Sets take turns whatever their size (968 ball-only frames would
    # drown 273 with people); a mosaic takes its four from one set, so
    # that what the set labels holds for the whole image.
    items = sets[int(rng.integers(len(sets)))]
    if rng.random() < config.mosaic:
      # Four crops at the same object scale, one per quadrant: more players
      # and backgrounds per image. A class counts as unlabelled if any
      # quadrant's set does not label it.
      image = np.zeros((h, w, 3), np.uint8)
      boxes, classes, unlabelled = [], [], set()
      for qy in (0, h // 2):
        for qx in (0, w // 2):
          crop, b, c, u = sample((h // 2, w // 2), items)
          b, c = _clip_to(b, c, (h // 2, w // 2))
          image[qy:qy + h // 2, qx:qx + w // 2] = crop
          b[:, :2] += (qx, qy)
          boxes.append(b)
          classes += c
          unlabelled |= set(u)
      boxes = np.concatenate(boxes)
      unlabelled = tuple(sorted(unlabelled))
    else:
      image, boxes, classes, unlabelled = sample((h, w), items)
    if rng.random() < 0.5:
      image = image[:, ::-1]
      boxes[:, 0] = w - boxes[:, 0] - boxes[:, 2]
    yield np.ascontiguousarray(_photometric(image, rng)), boxes, classes, unlabelled


def detect_items(detector, items):
  """(detections [N, 6] per image, image sizes) of `detector` on items."""
  found, sizes = [], []
  for item in items:
    image = item.read()
    detector.windows = {}          # separate stills, not a video
    found.append(detector(image))
    sizes.append(image.shape[:2])
  return found, sizes


def score(found, sizes, items, model_config, threshold=DRAW_THRESHOLD):
  """Person COCO AP50, AP50:95, AP75 (pycocotools) and precision / recall
  at `threshold`; ball AP50, AP by the centre criterion (1% of the image
  diagonal) and precision / recall, for the classes the items label."""
  report = {"images": len(items)}
  for suite_class, name in ((detection_data.PERSON, "person"), (detection_data.BALL, "ball")):
    model_name = SUITE_TO_MODEL[suite_class]
    if model_name not in model_config.classes or suite_class not in items[0].labelled:
      continue
    # Rows of `found` carry detector.CLASSES indices: 0 player, 1 ball, as
    # the suite's person and ball.
    k = float(suite_class)
    dets = [d[d[:, 5] == k][:, :5] for d in found]
    labels = [item.pixel_boxes(size)[item.classes == suite_class]
              for item, size in zip(items, sizes)]
    entry = detection_metrics.coco_scores(dets, labels, sizes)
    entry["at_threshold"] = detection_metrics.precision_recall(dets, labels, threshold)
    if suite_class == detection_data.BALL:
      entry["centre"] = detection_metrics.centre_scores(dets, labels, sizes)
    entry["per_image_detections_at_threshold"] = float(np.mean(
        [np.sum(d[:, 4] >= threshold) for d in dets]))
    entry["per_image_labels"] = float(np.mean([len(l) for l in labels]))
    report[name] = entry
  return report


def evaluate(model, model_config, config, num_threads=2):
  """`score` on every held-back part (`held_back`) for a Keras model, a
  SavedModel or a .tflite file."""
  out = {}
  for name, items in held_back(config).items():
    if config.eval_images:
      items = items[::max(1, len(items) // config.eval_images)][:config.eval_images]
    detector = detectors_lib.CenterNetDetector(model, model_config, threshold=0.05,
                                               num_threads=num_threads)
    found, sizes = detect_items(detector, items)
    out[name] = score(found, sizes, items, model_config)
  return out

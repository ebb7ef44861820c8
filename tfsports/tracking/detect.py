r"""`tfsports detect`: people and the ball in a folder of images or a video.

    tfsports detect IMAGES_DIR --out=DIR [--model=real|RUN_DIR|FILE] [--threshold=0.05]
    tfsports detect VIDEO.mp4 --out=DIR      # -> DIR/det.txt for tfsports track

examples:
  tfsports detect frames/ --out=out/        # labels/, classes.txt, detections.json, annotated/
  tfsports detect match.mp4 --out=out/ && \
    tfsports track match.mp4 --detector=mot:out/det.txt --out=tracks/
  tfsports detect frames/ --out=out/ --model=runs/detector_real --noannotate

For a folder of images it writes
  DIR/labels/<image stem>.txt   `class cx cy w h score` per box, normalised to
                                the image (Ultralytics' save_conf format);
  DIR/classes.txt               person, ball: class 0 is person, 1 ball;
  DIR/detections.json           COCO: images, categories and the results
                                (bbox in pixels, score) as annotations;
  DIR/annotated/<image name>    boxes at --draw_threshold, unless --noannotate.
For a video: DIR/det.txt (MOT: frame, -1, x, y, w, h, score, -1, -1, -1,
people only), which `tfsports track VIDEO --detector=mot:DIR/det.txt`
reads, and DIR/ball.txt (frame, x, y, w, h, score).

Boxes are written down to --threshold (0.05), low enough for AP to be
computed from them; drawing and the counts printed use --draw_threshold.
"""

import json
import os
import sys

from absl import flags

from tfsports import errors
from tfsports.data import detection as detection_data
from tfsports.serving import loader

FLAGS = flags.FLAGS
CLASSES = detection_data.CLASSES
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".ts", ".gif")
USAGE = "usage: tfsports detect IMAGES_DIR|VIDEO --out=DIR [--model=PRESET|RUN_DIR|FILE]"


def define_flags():
  """Command-line flags; defined on demand so the module imports cleanly."""
  flags.DEFINE_string("out", None, "Output directory.")
  flags.DEFINE_string("model", "real", "A bundled detector preset, a run directory of "
                      "`tfsports train detector`, its export, a SavedModel or a .tflite file.")
  flags.DEFINE_float("threshold", 0.05, "Lowest score written (low, so AP can be computed).")
  flags.DEFINE_float("draw_threshold", 0.3, "Lowest score drawn and counted.")
  flags.DEFINE_bool("annotate", True, "Write annotated images.")
  flags.DEFINE_integer("threads", 2, "TFLite threads.")
  flags.DEFINE_bool("list_models", False, "List the bundled and trained detectors and exit.")


def image_files(folder):
  """The image files of a folder, sorted by name."""
  return [os.path.join(folder, n) for n in sorted(os.listdir(folder))
          if n.lower().endswith(detection_data.IMAGE_SUFFIXES)]


def check(argv):
  """The failures found before TensorFlow is imported; --list_models."""
  from tfsports.serving import catalog
  if FLAGS.list_models:
    print(catalog.listing("detector", loader.kind("detector").presets(),
                          catalog.find_runs(os.path.join("tflite", "detector_float32.tflite")),
                          "tfsports train detector --preset=real"))
    return 0
  if len(argv) != 2 or not FLAGS.out:
    raise errors.UserError(USAGE)
  source = argv[1]
  catalog.require_inputs([source])
  if os.path.isdir(source):
    if not image_files(source):
      raise errors.UserError(f"{source}: no images ({', '.join(detection_data.IMAGE_SUFFIXES)})")
  elif not source.lower().endswith(VIDEO_SUFFIXES):
    raise errors.UserError(f"{source}: neither a folder of images nor a video")
  if not 0 <= FLAGS.threshold <= FLAGS.draw_threshold <= 1:
    raise errors.UserError("need 0 <= --threshold <= --draw_threshold <= 1")
  loader.locate("detector", FLAGS.model, prefer="tflite")
  return None


def yolo_lines(rows, size):
  """`class cx cy w h score` lines of detections [N, 6] in an image of
  `size` (height, width)."""
  h, w = size
  lines = []
  for x, y, bw, bh, score, k in rows:
    lines.append(f"{int(k)} {(x + bw / 2) / w:.6f} {(y + bh / 2) / h:.6f} {bw / w:.6f} "
                 f"{bh / h:.6f} {score:.4f}")
  return lines


def _write_text(path, text):
  tmp = f"{path}.partial"
  with open(tmp, "w") as f:
    f.write(text)
  os.replace(tmp, path)


def draw(image, rows, threshold):
  """The image with its boxes at `threshold`: people in orange, the ball
  in green, lines thick enough to see on a 1080p frame."""
  import cv2
  out = image.copy()
  thick = max(2, round(image.shape[0] / 400))
  for x, y, w, h, score, k in rows:
    if score < threshold:
      continue
    colour = (255, 140, 0) if int(k) == detection_data.PERSON else (0, 255, 0)
    cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), colour, thick)
  return out


def detect_images(folder, out_dir, detector, threshold, draw_threshold, annotate=True,
                  progress=None):
  """Writes the image outputs (see the module docstring); returns
  {images, boxes, unreadable: [paths]}."""
  import cv2
  files = image_files(folder)
  os.makedirs(os.path.join(out_dir, "labels"), exist_ok=True)
  if annotate:
    os.makedirs(os.path.join(out_dir, "annotated"), exist_ok=True)
  _write_text(os.path.join(out_dir, "classes.txt"), "\n".join(CLASSES) + "\n")
  images, annotations, unreadable, drawn = [], [], [], 0
  for index, path in enumerate(files):
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
      unreadable.append(path)
      continue
    image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    detector.windows = {}
    rows = detector(image)
    rows = rows[rows[:, 4] >= threshold]
    stem, name = os.path.splitext(os.path.basename(path))[0], os.path.basename(path)
    lines = yolo_lines(rows, image.shape[:2])
    _write_text(os.path.join(out_dir, "labels", stem + ".txt"), "".join(l + "\n" for l in lines))
    image_id = len(images) + 1
    images.append({"id": image_id, "file_name": name, "height": int(image.shape[0]),
                   "width": int(image.shape[1])})
    for x, y, w, h, score, k in rows:
      annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                          "category_id": int(k) + 1, "bbox": [round(float(v), 2) for v in
                                                              (x, y, w, h)],
                          "area": round(float(w * h), 2), "score": round(float(score), 4),
                          "iscrowd": 0})
    drawn += int((rows[:, 4] >= draw_threshold).sum())
    if annotate:
      cv2.imwrite(os.path.join(out_dir, "annotated", name),
                  cv2.cvtColor(draw(image, rows, draw_threshold), cv2.COLOR_RGB2BGR))
    if progress:
      progress.update(index + 1)
  coco = {"images": images, "annotations": annotations,
          "categories": [{"id": i + 1, "name": n} for i, n in enumerate(CLASSES)]}
  _write_text(os.path.join(out_dir, "detections.json"), json.dumps(coco))
  return {"images": len(images), "boxes": drawn, "unreadable": unreadable}


def detect_video(path, out_dir, detector, threshold, draw_threshold, progress=None):
  """DIR/det.txt (people, MOT) and DIR/ball.txt; returns {frames, boxes}."""
  from tfsports.data import video_io
  os.makedirs(out_dir, exist_ok=True)
  det, ball = [], []
  frames = drawn = 0
  for t, frame in enumerate(video_io.iter_frames(path)):
    rows = detector(frame)
    rows = rows[rows[:, 4] >= threshold]
    for x, y, w, h, score, k in rows:
      if int(k) == detection_data.PERSON:
        det.append(f"{t + 1},-1,{x:.2f},{y:.2f},{w:.2f},{h:.2f},{score:.4f},-1,-1,-1\n")
      else:
        ball.append(f"{t + 1},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{score:.4f}\n")
    drawn += int((rows[:, 4] >= draw_threshold).sum())
    frames = t + 1
    if progress:
      progress.update(frames)
  _write_text(os.path.join(out_dir, "det.txt"), "".join(det))
  _write_text(os.path.join(out_dir, "ball.txt"), "".join(ball))
  return {"frames": frames, "boxes": drawn}


def main(argv):
  from tfsports import progress as progress_lib
  from tfsports.data import video_io
  source = argv[1]
  try:
    detector = loader.load("detector", FLAGS.model, prefer="tflite", threshold=FLAGS.threshold,
                           num_threads=FLAGS.threads)
    if os.path.isdir(source):
      total = len(image_files(source))
      # Quiet unless a person watches: logs get the one summary line.
      bar = progress_lib.Progress("detect", total, "images") if sys.stderr.isatty() else None
      done = detect_images(source, FLAGS.out, detector, FLAGS.threshold, FLAGS.draw_threshold,
                           FLAGS.annotate, bar)
      if bar:
        bar.done()
      if done["unreadable"]:
        bad = done["unreadable"]
        print(f"error: {len(bad)} of {total} images could not be read ({bad[0]}"
              f"{', ...' if len(bad) > 1 else ''}); the other {done['images']} were written "
              f"to {FLAGS.out}", file=sys.stderr)
        return 2
      print(f"{done['images']} images, {done['boxes']} boxes at score >= "
            f"{FLAGS.draw_threshold}: {FLAGS.out}")
    else:
      info = video_io.probe(source)
      bar = (progress_lib.Progress("detect", info.num_frames or None, "frames")
             if sys.stderr.isatty() else None)
      done = detect_video(source, FLAGS.out, detector, FLAGS.threshold, FLAGS.draw_threshold,
                          bar)
      if bar:
        bar.done()
      print(f"{done['frames']} frames, {done['boxes'] / max(done['frames'], 1):.1f} boxes per "
            f"frame at score >= {FLAGS.draw_threshold}: {os.path.join(FLAGS.out, 'det.txt')}")
  except video_io.VideoReadError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  return 0

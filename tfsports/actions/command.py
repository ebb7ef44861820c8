r"""Classifies a video window by window, or scores a labelled folder.

    tfsports classify VIDEO --model=RUN_DIR/export/saved_model/classifier/1 [--json]
    tfsports classify CLASS_FOLDER_DIR --model=...   # DIR/<class>/*.mp4: top-1, confusion
    tfsports classify VIDEO --model=RUN_DIR/export/tflite/stream_float32.tflite
    tfsports classify VIDEO --model=... --stabilize --denoise --crop=X,Y,W,H
    tfsports classify VIDEO --model=... --players --out=DIR   # per tracked player

The video is sampled at the frame rate the model was trained at (from the
export's model_info.json), so actions play at the speed the model learnt
them, whatever the video's own rate. A SavedModel classifies whole windows
of its clip length; a streaming .tflite model runs frame by frame with its
states reset at each window, so both give the same labels. Frames are
resized to the model's size. A video shorter than one window is padded by
repeating its last frame; the last partial window of a longer video is
padded the same way. Each window prints start and end time, label and
confidence in the training data's class names (or one JSON object per line
with --json). With --players the players are detected and tracked
(`tfsports track`'s detector and tracker), each track is cropped and its
windows labelled: DIR/actions.csv (track_id, start_s, end_s, action,
score), DIR/tracks.txt and DIR/annotated.mp4 (`actions.players`).
A bad file or a model that does not fit: one-line error, exit
status 2.
"""

import json
import os
import sys

from absl import flags
import numpy as np

from tfsports import errors
from tfsports.serving import loader

FLAGS = flags.FLAGS


class SavedModelClassifier:
  """A SavedModel's clip signature; its `fused` one (pixels and pose) when
  the export has a pose stream and `use_pose`."""

  def __init__(self, path, use_pose=True):
    import tensorflow as tf
    loaded = tf.saved_model.load(path)
    self.fn = loaded.signatures["serving_default"]
    self.fused = loaded.signatures.get("fused") if use_pose else None
    spec = self.fn.structured_input_signature[1]["frames"]
    self.num_frames = int(spec.shape[1])
    self.image_size = (int(spec.shape[2]), int(spec.shape[3]))
    self.class_names = None

  def classify(self, window, keypoints=None):
    import tensorflow as tf
    if keypoints is not None:
      out = self.fused(frames=tf.constant(window[None]),
                       keypoints=tf.constant(keypoints[None], tf.float32))
    else:
      out = self.fn(frames=tf.constant(window[None]))
    return out["probabilities"].numpy()[0]


class TFLiteStreamClassifier:
  """The streaming .tflite pixel model, and beside it the pose stream's
  (pose_stream_float32.tflite) when the export has one: their logits add,
  weighted by the export's fusion weights (pixels, pose)."""

  def __init__(self, path, num_frames, class_names, threads=2, pose_path=None,
               fusion_weights=(1.0, 1.0)):
    from tfsports.serving import runners
    self.stream = runners.StreamingTFLiteRunner(path, threads)
    self.pose_stream = runners.StreamingTFLiteRunner(pose_path, threads) if pose_path else None
    self.num_frames = num_frames
    self.image_size = self.stream.frame_shape
    self.class_names = class_names
    self.fusion_weights = tuple(float(w) for w in fusion_weights)

  def classify(self, window, keypoints=None):
    self.stream.reset()
    for frame in window:
      logits = self.stream(frame)
    if keypoints is not None:
      self.pose_stream.reset()
      for k in keypoints:
        pose_logits = self.pose_stream(np.asarray(k, np.float32))
      a, b = self.fusion_weights
      logits = a * logits + b * pose_logits
    e = np.exp(logits - logits.max())
    return e / e.sum()


def define_flags():
  """Command-line flags; defined on demand so the module imports cleanly."""
  flags.DEFINE_string("model", None, "A run directory of `tfsports train actions`, its "
                      "SavedModel directory or its streaming .tflite file.")
  flags.DEFINE_bool("list_models", False, "List the trained classifiers under runs/ and exit.")
  flags.DEFINE_bool("json", False, "Print JSON lines.")
  flags.DEFINE_integer("threads", 2, "TFLite threads.")
  flags.DEFINE_bool("stabilize", False, "Remove camera shake before classifying.")
  flags.DEFINE_bool("denoise", False, "Remove sensor noise before classifying.")
  flags.DEFINE_string("crop", None, "X,Y,W,H: classify this pixel box of every frame.")
  flags.DEFINE_bool("players", False, "Detect and track the players and label each "
                    "track's windows (needs --out).")
  flags.DEFINE_string("out", None, "--players: output directory.")
  flags.DEFINE_string("detector_model", "real", "--players: the CenterNet detector (a bundled "
                      "preset, run directory, SavedModel or .tflite).")
  flags.DEFINE_bool("annotate", True, "--players: write annotated.mp4.")
  flags.DEFINE_bool("pose", True, "Use the model's pose stream beside the pixels, where it "
                    "has one (--nopose: pixels only).")


def load_classifier(model, threads=2, use_pose=True):
  """The classifier a run directory, export, SavedModel or streaming
  .tflite file holds (`loader.load("actions", ...)`)."""
  return loader.load("actions", model, num_threads=threads, use_pose=use_pose)


def runner_for(located, num_threads=2, use_pose=True):
  """The `loader.load` factory: a clip classifier with its class names and
  frame rate (from model_info.json), and its poser (`data.pose.ClipPoser`)
  when the export has a pose stream and `use_pose`."""
  info = located.info
  names = info.get("class_names")
  pose_info = info.get("pose") if use_pose else None
  if located.kind == "tflite":
    if not info:
      raise FileNotFoundError(f"{located.path}: no model_info.json in its export directory")
    pose_path = None
    if pose_info:
      pose_path = os.path.join(os.path.dirname(located.path), pose_info["tflite"])
      if not os.path.exists(pose_path):
        raise FileNotFoundError(f"{pose_path}: the pose stream model_info.json names is "
                                f"missing (--nopose classifies from pixels alone)")
    clf = TFLiteStreamClassifier(
        located.path, info["num_frames"], names, num_threads, pose_path,
        (pose_info or {}).get("fusion_weights", (1.0, 1.0)))
  else:
    clf = SavedModelClassifier(located.path, use_pose=bool(pose_info))
    clf.class_names = names
  clf.poser = None
  if pose_info:
    from tfsports.data import pose as pose_lib
    clf.poser = pose_lib.ClipPoser(pose_info["mode"], num_threads)
  clf.fps = info.get("fps")
  return clf


def window_keypoints(poser, frames):
  """Pose features float32 [T, F] of a window of full-resolution frames."""
  from tfsports.actions import pose_stream
  return pose_stream.pose_features(poser(np.stack(frames)))


def classify_video(path, classifier, stabilize=False, denoise=False, crop=None):
  """Yields one dict per window: start, end (seconds), label, confidence,
  probabilities. Frames are taken at the model's frame rate (the video's
  own for a model that does not record one); `crop` (x, y, w, h) keeps that
  pixel box of every frame first."""
  import cv2
  from tfsports.data import preprocess
  from tfsports.data import video_io
  info = video_io.probe(path)
  fps = getattr(classifier, "fps", None) or info.fps or 25.0
  h, w = classifier.image_size
  T = classifier.num_frames
  names = classifier.class_names

  poser = getattr(classifier, "poser", None)

  def emit(frames, start, full):
    real = len(frames)
    window = np.stack(frames + [frames[-1]] * (T - real))
    # Stabilising and denoising work on a window at a time, so memory stays
    # constant for any length of video.
    if stabilize and real > 1:
      window = preprocess.stabilize_clip(window)[0]
    if denoise:
      window = preprocess.denoise_clip(window, method="bilateral")
    keypoints = None
    if poser is not None:
      # The pose model sees the frames at their own resolution, as in training.
      keypoints = window_keypoints(poser, full + [full[-1]] * (T - real))
    probs = classifier.classify(window, keypoints)
    k = int(np.argmax(probs))
    labels = names or [str(i) for i in range(len(probs))]
    return {"start": round(start / fps, 3), "end": round((start + real) / fps, 3),
            "label": labels[k], "confidence": float(probs[k]),
            "probabilities": {labels[i]: float(p) for i, p in enumerate(probs)}}

  window, full, start, n = [], [], 0, 0
  if crop:
    frames = (preprocess.crop_frame(f, crop) for f in video_io.iter_frames(path))
  elif poser is not None:
    frames = video_io.iter_frames(path)
  else:
    frames = video_io.iter_frames(path, size=(h, w))
  for frame in video_io.resample_fps(frames, info.fps or 25.0, fps):
    if frame.shape[:2] != (h, w):
      if poser is not None:
        full.append(frame)
      frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
    else:
      full.append(frame)
    window.append(frame)
    n += 1
    if len(window) == T:
      yield emit(window, start, full)
      window, full, start = [], [], n
  if window:
    yield emit(window, start, full)


def evaluate_folder(root, classifier, stabilize=False, denoise=False, log=None):
  """Classifies every video of a class-per-folder directory (ROOT/<class>/*)
  as a whole: the mean of its windows' probabilities. Folder names are
  matched to the model's class names. Returns a `metrics.classification`
  summary with per-file rows; a file that cannot be read is reported and
  left out."""
  from tfsports.data import sources
  from tfsports.data import video_io
  from tfsports.metrics import classification
  paths, labels, folders = sources.list_videos(root)
  names = list(classifier.class_names or [])
  unknown = sorted(set(folders) - set(names))
  if not folders or unknown:
    raise ValueError(f"{root}: class folders {unknown or '(none)'} are not among the "
                     f"model's classes {names}")
  truth, predicted, rows = [], [], []
  for path, label in zip(paths, labels):
    if label < 0:
      continue
    try:
      probs = np.mean([r_probs(r, names) for r in
                       classify_video(path, classifier, stabilize, denoise)], 0)
    except video_io.VideoReadError as e:
      print(f"warning: left out: {e}", file=sys.stderr)
      continue
    k = names.index(folders[label])
    truth.append(k)
    predicted.append(int(np.argmax(probs)))
    rows.append({"clip": os.path.relpath(path, root), "label": names[k],
                 "prediction": names[predicted[-1]]})
    if log:
      log(rows[-1])
  report = classification.summary(truth, predicted, names)
  report["clips"] = rows
  return report


def classify_players(video, classifier):
  from tfsports.actions import players
  from tfsports.tracking import tracker as tracker_lib
  # The CenterNet detector `tfsports track` uses by default, with its tracker preset.
  detector = loader.load("detector", FLAGS.detector_model, prefer="tflite")
  summary = players.classify_players(
      video, FLAGS.out, classifier, detector, tracker_lib.TrackerConfig.from_preset("centernet"),
      annotate=FLAGS.annotate)
  if FLAGS.json:
    print(json.dumps(summary))
  else:
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary["actions"].items()))
    print(f"{summary['num_tracks']} tracks, {summary['num_windows']} windows ({counts}): "
          f"{summary['paths']['actions']}")
  return 0


def r_probs(row, names):
  return [row["probabilities"][n] for n in names]


TRAIN = "tfsports train actions --preset=footage --data=DIR_WITH_ONE_FOLDER_PER_CLASS"
RUN_MARKER = os.path.join("saved_model", "classifier", "1", "saved_model.pb")


def check(argv):
  """The failures found before TensorFlow is imported; --list_models."""
  from tfsports.serving import catalog
  if FLAGS.list_models:
    print(catalog.listing("action classifier", {}, catalog.find_runs(RUN_MARKER), TRAIN))
    return 0
  if len(argv) != 2:
    raise errors.UserError("usage: tfsports classify VIDEO|CLASS_FOLDER_DIR --model=RUN_DIR "
                           "[--json] [--stabilize] [--denoise] [--crop=X,Y,W,H]")
  catalog.require_inputs(argv[1:2])
  if FLAGS.players and not FLAGS.out:
    raise errors.UserError("--players needs --out=DIR for actions.csv and annotated.mp4")
  if FLAGS.players and os.path.isdir(argv[1]):
    raise errors.UserError(f"--players takes a video, not a folder: {argv[1]}")
  loader.locate("actions", FLAGS.model)
  if FLAGS.players:
    loader.locate("detector", FLAGS.detector_model, prefer="tflite")
  return None


def main(argv):
  from tfsports.data import video_io
  from tfsports.metrics import classification
  try:
    from tfsports.data import preprocess
    crop = preprocess.parse_box(FLAGS.crop) if FLAGS.crop else None
    classifier = load_classifier(FLAGS.model, FLAGS.threads, FLAGS.pose)
    if FLAGS.players:
      return classify_players(argv[1], classifier)
    if os.path.isdir(argv[1]):
      log = (lambda r: print(json.dumps(r), flush=True)) if FLAGS.json else None
      report = evaluate_folder(argv[1], classifier, FLAGS.stabilize, FLAGS.denoise, log)
      if FLAGS.json:
        print(json.dumps({k: v for k, v in report.items() if k != "clips"}))
      else:
        print(f"top-1 on {report['num_clips']} clips: {report['top1']:.3f} "
              f"(chance {report['chance']:.3f}, majority class {report['majority']:.3f})")
        print(classification.format_confusion(report))
      return 0
    for row in classify_video(argv[1], classifier, FLAGS.stabilize, FLAGS.denoise, crop):
      if FLAGS.json:
        print(json.dumps(row), flush=True)
      else:
        print(f"{row['start']:8.2f}s - {row['end']:8.2f}s  {row['label']:<12s} "
              f"{row['confidence']:.2f}", flush=True)
  except (video_io.VideoReadError, FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  return 0

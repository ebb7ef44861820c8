"""Detector recipe: training on synthetic scenes of every camera type plus
the real labels there are, evaluation side by side, and export.

    RUN_DIR/export/saved_model/detector/1/      frames uint8 -> heatmap, size, offset
    RUN_DIR/export/tflite/detector_{float32,int8}.tflite
    RUN_DIR/export/eval_report.json

Real labels: the ball positions of the TrackNet-format clip in
../shared/data/real/ball/ (named tennis, its frames show a handball match
filmed by a panning broadcast camera), frames 0-139 for training; frames
140-275 are held back for the ball report (precision, recall and F1 within
5 pixels, TrackNet's criterion). There are no real player labels, so
players are pseudo-labelled by background subtraction
(`detectors.BackgroundDetector`) on the static-camera videos in
PSEUDO_LABELLED; where a class is unlabelled, its heatmap is ignored.
"""

import csv
import dataclasses
import itertools
import json
import os

import cv2
import keras
import numpy as np
import tensorflow as tf

from tfsports import config as config_lib
from tfsports.data import synthetic
from tfsports.data import video_io
from tfsports.training import loop as common
from tfsports.serving import exports as exports_lib
from tfsports.serving import saved_model as saved_model_lib
from tfsports.serving import tflite as tflite_lib
from tfsports.tracking import detector as detector_lib
from tfsports.tracking import detectors as detectors_lib
from tfsports.tracking import labelled
from tfsports.tracking import translator as translator_lib
from tfsports.training import job as job_lib
from tfsports.training import run as run_lib
from tfsports.data import real as real_data
from tfsports.metrics import detection as detection_metrics

REAL_ROOT = real_data.REAL_ROOT
TRACKNET = os.path.join("ball", "tennis_tracknet_game1_clip1")
TRACKNET_TRAIN = range(0, 140)
TRACKNET_HELD_BACK = range(140, 276)
CAMERAS = ("static", "broadcast", "close")
BALL_DIAMETER = 0.12   # of a player's height: a 22 cm ball next to 1.8 m
# Static-camera real footage whose players are pseudo-labelled by background
# subtraction for training; tennis_broadcast_6.mp4 and basketball_gym.mp4
# stay unseen, for the end-to-end check.
PSEUDO_LABELLED = ("video/compressed-handball_sideview.mp4", "video/tennis_broadcast_3.mp4",
                   "video/tennis_broadcast_4.mp4")


REAL_LABELLED_SETS = ("detection/soccer_dfl_players", "detection/soccer_dfl_ball@1.7778")
# Whole games held back (file names start with the game id): 44 of the 273
# player frames, 245 of the 968 ball frames.
REAL_HELD_GAMES = ("54745b", "a9f16c", "c01561")
REAL_EVAL_SETS = ("detection/volleyball_vnl_players@1.7778",)


@dataclasses.dataclass(frozen=True)
class DetectorTrainConfig(config_lib.Config):
  """real_share: the share of training images from the real frames of
  `real_sources` (TrackNet ball labels, pseudo-labelled videos; 0: none).
  labelled_sets: YOLO-layout folders of real labelled frames (under
  real_root unless absolute; `FOLDER@ASPECT` for a set stretched from
  that width / height), a `labelled_share` of the training images, their
  `held_games` held back for evaluation; eval_sets: YOLO folders scored
  whole and never trained on (another sport or camera). scale_range: a
  training frame's height in model input heights (the tiles `tile_rows`
  runs at, and some zoom either side). eval_images: at most this many
  images of each held-back part are scored (0: all). translator: a
  translator export (`tracking.translate`, `tfsports train translator`)
  that every rendered frame goes through first ("": rendered as is)."""
  preset: str = "tiny"
  run_dir: str = "runs/detector_tiny"
  real_root: str = REAL_ROOT
  train_steps: int = 3000
  batch_size: int = 8
  learning_rate: float = 2e-3
  real_share: float = 0.25
  checkpoint_every: int = 250
  seed: int = 0
  eval_clips: int = 6
  verbose: int = 2
  labelled_sets: tuple = ()
  labelled_share: float = 0.0
  held_games: tuple = ()
  eval_sets: tuple = ()
  scale_range: tuple = (1.0, 1.8)
  mosaic: float = 0.0
  eval_images: int = 0
  translator: str = ""
  init_from: str = ""

  RESUMABLE_FIELDS = ("train_steps", "verbose", "run_dir", "checkpoint_every", "eval_clips",
                      "eval_images", "eval_sets")


TRAIN_PRESETS = {
    "tiny": DetectorTrainConfig(),
    # Real broadcast frames with people and ball labels first: the DFL
    # Bundesliga sets of ../shared (3 of their 11 games held back), the
    # renderer and the older real sources for the rest; volleyball is never
    # trained on (the cross-domain check).
    "real": DetectorTrainConfig(
        preset="real", run_dir="runs/detector_real", train_steps=1600, real_share=0.1,
        labelled_sets=REAL_LABELLED_SETS, labelled_share=0.7, held_games=REAL_HELD_GAMES,
        eval_sets=REAL_EVAL_SETS, scale_range=(1.2, 3.0), mosaic=0.3, checkpoint_every=200),
    "real_test": DetectorTrainConfig(
        preset="test", run_dir="runs/detector_real_test", train_steps=4, batch_size=2,
        checkpoint_every=2, eval_clips=1, verbose=0, real_share=0.0,
        labelled_sets=REAL_LABELLED_SETS, labelled_share=0.5, held_games=REAL_HELD_GAMES,
        eval_sets=REAL_EVAL_SETS, scale_range=(1.2, 3.0), mosaic=0.5, eval_images=3),
    "ball": DetectorTrainConfig(preset="ball", run_dir="runs/detector_ball", train_steps=3000,
                                real_share=0.5),
    "test": DetectorTrainConfig(preset="test", run_dir="runs/detector_test", train_steps=4,
                                batch_size=2, checkpoint_every=2, eval_clips=1, verbose=0),
    "ball_test": DetectorTrainConfig(preset="ball_test", run_dir="runs/detector_ball_test",
                                     train_steps=4, batch_size=2, checkpoint_every=2,
                                     eval_clips=1, verbose=0),
}
config_lib.register_presets(DetectorTrainConfig, TRAIN_PRESETS)


def scene_config(config, camera, num_frames=8):
  return synthetic.SceneConfig(image_size=tuple(config.image_size), camera=camera,
                               num_frames=num_frames + config.num_frames - 1)


def clip_labels(clip, t, config):
  """Boxes [N, 4] and class indices [N] of frame t of a rendered clip:
  people at least 30% visible, and the ball where it is visible."""
  boxes, classes = [], []
  v = clip["visibility"][t] >= 0.3
  if "player" in config.classes:
    boxes.append(clip["boxes"][t][v])
    classes += [config.classes.index("player")] * int(v.sum())
  if "ball" in config.classes and clip["ball_visible"][t]:
    height = np.median(clip["boxes"][t][v, 3]) if v.any() else 20.0
    d = max(2.0, BALL_DIAMETER * height)
    x, y = clip["ball_pixels"][t]
    boxes.append(np.array([[x - d / 2, y - d / 2, d, d]], np.float32))
    classes.append(config.classes.index("ball"))
  return (np.concatenate(boxes) if boxes else np.zeros((0, 4), np.float32)), classes


def synthetic_examples(config, seed):
  """Endless (uint8 [H, W, 3 * num_frames], label boxes, classes) from
  synthetic scenes, cycling through the camera types, with random motion
  blur, noise and JPEG."""
  for index in itertools.count():
    rng = np.random.default_rng([seed, index])
    scene = dataclasses.replace(
        scene_config(config, CAMERAS[index % 3]), motion_blur=float(rng.uniform(0, 3)),
        noise=float(rng.uniform(0, 4)), jpeg_quality=int(rng.choice([0, 40, 70, 90])))
    clip = synthetic.render_clip(scene, seed=seed, index=index)
    n = config.num_frames
    for t in range(n - 1, scene.num_frames):
      window = clip["frames"][t - n + 1:t + 1]
      boxes, classes = clip_labels(clip, t, config)
      yield np.concatenate(list(window), -1), boxes, classes


def read_tracknet(real_root):
  """The TrackNet clip: (frames uint8 [276, 720, 1280, 3], visible bool
  [276], ball centres float32 [276, 2], pixels)."""
  folder = os.path.join(real_root, TRACKNET)
  with open(os.path.join(folder, "Label.csv")) as f:
    rows = list(csv.DictReader(f))
  visible = np.array([int(r["Visibility Class"]) > 0 for r in rows])
  xy = np.array([[float(r["X"] or -1), float(r["Y"] or -1)] for r in rows], np.float32)
  return video_io.read_frames(os.path.join(folder, "frames.mp4")), visible, xy


def window_at(video, t, num_frames):
  """Frames t - num_frames + 1 .. t stacked on channels, the first frame
  repeated before the start (as `CenterNetDetector` does)."""
  idx = [max(0, i) for i in range(t - num_frames + 1, t + 1)]
  return np.concatenate([video[i] for i in idx], -1)


def pseudo_label(frames, detector=None):
  """Player boxes on static-camera footage by background subtraction:
  {frame index: float32 [N, 4] (x, y, w, h)} for the frames past the
  background model's warm-up. frames: uint8 [T, H, W, 3]."""
  detector = detector or detectors_lib.BackgroundDetector(min_height=0.04)
  out = {}
  for t, frame in enumerate(frames):
    d = detector(frame)
    if t >= detector.warmup:
      out[t] = d[d[:, 4] >= 0.5, :4]
  return out


def _read_small(path, max_height=720):
  """A video's frames, scaled down to at most max_height rows."""
  info = video_io.probe(path)
  scale = min(1.0, max_height / info.height)
  size = (round(info.height * scale) // 2 * 2, round(info.width * scale) // 2 * 2)
  return video_io.read_frames(path, size=size if scale < 1 else None), scale


def real_sources(config, real_root):
  """The real labelled frames: [(frames uint8 [T, H, W, 3], {t: (boxes,
  classes, unlabelled classes)})]: TrackNet frames 0-139 with their ball
  labels, and with a player class the static-camera videos in
  PSEUDO_LABELLED with background-subtraction player boxes."""
  sources = []
  player = config.classes.index("player") if "player" in config.classes else None
  ball = config.classes.index("ball") if "ball" in config.classes else None
  if ball is not None and os.path.isdir(os.path.join(real_root, TRACKNET)):
    # Its broadcast camera pans, so background subtraction cannot label its
    # players: their heatmap is ignored there.
    video, visible, xy = read_tracknet(real_root)
    video = video[:TRACKNET_TRAIN[-1] + 1]
    unlabelled = (player,) if player is not None else ()
    labels = {}
    for t in TRACKNET_TRAIN:
      boxes = (np.array([[xy[t, 0] - 5, xy[t, 1] - 5, 10, 10]], np.float32) if visible[t]
               else np.zeros((0, 4), np.float32))
      labels[t] = (boxes, [ball] * len(boxes), unlabelled)
    sources.append((video, labels))
  if player is not None:
    for name in PSEUDO_LABELLED:
      path = os.path.join(real_root, name)
      if not os.path.exists(path):
        continue
      video, _ = _read_small(path)
      unlabelled = (ball,) if ball is not None else ()
      labels = {t: (b, [player] * len(b), unlabelled) for t, b in pseudo_label(video).items()}
      sources.append((video, labels))
  return sources


def real_examples(config, real_root, seed):
  """Endless augmented (input, boxes, classes, unlabelled classes) from
  `real_sources`: a random source and frame, scaled so the frame height
  maps to 1-1.8 input heights, cropped at random, flipped, with brightness
  and contrast jitter. Returns None without real sources."""
  sources = real_sources(config, real_root)
  if not sources:
    return None
  return _real_stream(config, sources, seed)


def _real_stream(config, sources, seed):
  rng = np.random.default_rng(seed)
  h, w = config.image_size
  while True:
    video, labels = sources[int(rng.integers(len(sources)))]
    t = int(rng.choice(list(labels)))
    boxes, classes, unlabelled = labels[t]
    window = window_at(video, t, config.num_frames)
    H, W = window.shape[:2]
    scale = rng.uniform(1.0, 1.8) * h / H
    x0 = rng.uniform(0, max(W * scale - w, 0))
    y0 = rng.uniform(0, max(H * scale - h, 0))
    m = np.array([[scale, 0, -x0], [0, scale, -y0]], np.float32)
    image = np.concatenate(
        [cv2.warpAffine(window[..., c:c + 3], m, (w, h), flags=cv2.INTER_AREA)
         for c in range(0, window.shape[-1], 3)], -1)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4) * scale
    boxes[:, :2] -= (x0, y0)
    if rng.random() < 0.5:
      image = image[:, ::-1]
      boxes[:, 0] = w - boxes[:, 0] - boxes[:, 2]
    image = np.clip(image * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20), 0, 255)
    yield np.ascontiguousarray(image.astype(np.uint8)), boxes, classes, unlabelled


def translated_examples(stream, translator, model_config):
  """`stream`'s rendered frames through the translator export at
  `translator`, boxes unchanged (it keeps geometry: `translate`). The
  export is opened now, so a wrong path fails before training starts."""
  if model_config.num_frames != 1:
    raise ValueError("a translator translates single frames; this detector stacks "
                     f"{model_config.num_frames}")
  run = translator_lib.Translator(translator)
  return ((run(image), boxes, classes) for image, boxes, classes in stream)


def make_dataset(model_config, train_config):
  """Batches of (uint8 inputs, {heatmap, size, offset} targets), a
  `real_share` of them from the real labelled frames."""
  synthetic_stream = synthetic_examples(model_config, train_config.seed)
  if train_config.translator:
    synthetic_stream = translated_examples(synthetic_stream, train_config.translator,
                                           model_config)
  real_stream = (real_examples(model_config, train_config.real_root, train_config.seed)
                 if train_config.real_share > 0 else None)
  labelled_stream = (labelled.labelled_examples(model_config, train_config, train_config.seed)
                     if train_config.labelled_share > 0 else None)
  labelled_share = train_config.labelled_share if labelled_stream is not None else 0.0
  rng = np.random.default_rng(train_config.seed + 1)

  def examples():
    while True:
      r = rng.random()
      if r < labelled_share:
        image, boxes, classes, unlabelled = next(labelled_stream)
      elif real_stream is not None and r < labelled_share + train_config.real_share:
        image, boxes, classes, unlabelled = next(real_stream)
      else:
        (image, boxes, classes), unlabelled = next(synthetic_stream), ()
      t = detector_lib.draw_targets(model_config, boxes, classes, unlabelled)
      yield image, (t["heatmap"], t["size"], t["offset"])

  h, w = model_config.image_size
  oh, ow = model_config.output_size
  spec = (tf.TensorSpec((h, w, 3 * model_config.num_frames), tf.uint8),
          (tf.TensorSpec((oh, ow, len(model_config.classes)), tf.float32),
           tf.TensorSpec((oh, ow, 3), tf.float32), tf.TensorSpec((oh, ow, 3), tf.float32)))
  return (tf.data.Dataset.from_generator(examples, output_signature=spec)
          .map(lambda x, y: (x, {"heatmap": y[0], "size": y[1], "offset": y[2]}))
          .batch(train_config.batch_size, drop_remainder=True)
          .prefetch(tf.data.AUTOTUNE))


def build(config):
  """The detector, compiled, with its run directory."""
  model_config = detector_lib.DetectorConfig.from_preset(config.preset)
  model = detector_lib.build_detector(model_config)
  schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, config.train_steps,
                                                    alpha=0.05)
  model.compile(optimizer=keras.optimizers.Adam(schedule),
                loss={"heatmap": detector_lib.focal_loss, "size": detector_lib.masked_l1,
                      "offset": detector_lib.masked_l1},
                loss_weights={"heatmap": 1.0, "size": 0.1, "offset": 1.0})
  model.optimizer.build(model.trainable_variables)
  run = common.RunDirectory(config.run_dir, model=model, optimizer=model.optimizer)
  return run_lib.Trained(model, run, model.optimizer.iterations, config, parts=model_config)


def restore(trained):
  """The run's own checkpoint; for a new run with `init_from`, that run's
  latest weights (a resumed run keeps its own)."""
  restored = trained.run.restore()
  if restored or not trained.config.init_from:
    return restored
  latest = tf.train.latest_checkpoint(os.path.join(trained.config.init_from, "checkpoints"))
  if latest is None:
    raise common.CheckpointError(f"{trained.config.init_from}: no checkpoint to start from")
  # Into an uncompiled twin: restoring the compiled model would bring the
  # other run's optimizer, step count included, along with its weights.
  twin = detector_lib.build_detector(trained.parts)
  tf.train.Checkpoint(model=twin).restore(latest).expect_partial()
  trained.model.set_weights(twin.get_weights())
  return None


def fit(trained, strategy):
  config = trained.config
  # The stream is deterministic; a resumed run regenerates and skips the
  # batches already seen, so it ends where an uninterrupted run would.
  make = lambda begin: make_dataset(trained.parts, config).skip(begin)
  common.fit_resumable(trained.model, trained.run, trained.step, make, config.train_steps,
                       config.checkpoint_every, config.verbose)


def train(config):
  """Trains (or resumes) in config.run_dir; returns the `run.Trained`."""
  return run_lib.train(RECIPE, config)


def evaluate_synthetic(model, model_config, config, make_detector=None):
  """Player AP@0.5 per camera type on held-back synthetic clips.
  `make_detector(model, model_config)` -> frame -> [N, 6] detections
  (default: `detectors.CenterNetDetector` at threshold 0.05)."""
  out = {}
  if "player" not in model_config.classes:
    return out
  player = detector_lib.CLASSES.index("player")
  for camera in CAMERAS:
    dets, labels = [], []
    for k in range(config.eval_clips):
      clip = synthetic.render_clip(scene_config(model_config, camera), seed=config.seed + 10_000,
                                   index=k)
      detector = (make_detector(model, model_config) if make_detector else
                  detectors_lib.CenterNetDetector(model, model_config, threshold=0.05))
      for t, frame in enumerate(clip["frames"]):
        d = detector(frame)
        if t < model_config.num_frames - 1:
          continue
        dets.append(d[d[:, 5] == player][:, :5])
        v = clip["visibility"][t] >= 0.3
        labels.append(clip["boxes"][t][v])
    out[camera] = {"player_ap50": detection_metrics.average_precision(dets, labels)}
  return out


def evaluate_ball(model, model_config, real_root):
  """Ball precision, recall and F1 on TrackNet frames 140-275 (held back).

  The detector streams through the whole clip, as `tfsports track` would.
  The score threshold is the one with the best F1 on the training frames
  0-139 (never chosen on the held-back ones). "detector" scores the best
  ball peak of each frame above it; "tracked" the ball track `tfsports
  track` keeps from the peaks (gating, at most one ball, short gaps
  interpolated), started by peaks above the threshold.
  """
  from tfsports.tracking import ball as ball_lib
  video, visible, xy = read_tracknet(real_root)
  detector = detectors_lib.CenterNetDetector(model, model_config, threshold=0.02)
  ball = detector_lib.CLASSES.index("ball")
  peaks = []
  for frame in video:
    d = detector(frame)
    d = d[d[:, 5] == ball]
    peaks.append(np.stack([d[:, 0] + d[:, 2] / 2, d[:, 1] + d[:, 3] / 2, d[:, 4]], 1))

  def best_peaks(frames, threshold):
    return np.array([peaks[t][0, :2] if len(peaks[t]) and peaks[t][0, 2] >= threshold
                     else (np.nan, np.nan) for t in frames], np.float64)

  train, held = list(TRACKNET_TRAIN), list(TRACKNET_HELD_BACK)
  grid = np.round(np.arange(0.05, 0.95, 0.025), 3)
  fits = [detection_metrics.ball_scores(best_peaks(train, g), visible[train], xy[train])["f1"] for g in grid]
  threshold = float(grid[int(np.argmax(fits))])
  tracker = ball_lib.BallTracker(30.0, video.shape[2], ball_lib.BallConfig(
      min_score=threshold / 2, acquire_score=threshold))
  tracked = {}
  for t in range(len(video)):
    found = tracker.update(peaks[t])
    if found is not None:
      tracked[t] = found
  filled = ball_lib.fill_ball_gaps(tracked, tracker.max_gap)
  track = np.array([filled[t][:2] if t in filled else (np.nan, np.nan) for t in held],
                   np.float64)
  return {"threshold": threshold, "train_f1": float(max(fits)),
          "detector": detection_metrics.ball_scores(best_peaks(held, threshold), visible[held], xy[held]),
          "tracked": detection_metrics.ball_scores(track, visible[held], xy[held])}


def export_detector(model, model_config, export_dir, representative):
  """SavedModel (TF Serving layout, dynamic batch) and float32 and int8
  TFLite (batch 1): uint8 frames -> heatmap, size, offset; and
  model_info.json, whose `detector_config` `tfsports track --model=` reads
  to decode."""
  os.makedirs(export_dir, exist_ok=True)
  exports_lib.write_model_info(export_dir, "detector", model,
                               class_names=list(model_config.classes),
                               detector_config=model_config.to_dict())
  shape = tuple(model_config.image_size) + (3 * model_config.num_frames,)
  saved = saved_model_lib.write_saved_model(
      model, os.path.join(export_dir, "saved_model"), "detector",
      [{"frames": np.zeros((1,) + shape, np.uint8)}],
      input_signature=[tf.TensorSpec((None,) + shape, tf.uint8, name="frames")])
  lite = tflite_lib.export_tflite(
      model, [tf.TensorSpec((1,) + shape, tf.uint8, name="frames")],
      os.path.join(export_dir, "tflite"), ("float32", "int8"),
      representative=[[r[None]] for r in representative],
      file_name="detector_{variant}.tflite")
  return {"saved_model": saved, **{f"tflite_{k}": v for k, v in lite.items()}}


def evaluate(trained):
  """Synthetic player AP per camera; real ball F1 on the TrackNet frames
  never trained on."""
  model, model_config, config = trained.model, trained.parts, trained.config
  report = {"synthetic": evaluate_synthetic(model, model_config, config)}
  if config.labelled_sets or config.eval_sets:
    report["real_labelled"] = labelled.evaluate(model, model_config, config)
  if "ball" in model_config.classes and os.path.isdir(os.path.join(config.real_root, TRACKNET)):
    report["real_ball_tracknet_140_275"] = evaluate_ball(model, model_config, config.real_root)
  return report


def export(trained, export_dir, report):
  representative = [x for x, _, _ in itertools.islice(
      synthetic_examples(trained.parts, trained.config.seed + 20_000), 16)]
  return export_detector(trained.model, trained.parts, export_dir, representative)


RECIPE = run_lib.Recipe("detector", build=build, fit=fit, evaluate=evaluate, export=export,
                        restore=restore)


def train_detector(config):
  """Trains, evaluates (synthetic AP per camera; real ball F1) and exports;
  writes RUN_DIR/export/eval_report.json and returns the report."""
  return run_lib.run(RECIPE, config)


def summary(report):
  return json.dumps({k: v for k, v in report.items() if k != "config"}, indent=2)


JOB = job_lib.JobSpec(
    name="detector",
    description="The tracking detector (CenterNet-style players and ball, or the "
                "TrackNet-style ball detector) on synthetic scenes of every camera type and "
                "the real ball labels; synthetic and real scored side by side; exports "
                "SavedModel and float32 / int8 TFLite.",
    config_class=DetectorTrainConfig, train=train_detector, summary=summary,
    field_help={"real_root": "Real-data root (../shared/data/real).",
                "translator": "A translator export (tfsports train translator) every "
                              "rendered frame goes through."},
    examples=("tfsports train detector --preset=tiny --run_dir=runs/detector_tiny",
              "tfsports train detector --preset=ball --run_dir=runs/detector_ball"),
)

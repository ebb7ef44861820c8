r"""Tracks players and the ball in a video, or players in a detections file.

    tfsports track VIDEO --out=DIR [--detector=centernet|background|mot:FILE]
                   [--ball=ball|none|MODEL] [--pitch_points=u,v,X,Y;...] [--noannotate]
    tfsports track --detections=DETS.txt --fps=25 --out=DIR

From a video: DIR/tracks.txt (MOT Challenge), tracks.csv (track, team,
and pitch metres where `--pitch_points` gives 4 or more image-to-pitch
pairs on the first frame), ball.csv and annotated.mp4 (boxes in team
colours, ids, the ball's trail). Detectors: `centernet` (the bundled
`real` preset, trained on real broadcast frames; `tiny`, synthetic-first; or
`--model=` a run directory, SavedModel or .tflite),
`background` (MOG2, static cameras only), `mot:FILE` (any outside
detector). The ball comes from the TrackNet-style `ball` preset.

From a detections file (MOT text, `frame, -1, x, y, w, h, confidence`):
DIR/tracks.txt, with motion and IoU alone.

A bad video or detections file gets a one-line error and exit status 2;
outputs appear only when complete.
"""

import json
import os
import sys

from absl import flags

from tfsports import errors
from tfsports.serving import loader

FLAGS = flags.FLAGS
MODEL_INFO = "model_info.json"
CONFIG_FILE = "detector_config.json"


def define_flags():
  flags.DEFINE_string("detections", None, "MOT-format detections file (no video).")
  flags.DEFINE_float("fps", 25.0, "Frame rate of the detections file (sets how long a "
                     "lost track is kept).")
  flags.DEFINE_string("out", None, "Output directory.")
  flags.DEFINE_string("preset", None, "Tracker preset (default: `centernet` with the CenterNet "
                      "detector, `default` otherwise).")
  flags.DEFINE_string("detector", "centernet",
                      "centernet, background (static camera) or mot:FILE.")
  flags.DEFINE_string("model", "real", "CenterNet model: a bundled preset, a run directory, "
                      "a SavedModel or a .tflite file.")
  flags.DEFINE_string("ball", "ball", "Ball detector: a bundled preset, a model path, or none.")
  flags.DEFINE_string("pitch_points", None, "Image-to-pitch pairs on the first frame, "
                      "'u,v,X,Y;...' (pixels; metres), 4 or more.")
  flags.DEFINE_bool("annotate", True, "Write annotated.mp4.")
  flags.DEFINE_bool("list_models", False, "List the bundled and trained detectors and exit.")
  flags.DEFINE_bool("cmc", True, "Compensate camera motion (panning cameras).")
  flags.DEFINE_string("athletes", None, "Athletes model (a run directory of "
                      "`tfsports train athletes` or its .tflite): appearance in the "
                      "tracker's cost and jersey numbers in tracks.csv.")


def list_presets():
  """{name: directory} of the bundled detector presets."""
  return loader.kind("detector").presets()


def detector_config_of(located):
  """The `DetectorConfig` a located detector decodes with: its
  model_info.json's, or (exports older than it) detector_config.json
  beside the model or in a folder above it."""
  from tfsports.tracking import detector as detector_lib
  values = located.info.get("detector_config")
  folder = os.path.dirname(os.path.abspath(located.path))
  for _ in range(5):
    if values is not None:
      break
    path = os.path.join(folder, CONFIG_FILE)
    if os.path.exists(path):
      with open(path) as f:
        values = json.load(f)
    folder = os.path.dirname(folder)
  if values is None:
    raise FileNotFoundError(f"{located.name}: no {MODEL_INFO} with a detector_config (or "
                            f"{CONFIG_FILE}) beside it or above it")
  return detector_lib.DetectorConfig.from_dict(values)


def resolve_model(model):
  """(model path, DetectorConfig) for a preset name, a run directory, an
  export, a SavedModel or a .tflite file (float32 TFLite first)."""
  located = loader.locate("detector", model, prefer="tflite")
  return located.path, detector_config_of(located)


def runner_for(located, threshold=0.1, num_threads=2):
  """The `loader.load` factory: frames -> [N, 6] detections."""
  from tfsports.tracking import detectors
  return detectors.CenterNetDetector(located.path, detector_config_of(located),
                                     threshold=threshold, num_threads=num_threads)


def make_detector(spec, model):
  from tfsports.tracking import detectors
  if spec == "background":
    return detectors.BackgroundDetector()
  if spec.startswith("mot:"):
    return detectors.MOTDetector(spec[4:])
  if spec == "centernet":
    return loader.load("detector", model, prefer="tflite")
  raise ValueError(f"unknown detector {spec!r}: centernet, background or mot:FILE")


def track_file(detections_path, out_dir, fps=25.0, preset=None):
  """Tracks a MOT detections file into OUT_DIR/tracks.txt; returns
  (path, number of tracks, number of frames)."""
  from tfsports.data import mot
  from tfsports.tracking import tracker as tracker_lib
  config = tracker_lib.TrackerConfig.from_preset(preset or "default")
  rows = mot.read_mot(detections_path, with_score=True)
  detections = {t: r[:, 1:] for t, r in rows.items()}
  tracks = tracker_lib.track_detections(detections, config=config, fps=fps)
  os.makedirs(out_dir, exist_ok=True)
  path = os.path.join(out_dir, "tracks.txt")
  partial = path + ".partial"
  mot.write_mot(partial, tracks)
  os.replace(partial, path)
  ids = {int(i) for r in tracks.values() for i in r[:, 0]}
  return path, len(ids), max(rows) + 1


def track_video_file(video, out_dir, detector="centernet", model="real", ball="ball",
                     preset=None, pitch_points=None, annotate=True, cmc=True,
                     athletes=None, progress=sys.stderr):
  """The command's video mode as a function; returns `pipeline.track_video`'s
  summary."""
  from tfsports.tracking import detectors
  from tfsports.tracking import pipeline
  from tfsports.tracking import appearance
  from tfsports.tracking import tracker as tracker_lib
  from tfsports.data import video_io
  video_io.probe(video)       # a bad video fails before any model loads
  ball_detector = None
  if ball != "none":
    path, config = resolve_model(ball)
    ball_detector = detectors.CenterNetDetector(path, config, threshold=0.2)
  features = None
  if athletes:
    if os.path.isdir(athletes):
      athletes = os.path.join(athletes, "export", "tflite", "athlete_float32.tflite")
    features = appearance.AthleteFeatures(athletes)
  return pipeline.track_video(
      video, out_dir, make_detector(detector, model),
      tracker_lib.TrackerConfig.from_preset(preset or ("centernet" if detector == "centernet"
                                                       else "default")),
      ball_detector, cmc=cmc, annotate=annotate, pitch_points=pitch_points, athletes=features,
      progress=progress)


USAGE = ("usage: tfsports track VIDEO --out=DIR [--detector=centernet|background|mot:FILE] "
         "[--noannotate]  or  tfsports track --detections=DETS.txt --fps=25 --out=DIR")


TRAIN = "tfsports train detector --preset=real"


def check(argv):
  """The failures found before TensorFlow is imported; --list_models."""
  from tfsports.serving import catalog
  if FLAGS.list_models:
    print(catalog.listing("detector", list_presets(),
                          catalog.find_runs(os.path.join("tflite", "detector_float32.tflite")),
                          TRAIN))
    return 0
  videos = argv[1:]
  if not FLAGS.out or len(videos) > 1 or bool(videos) == bool(FLAGS.detections):
    raise errors.UserError(USAGE)
  catalog.require_inputs(videos or [FLAGS.detections])
  if videos and FLAGS.detector == "centernet":
    loader.locate("detector", FLAGS.model, prefer="tflite")
  if videos and FLAGS.detector.startswith("mot:"):
    catalog.require_inputs([FLAGS.detector[4:]])
  if videos and FLAGS.ball != "none":
    loader.locate("detector", FLAGS.ball, prefer="tflite")
  return None


def main(argv):
  from tfsports.data import mot
  from tfsports.data import video_io
  videos = argv[1:]
  try:
    if FLAGS.detections:
      path, num_tracks, num_frames = track_file(FLAGS.detections, FLAGS.out, FLAGS.fps,
                                                FLAGS.preset)
      print(f"wrote {num_tracks} tracks over {num_frames} frames to {path}")
      return 0
    summary = track_video_file(videos[0], FLAGS.out, FLAGS.detector, FLAGS.model, FLAGS.ball,
                               FLAGS.preset, FLAGS.pitch_points, FLAGS.annotate, FLAGS.cmc,
                               FLAGS.athletes)
  except (mot.MOTFormatError, video_io.VideoReadError, FileNotFoundError, ValueError) as e:
    print(f"\nerror: {e}", file=sys.stderr)
    return 2
  if not summary["num_detections"]:
    print(f"warning: {videos[0]}: the detector found nobody in {summary['num_frames']} "
          "frames; try --detector=background for a static camera, or a detector trained on "
          "this footage (--model)", file=sys.stderr)
  print(f"wrote {summary['num_tracks']} tracks over {summary['num_frames']} frames "
        f"({summary['fps']:.1f} frames/s tracking) to {FLAGS.out}: "
        + ", ".join(os.path.basename(p) for p in summary["paths"].values()))
  return 0

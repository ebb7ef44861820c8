r"""Upscales (or restores) a video with a super-resolution model.

    tfsports upscale IN.mp4 OUT.mp4 [--model=deep_x4] [--int8] [--degradation=area|auto]
    tfsports upscale --list_models

--model takes a SavedModel directory, a .tflite file or a bundled preset
name. Frames stream through in constant memory for any length; the first
and last frames of the window are repeated at the ends. A fixed-shape
(TFLite) model upscales frames of any size in overlapping tiles whose
margin covers its receptive field, so the output has no seams; --resize
instead resizes the frames to the model's size. The output keeps the
source's frame rate and audio; --lossless writes RGB H.264 at crf 0, bit
exact, for measuring. A bad input file or a model that does not fit the
video gets a one-line error and exit status 2.
"""

import os
import sys

from absl import flags
import cv2

from tfsports import errors
from tfsports import progress as progress_lib
from tfsports.serving import loader

FLAGS = flags.FLAGS


def define_flags():
  """Command-line flags; defined on demand so the module imports cleanly."""
  flags.DEFINE_string("model", "deep_x4", "SavedModel dir, .tflite file or preset name "
                      "(deep_x4: x4 real time, distilled from the base_x4 teacher; "
                      "distilled_x4: the same, two blocks shallower and faster; rep_x4: their "
                      "start; rep_x2: 2x of clean resizes; broadcast_x2: 540p/720p H.264 "
                      "broadcasts to 2x).")
  flags.DEFINE_bool("int8", False, "Run the preset's (or export's) int8 TFLite model: the "
                    "edge form, about 3x float32 on a CPU, within 0.1 dB.")
  flags.DEFINE_string("degradation", "", "How the video was made small: picks the "
                      "preset's fine-tune for it (--model=rep_x4 --degradation=area or "
                      "bicubic: rep_x4_area, rep_x4_bicubic). auto: the bundled kernel "
                      "estimator reads it from the video, and keeps the blind model when "
                      "unsure. Empty: the blind model.")
  flags.DEFINE_bool("list_models", False, "List the bundled presets and exit.")
  flags.DEFINE_bool("resize", False, "Resize input frames to a fixed-shape model's size.")
  flags.DEFINE_integer("crf", 18, "H.264 quality of the output (lower is better).")
  flags.DEFINE_bool("lossless", False, "Write lossless RGB H.264 (libx264rgb, crf 0).")
  flags.DEFINE_integer("threads", 2, "TFLite threads.")
  flags.DEFINE_bool("progress", True, "Show progress on stderr.")
  flags.DEFINE_string("crop", None, "X,Y,W,H: upscale this pixel box of every frame.")
  flags.DEFINE_bool("denoise", False, "Remove sensor noise from each frame first.")


def list_presets():
  """{name: directory} of the bundled super-resolution presets."""
  return loader.kind("superres").presets()


def resolve_model(model):
  """The SavedModel or .tflite path of a preset, run, export or model file."""
  return loader.locate("superres", model).path


def fine_tunes(model):
  """The kernels with a bundled fine-tune of preset `model` (`{model}_{kernel}`)."""
  return sorted(p[len(model) + 1:] for p in list_presets() if p.startswith(f"{model}_"))


def auto_estimator(model):
  """The bundled kernel estimator for `--model=model --degradation=auto`;
  `UserError` when `model` has no fine-tunes to choose from."""
  from tfsports.superres import kernels
  tunes = fine_tunes(model)
  if not tunes:
    with_tunes = sorted(p for p in list_presets() if p != model and fine_tunes(p))
    hint = f"; try --model={with_tunes[0]}" if with_tunes else ""
    raise errors.UserError(f"--degradation=auto: {model} has no kernel fine-tunes to "
                           f"choose from{hint}")
  scale = int(_preset_scale(list_presets()[f"{model}_{tunes[0]}"]))
  return kernels.KernelEstimator.bundled(scale)


def _preset_scale(folder):
  import json
  with open(os.path.join(folder, "config.json")) as f:
    return json.load(f)["scale"]


def resolve_auto(model, video, crop=None):
  """(degradation, verdict) for `--degradation=auto`: the kernel fine-tune
  of `model` the estimator picks from `video` ("" for the blind model)."""
  from tfsports.superres import kernels
  estimator = auto_estimator(model)
  verdict = estimator.estimate(video, crop)
  return kernels.choose(verdict, fine_tunes(model), estimator.config.min_confidence), verdict


def choose_model(model, int8=False, degradation=""):
  """The model --model, --int8 and --degradation name: `{model}_{degradation}`
  when a degradation is given, and that folder's tflite/int8.tflite for
  int8. Raises `UserError` when there is no such fine-tune or int8 file.
  ("auto" is resolved first, by `resolve_auto`.)"""
  presets = list_presets()
  if degradation:
    tuned = f"{model}_{degradation}"
    if tuned not in presets:
      known = sorted(p[len(model) + 1:] for p in presets if p.startswith(f"{model}_"))
      elsewhere = sorted(p[:-len(degradation) - 1] for p in presets
                         if p.endswith(f"_{degradation}"))
      hint = f"; try --model={elsewhere[0]}" if elsewhere else ""
      raise errors.UserError(f"--degradation={degradation}: no {tuned} preset (fine-tunes of "
                             f"{model}: {', '.join(known) or 'none'}{hint})")
    model = tuned
  if not int8:
    return model
  folder = presets.get(model) or os.path.expanduser(model)
  for candidate in (os.path.join(folder, "tflite", "int8.tflite"),
                    os.path.join(folder, "export", "tflite", "int8.tflite")):
    if os.path.isfile(candidate):
      return candidate
  raise errors.UserError(f"--int8: {model} has no tflite/int8.tflite")


def runner_for(located, num_threads=2):
  """The `loader.load` factory: a frame-window runner."""
  from tfsports.serving import runners
  return runners.load_runner(located.path, num_threads=num_threads)


def upscale_video(in_path, out_path, model="deep_x4", resize=False, crf=18,
                  num_threads=2, progress=False, crop=None, denoise=False,
                  lossless=False):
  """Streams `in_path` through the model into an H.264 `out_path` at the
  source's frame rate, with its audio stream copied. `model`: a preset name,
  SavedModel dir, .tflite file, or a loaded runner.

  `crop` (x, y, w, h) upscales that pixel box of every frame; `denoise`
  removes sensor noise from each frame first (edge-preserving bilateral
  filter, per frame so memory stays constant). A fixed-shape model runs in
  tiles (`runners.TiledRunner`) unless `resize` asks to resize the frames.

  Returns the number of frames written. Raises `VideoReadError` for a bad
  input and `ModelMismatchError` for a model that does not fit it; the output
  file only appears when the whole video went through.
  """
  from tfsports.data import video_io
  from tfsports.serving import runners
  from tfsports.data import preprocess
  info = video_io.probe(in_path)
  if hasattr(model, "window") and hasattr(model, "input_size"):
    runner = model     # an already loaded runner (benchmarks reuse one)
  else:
    runner = loader.load("superres", model, num_threads=num_threads)
  size = runner.input_size
  frames = video_io.iter_frames(in_path)
  height, width = info.height, info.width
  if crop:
    frames = (preprocess.crop_frame(f, crop) for f in frames)
    height, width = crop[3], crop[2]
  if denoise:
    frames = (preprocess.denoise_clip(f[None], method="bilateral")[0] for f in frames)
  if None not in size and (height, width) != size:
    if resize:
      frames = (cv2.resize(f, (size[1], size[0]), interpolation=cv2.INTER_AREA)
                for f in frames)
    else:
      runner = runners.TiledRunner(runner)
  n = 0
  meter = progress_lib.Progress("upscale", info.num_frames) if progress else None
  with video_io.VideoWriter(out_path, fps=info.fps or 25.0, crf=crf, lossless=lossless,
                            audio_from=in_path) as writer:
    for window in runners.iter_windows(frames, runner.window):
      writer.write(runner(window))
      n += 1
      if meter:
        meter.update(n)
  if meter:
    meter.done()
  return n


TRAIN = "tfsports train superres --data=VIDEOS_DIR"


def check(argv):
  """The failures found before TensorFlow is imported; --list_models."""
  from tfsports.serving import catalog
  if FLAGS.list_models:
    print(catalog.listing("super-resolution", list_presets(),
                          catalog.find_runs(os.path.join("saved_model", "sr")), TRAIN))
    return 0
  if len(argv) != 3:
    raise errors.UserError("usage: tfsports upscale IN.mp4 OUT.mp4 [--model=...]")
  catalog.require_inputs(argv[1:2])
  if FLAGS.degradation == "auto":
    auto_estimator(FLAGS.model)
    for kernel in [""] + fine_tunes(FLAGS.model):
      loader.locate("superres", choose_model(FLAGS.model, FLAGS.int8, kernel))
  else:
    loader.locate("superres", choose_model(FLAGS.model, FLAGS.int8, FLAGS.degradation))
  return None


def main(argv):
  from tfsports.data import video_io
  from tfsports.serving import runners
  try:
    from tfsports.data import preprocess
    crop = preprocess.parse_box(FLAGS.crop) if FLAGS.crop else None
    degradation, note = FLAGS.degradation, ""
    if degradation == "auto":
      degradation, verdict = resolve_auto(FLAGS.model, argv[1], crop)
      note = (f" (--degradation=auto: {verdict['kernel']}, confidence "
              f"{verdict['confidence']:.2f}; ran "
              f"{FLAGS.model + '_' + degradation if degradation else FLAGS.model})")
    model = choose_model(FLAGS.model, FLAGS.int8, degradation)
    n = upscale_video(argv[1], argv[2], model, FLAGS.resize, FLAGS.crf,
                      FLAGS.threads, FLAGS.progress, crop, FLAGS.denoise,
                      FLAGS.lossless)
  except (video_io.VideoReadError, runners.ModelMismatchError, FileNotFoundError,
          ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(f"wrote {n} frames to {argv[2]}{note}")
  return 0

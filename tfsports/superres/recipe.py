"""The super-resolution recipe: train, evaluate, export, in one run directory.

    RUN_DIR/checkpoints/         resumable checkpoints (last N)
    RUN_DIR/logs/                TensorBoard scalars and sample images
    RUN_DIR/export/saved_model/sr/1/       TF Serving layout (+ models.config)
    RUN_DIR/export/tflite/{float32,float16,dynamic,int8}.tflite
    RUN_DIR/export/eval_report.json        PSNR/SSIM/tOF vs bicubic, TFLite vs SavedModel
"""

import dataclasses
import os
import time

import keras
import numpy as np
import tensorflow as tf

from tfsports.data import degrade as degrade_lib
from tfsports.data import pipelines
from tfsports.data import synthetic
from tfsports.superres import evaluate as sr_eval
from tfsports.metrics import video_quality
from tfsports.superres import model as sr_models
from tfsports.serving import exports as exports_lib
from tfsports.serving import saved_model as saved_model_lib
from tfsports.serving import tflite as tflite_lib
from tfsports.serving import runners
from tfsports.training import loop as common
from tfsports.superres import gan as sr_gan
from tfsports import config as config_lib
from tfsports import errors
from tfsports.training import job as job_lib
from tfsports.training import run as run_lib
from tfsports.data import real as real_data


# The real footage the presets train and evaluate on (`data.real`). Evaluation is held back
# by file: these two videos are never trained on.
REAL_DATA = real_data.REAL_ROOT
REAL_TRAIN = tuple(os.path.join(REAL_DATA, p) for p in (
    "video/tennis_broadcast_3.mp4", "video/tennis_broadcast_4.mp4",
    "video/compressed-handball_sideview.mp4", "video/v_CricketShot_g04_c01_rgb.gif",
    "ball/tennis_tracknet_game1_clip1/frames.mp4"))
REAL_HELD_BACK = tuple(os.path.join(REAL_DATA, p) for p in (
    "video/tennis_broadcast_6.mp4", "video/basketball_gym.mp4"))


@dataclasses.dataclass(frozen=True)
class SRTrainConfig(config_lib.Config):
  """One training run. `data`: "synthetic", a folder of videos, or TFRecords,
  several comma-separated (mixed evenly). `image_size`: the high-res frame
  size synthetic clips are rendered at (real footage is cropped at its own
  resolution); `patch_size`: the low-res training crop. `export_size`:
  low-res (h, w) of the fixed-shape TFLite models (frames of other sizes
  run in tiles). `real_eval_videos` are scored through the upscale command
  after downscaling by each of `real_eval_kernels`, on centre crops of
  `real_eval_crop` (h, w) at native resolution."""
  preset: str = "tiny"
  scale: int = 4
  data: str = ",".join(("synthetic",) + REAL_TRAIN)
  run_dir: str = "runs/sr"
  # The main job: under 10 minutes on an idle 2-core CPU, evaluation included.
  train_steps: int = 4000
  warmup_steps: int = 2600
  batch_size: int = 8
  patch_size: int = 24
  image_size: tuple = (128, 128)
  degradation: str = "real"
  crops_per_clip: int = 8
  g_learning_rate: float = 1e-3
  d_learning_rate: float = 2e-4
  gan_loss: str = "hinge"
  adversarial_weight: float = 2e-3
  temporal_weight: float = 0.5
  r1_weight: float = 0.0
  gp_weight: float = 0.0
  d_steps: int = 1
  ema_momentum: float = 0.99
  checkpoint_every: int = 100
  keep_checkpoints: int = 3
  strategy: str = "default"
  mixed_precision: str = ""
  jit_compile: bool = False
  seed: int = 0
  eval_clips: int = 4
  eval_size: tuple = (128, 128)
  eval_frames: int = 8
  real_eval_videos: tuple = REAL_HELD_BACK
  real_eval_kernels: tuple = ("area", "bicubic", "bilinear", "lanczos", "nearest")
  real_eval_crop: tuple = (360, 640)
  export_size: tuple = (180, 320)
  tflite_variants: tuple = tflite_lib.VARIANTS
  # A fine-tune: the generator starts from a bundled preset's (or an export
  # folder's, or a run directory's) generator weights; "bundled": the
  # bundled "rep" preset of this scale (`BUNDLED`).
  init_from: str = ""
  # Distillation: a trained teacher (a bundled preset, an export folder or a
  # run directory with its export) of preset `teacher_preset`, frozen; the
  # student also matches its frames and, through a 1x1 adapter, its last
  # low-resolution features. "bundled": the bundled teacher of this scale
  # where there is one (`BUNDLED_TEACHERS`), else none; "required": that
  # teacher, or an error.
  teacher: str = ""
  teacher_preset: str = "base"
  distill_weight: float = 1.0
  feature_weight: float = 0.1
  verbose: int = 1

  RESUMABLE_FIELDS = ("train_steps", "warmup_steps", "verbose", "strategy", "run_dir", "checkpoint_every",
                      "keep_checkpoints", "tflite_variants", "eval_clips", "eval_size",
                      "eval_frames", "real_eval_videos", "real_eval_kernels",
                      "real_eval_crop", "export_size", "jit_compile",
                      "g_learning_rate", "d_learning_rate")



TRAIN_PRESETS = {
    "tiny": SRTrainConfig(),
    "base": SRTrainConfig(preset="base", train_steps=20000, warmup_steps=5000,
                          batch_size=16, patch_size=32, image_size=(256, 256),
                          g_learning_rate=2e-4, ema_momentum=0.999),
    # The real-time generator of re-parameterisable blocks (`SR_PRESETS["rep"]`).
    # Half tiny's learning rate: each fused kernel sums five branches' steps.
    # float32 and int8 only: with `PixelQuant`'s fake-quant nodes in the
    # graph the converter leaves float16 and dynamic-range weights as float32
    # (measured: same size, same output), so those files would be copies.
    "rep": SRTrainConfig(preset="rep", g_learning_rate=5e-4,
                         tflite_variants=("float32", "int8")),
    # Two blocks deeper; meant to start from a trained "rep" generator
    # (`--init_from`, grown) and its teacher.
    "rep_deep": SRTrainConfig(preset="rep_deep", g_learning_rate=1e-4, teacher="bundled",
                              tflite_variants=("float32", "int8")),
    # The main job: the bundled rep_x4 fine-tuned on the data at a tenth of
    # its learning rate and distilled from the bundled `base_x4` teacher,
    # within 10 minutes on 2 cores, evaluation included. On the `resize`
    # degradation: clean kernels and soft sources, what a user's footage
    # most often went through (+0.86 dB real against +0.76 on `real`,
    # 2026-12-07).
    "finetune": SRTrainConfig(preset="rep", init_from="bundled", teacher="bundled",
                              degradation="resize", train_steps=700,
                              warmup_steps=400, g_learning_rate=5e-5,
                              d_learning_rate=1e-4, tflite_variants=("float32", "int8"),
                              real_eval_kernels=("area", "bicubic")),
    # The real-time student from scratch, distilled from the bundled `base`
    # teacher of its scale (`--teacher=runs/sr_base_x4` for one trained by
    # `--preset=base`):
    # features and frames in the warm-up, then the GAN stage with the
    # teacher's frames still a target.
    "distill": SRTrainConfig(preset="rep", teacher="required", g_learning_rate=5e-4,
                             tflite_variants=("float32", "int8")),
    # For tests: seconds on a CPU.
    "test": SRTrainConfig(data="synthetic", train_steps=4, warmup_steps=2, batch_size=2,
                          patch_size=4, crops_per_clip=1, real_eval_videos=(),
                          image_size=(16, 16), checkpoint_every=2, eval_clips=1,
                          eval_size=(16, 16), eval_frames=4, export_size=(8, 8),
                          tflite_variants=("float32",), verbose=0),
}
config_lib.register_presets(SRTrainConfig, TRAIN_PRESETS)


def _make_dataset(config, sr_config, degradation, strategy, skip_steps, phase):
  """The data stream of one training phase, positioned `skip_steps` in.

  Each phase has its own stream (its own seed), so a phase starts without
  skipping anything; only a resume mid-phase re-reads the skipped batches.
  """
  seed = config.seed + 1000 * phase

  def fn(input_context):
    # Real footage is cropped at its own resolution: resizing it first would
    # teach the model a different degradation from the one it will meet.
    clips = pipelines.clip_dataset(config.data, sr_config.num_frames + 2,
                                   config.image_size, seed=seed,
                                   input_context=input_context, native_video=True)
    ds = pipelines.sr_batches(clips, degradation, config.patch_size,
                              config.batch_size, seed=seed,
                              input_context=input_context,
                              crops_per_clip=config.crops_per_clip)
    return ds.skip(skip_steps)
  return strategy.distribute_datasets_from_function(fn)


class SampleImages(keras.callbacks.Callback):
  """Writes bicubic | output | target strips to TensorBoard each epoch."""

  def __init__(self, log_dir, lr, hr, scale):
    super().__init__()
    self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "samples"))
    self.lr, self.hr, self.scale = lr, hr, scale

  def on_epoch_end(self, epoch, logs=None):
    gen = self.model.generator
    window = gen.input_shape[1]
    out = tf.clip_by_value(tf.cast(gen(self.lr[:, :window], training=False), tf.float32), 0, 1)
    centre = self.hr[:, window // 2]
    base = tf.image.resize(self.lr[:, window // 2], tf.shape(centre)[1:3], "bicubic")
    strip = tf.concat([tf.clip_by_value(base, 0, 1), out, centre], axis=2)
    with self.writer.as_default():
      tf.summary.image("bicubic|output|target", strip,
                       step=int(common.inner_optimizer(self.model.g_optimizer).iterations.numpy()),
                       max_outputs=2)


def load_teacher(config):
  """The frozen teacher generator of `config.teacher` (preset
  `config.teacher_preset` at the run's scale) and its config."""
  teacher_config = sr_models.SRConfig.from_preset(config.teacher_preset, scale=config.scale)
  teacher = sr_models.build_sr_generator(teacher_config)
  load_generator_weights(teacher, teacher_of(config), "--teacher", config.teacher_preset,
                         config.scale)
  teacher.trainable = False
  return teacher, teacher_config


def build_trainer(config, sr_config):
  generator = sr_models.build_sr_generator(sr_config)
  discriminators = (sr_models.build_spatial_discriminator(sr_config),
                    sr_models.build_temporal_discriminator(sr_config))
  weights = {}
  if teacher_of(config):
    teacher, teacher_config = load_teacher(config)
    trainer = sr_gan.DistilledVideoSRGAN(
        generator, *discriminators, teacher, sr_models.with_features(generator, sr_config),
        sr_models.with_features(teacher, teacher_config))
    weights = {"output_weight": config.distill_weight, "feature_weight": config.feature_weight}
  else:
    trainer = sr_gan.VideoSRGAN(generator, *discriminators)
  return trainer.compile_from_config(
      config, d_beta_1=0.5, g_beta_1=0.9, d_steps=config.d_steps,
      adversarial_weight=config.adversarial_weight, temporal_weight=config.temporal_weight,
      r1_weight=config.r1_weight, gp_weight=config.gp_weight, jit_compile=config.jit_compile,
      **weights)


def run_directory(trainer, config):
  """The run directory's checkpoints of every network and optimizer (and a
  distilled run's feature adapter)."""
  extra = {"adapter": trainer.adapter} if hasattr(trainer, "adapter") else {}
  return trainer.run_directory(config.run_dir, config.keep_checkpoints,
                               spatial_discriminator=trainer.spatial_discriminator,
                               temporal_discriminator=trainer.temporal_discriminator, **extra)


def build(config):
  """The trainer, compiled; its run directory and generator step."""
  sr_config = sr_models.SRConfig.from_preset(config.preset, scale=config.scale)
  trainer = build_trainer(config, sr_config)
  return run_lib.Trained(trainer, run_directory(trainer, config),
                         common.inner_optimizer(trainer.g_optimizer).iterations, config,
                         parts=sr_config)


GENERATOR_WEIGHTS = "generator.weights.h5"
# The bundled presets of the "rep" generator, by scale.
BUNDLED = {4: "rep_x4", 2: "rep_x2"}
# The bundled teachers (preset `base`), by scale.
BUNDLED_TEACHERS = {4: "base_x4"}


def teacher_of(config):
  """The teacher `config.teacher` names at the run's scale ("" for none)."""
  if config.teacher not in ("bundled", "required"):
    return config.teacher
  if config.scale in BUNDLED_TEACHERS:
    return BUNDLED_TEACHERS[config.scale]
  if config.teacher == "required":
    raise errors.UserError(f"--teacher: no bundled teacher at x{config.scale} (bundled: "
                           f"{', '.join(f'x{s}' for s in sorted(BUNDLED_TEACHERS))}); train "
                           f"one with --preset=base --scale={config.scale} and pass "
                           "--teacher=RUN_DIR")
  return ""


def generator_weights(source, flag):
  """The trained generator's weights file of a bundled preset, an export
  folder or a run directory with its export."""
  from tfsports.serving import loader
  folder = loader.kind("superres").presets().get(source) or os.path.expanduser(source)
  weights = os.path.join(folder, GENERATOR_WEIGHTS)
  if not os.path.isfile(weights):
    weights = os.path.join(folder, "export", GENERATOR_WEIGHTS)
  # Not the run's checkpoints: the generator's variables are saved there
  # under the optimizer's paths, so a bare generator does not find them.
  if not os.path.isfile(weights):
    raise FileNotFoundError(f"{flag}={source}: no {GENERATOR_WEIGHTS} there (a bundled "
                            "preset, an export folder or a run directory with its export)")
  return weights


def _weights_preset(weights):
  """The generator preset a weights file was trained as: the `preset` of the
  config.json beside it or one folder up (a run's export), else None."""
  folder = os.path.dirname(weights)
  for candidate in (folder, os.path.dirname(folder)):
    if os.path.isfile(config_lib.config_path(candidate)):
      return config_lib.read_run_config(candidate, SRTrainConfig).preset
  return None


def load_generator_weights(generator, source, flag, preset, scale):
  """`generator.load_weights` from `source` (`generator_weights`); a
  shallower "rep" generator of the same width is grown into this one
  (`model.grow_generator`). A one-line error naming the flag when the
  weights do not fit."""
  weights = generator_weights(source, flag)
  try:
    generator.load_weights(weights)
    return
  except ValueError as e:
    error = e
  trained_as = _weights_preset(weights)
  if trained_as and trained_as != preset and trained_as in sr_models.SR_PRESETS:
    try:
      smaller = sr_models.build_sr_generator(
          sr_models.SRConfig.from_preset(trained_as, scale=scale))
      smaller.load_weights(weights)
      sr_models.grow_generator(smaller, generator)
      return
    except ValueError as e:
      error = e
  raise errors.UserError(f"{flag}={source}: its generator does not fit preset "
                         f"{preset!r} at x{scale} ({error})") from None


def restore(trained):
  """The run's own checkpoint; a new run with `init_from` starts its
  generator from that preset's, export's or run's exported generator weights
  (the EMA ones; the discriminators, optimizers and step start afresh)."""
  restored = trained.run.restore()
  source = trained.config.init_from
  if restored or not source:
    return restored
  if source == "bundled":
    if trained.config.scale not in BUNDLED:
      raise errors.UserError(f"--init_from=bundled: no bundled preset at x{trained.config.scale} "
                             f"(bundled: {', '.join(f'x{s}' for s in sorted(BUNDLED))})")
    source = BUNDLED[trained.config.scale]
  load_generator_weights(trained.model.generator, source, "--init_from", trained.config.preset,
                         trained.config.scale)
  return None


def fit(trained, strategy):
  """Reconstruction warm-up, then the adversarial phase; the seconds and
  steps of each phase. Raises `common.NonFiniteLossError` if a loss became
  NaN/Inf: the run stops and the last good checkpoint is kept."""
  trainer, config, sr_config = trained.model, trained.config, trained.parts
  degradation = degrade_lib.DegradationConfig.from_preset(config.degradation,
                                                     scale=config.scale)
  # The configured learning rates win over the checkpointed ones, so a
  # resumed run can be given new rates.
  common.inner_optimizer(trainer.g_optimizer).learning_rate = config.g_learning_rate
  common.inner_optimizer(trainer.d_optimizer).learning_rate = config.d_learning_rate
  callbacks = [keras.callbacks.TensorBoard(os.path.join(config.run_dir, "logs"),
                                           update_freq=max(1, config.checkpoint_every // 4),
                                           write_graph=False)]
  sample_lr, sample_hr = next(iter(pipelines.sr_batches(
      pipelines.clip_dataset("synthetic", sr_config.num_frames + 2, config.image_size,
                             seed=config.seed + 30_000, num_clips=2),
      degradation, config.patch_size, 2, repeat=False)))
  callbacks.append(SampleImages(os.path.join(config.run_dir, "logs"), sample_lr,
                                sample_hr, config.scale))
  timings = {}
  phases = ((0, False, 0, config.warmup_steps),
            (1, True, config.warmup_steps, config.train_steps))
  for phase, adversarial, phase_start, end in phases:
    trainer.train_discriminator = adversarial
    trainer.make_train_function(force=True)
    t0 = time.perf_counter()
    steps = common.fit_resumable(
        trainer, trained.run, trained.step,
        lambda begin: _make_dataset(config, sr_config, degradation, strategy,
                                    begin - phase_start, phase),
        end, config.checkpoint_every, config.verbose, callbacks)
    if steps:
      timings["adversarial" if adversarial else "warmup"] = {
          "steps": steps, "seconds": time.perf_counter() - t0}
  return {"timings": timings}


def train(config):
  """Trains (or resumes) in config.run_dir; returns the `run.Trained`."""
  return run_lib.train(RECIPE, config)


def _eval_clips(config):
  scene = synthetic.SceneConfig(image_size=tuple(config.eval_size),
                                num_frames=config.eval_frames, camera="broadcast")
  # A seed the training stream never uses: held-back clips.
  clips = [synthetic.render_clip(scene, seed=config.seed + 10_000, index=k)["frames"]
           for k in range(config.eval_clips)]
  return clips, [f"synthetic_{k}" for k in range(config.eval_clips)]


def evaluate(trained):
  """PSNR/SSIM/tOF of the EMA generator against bicubic on held-back
  synthetic clips."""
  config = trained.config
  degradation = degrade_lib.DegradationConfig.from_preset(config.degradation, scale=config.scale)
  clips, names = _eval_clips(config)
  return {"synthetic": sr_eval.evaluate_clips(trained.model.ema_generator(), clips,
                                              degradation, names)}


def export(trained, export_dir, report):
  """SavedModel and TFLite of the EMA generator ("rep": folded first); the
  real videos scored through the SavedModel (and int8 TFLite), and the TFLite
  files compared with it, go into `report`."""
  config = trained.config
  generator = trained.model.ema_generator()
  h, w = config.export_size
  # The trained form's weights, for fine-tunes (`init_from`).
  os.makedirs(export_dir, exist_ok=True)
  generator.save_weights(os.path.join(export_dir, GENERATOR_WEIGHTS))
  window_model, core = sr_models.inference_generators(generator, trained.parts, (h, w))
  degradation = degrade_lib.DegradationConfig.from_preset(config.degradation, scale=config.scale)
  window = generator.input_shape[1]
  saved = saved_model_lib.export_frame_model(
      window_model, os.path.join(export_dir, "saved_model"), "sr", (window, None, None, 3))
  exports_lib.write_model_info(export_dir, "superres", window_model, preset=config.preset,
                               scale=config.scale, num_frames=window,
                               degradation=config.degradation)
  if config.real_eval_videos:
    report["real"] = sr_eval.evaluate_real(
        saved, config.real_eval_videos, config.scale, config.real_eval_kernels,
        config.eval_frames, config.real_eval_crop)
  representative = []
  rep_scene = synthetic.SceneConfig(image_size=(h * config.scale, w * config.scale),
                                    num_frames=window)
  for k in range(8):
    hr = synthetic.render_clip(rep_scene, seed=config.seed + 20_000, index=k)["frames"]
    representative.append(sr_eval.make_lr(hr, degradation, seed=k))
  # "rep" cores take the window stacked on channels.
  stacked = trained.parts.block == "rep"
  core_shape = (h, w, 3 * window) if stacked else (window, h, w, 3)
  calibration = [runners.stack_window(r) if stacked else r for r in representative[:4]]
  # Calibrate int8 on half the windows; compare with the SavedModel on the rest.
  tflite = tflite_lib.export_frame_tflite(core, os.path.join(export_dir, "tflite"),
                                          core_shape, calibration,
                                          variants=config.tflite_variants)
  saved_runner = runners.load_runner(saved)
  held = representative[4:]
  comparison = {}
  for variant, path in tflite.items():
    runner = runners.load_runner(path)
    psnrs = [video_quality.psnr(saved_runner(w), runner(w)) for w in held]
    comparison[variant] = {"psnr_vs_saved_model": float(np.mean(psnrs)),
                           "ops": runner.ops(), "bytes": os.path.getsize(path)}
    if variant == "int8":
      comparison[variant]["eval_psnr_y"] = sr_eval.evaluate_clips(
          path, _export_size_clips(config), degradation, temporal=False)["mean"]["psnr_y"]
      if config.real_eval_videos:
        # The same real clips and kernels as the SavedModel, run in tiles.
        comparison[variant]["real"] = sr_eval.evaluate_real(
            path, config.real_eval_videos, config.scale, config.real_eval_kernels,
            config.eval_frames, config.real_eval_crop)
  if "int8" in tflite:
    comparison["saved_model_eval_psnr_y"] = sr_eval.evaluate_clips(
        saved, _export_size_clips(config), degradation, temporal=False)["mean"]["psnr_y"]
  report["tflite"] = comparison
  return {"saved_model": saved, **{f"tflite_{k}": v for k, v in tflite.items()}}


def _export_size_clips(config):
  h, w = config.export_size
  scene = synthetic.SceneConfig(image_size=(h * config.scale, w * config.scale),
                                num_frames=4, camera="broadcast")
  return [synthetic.render_clip(scene, seed=config.seed + 10_000, index=k)["frames"]
          for k in range(2)]


RECIPE = run_lib.Recipe("superres", build=build, fit=fit, evaluate=evaluate, export=export,
                        restore=restore)


def train_sr(config):
  """Train (resuming if possible), evaluate, export. Returns the report."""
  return run_lib.run(RECIPE, config)


def export_run(run_dir, **changes):
  """Re-evaluates and re-exports the latest checkpoint of a run with the
  config it was trained with (RUN_DIR/config.json), its degradation
  included; `changes` may set what only concerns export (export_size,
  tflite_variants, real_eval_videos)."""
  return run_lib.export_run(RECIPE, SRTrainConfig, run_dir, **changes)


def summary(report):
  """What `tfsports train superres` prints when a run ends."""
  mean = report["synthetic"]["mean"]
  lines = []
  if "real" in report:
    real = report["real"]
    videos = sorted({row["clip"] for row in real["clips"]})
    kernels = sorted({row["kernel"] for row in real["clips"]})
    # The verdict first, in one line.
    lines.append(f"{real['mean']['gain_db']:+.2f} dB over bicubic on {len(videos)} real "
                 f"videos it never saw ({len(kernels)} downscaling kernels; worst "
                 f"{real['min_gain_db']:+.2f} dB)")
  lines.append(f"PSNR-Y {mean['psnr_y']:.2f} dB vs bicubic {mean['bicubic_psnr_y']:.2f} dB "
               f"({mean['gain_db']:+.2f} dB) on held-back synthetic clips")
  if "real" in report:
    lines += ["real footage never trained on, through `tfsports upscale`:",
              sr_eval.format_real(real)]
  lines += [f"{name}: {path}" for name, path in report["exports"].items()]
  run_dir = report.get("config", {}).get("run_dir")
  if run_dir:
    lines.append(f"report: {os.path.join(run_dir, 'export', exports_lib.REPORT)}")
  return "\n".join(lines)


def _train_job(config, deterministic=False):
  if deterministic:
    common.enable_determinism()
  return train_sr(config)


def _export_job(run_dir, export_height=None, export_width=None, **changes):
  if export_height and export_width:
    changes["export_size"] = (export_height, export_width)
  return export_run(run_dir, **changes)


JOB = job_lib.JobSpec(
    name="superres",
    description="The video super-resolution / restoration GAN: trains (resuming in --run_dir), "
                "scores PSNR/SSIM/tOF against bicubic on held-back synthetic clips and real "
                "videos, exports SavedModel (TF Serving) and TFLite float32/float16/dynamic/int8.",
    config_class=SRTrainConfig, train=_train_job, summary=summary, export=_export_job,
    export_fields=("real_eval_videos", "tflite_variants"),
    extra_flags=(
        job_lib.Flag("eval_video", "multi", None, "Real videos to evaluate on, never trained "
                     "on (repeatable; preset default: the held-back real videos).",
                     field="real_eval_videos"),
        job_lib.Flag("deterministic", bool, False, "Op determinism: a killed and resumed run "
                     "ends with the weights of an uninterrupted one (slower on GPUs)."),
    ),
    export_flags=(
        job_lib.Flag("export_height", int, None, "Low-res height of the TFLite models."),
        job_lib.Flag("export_width", int, None, "Low-res width of the TFLite models."),
        job_lib.Flag("eval_video", "multi", None, "Real videos to evaluate on (held out).",
                     field="real_eval_videos"),
    ),
    run_dir=lambda config: f"runs/sr_{config.preset}_x{config.scale}",
    default_preset="finetune",
    field_help={
        "scale": "Upscaling factor; 1 = restoration.",
        "data": "'synthetic', folders or files of videos, or TFRecords, comma-separated.",
        "degradation": "Degradation preset: real, bicubic, light, broadcast, broadcast_h264, "
                       "area, opencv_bicubic, resize (clean resizes of sources of any sharpness), restore.",
        "init_from": "Start the generator from a bundled preset, export or run "
                     "('bundled': the rep preset of this scale); a shallower rep generator "
                     "of the same width is grown into a deeper one (new blocks start as "
                     "the identity).",
        "teacher": "Distil from this trained generator (a bundled preset, export or run "
                   "directory; preset --teacher_preset): the student also matches its frames "
                   "and features.",
        "teacher_preset": "The teacher's generator preset (tiny, base, rep).",
        "distill_weight": "Weight of the teacher's frames in the student's loss.",
        "feature_weight": "Weight of the teacher's features (through a 1x1 adapter).",
        "strategy": "tf.distribute strategy: default, mirrored, multi_worker, tpu.",
        "mixed_precision": "Mixed precision policy: '', mixed_float16, mixed_bfloat16.",
        "jit_compile": "XLA-compile the train step.",
        "train_steps": "Total generator steps.", "warmup_steps": "Reconstruction-only steps first.",
        "batch_size": "Global batch size.", "checkpoint_every": "Steps between checkpoints.",
    },
    examples=("tfsports train superres                  # the main job: bundled rep_x4 fine-tuned "
              "on synthetic + ../shared real footage, distilled from the bundled base_x4",
              "tfsports train superres --data=/videos --eval_video=/held_back/a.mp4   # on yours",
              "tfsports train superres --preset=rep --scale=2 --degradation=broadcast_h264   "
              "# from scratch",
              "tfsports train superres --preset=test --run_dir=runs/sr_test",
              "tfsports train superres --preset=base && tfsports train superres "
              "--preset=distill --teacher=runs/sr_base_x4   # your teacher, then its student",
              "tfsports train superres --preset=rep_deep --init_from=distilled_x4 "
              "--degradation=resize   # two blocks deeper, grown from a trained student "
              "(how deep_x4 was made)",
              "tfsports train superres --preset=base --scale=2 --data=synthetic,/videos "
              "--strategy=mirrored"),
)

"""Trains, evaluates and exports the trajectory GAN.

    RUN_DIR/config.json                 the run's ForecastTrainConfig
    RUN_DIR/checkpoints/                resumable state
    RUN_DIR/export/saved_model/forecast/1   TF Serving layout (see export.py)
    RUN_DIR/export/forecast_float32.tflite  fixed shapes, builtin ops
    RUN_DIR/export/eval_report.json     every figure; report.md the tables

Data: every real source under `data` (the shared trajectories folder, or a
user's folder of files in any format `data.read_scenes` knows), split by
file, game or camera shot (`HELD_BACK`), never by window; plus simulated
players from the synthetic renderer. All at 5 Hz.

The protocol (issue 10): observe 2 s, predict 4 s; minADE/minFDE over 20
samples at 1-4 s per agent, the joint minJADE/minJFDE (one sample for all
agents), beside constant velocity and linear extrapolation. Gap filling:
gaps of 1, 2 and 3 s cut out of held-back tracks, against linear
interpolation.
"""

import dataclasses
import glob
import os

import keras
import numpy as np
import tensorflow as tf

from tfsports import config as config_lib
from tfsports.forecast import data as data_lib
from tfsports.forecast import evaluate as protocol
from tfsports.forecast import gan as gan_lib
from tfsports.forecast import model as model_lib
from tfsports.training import loop
from tfsports.serving import exports as exports_lib
from tfsports.training import job as job_lib
from tfsports.training import run as run_lib
from tfsports.forecast import export as export_lib
from tfsports.data import real as real_data

REAL_ROOT = real_data.REAL_ROOT
# The known layout of the shared trajectories: (glob, reader, held back).
# Held back: whole games, power plays or scenes, never windows of a kept file.
SOURCES = {
    "hockey": ("hockey_*/2022-*_PP*.csv", data_lib.read_hockey, ("_P3_PP6", "_P3_PP7")),
    "soccer (Last Row)": ("lastrow/*.csv", lambda p: [data_lib.read_lastrow(p)],
                          ("LIV_2-1_CHE",)),
    "3x3 basketball": ("trackid3x3_indoor/coordinates/*.csv",
                       lambda p: [data_lib.read_trackid3x3(p)], ("basket_S3",)),
    "soccer (Metrica)": ("metrica_excerpt/*tracking.txt", data_lib.read_metrica, ("",)),
}


@dataclasses.dataclass(frozen=True)
class ForecastTrainConfig(config_lib.Config):
  preset: str = "tiny"                 # the ForecastConfig
  data: str = os.path.join(REAL_ROOT, "trajectories")
  run_dir: str = "runs/forecast_tiny"
  strategy: str = "default"
  train_steps: int = 6000
  batch_size: int = 16
  num_samples: int = 20                # k of the variety loss
  agent_variety_weight: float = 0.5    # its per-agent share (the rest per scene)
  eval_samples: int = 20               # K of minADE_K and of the export
  gap_fraction: float = 0.4            # batches' share of gap-filling tasks
  synthetic_scenes: int = 400
  synthetic_weight: float = 0.3        # share of synthetic windows in a batch
  g_learning_rate: float = 5e-4
  d_learning_rate: float = 2e-4
  adversarial_weight: float = 0.05
  gan_loss: str = "hinge"
  ema_momentum: float = 0.995
  checkpoint_every: int = 250
  eval_stride: int = 1                 # frames between held-back windows
  seed: int = 0
  verbose: int = 2
  RESUMABLE_FIELDS = ("train_steps", "verbose", "strategy", "run_dir", "checkpoint_every",
                      "data")

  @property
  def model_config(self):
    return model_lib.ForecastConfig.from_preset(self.preset)


TRAIN_PRESETS = config_lib.register_presets(ForecastTrainConfig, {
    "tiny": ForecastTrainConfig(),
    "base": ForecastTrainConfig(preset="base", run_dir="runs/forecast_base", train_steps=20000,
                                batch_size=64, synthetic_scenes=2000),
    "test": ForecastTrainConfig(preset="test", run_dir="runs/forecast_test", train_steps=4,
                                batch_size=4, num_samples=2, eval_samples=3,
                                synthetic_scenes=4, checkpoint_every=2, eval_stride=15),
})


# ---- data ----------------------------------------------------------------

def source_files(root):
  """{dataset: ([train files], [held-back files])} under `root`: the shared
  layout's datasets, or else every file of the folder as one dataset, its
  files held back by name order (every fifth)."""
  if not os.path.isdir(root):
    raise FileNotFoundError(f"{root}: no such data folder")
  out = {}
  for name, (pattern, _, held) in SOURCES.items():
    files = sorted(glob.glob(os.path.join(root, pattern)))
    if files:
      test = [f for f in files if any(h in os.path.basename(f) for h in held)]
      out[name] = ([f for f in files if f not in test], test)
  if out:
    return out
  files = sorted(f for f in glob.glob(os.path.join(root, "*"))
                 if os.path.isfile(f) and not f.endswith((".md", ".xml")))
  if not files:
    raise FileNotFoundError(f"{root}: no trajectory files")
  test = files[4::5] if len(files) >= 2 else []
  return {os.path.basename(os.path.normpath(root)): ([f for f in files if f not in test], test)}


def _read(name, path):
  reader = SOURCES[name][1] if name in SOURCES else data_lib.read_scenes
  return reader(path)


def load_scenes(root, fps):
  """{dataset: (train scenes, held-back scenes)} at `fps`."""
  out = {}
  for name, (train, test) in source_files(root).items():
    out[name] = tuple([data_lib.resample(s, fps) for f in files for s in _read(name, f)]
                      for files in (train, test))
  return out


def synthetic_split(config, held_back):
  """The simulated scenes at the protocol's rate: the training ones, or
  (held_back) a tenth as many from a seed training never uses."""
  m = config.model_config
  count, seed = ((max(4, config.synthetic_scenes // 10), config.seed + 10_000) if held_back
                 else (config.synthetic_scenes, config.seed))
  return [data_lib.resample(s, m.fps) for s in
          data_lib.synthetic_scenes(count, seed, seconds=(m.num_frames + 1) / m.fps)]


def training_pools(config, scenes):
  """[(windows, weight)] of every source's training scenes (stride 1)."""
  m = config.model_config
  real = []
  for name, (train, _) in scenes.items():
    wins = [w for s in train for w in data_lib.windows(s, m.num_frames, 1, m.max_agents)]
    if wins:
      real.append(wins)
  synth = [w for s in synthetic_split(config, held_back=False)
           for w in data_lib.windows(s, m.num_frames, 1, m.max_agents)]
  # Real sources share what synthetic leaves, by the root of their size, so
  # the biggest does not drown the others.
  sizes = np.sqrt([len(w) for w in real])
  pools = [(w, (1 - config.synthetic_weight) * s / sizes.sum()) for w, s in zip(real, sizes)]
  if synth:
    pools.append((synth, config.synthetic_weight if real else 1.0))
  return pools


def make_batch(pools, config, step):
  """The batch of `step` (seeded by it, so a resumed run sees the same
  stream): {paths float32 [B, A, T, 2], known float32 [B, A, T], team int32
  [B, A], noise float32 [B, num_samples + 1, A, noise_dim]}."""
  m = config.model_config
  rng = np.random.default_rng([config.seed, step, 0xF0])
  weights = np.array([w for _, w in pools])
  batch = {"paths": [], "known": [], "team": []}
  for _ in range(config.batch_size):
    wins = pools[rng.choice(len(pools), p=weights / weights.sum())][0]
    xy, _, team = wins[rng.integers(len(wins))]
    order = rng.permutation(len(xy))[:m.max_agents]
    xy, team = xy[order], team[order]
    if rng.random() < 0.5:              # mirror: left and right are alike
      xy = xy * np.array([1, -1], np.float32)
    paths, teams, present = data_lib.pad_window(xy, team, m.max_agents)
    if rng.random() < config.gap_fraction:
      lengths = rng.integers(int(protocol.GAP_S[0] * m.fps),
                             int(protocol.GAP_S[-1] * m.fps) + 1, m.max_agents)
      # One lost track among known ones, or several at once.
      gapped = rng.random(m.max_agents) < 0.5
      gapped[rng.integers(int(present.sum()))] = True
      known = data_lib.gap_mask(present, m.num_frames, lengths, rng, gapped)
    else:
      known = data_lib.forecast_mask(present, m.num_frames, m.num_observed)
    for k, v in (("paths", paths), ("known", known), ("team", teams)):
      batch[k].append(v)
  batch = {k: np.stack(v) for k, v in batch.items()}
  batch["noise"] = rng.standard_normal(
      (config.batch_size, config.num_samples + 1, m.max_agents, m.noise_dim)).astype(np.float32)
  return batch


def make_dataset(pools, config, begin, strategy):
  m = config.model_config
  b, a, t = config.batch_size, m.max_agents, m.num_frames

  def gen():
    step = begin
    while True:
      yield make_batch(pools, config, step)
      step += 1

  ds = tf.data.Dataset.from_generator(gen, output_signature={
      "paths": tf.TensorSpec((b, a, t, 2), tf.float32),
      "known": tf.TensorSpec((b, a, t), tf.float32),
      "team": tf.TensorSpec((b, a), tf.int32),
      "noise": tf.TensorSpec((b, config.num_samples + 1, a, m.noise_dim), tf.float32)}
  ).prefetch(2)
  return strategy.experimental_distribute_dataset(ds)


# ---- training ------------------------------------------------------------

def build_trainer(config):
  m = config.model_config
  trainer = gan_lib.TrajectoryGAN(model_lib.build_trajectory_generator(m),
                                  model_lib.build_agent_discriminator(m),
                                  model_lib.build_group_discriminator(m),
                                  num_samples=config.num_samples,
                                  agent_variety_weight=config.agent_variety_weight)
  return trainer.compile_from_config(config, d_beta_1=0.5, g_beta_1=0.9,
                                     adversarial_weight=config.adversarial_weight)


def run_directory(trainer, run_dir):
  """The run directory's checkpoints of every network and optimizer."""
  return trainer.run_directory(run_dir, agent_discriminator=trainer.agent_discriminator,
                               group_discriminator=trainer.group_discriminator)


def build(config, scenes=None):
  """The trainer, compiled, with its run directory; parts: the scenes
  (read from config.data unless given)."""
  scenes = load_scenes(config.data, config.model_config.fps) if scenes is None else scenes
  trainer = build_trainer(config)
  return run_lib.Trained(trainer, run_directory(trainer, config.run_dir),
                         loop.inner_optimizer(trainer.g_optimizer).iterations, config,
                         parts=scenes)


def fit(trained, strategy):
  config = trained.config
  pools = training_pools(config, trained.parts)
  callbacks = [keras.callbacks.TensorBoard(os.path.join(config.run_dir, "logs"),
                                           update_freq=max(1, config.checkpoint_every // 5),
                                           write_graph=False)]
  steps = loop.fit_resumable(trained.model, trained.run, trained.step,
                             lambda begin: make_dataset(pools, config, begin, strategy),
                             config.train_steps, config.checkpoint_every, config.verbose,
                             callbacks)
  return {"steps": steps, "training_windows": {len(p[0]): p[1] for p in pools}}


def evaluate(trained):
  """Forecasting and gap filling of the EMA generator against the
  baselines, on the held-back real games and synthetic scenes."""
  config = trained.config
  generator = trained.model.ema_generator()
  sampler = lambda p, k, t, seed: model_lib.sample_generator(generator, config, p, k, t,
                                                   config.eval_samples, seed)
  return {"samples": config.eval_samples,
          "datasets": protocol.evaluate(sampler, config, trained.parts,
                                       synthetic_split(config, held_back=True))}


def export(trained, export_dir, report):
  """SavedModel and TFLite, checked against the Keras generator; the
  report's tables as report.md."""
  paths = export_lib.export.__wrapped__(trained.model.ema_generator(), trained.config,
                                        export_dir)
  report["export_check"] = export_lib.check_export(paths, trained.config)
  with open(os.path.join(export_dir, "report.md"), "w") as f:
    f.write(protocol.markdown(report))
  return paths


RECIPE = run_lib.Recipe("forecast", build=build, fit=fit, evaluate=evaluate, export=export)


def train(config, scenes=None):
  """Trains (or resumes) in config.run_dir; returns the `run.Trained`."""
  return run_lib.train(RECIPE, config, scenes=scenes)


def export_run(run_dir, data=None):
  """Restores a run's latest checkpoint with its own config.json, then
  re-evaluates and re-exports it (onto `data` if given). Returns the report."""
  return run_lib.export_run(RECIPE, ForecastTrainConfig, run_dir,
                            **({"data": data} if data else {}))


def train_forecast(config):
  """Train (resuming if possible), evaluate, export. Returns the report."""
  return run_lib.run(RECIPE, config)


JOB = job_lib.JobSpec(
    name="forecast",
    description="The trajectory GAN on the shared real tracking data (held back by game / "
                "shot) and simulated players, or a folder of your own tracking files (every "
                "fifth file held back); forecasting and gap filling against the baselines; "
                "exports SavedModel and TFLite.",
    config_class=ForecastTrainConfig, train=train_forecast, summary=protocol.markdown,
    export=export_run, export_flags=(
        job_lib.Flag("data", str, None, "Trajectories folder to evaluate on (the run's)."),),
    field_help={"data": "Folder of trajectory files.",
                "strategy": "tf.distribute strategy: default, mirrored, multi_worker, tpu."},
    examples=("tfsports train forecast --preset=tiny --run_dir=runs/forecast_tiny",
              "tfsports train forecast --data=/my/tracks",
              "tfsports export forecast --run_dir=runs/forecast_tiny"),
)

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
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from tfsports import config as config_lib
from tfsports.forecast import data as data_lib
from tfsports.forecast import gan as gan_lib
from tfsports.forecast import model as model_lib
from tfsports.training import loop
from tfsports.gan import losses as losses_lib
from tfsports.serving import exports as exports_lib
from tfsports.training import job as job_lib

REAL_ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "real")
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
HORIZONS_S = (1, 2, 3, 4)
GAP_S = (1, 2, 3)


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


def pad_window(xy, team, max_agents):
  """xy [A, T, 2], team [A] -> paths [max_agents, T, 2], team [max_agents]
  (padding team -1) and present bool [max_agents]."""
  a = min(len(xy), max_agents)
  paths = np.zeros((max_agents,) + xy.shape[1:], np.float32)
  teams = np.full(max_agents, -1, np.int32)
  paths[:a], teams[:a] = xy[:a], team[:a]
  present = np.arange(max_agents) < a
  return paths, teams, present


def forecast_mask(present, num_frames, num_observed):
  known = np.zeros((len(present), num_frames), np.float32)
  known[present, :num_observed] = 1
  return known


def gap_mask(present, num_frames, lengths, rng, gapped=None):
  """Agents `gapped` (bool [A]; default all present) lose `lengths[a]`
  frames each, with >= 2 known frames on both sides; the other present
  agents are known throughout."""
  known = np.zeros((len(present), num_frames), np.float32)
  known[present] = 1
  for a in np.flatnonzero(present if gapped is None else gapped & present):
    g = int(lengths[a])
    start = int(rng.integers(2, num_frames - 2 - g + 1))
    known[a, start:start + g] = 0
  return known


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
    paths, teams, present = pad_window(xy, team, m.max_agents)
    if rng.random() < config.gap_fraction:
      lengths = rng.integers(int(GAP_S[0] * m.fps), int(GAP_S[-1] * m.fps) + 1, m.max_agents)
      # One lost track among known ones, or several at once.
      gapped = rng.random(m.max_agents) < 0.5
      gapped[rng.integers(int(present.sum()))] = True
      known = gap_mask(present, m.num_frames, lengths, rng, gapped)
    else:
      known = forecast_mask(present, m.num_frames, m.num_observed)
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
  d_loss_fn, g_loss_fn = losses_lib.ADVERSARIAL[config.gan_loss]
  trainer.compile(
      d_optimizer=loop.make_optimizer(config.d_learning_rate, beta_1=0.5),
      g_optimizer=loop.make_optimizer(config.g_learning_rate, beta_1=0.9, use_ema=True,
                                      ema_momentum=config.ema_momentum),
      d_loss_fn=d_loss_fn, g_loss_fn=g_loss_fn, adversarial_weight=config.adversarial_weight)
  trainer.build_optimizers()
  return trainer


def run_directory(trainer, run_dir):
  """The run directory's checkpoints of every network and optimizer."""
  return loop.RunDirectory(run_dir, generator=trainer.generator,
                           agent_discriminator=trainer.agent_discriminator,
                           group_discriminator=trainer.group_discriminator,
                           g_optimizer=trainer.g_optimizer, d_optimizer=trainer.d_optimizer)


def train(config, scenes=None):
  """Trains (or resumes) in config.run_dir; returns (trainer, status)."""
  config_lib.prepare_run_dir(config.run_dir, config)
  keras.utils.set_random_seed(config.seed)
  scenes = load_scenes(config.data, config.model_config.fps) if scenes is None else scenes
  pools = training_pools(config, scenes)
  strategy = loop.make_strategy(config.strategy)
  with strategy.scope():
    trainer = build_trainer(config)
  run = run_directory(trainer, config.run_dir)
  run.restore()
  step_var = loop.inner_optimizer(trainer.g_optimizer).iterations
  start = int(step_var.numpy())
  t0 = time.perf_counter()
  callbacks = [keras.callbacks.TensorBoard(os.path.join(config.run_dir, "logs"),
                                           update_freq=max(1, config.checkpoint_every // 5),
                                           write_graph=False)]
  steps = loop.fit_resumable(trainer, run, step_var,
                             lambda begin: make_dataset(pools, config, begin, strategy),
                             config.train_steps, config.checkpoint_every, config.verbose,
                             callbacks)
  return trainer, {"start_step": start, "step": int(step_var.numpy()), "steps": steps,
                   "seconds": time.perf_counter() - t0,
                   "training_windows": {len(p[0]): p[1] for p in pools}}


# ---- evaluation ----------------------------------------------------------

def sample_generator(generator, config, paths, known, team, num_samples, seed):
  """num_samples fills of one padded window: [K, A, T, 2] (seeded noise)."""
  m = config.model_config
  noise = model_lib.noise_for(seed, 1, num_samples, m).numpy()
  tile = lambda x: np.repeat(x[None], num_samples, 0)
  return np.asarray(generator({"paths": tile(paths), "known": tile(known),
                               "team": tile(team), "noise": noise}, training=False))


def _summary(values):
  return float(np.mean(values)) if len(values) else float("nan")


def evaluate_forecasts(sampler, windows, config):
  """Forecasting figures over held-back windows. sampler(paths, known,
  team, seed) -> [K, A, T, 2]. Returns {method: {metric: metres}} and the
  number of agents and windows."""
  m = config.model_config
  steps = [int(h * m.fps) for h in HORIZONS_S]
  per = {k: {f"{s}@{h}s": [] for s in ("minADE", "minFDE") for h in HORIZONS_S}
         for k in ("model", "constant velocity", "linear extrapolation")}
  joint = {k: {"minJADE": [], "minJFDE": []} for k in per}
  for w, (xy, _, team) in enumerate(windows):
    paths, teams, present = pad_window(xy, team, m.max_agents)
    a = int(present.sum())
    known = forecast_mask(present, m.num_frames, m.num_observed)
    obs, truth = xy[:a, :m.num_observed], xy[:a, m.num_observed:]
    futures = {
        "model": sampler(paths, known, teams, w)[:, :a, m.num_observed:],
        "constant velocity": data_lib.constant_velocity(obs, m.num_future)[None],
        "linear extrapolation": data_lib.linear_extrapolation(obs, m.num_future)[None]}
    for name, f in futures.items():
      dist = data_lib.displacement_errors(f, truth)                 # [K, A, H]
      for h, s in zip(HORIZONS_S, steps):
        per[name][f"minADE@{h}s"].extend(dist[..., :s].mean(-1).min(0))
        per[name][f"minFDE@{h}s"].extend(dist[..., s - 1].min(0))
      joint[name]["minJADE"].append(dist.mean((1, 2)).min())
      joint[name]["minJFDE"].append(dist[..., -1].mean(1).min())
  return {name: {**{k: _summary(v) for k, v in per[name].items()},
                 **{k: _summary(v) for k, v in joint[name].items()}} for name in per}


def evaluate_gaps(sampler, windows, config, seed=0, max_gaps_per_window=6):
  """Gap filling over held-back windows: one agent at a time loses 1, 2 or
  3 s (in turn) while the others stay known, as when a tracker loses one
  player. Mean error over the gap frames, metres: linear interpolation, one
  model sample, the mean of the samples, and the best of the samples."""
  m = config.model_config
  rng = np.random.default_rng([seed, 0x6A9])
  errors = {k: {g: [] for g in GAP_S} for k in
            ("linear interpolation", "model (one sample)", "model (mean of samples)",
             "model (best of samples)")}
  for w, (xy, _, team) in enumerate(windows):
    paths, teams, present = pad_window(xy, team, m.max_agents)
    a = int(present.sum())
    for i in range(min(a, max_gaps_per_window)):
      gap = GAP_S[(w + i) % len(GAP_S)]
      lengths = np.full(m.max_agents, int(gap * m.fps))
      known = gap_mask(present, m.num_frames, lengths, rng, np.arange(m.max_agents) == i)
      hole = known[i] < 0.5
      samples = sampler(paths, known, teams, w * m.max_agents + i)[:, i]      # [K, T, 2]
      fills = {"linear interpolation":
               data_lib.linear_interpolation(xy[i:i + 1], ~hole[None]),
               "model (one sample)": samples[:1], "model (mean of samples)":
               samples.mean(0, keepdims=True), "model (best of samples)": samples}
      for name, f in fills.items():
        dist = np.linalg.norm(f[:, hole] - xy[i, hole][None], axis=-1)     # [K, gap]
        errors[name][gap].append(float(dist.mean(-1).min()))
  out = {}
  for name, by_gap in errors.items():
    out[name] = {f"{g}s": _summary(v) for g, v in by_gap.items()}
    out[name]["all"] = _summary([x for v in by_gap.values() for x in v])
  return out


def evaluate(sampler, config, scenes, synthetic_test):
  """Every held-back dataset (and synthetic) through the protocol."""
  m = config.model_config
  report = {}
  for name, (_, test) in list(scenes.items()) + [("synthetic", ([], synthetic_test))]:
    wins = [w for s in test for w in data_lib.windows(s, m.num_frames, config.eval_stride,
                                                      m.max_agents)]
    longest = max((s.num_frames / m.fps for s in test), default=0.0)
    entry = {"scenes": len(test), "windows": len(wins),
             "agents": int(sum(len(w[0]) for w in wins))}
    if not wins:
      entry["note"] = (f"no {m.num_frames / m.fps:.0f}-s window: the longest held-back "
                       f"sequence lasts {longest:.1f} s")
    else:
      entry["forecast"] = evaluate_forecasts(sampler, wins, config)
      entry["gaps"] = evaluate_gaps(sampler, wins, config)
    report[name] = entry
  return report


def _table_rows(report):
  lines = ["| dataset | windows (agents) | method | " + " | ".join(
      f"minADE/minFDE@{h}s" for h in HORIZONS_S) + " | minJADE / minJFDE |",
           "|---|---|---|" + "---|" * (len(HORIZONS_S) + 1)]
  for name, entry in report.items():
    if "forecast" not in entry:
      lines.append(f"| {name} | 0 | {entry['note']} |" + " |" * (len(HORIZONS_S) + 1))
      continue
    for method, f in entry["forecast"].items():
      cells = [f"{f[f'minADE@{h}s']:.2f} / {f[f'minFDE@{h}s']:.2f}" for h in HORIZONS_S]
      lines.append(f"| {name} | {entry['windows']} ({entry['agents']}) | {method} | "
                   + " | ".join(cells) + f" | {f['minJADE']:.2f} / {f['minJFDE']:.2f} |")
  return lines


def markdown(report):
  """The forecasting and gap-filling tables of an evaluation report."""
  lines = ["Forecasting, observe 2 s, predict 4 s at 5 Hz; metres; model: best of "
           f"{report['samples']} samples, baselines deterministic.", ""]
  lines += _table_rows(report["datasets"])
  lines += ["", "Target: model minFDE@4s at least 30% below constant velocity.", "",
            "| dataset | minFDE@4s vs constant velocity | minJFDE vs constant velocity |",
            "|---|---|---|"]
  for name, entry in report["datasets"].items():
    if "forecast" in entry:
      f, cv = entry["forecast"]["model"], entry["forecast"]["constant velocity"]
      lines.append(f"| {name} | {100 * (f['minFDE@4s'] / cv['minFDE@4s'] - 1):+.0f}% | "
                   f"{100 * (f['minJFDE'] / cv['minJFDE'] - 1):+.0f}% |")
  lines += ["", "Gap filling (mean error over the gap frames, metres; one agent at a "
            "time loses 1, 2 or 3 s, the others known; best of "
            f"{report['samples']} samples as in the forecasting table):", "",
            "| dataset | method | " + " | ".join(f"{g} s" for g in GAP_S) + " | all | vs linear |",
            "|---|---|" + "---|" * (len(GAP_S) + 2)]
  for name, entry in report["datasets"].items():
    if "gaps" not in entry:
      continue
    base = entry["gaps"]["linear interpolation"]["all"]
    for method, g in entry["gaps"].items():
      cells = " | ".join(f"{g[f'{s}s']:.2f}" for s in GAP_S)
      lines.append(f"| {name} | {method} | {cells} | {g['all']:.2f} | "
                   f"{100 * (g['all'] / base - 1):+.0f}% |")
  return "\n".join(lines) + "\n"


def evaluate_and_export(trainer, config, scenes):
  from tfsports.forecast import export as export_lib
  generator = trainer.ema_generator()
  export_dir = os.path.join(config.run_dir, "export")
  paths = export_lib.export(generator, config, export_dir)
  sampler = lambda p, k, t, seed: sample_generator(generator, config, p, k, t,
                                                   config.eval_samples, seed)
  report = {"config": config.to_dict(), "samples": config.eval_samples,
            "datasets": evaluate(sampler, config, scenes,
                                         synthetic_split(config, held_back=True)),
            "exports": paths}
  report["export_check"] = export_lib.check_export(paths, config)
  exports_lib.write_report(export_dir, report)
  with open(os.path.join(export_dir, "report.md"), "w") as f:
    f.write(markdown(report))
  return report


def export_run(run_dir, data=None):
  """Restores a run's latest checkpoint with its own config.json, then
  re-evaluates and re-exports it (onto `data` if given). Returns the report."""
  config = config_lib.read_run_config(run_dir, ForecastTrainConfig)
  config = dataclasses.replace(config, run_dir=run_dir, **({"data": data} if data else {}))
  trainer = build_trainer(config)
  run = run_directory(trainer, run_dir)
  if run.restore() is None:
    raise FileNotFoundError(f"{run_dir}: no checkpoint to export")
  return evaluate_and_export(trainer, config, load_scenes(config.data, config.model_config.fps))


def train_forecast(config):
  """Train (resuming if possible), evaluate, export. Returns the report."""
  scenes = load_scenes(config.data, config.model_config.fps)
  trainer, status = train(config, scenes)
  report = evaluate_and_export(trainer, config, scenes)
  report["training"] = status
  exports_lib.write_report(os.path.join(config.run_dir, "export"), report)
  return report


JOB = job_lib.JobSpec(
    name="forecast",
    description="The trajectory GAN on the shared real tracking data (held back by game / "
                "shot) and simulated players, or a folder of your own tracking files (every "
                "fifth file held back); forecasting and gap filling against the baselines; "
                "exports SavedModel and TFLite.",
    config_class=ForecastTrainConfig, train=train_forecast, summary=markdown,
    export=export_run, export_flags=(
        job_lib.Flag("data", str, None, "Trajectories folder to evaluate on (the run's)."),),
    field_help={"data": "Folder of trajectory files.",
                "strategy": "tf.distribute strategy: default, mirrored, multi_worker, tpu."},
    examples=("tfsports train forecast --preset=tiny --run_dir=runs/forecast_tiny",
              "tfsports train forecast --data=/my/tracks",
              "tfsports export forecast --run_dir=runs/forecast_tiny"),
)

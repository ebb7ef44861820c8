r"""`tfsports forecast`: sample players' futures, or fill gaps in their tracks.

    tfsports forecast TRACKS --out=DIR [--horizon=4] [--samples=20] [--at=SECONDS]
    tfsports forecast TRACKS --out=DIR --fill

TRACKS: the tracks.csv of `tfsports track` (run with --pitch_points, for
metres) or any real format the data layer reads (Big Data Cup hockey, Last
Row, EPTS with its metadata beside it, TrackID3x3). Each scene of the file
(a hockey camera shot, an EPTS run of frames) is forecast from the 2 s that
end at --at (default: its end), at 5 Hz.

Writes DIR/observed.csv and DIR/futures.csv (scene, sample, agent_id, team,
time_s, x_m, y_m) and DIR/forecast_<scene>.png, a pitch with the observed
paths, the fan of sampled futures and, where the file goes on past --at,
what really happened. With --fill: DIR/filled.csv (scene,
agent_id, team, time_s, x_m, y_m, filled) at 5 Hz, every gap of up to 3 s
filled with the mean of the model's samples, and DIR/filled_<scene>.png.
"""

import csv
import os
import sys

from absl import flags
import numpy as np

from tfsports import errors
from tfsports.serving import loader

FLAGS = flags.FLAGS
USAGE = "usage: tfsports forecast TRACKS --out=DIR [--horizon=4] [--samples=20] [--fill]"


def define_flags():
  flags.DEFINE_string("out", None, "Output directory.")
  flags.DEFINE_string("model", "tiny", "A bundled preset, a run directory of "
                      "`tfsports train forecast`, its export, a SavedModel or a .tflite file.")
  flags.DEFINE_float("horizon", 4.0, "Seconds to forecast (at most the model's 4 s).")
  flags.DEFINE_integer("samples", 20, "Sampled futures per scene.")
  flags.DEFINE_float("at", None, "Time (s, in the file's clock) where the observation ends; "
                     "default: each scene's end.")
  flags.DEFINE_bool("fill", False, "Fill gaps of up to 3 s instead of forecasting.")
  flags.DEFINE_integer("seed", 0, "Noise seed.")
  flags.DEFINE_bool("list_models", False, "List the bundled and trained models and exit.")


def _observation(scene, end, config, max_agents):
  """(indices of the agents seen at frame `end`, their observed xy, mask)."""
  lo = end - config.num_observed + 1
  seen = np.flatnonzero(scene.valid[:, end])
  # The most-observed agents first, if there are more than the model takes.
  seen = seen[np.argsort(-scene.valid[seen, lo:end + 1].sum(1), kind="stable")][:max_agents]
  return seen, scene.xy[seen, lo:end + 1], scene.valid[seen, lo:end + 1]


def forecast_scenes(scenes, runner, out_dir, horizon, num_samples, at=None, seed=0):
  """Forecasts every scene long enough; writes CSVs and plots. Returns
  {scene name: number of agents forecast}."""
  import cv2
  from tfsports.forecast import plot
  c = runner.config
  steps = int(round(horizon * c.fps))
  if not 0 < steps <= c.num_future:
    raise ValueError(f"--horizon={horizon}: the model forecasts up to "
                     f"{c.num_future / c.fps:g} s")
  if num_samples < 1:
    raise ValueError(f"--samples={num_samples}: at least 1")
  done = {}
  os.makedirs(out_dir, exist_ok=True)
  with open(os.path.join(out_dir, "observed.csv"), "w", newline="") as fo, \
       open(os.path.join(out_dir, "futures.csv"), "w", newline="") as ff:
    wo, wf = csv.writer(fo), csv.writer(ff)
    wo.writerow(["scene", "agent_id", "team", "time_s", "x_m", "y_m"])
    wf.writerow(["scene", "sample", "agent_id", "team", "time_s", "x_m", "y_m"])
    for scene in scenes:
      end = scene.num_frames - 1 if at is None else int(np.floor(at * c.fps + 1e-6))
      if end >= scene.num_frames or end < c.num_observed - 1:
        continue
      agents, observed, mask = _observation(scene, end, c, c.max_agents)
      if not len(agents):
        continue
      samples = []
      for k in range(-(-num_samples // runner.num_samples)):
        samples.append(runner.forecast(np.where(mask[..., None], observed, 0), mask,
                                       scene.team[agents], seed + k))
      futures = np.concatenate(samples)[:num_samples, :, :steps]
      t0 = (end - c.num_observed + 1) / c.fps
      for i, a in enumerate(agents):
        for t in np.flatnonzero(mask[i]):
          wo.writerow([scene.name, scene.agent_ids[a], int(scene.team[a]),
                       f"{t0 + t / c.fps:.2f}", *(f"{v:.3f}" for v in observed[i, t])])
        for k in range(len(futures)):
          for t in range(steps):
            wf.writerow([scene.name, k, scene.agent_ids[a], int(scene.team[a]),
                         f"{(end + 1 + t) / c.fps:.2f}", *(f"{v:.3f}" for v in futures[k, i, t])])
      after = slice(end + 1, end + 1 + steps)
      truth, truth_mask = scene.xy[agents, after], scene.valid[agents, after]
      image = plot.draw_forecast(
          observed, mask, futures, scene.team[agents], scene.pitch,
          f"{scene.name}: observed 2 s (thick), {len(futures)} sampled {horizon:g}-s futures "
          "(thin)" + (", what happened (white)" if truth_mask.any() else ""), truth, truth_mask)
      cv2.imwrite(os.path.join(out_dir, f"forecast_{scene.name}.png"), image)
      done[scene.name] = len(agents)
  if not done:
    raise ValueError(f"no scene has {c.num_observed / c.fps:g} s of observation"
                     + ("" if at is None else f" ending at {at} s"))
  return done


def fill_scenes(scenes, runner, out_dir, seed=0):
  """Fills every gap of up to 3 s; writes filled.csv and plots. Returns
  {scene name: gaps filled}."""
  import cv2
  from tfsports.forecast import plot
  c = runner.config
  longest = 3 * int(c.fps)
  done = {}
  os.makedirs(out_dir, exist_ok=True)
  with open(os.path.join(out_dir, "filled.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["scene", "agent_id", "team", "time_s", "x_m", "y_m", "filled"])
    for scene in scenes:
      xy, filled = scene.xy.copy(), np.zeros_like(scene.valid)
      count = 0
      for a in range(len(xy)):
        idx = np.flatnonzero(scene.valid[a])
        for before, after in zip(idx[:-1], idx[1:]):
          gap = after - before - 1
          if not 0 < gap <= longest or scene.num_frames < c.num_frames:
            continue
          # The window around the gap, as centred as the scene allows.
          lo = int(np.clip((before + after) // 2 - c.num_frames // 2, 0,
                           scene.num_frames - c.num_frames))
          span = slice(lo, lo + c.num_frames)
          others = [b for b in np.argsort(-scene.valid[:, span].sum(1), kind="stable")
                    if b != a and scene.valid[b, span].any()][:c.max_agents - 1]
          rows = [a] + others
          known = scene.valid[rows, span].astype(np.float32)
          paths = np.where(known[..., None] > 0, scene.xy[rows, span], 0)
          fills = runner.fill(paths, known, scene.team[rows], seed)
          hole = np.arange(before + 1, after)
          xy[a, hole] = fills[:, 0, hole - lo].mean(0)
          filled[a, hole] = True
          count += 1
      for a in range(len(xy)):
        for t in np.flatnonzero(scene.valid[a] | filled[a]):
          w.writerow([scene.name, scene.agent_ids[a], int(scene.team[a]), f"{t / c.fps:.2f}",
                      f"{xy[a, t, 0]:.3f}", f"{xy[a, t, 1]:.3f}", int(filled[a, t])])
      image = plot.draw_filled(xy, scene.valid, filled, scene.team, scene.pitch,
                               f"{scene.name}: tracks, {count} gaps filled (yellow)")
      cv2.imwrite(os.path.join(out_dir, f"filled_{scene.name}.png"), image)
      done[scene.name] = count
  return done


TRAIN = "tfsports train forecast --preset=tiny [--data=TRACKS_DIR]"


def check(argv):
  """The failures found before TensorFlow is imported; --list_models."""
  from tfsports.serving import catalog
  presets = loader.kind("forecast").presets()
  if FLAGS.list_models:
    print(catalog.listing("trajectory", presets, catalog.find_runs("model_info.json"), TRAIN))
    return 0
  files = argv[1:]
  if not FLAGS.out or len(files) != 1:
    raise errors.UserError(USAGE)
  catalog.require_inputs(files)
  loader.locate("forecast", FLAGS.model)
  return None


def main(argv):
  from tfsports.forecast import data
  from tfsports.forecast import export
  files = argv[1:]
  try:
    runner = loader.load("forecast", FLAGS.model)
    scenes = [data.resample(s, runner.config.fps) for s in data.read_scenes(files[0])]
    if FLAGS.fill:
      done = fill_scenes(scenes, runner, FLAGS.out, FLAGS.seed)
      print(f"filled {sum(done.values())} gaps in {len(done)} scenes; wrote {FLAGS.out}")
    else:
      done = forecast_scenes(scenes, runner, FLAGS.out, FLAGS.horizon, FLAGS.samples, FLAGS.at,
                             FLAGS.seed)
      print(f"forecast {sum(done.values())} agents in {len(done)} scenes, "
            f"{FLAGS.samples} samples each; wrote {FLAGS.out}")
  except (data.TrajectoryFormatError, FileNotFoundError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  return 0

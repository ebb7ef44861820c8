"""The forecasting and gap-filling protocol, on windows held back by game or
shot: minADE/minFDE at 1-4 s and the joint minJADE/minJFDE against constant
velocity and linear extrapolation; gaps of 1-3 s against linear
interpolation; the report's markdown tables.

A sampler(paths, known, team, seed) -> float32 [K, A, T, 2] stands for the
model in any form (Keras, SavedModel or TFLite)."""

import numpy as np

from tfsports.forecast import data as data_lib

HORIZONS_S = (1, 2, 3, 4)
GAP_S = (1, 2, 3)


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
    paths, teams, present = data_lib.pad_window(xy, team, m.max_agents)
    a = int(present.sum())
    known = data_lib.forecast_mask(present, m.num_frames, m.num_observed)
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
    paths, teams, present = data_lib.pad_window(xy, team, m.max_agents)
    a = int(present.sum())
    for i in range(min(a, max_gaps_per_window)):
      gap = GAP_S[(w + i) % len(GAP_S)]
      lengths = np.full(m.max_agents, int(gap * m.fps))
      known = data_lib.gap_mask(present, m.num_frames, lengths, rng, np.arange(m.max_agents) == i)
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

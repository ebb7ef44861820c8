"""Multi-agent trajectories in one form, from the real tracking formats and
`tfsports track`'s CSV (issue 10's data layer; the GAN is to come).

A `Scene` is agents x time x (x, y) in metres with a validity mask, each
agent's team, at one frame rate. Readers:

- `read_hockey`: Big Data Cup 2022 broadcast tracks (feet, 30 fps); a
  `track_id` holds only within one camera shot, so each shot of
  `videoShotsInfo_*.csv` is its own scene;
- `read_lastrow`: Last Row soccer build-ups (0-100 pitch units, 20 fps),
  scaled to a 105 x 68 m pitch; the ball is left out;
- `read_tracks_csv`: `tfsports track`'s tracks.csv, which has metres only
  where the user gave pitch points.

`resample` brings a scene to a common rate; `constant_velocity` and
`min_ade_fde` are the baseline and the metric of the forecasting protocol.
"""

import collections
import csv
import dataclasses
import os

import numpy as np

FEET = 0.3048
PITCH = (105.0, 68.0)      # the Last Row data's 0-100 units span a standard pitch


class TrajectoryFormatError(ValueError):
  """A trajectory file that cannot be read; names the file and the problem."""


@dataclasses.dataclass
class Scene:
  """name; xy float32 [A, T, 2] metres; valid bool [A, T]; team int32 [A]
  (0, 1; -1 unknown); agent_ids [A] as in the source; fps."""
  name: str
  xy: np.ndarray
  valid: np.ndarray
  team: np.ndarray
  agent_ids: list
  fps: float

  @property
  def num_frames(self):
    return self.xy.shape[1]


def _scene(name, samples, fps, teams):
  """samples: {agent id: {frame index: (x, y)}} (frames from 0)."""
  ids = sorted(samples, key=str)
  num_frames = max((max(f) for f in samples.values() if f), default=-1) + 1
  xy = np.zeros((len(ids), num_frames, 2), np.float32)
  valid = np.zeros((len(ids), num_frames), bool)
  for a, agent in enumerate(ids):
    for t, p in samples[agent].items():
      xy[a, t], valid[a, t] = p, True
  team = np.array([teams.get(agent, -1) for agent in ids], np.int32)
  return Scene(name, xy, valid, team, ids, float(fps))


def _rows(path, required):
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such file")
  with open(path, newline="") as f:
    reader = csv.DictReader(f)
    missing = [c for c in required if c not in (reader.fieldnames or ())]
    if missing:
      raise TrajectoryFormatError(f"{path}: missing column(s) {', '.join(missing)}")
    rows = list(reader)
  if not rows:
    raise TrajectoryFormatError(f"{path}: no rows")
  return rows


def _number(path, line, value):
  try:
    v = float(value)
  except ValueError:
    raise TrajectoryFormatError(f"{path}:{line}: {value!r} is not a number") from None
  if not np.isfinite(v):
    raise TrajectoryFormatError(f"{path}:{line}: {value!r} is not finite")
  return v


def read_hockey(path, shots_path=None, fps=30.0):
  """One scene per camera shot of a Big Data Cup tracking CSV (`frame_id,
  ..., track_id, team_id, ..., x_ft, y_ft`); teams Light 0, Dark 1.
  shots_path: its `videoShotsInfo_*.csv` (default: found beside it)."""
  rows = _rows(path, ("frame_id", "track_id", "team_id", "x_ft", "y_ft"))
  if shots_path is None:
    folder, base = os.path.split(path)
    shots_path = os.path.join(folder, "videoShotsInfo_" + base)
  shots = [(int(r["frame_start_shot"]), int(r["frame_end_shot"]))
           for r in _rows(shots_path, ("frame_start_shot", "frame_end_shot"))]
  scenes = []
  for k, (start, end) in enumerate(shots):
    samples, teams = collections.defaultdict(dict), {}
    for line, r in enumerate(rows, 2):
      frame = int(_number(path, line, r["frame_id"]))
      if not start <= frame <= end:
        continue
      agent = r["track_id"]
      samples[agent][frame - start] = (_number(path, line, r["x_ft"]) * FEET,
                                       _number(path, line, r["y_ft"]) * FEET)
      teams[agent] = {"Light": 0, "Dark": 1}.get(r["team_id"], -1)
    if samples:
      name = f"{os.path.splitext(os.path.basename(path))[0]}_shot{k + 1}"
      scenes.append(_scene(name, samples, fps, teams))
  return scenes


def read_lastrow(path, fps=20.0):
  """A Last Row CSV (`player, frame, x, y, team`, 0-100 units) as one scene
  in metres; teams attack 0, defense 1; the ball (no team) left out."""
  rows = _rows(path, ("player", "frame", "x", "y", "team"))
  samples, teams = collections.defaultdict(dict), {}
  frames = [int(_number(path, i, r["frame"])) for i, r in enumerate(rows, 2)]
  first = min(frames)
  for line, (r, frame) in enumerate(zip(rows, frames), 2):
    if not r["team"]:
      continue
    agent = r["player"]
    samples[agent][frame - first] = (_number(path, line, r["x"]) * PITCH[0] / 100,
                                     _number(path, line, r["y"]) * PITCH[1] / 100)
    teams[agent] = {"attack": 0, "defense": 1}.get(r["team"], -1)
  return _scene(os.path.splitext(os.path.basename(path))[0], samples, fps, teams)


def read_tracks_csv(path, fps=None):
  """`tfsports track`'s tracks.csv as a scene (its `time_s` sets the rate
  unless `fps` is given). Needs the pitch columns filled, i.e. a run with
  `--pitch_points`."""
  rows = _rows(path, ("frame", "time_s", "track_id", "team", "pitch_x_m", "pitch_y_m"))
  if not any(r["pitch_x_m"] for r in rows):
    raise TrajectoryFormatError(f"{path}: no pitch coordinates; run tfsports track with "
                                "--pitch_points")
  samples, teams, times = collections.defaultdict(dict), {}, {}
  for line, r in enumerate(rows, 2):
    if not r["pitch_x_m"]:
      continue
    frame = int(_number(path, line, r["frame"])) - 1
    times[frame] = _number(path, line, r["time_s"])
    samples[r["track_id"]][frame] = (_number(path, line, r["pitch_x_m"]),
                                     _number(path, line, r["pitch_y_m"]))
    teams[r["track_id"]] = int(r["team"]) if r["team"] else -1
  if fps is None:
    frames = sorted(times)
    if len(frames) < 2 or times[frames[-1]] <= times[frames[0]]:
      raise TrajectoryFormatError(f"{path}: time_s must increase to give a frame rate")
    fps = (frames[-1] - frames[0]) / (times[frames[-1]] - times[frames[0]])
  return _scene(os.path.splitext(os.path.basename(path))[0], samples, fps, teams)


def resample(scene, fps):
  """The scene at `fps`, by linear interpolation within each agent's valid
  spans (a sample between two valid source frames only)."""
  duration = (scene.num_frames - 1) / scene.fps
  times = np.arange(0, duration + 1e-9, 1.0 / fps)
  src = times * scene.fps
  lo = np.floor(src).astype(int)
  hi = np.minimum(lo + 1, scene.num_frames - 1)
  w = (src - lo)[None, :, None]
  xy = scene.xy[:, lo] * (1 - w) + scene.xy[:, hi] * w
  valid = scene.valid[:, lo] & (scene.valid[:, hi] | (w[..., 0] == 0))
  return dataclasses.replace(scene, xy=xy.astype(np.float32), valid=valid, fps=float(fps))


def constant_velocity(observed, horizon):
  """The constant-velocity baseline: each agent's last step repeated.
  observed float [A, T, 2] (T >= 2) -> float [A, horizon, 2]."""
  observed = np.asarray(observed, np.float64)
  step = observed[:, -1] - observed[:, -2]
  return (observed[:, -1:] + step[:, None] * np.arange(1, horizon + 1)[None, :, None]).astype(
      np.float32)


def min_ade_fde(samples, truth, valid=None):
  """minADE_K and minFDE_K in metres, averaged over agents: each agent's
  best of K sampled futures, by average displacement (ADE) and by final
  displacement (FDE), scored independently.

  samples float [K, A, H, 2]; truth float [A, H, 2]; valid bool [A] (agents
  with a complete future; all by default)."""
  samples, truth = np.asarray(samples, np.float64), np.asarray(truth, np.float64)
  dist = np.linalg.norm(samples - truth[None], axis=-1)          # [K, A, H]
  ade, fde = dist.mean(-1).min(0), dist[..., -1].min(0)
  keep = np.ones(len(truth), bool) if valid is None else np.asarray(valid, bool)
  return float(ade[keep].mean()), float(fde[keep].mean())

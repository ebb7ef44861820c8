"""Multi-agent trajectories in one form, from the real tracking formats,
the synthetic renderer and `tfsports track`'s CSV.

A `Scene` is agents x time x (x, y) in metres with a validity mask, each
agent's team, at one frame rate. Readers:

- `read_hockey`: Big Data Cup 2022 broadcast tracks (feet, 30 fps); a
  `track_id` holds only within one camera shot, so each shot of
  `videoShotsInfo_*.csv` is its own scene;
- `read_lastrow`: Last Row soccer build-ups (0-100 pitch units, 20 fps),
  scaled to a 105 x 68 m pitch; the ball is left out;
- `read_metrica`: EPTS text with its XML metadata (normalised coordinates
  of a 105 x 68 m pitch, 25 fps); each run of consecutive frames is a scene;
- `read_trackid3x3`: TrackID3x3 court coordinates (pixels of a top-view
  court image; `COURT_PX_PER_M` below says how the scale was found);
- `read_tracks_csv`: `tfsports track`'s tracks.csv, which has metres only
  where the user gave pitch points;
- `synthetic_scenes`: the renderer's simulated players, no rendering;
- `read_scenes`: any of the above by what the file holds.

`resample` brings a scene to a common rate; `windows` cuts the protocol's
fixed-length windows; `constant_velocity`, `linear_extrapolation` and
`linear_interpolation` are the baselines, `displacement_errors` the metric.
"""

import collections
import csv
import dataclasses
import os

import numpy as np

from tfsports import errors

FEET = 0.3048
PITCH = (105.0, 68.0)      # the Last Row data's 0-100 units span a standard pitch
# TrackID3x3's court image: across all 21 sequences the players' positions
# span 1039 x 1420 px between the 0.1st and 99.9th percentiles and
# 972 x 1377 px between the 0.5th and 99.5th, on a half court of 11 m
# (baseline to the top) x 15 m (sideline to sideline): 88-95 px/m along
# either axis, the same in both, so the image is a uniform top view. 92 px/m
# sits in the middle (+-3%).
COURT_PX_PER_M = 92.0


class TrajectoryFormatError(errors.UserError):
  """A trajectory file that cannot be read; names the file and the problem."""


@dataclasses.dataclass
class Scene:
  """name; xy float32 [A, T, 2] metres; valid bool [A, T]; team int32 [A]
  (0, 1; -1 unknown); agent_ids [A] as in the source; fps; pitch
  (length, width) in metres where the format says, for drawing."""
  name: str
  xy: np.ndarray
  valid: np.ndarray
  team: np.ndarray
  agent_ids: list
  fps: float
  pitch: tuple = None

  @property
  def num_frames(self):
    return self.xy.shape[1]


def _scene(name, samples, fps, teams, pitch=None):
  """samples: {agent id: {frame index: (x, y)}} (frames from 0)."""
  ids = sorted(samples, key=str)
  num_frames = max((max(f) for f in samples.values() if f), default=-1) + 1
  xy = np.zeros((len(ids), num_frames, 2), np.float32)
  valid = np.zeros((len(ids), num_frames), bool)
  for a, agent in enumerate(ids):
    for t, p in samples[agent].items():
      xy[a, t], valid[a, t] = p, True
  team = np.array([teams.get(agent, -1) for agent in ids], np.int32)
  return Scene(name, xy, valid, team, ids, float(fps), pitch)


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
      scenes.append(_scene(name, samples, fps, teams, (200 * FEET, 85 * FEET)))
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
  return _scene(os.path.splitext(os.path.basename(path))[0], samples, fps, teams, PITCH)


def read_tracks_csv(path, fps=None):
  """`tfsports track`'s tracks.csv as a scene (its `time_s` sets the rate
  unless `fps` is given). Needs the pitch columns filled, i.e. a run with
  `--pitch_points`."""
  rows = _rows(path, ("frame", "time_s", "track_id", "team", "pitch_x_m", "pitch_y_m"))
  last = -np.inf
  for line, r in enumerate(rows, 2):
    t = _number(path, line, r["time_s"])
    if t < last:
      raise TrajectoryFormatError(f"{path}:{line}: time_s goes back ({t} after {last})")
    last = t
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


def read_metrica(path, metadata_path=None):
  """EPTS tracking text (`frame:x,y,mid,speed;...:ball_x,ball_y,ball_z`) and
  its XML metadata (frame rate, pitch size, the players' channels and teams)
  as scenes of consecutive frames, in metres; teams A 0, B 1, ball left out.
  metadata_path: default `*metadata.xml` beside it."""
  import xml.etree.ElementTree as ET
  if metadata_path is None:
    folder = os.path.dirname(path)
    found = sorted(f for f in os.listdir(folder or ".") if f.endswith("metadata.xml"))
    if not found:
      raise TrajectoryFormatError(f"{path}: no EPTS *metadata.xml beside it")
    metadata_path = os.path.join(folder, found[0])
  try:
    root = ET.parse(metadata_path).getroot()
  except ET.ParseError as e:
    raise TrajectoryFormatError(f"{metadata_path}: not EPTS XML ({e})") from None
  def text(tag):
    node = root.find(f".//{tag}")
    if node is None or not (node.text or "").strip():
      raise TrajectoryFormatError(f"{metadata_path}: no <{tag}>")
    return node.text.strip()
  fps = float(text("FrameRate"))
  size = (float(text("FieldSize/Width")), float(text("FieldSize/Height")))
  team_of = {p.get("id"): p.get("teamId") for p in root.iter("Player")}
  channel_player = {c.get("id"): c.get("playerId") for c in root.iter("PlayerChannel")}
  teams_order = sorted(set(team_of.values()))
  spec = root.find(".//DataFormatSpecification")
  if spec is None:
    raise TrajectoryFormatError(f"{metadata_path}: no <DataFormatSpecification>")
  # The players' groups in line order; each group's x and y positions.
  groups = []
  for group in spec.iter("SplitRegister"):
    refs = [r.get("playerChannelId") for r in group.findall("PlayerChannelRef")]
    if refs:
      player = channel_player.get(refs[0])
      groups.append((player, refs.index(f"{refs[0].rsplit('_', 1)[0]}_x"),
                     refs.index(f"{refs[0].rsplit('_', 1)[0]}_y")))
  samples, frames = collections.defaultdict(dict), []
  with open(path) as f:
    for line, raw in enumerate(f, 1):
      if not raw.strip():
        continue
      parts = raw.strip().split(":")
      if len(parts) < 2:
        raise TrajectoryFormatError(f"{path}:{line}: not an EPTS line (frame:players:ball)")
      frame = int(_number(path, line, parts[0]))
      if frames and frame <= frames[-1]:
        raise TrajectoryFormatError(f"{path}:{line}: frame {frame} after {frames[-1]}")
      frames.append(frame)
      values = parts[1].split(";")
      if len(values) != len(groups):
        raise TrajectoryFormatError(f"{path}:{line}: {len(values)} players, the metadata "
                                    f"describes {len(groups)}")
      for (player, ix, iy), value in zip(groups, values):
        fields = value.split(",")
        if fields[ix] == "NaN":        # EPTS's marker for a player not on the pitch
          continue
        samples[player][frame] = (_number(path, line, fields[ix]) * size[0],
                                  _number(path, line, fields[iy]) * size[1])
  if not frames:
    raise TrajectoryFormatError(f"{path}: no frames")
  teams = {p: teams_order.index(team_of[p]) if team_of.get(p) in teams_order else -1
           for p in samples}
  breaks = [0] + [k for k in range(1, len(frames)) if frames[k] != frames[k - 1] + 1]
  scenes = []
  for k, start in enumerate(breaks):
    end = breaks[k + 1] if k + 1 < len(breaks) else len(frames)
    span = set(frames[start:end])
    part = {p: {f - frames[start]: xy for f, xy in s.items() if f in span}
            for p, s in samples.items()}
    part = {p: s for p, s in part.items() if s}
    base = os.path.splitext(os.path.basename(path))[0]
    scenes.append(_scene(f"{base}_{frames[start]}", part, fps, teams, size))
  return scenes


def read_trackid3x3(path, fps=30.0):
  """A TrackID3x3 `coordinates/*.csv` (`frame_number, x_O1red, y_O1red, ...`
  in court-image pixels) as one scene in metres; offence (O*) 0, defence
  (D*) 1. The source states no frame rate: 30 fps is assumed."""
  with open(path) as f:
    header = f.readline().strip().split(",")
  names = [c[2:] for c in header if c.startswith("x_")]
  if "frame_number" not in header or not names:
    raise TrajectoryFormatError(f"{path}: missing column(s) frame_number, x_<player>")
  rows = _rows(path, ["frame_number"] + [f"{a}_{n}" for n in names for a in "xy"])
  samples, teams = collections.defaultdict(dict), {}
  frames = [int(_number(path, i, r["frame_number"])) for i, r in enumerate(rows, 2)]
  for line, (r, frame) in enumerate(zip(rows, frames), 2):
    if frame < frames[max(0, line - 3)]:
      raise TrajectoryFormatError(f"{path}:{line}: frame_number goes back")
    for n in names:
      if r[f"x_{n}"] in ("", "nan", "NaN"):     # an unannotated frame
        continue
      samples[n][frame - frames[0]] = (_number(path, line, r[f"x_{n}"]) / COURT_PX_PER_M,
                                       _number(path, line, r[f"y_{n}"]) / COURT_PX_PER_M)
      teams[n] = {"O": 0, "D": 1}.get(n[:1], -1)
  return _scene(os.path.splitext(os.path.basename(path))[0], samples, fps, teams, (11.0, 15.0))


def synthetic_scenes(num_scenes, seed=0, seconds=6.0, fps=10.0, sports=("soccer", "basketball")):
  """The renderer's simulated players (no rendering), team 0 attacking, the
  referee left out: `num_scenes` scenes of `seconds` at `fps`."""
  from tfsports.data.synthetic import scene as scene_lib
  from tfsports.data.synthetic import sports as sports_lib
  scenes = []
  for k in range(num_scenes):
    rng = np.random.default_rng([seed, k, 0x7A])
    sport = sports_lib.SPORTS[sports[k % len(sports)]]
    label = int(rng.integers(len(sports_lib.ACTION_CLASSES)))
    sim = scene_lib.simulate(sport, int(round(seconds * fps)), fps, label, rng, referee=False)
    keep = sim.teams >= 0
    xy = np.transpose(sim.positions, (1, 0, 2))[keep]
    scenes.append(Scene(f"synthetic_{sport.name}_{k}", xy.astype(np.float32),
                        np.ones(xy.shape[:2], bool), sim.teams[keep].astype(np.int32),
                        [str(i) for i in sim.track_ids[keep]], float(fps),
                        (sport.length, sport.width)))
  return scenes


FORMATS = "tfsports track tracks.csv, Big Data Cup hockey, Last Row, EPTS (Metrica), TrackID3x3"


def read_scenes(path):
  """The scenes of any supported file, told apart by what it holds."""
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such file")
  with open(path, errors="replace") as f:
    head = f.readline()
  columns = set(head.strip().split(","))
  if {"frame", "time_s"} <= columns:
    return [read_tracks_csv(path)]
  if {"frame_id", "track_id", "x_ft", "y_ft"} <= columns:
    return read_hockey(path)
  if {"player", "frame", "x", "y", "team"} <= columns:
    return [read_lastrow(path)]
  if "frame_number" in columns and any(c.startswith("x_") for c in columns):
    return [read_trackid3x3(path)]
  if ":" in head and ";" in head and "," not in head.split(":")[0]:
    return read_metrica(path)
  raise TrajectoryFormatError(f"{path}: unknown trajectory format; known: {FORMATS}")


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


def windows(scene, num_frames, stride, max_agents=None, num_observed=None):
  """Fixed-length windows of a scene (already at the protocol's rate).

  Keeps the agents valid at every frame of the window (or, with
  `num_observed`, of its first `num_observed` frames), at most `max_agents`
  of them. Returns a list of (xy float32 [A, num_frames, 2], valid bool
  [A, num_frames], team int32 [A]) with A >= 1.
  """
  out = []
  need = num_frames if num_observed is None else num_observed
  for start in range(0, scene.num_frames - num_frames + 1, stride):
    keep = np.flatnonzero(scene.valid[:, start:start + need].all(1))[:max_agents]
    if len(keep):
      out.append((scene.xy[keep, start:start + num_frames],
                  scene.valid[keep, start:start + num_frames], scene.team[keep]))
  return out


def constant_velocity(observed, horizon):
  """The constant-velocity baseline: each agent's last step repeated.
  observed float [A, T, 2] (T >= 2) -> float [A, horizon, 2]."""
  observed = np.asarray(observed, np.float64)
  step = observed[:, -1] - observed[:, -2]
  return (observed[:, -1:] + step[:, None] * np.arange(1, horizon + 1)[None, :, None]).astype(
      np.float32)


def linear_extrapolation(observed, horizon):
  """The linear-extrapolation baseline: a least-squares line through each
  agent's whole observed path, continued. float [A, T, 2] -> [A, horizon, 2]."""
  observed = np.asarray(observed, np.float64)
  t = np.arange(observed.shape[1], dtype=np.float64)
  tc = t - t.mean()
  slope = np.einsum("t,atc->ac", tc, observed - observed.mean(1, keepdims=True)) / (tc ** 2).sum()
  intercept = observed.mean(1) - slope * t.mean()
  future = np.arange(observed.shape[1], observed.shape[1] + horizon, dtype=np.float64)
  return (intercept[:, None] + slope[:, None] * future[None, :, None]).astype(np.float32)


def linear_interpolation(xy, known):
  """Gaps filled by straight lines between their known ends (held before the
  first and after the last known frame). xy float [A, T, 2], known bool
  [A, T] -> float32 [A, T, 2]."""
  xy = np.asarray(xy, np.float64)
  out = xy.copy()
  t = np.arange(xy.shape[1])
  for a in range(xy.shape[0]):
    k = np.flatnonzero(known[a])
    if len(k):
      for c in range(2):
        out[a, :, c] = np.interp(t, k, xy[a, k, c])
  return out.astype(np.float32)


def displacement_errors(samples, truth, mask=None):
  """Euclidean error per sample, agent and frame: samples float [K, A, T, 2],
  truth [A, T, 2] -> float64 [K, A, T] (NaN where `mask` [A, T] is False)."""
  dist = np.linalg.norm(np.asarray(samples, np.float64) - np.asarray(truth, np.float64)[None],
                        axis=-1)
  if mask is not None:
    dist = np.where(np.asarray(mask, bool)[None], dist, np.nan)
  return dist


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


# ---- model windows: padding and masks ------------------------------------

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

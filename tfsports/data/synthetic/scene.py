"""Player and ball motion for one clip, scripted around one action.

Players steer towards targets with bounded speed and acceleration, so paths
are smooth and speeds plausible. The clip's action happens at an event frame
between 30% and 60% of the clip, so every clip shows it.

Actions, and what a viewer sees:
  pass       the carrier plays the ball along the ground to a team-mate.
  shot       the carrier strikes the ball fast and rising at the goal (soccer)
             or lofts it at the rim (basketball).
  dribble    the carrier runs with the ball at speed, weaving; it never leaves
             the carrier's team.
  tackle     a defender closes in and wins the ball (a steal in basketball).
  set_piece  play is stopped: everyone stands nearly still, the ball lies on
             a spot (a free kick; a free throw in basketball) and is then
             struck high into the area.
"""

import dataclasses

import numpy as np

from tfsports.data.synthetic import sports as sports_lib

REFEREE_TEAM = 2

# Kit colours far from grass, floor and each other: (shirt, shorts, number).
KITS = (
    ((200, 30, 40), (240, 240, 240), (255, 255, 255)),
    ((30, 60, 190), (30, 30, 60), (255, 255, 255)),
    ((245, 245, 245), (20, 20, 20), (20, 20, 20)),
    ((250, 220, 40), (30, 80, 160), (20, 20, 120)),
    ((120, 30, 140), (240, 240, 240), (255, 255, 255)),
    ((20, 20, 20), (20, 20, 20), (240, 200, 40)),
    ((80, 190, 235), (250, 250, 250), (10, 30, 90)),
)
REFEREE_KIT = ((240, 120, 200), (20, 20, 20), (20, 20, 20))


@dataclasses.dataclass
class Scene:
  """Everything true about one clip, in pitch coordinates.

  positions: float32 [T, N, 2] metres; ball: float32 [T, 3] metres;
  teams, jerseys, track_ids: int32 [N]; label: action index;
  kits: per team (shirt, shorts, number) RGB; kit_ids: per team, the index
  into KITS (the referee's is len(KITS)); phase: float32 [T, N] gait.
  """
  sport: sports_lib.Sport
  positions: np.ndarray
  ball: np.ndarray
  teams: np.ndarray
  jerseys: np.ndarray
  track_ids: np.ndarray
  label: int
  kits: tuple
  kit_ids: tuple
  phase: np.ndarray
  event_frame: int

  @property
  def label_name(self):
    return sports_lib.ACTION_CLASSES[self.label]


def _steer(pos, vel, target, max_speed, max_accel, dt):
  desired = (target - pos) * 2.0
  speed = np.linalg.norm(desired, axis=-1, keepdims=True)
  desired = desired * np.minimum(1.0, max_speed / np.maximum(speed, 1e-6))
  dv = desired - vel
  dv_norm = np.linalg.norm(dv, axis=-1, keepdims=True)
  dv = dv * np.minimum(1.0, max_accel * dt / np.maximum(dv_norm, 1e-6))
  vel = vel + dv
  return pos + vel * dt, vel


def _flight(start, end, duration, apex, num_steps):
  """Ball positions along a parabola from `start` to `end`, [num_steps, 3]."""
  s = np.clip(np.arange(1, num_steps + 1) / max(duration, 1e-6), 0.0, 1.0)
  xyz = start[None] + (end - start)[None] * s[:, None]
  xyz[:, 2] += 4.0 * apex * s * (1.0 - s)
  return xyz


def simulate(sport, num_frames, fps, label, rng, referee=True):
  """Simulates one clip of `sport` showing action `label`; returns `Scene`."""
  L, W = sport.length, sport.width
  n_team = sport.players_per_team
  dt = 1.0 / fps
  attack_right = bool(rng.integers(2))
  direction = 1.0 if attack_right else -1.0
  set_piece = label == 4

  # Formation: home positions in each half, jittered; team 0 attacks.
  rows = np.linspace(0.12, 0.88, n_team)
  home = np.stack([
      rng.uniform(0.15, 0.85, n_team) * L,
      rows * W + rng.normal(0, 0.04 * W, n_team)], -1)
  ball_xy = np.array([rng.uniform(0.3, 0.7) * L, rng.uniform(0.25, 0.75) * W])
  if label == 1:  # a shot is taken from near the goal
    ball_xy[0] = L - rng.uniform(0.12, 0.25) * L if attack_right else rng.uniform(
        0.12, 0.25) * L
    ball_xy[1] = W / 2 + rng.uniform(-0.2, 0.2) * W
  if set_piece and sport.name == "basketball":
    ball_xy = np.array([L - 5.8 if attack_right else 5.8, W / 2])
  attackers = home.copy()
  defenders = home.copy() + rng.normal(0, 0.05 * W, home.shape)
  # Both teams compress around the ball, defenders goal-side of it.
  attackers = 0.45 * attackers + 0.55 * (ball_xy + rng.normal(0, 0.18 * W, home.shape))
  defenders = 0.45 * defenders + 0.55 * (
      ball_xy + np.array([direction * 0.06 * L, 0]) + rng.normal(0, 0.18 * W, home.shape))
  pos = np.concatenate([attackers, defenders])
  teams = np.repeat(np.array([0, 1], np.int32), n_team)
  jerseys = np.concatenate([rng.choice(np.arange(1, 100), n_team, replace=False)
                            for _ in range(2)]).astype(np.int32)
  if referee:
    pos = np.concatenate([pos, (ball_xy + rng.normal(0, 0.1 * W, 2))[None]])
    teams = np.append(teams, REFEREE_TEAM).astype(np.int32)
    jerseys = np.append(jerseys, 0).astype(np.int32)
  pos = np.clip(pos, [-2.0, -1.0], [L + 2.0, W + 1.0])
  num = len(pos)

  carrier = int(np.argmin(np.linalg.norm(pos[:n_team] - ball_xy, axis=-1)))
  pos[carrier] = ball_xy - np.array([direction * 0.7, 0])
  defenders_idx = np.arange(n_team, 2 * n_team)
  tackler = int(defenders_idx[np.argmin(np.linalg.norm(
      pos[defenders_idx] - pos[carrier], axis=-1))])
  mates = [i for i in range(n_team) if i != carrier]
  dists = np.linalg.norm(pos[mates] - pos[carrier], axis=-1)
  pass_scale = 0.12 * L
  receiver = mates[int(np.argmin(np.abs(dists - pass_scale)))]

  event = int(rng.integers(int(0.3 * num_frames), max(int(0.6 * num_frames), int(0.3 * num_frames) + 1)))
  event = min(event, num_frames - 2) if num_frames > 2 else 0
  if label == 3:
    # Put the tackler where it reaches the carrier at the event frame.
    approach = 0.8 * sport.max_speed * max(event, 1) * dt + 0.6
    side = np.array([direction, rng.uniform(-0.6, 0.6)])
    pos[tackler] = pos[carrier] + approach * side / np.linalg.norm(side)

  vel = rng.normal(0, 1.0, (num, 2))
  if set_piece:
    vel[:] = 0.0
    pos[carrier] = ball_xy - np.array([direction * 1.8, rng.uniform(-1, 1)])
  wander = rng.normal(0, 1.0, (num, 2))
  max_speed = np.full((num, 1), 0.55 * sport.max_speed)
  max_accel = 4.0

  positions = np.zeros((num_frames, num, 2))
  ball = np.zeros((num_frames, 3))
  phase = np.zeros((num_frames, num))
  gait = rng.uniform(0, 2 * np.pi, num)
  owner = carrier
  flight = None      # (positions [K, 3], receiver or -1)
  flight_step = 0
  ball_pos = np.array([ball_xy[0], ball_xy[1], 0.0])
  carrier_dir = np.array([direction, rng.uniform(-0.3, 0.3)])
  carrier_dir /= np.linalg.norm(carrier_dir)
  weave = rng.uniform(0, 2 * np.pi)

  for t in range(num_frames):
    time = t * dt
    targets = pos + wander * 2.0
    wander += rng.normal(0, 0.3, wander.shape)
    wander = np.clip(wander, -1.5, 1.5)
    speeds = max_speed.copy()
    # Everyone drifts with the ball.
    targets += 0.08 * (ball_pos[:2] - pos)
    if set_piece:
      speeds[:] = 0.6 if t < event else 2.5
      targets = pos + wander * 0.3
    if owner >= 0 and flight is None:
      carrier_speed = {0: 3.0, 1: 5.0, 2: 0.95 * sport.max_speed, 3: 4.0,
                       4: 3.5}[label]
      heading = carrier_dir.copy()
      if label == 2:
        heading[1] += 0.5 * np.sin(2.0 * time + weave)
      targets[owner] = pos[owner] + heading * carrier_speed
      speeds[owner] = carrier_speed
      if set_piece and t < event:
        targets[owner] = ball_pos[:2] - np.array([direction * 0.5, 0]) * (
            1.0 + 2.0 * (event - t) / max(event, 1))
        speeds[owner] = 3.0
      if label == 3 and owner == carrier:
        targets[tackler] = pos[owner]
        speeds[tackler] = sport.max_speed
      if label == 0 and t < event:
        targets[receiver] = pos[receiver] + rng.normal(0, 0.2, 2)
    if flight is not None and flight[1] >= 0:
      targets[flight[1]] = flight[0][-1, :2]
      speeds[flight[1]] = 4.0
    pos, vel = _steer(pos, vel, targets, speeds, max_accel * np.where(
        speeds > 5.0, 2.5, 1.0), dt)
    if set_piece and t < event:
      vel *= 0.5
    positions[t] = pos
    speed = np.linalg.norm(vel, axis=-1)
    gait += speed * dt * 3.2
    phase[t] = gait

    # The ball: events first, then follow the owner or fly.
    if t == event and owner >= 0 and flight is None:
      start = ball_pos.copy()
      if label == 0:
        lead = pos[receiver] + vel[receiver] * 0.5
        dist = np.linalg.norm(lead - start[:2])
        end = np.array([lead[0], lead[1], 1.1 if sport.name == "basketball" else 0.0])
        if sport.name == "basketball":
          start[2] = 1.1
        duration = dist / (14.0 if sport.name == "soccer" else 9.0) * fps
        flight = (_flight(start, end, duration, 0.0, int(np.ceil(duration)) + 1), receiver)
      elif label in (1, 4):
        if label == 1:
          goal = sports_lib.goal_target(sport, attack_right)
          goal[1] += rng.uniform(-2.5, 2.5) if sport.name == "soccer" else 0.0
          speed_ball = 26.0 if sport.name == "soccer" else 8.0
          apex = 0.8 if sport.name == "soccer" else 2.0
        else:
          if sport.name == "soccer":
            goal = np.array([L - 8.0 if attack_right else 8.0,
                             W / 2 + rng.uniform(-6, 6), 1.8])
            speed_ball, apex = 20.0, rng.uniform(3.5, 6.0)
          else:
            goal = sports_lib.goal_target(sport, attack_right)
            speed_ball, apex = 7.0, 1.5
        if sport.name == "basketball":
          start[2] = 2.2
        dist = np.linalg.norm(goal - start)
        duration = dist / speed_ball * fps
        flight = (_flight(start, goal, duration, apex, int(np.ceil(duration)) + 1), -1)
      elif label == 3:
        pass  # the tackle resolves on contact below
      owner = -1 if flight is not None else owner
      flight_step = 0
    if label == 3 and owner == carrier and t >= event - 1 and np.linalg.norm(
        pos[tackler] - pos[carrier]) < 1.5:
      owner = tackler
      vel[carrier] *= 0.2
      carrier_dir = np.array([-direction, rng.uniform(-0.5, 0.5)])
      carrier_dir /= np.linalg.norm(carrier_dir)
    if flight is not None:
      ball_pos = flight[0][min(flight_step, len(flight[0]) - 1)]
      flight_step += 1
      if flight_step >= len(flight[0]):
        if flight[1] >= 0:
          owner = flight[1]
          carrier_dir = vel[owner] / max(np.linalg.norm(vel[owner]), 1e-6)
        flight = None
    elif owner >= 0:
      heading = vel[owner] / max(np.linalg.norm(vel[owner]), 1e-6)
      touch = 0.45 + (0.35 * abs(np.sin(phase[t, owner] * 0.5))
                      if label == 2 else 0.0)
      ball_pos = np.array([pos[owner, 0] + heading[0] * touch,
                           pos[owner, 1] + heading[1] * touch, 0.0])
      if sport.name == "basketball":
        ball_pos[2] = 1.0 * abs(np.sin(phase[t, owner] * 0.8))
      if set_piece and t < event:
        ball_pos = np.array([ball_xy[0], ball_xy[1], 0.0])
    ball[t] = ball_pos

  kit_ids = rng.choice(len(KITS), 2, replace=False)
  kits = (KITS[kit_ids[0]], KITS[kit_ids[1]], REFEREE_KIT)
  return Scene(
      sport=sport,
      positions=positions.astype(np.float32),
      ball=ball.astype(np.float32),
      teams=teams,
      jerseys=jerseys,
      track_ids=np.arange(1, num + 1, dtype=np.int32),
      label=int(label),
      kits=kits,
      kit_ids=(int(kit_ids[0]), int(kit_ids[1]), len(KITS)),
      phase=phase.astype(np.float32),
      event_frame=event,
  )

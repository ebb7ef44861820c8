"""Playing surfaces: dimensions, markings, goals and team sizes, in metres.

Pitch coordinates: x along the length (0 at the left goal line), y across
(0 at the near touchline, the camera's side), z up.
"""

import dataclasses

import numpy as np

ACTION_CLASSES = ("pass", "shot", "dribble", "tackle", "set_piece")


@dataclasses.dataclass(frozen=True)
class Sport:
  name: str
  length: float
  width: float
  players_per_team: int
  ball_radius: float
  ball_color: tuple
  max_speed: float           # m/s, a sprint
  surface_colors: tuple      # two alternating stripe colours, RGB
  surroundings_color: tuple  # outside the lines
  line_color: tuple
  line_width: float          # metres


def _arc(cx, cy, r, a0, a1, n=24, z=0.0):
  t = np.linspace(a0, a1, n)
  return np.stack([cx + r * np.cos(t), cy + r * np.sin(t), np.full(n, z)], -1)


def _poly(points, z=0.0):
  points = np.asarray(points, np.float64)
  return np.concatenate([points, np.full((len(points), 1), z)], -1)


SOCCER = Sport(
    name="soccer", length=105.0, width=68.0, players_per_team=11,
    ball_radius=0.11, ball_color=(245, 245, 245), max_speed=8.5,
    surface_colors=((52, 128, 52), (44, 112, 44)),
    surroundings_color=(38, 96, 40), line_color=(235, 235, 235),
    line_width=0.12)

BASKETBALL = Sport(
    name="basketball", length=28.0, width=15.0, players_per_team=5,
    ball_radius=0.12, ball_color=(222, 110, 30), max_speed=7.5,
    surface_colors=((196, 150, 98), (188, 142, 92)),
    surroundings_color=(70, 60, 90), line_color=(250, 250, 250),
    line_width=0.05)

SPORTS = {s.name: s for s in (SOCCER, BASKETBALL)}


def markings(sport):
  """Returns (closed, polyline) lists of [K, 3] arrays of the court lines."""
  L, W = sport.length, sport.width
  closed = [_poly([(0, 0), (L, 0), (L, W), (0, W)])]
  lines = [_poly([(L / 2, 0), (L / 2, W)])]
  if sport.name == "soccer":
    closed.append(_arc(L / 2, W / 2, 9.15, 0, 2 * np.pi, 48)[:-1])
    for x0, s in ((0.0, 1.0), (L, -1.0)):
      lines.append(_poly([(x0, W / 2 - 20.16), (x0 + s * 16.5, W / 2 - 20.16),
                          (x0 + s * 16.5, W / 2 + 20.16), (x0, W / 2 + 20.16)]))
      lines.append(_poly([(x0, W / 2 - 9.16), (x0 + s * 5.5, W / 2 - 9.16),
                          (x0 + s * 5.5, W / 2 + 9.16), (x0, W / 2 + 9.16)]))
      # Penalty arc: the part of the 9.15 m circle outside the box.
      a = np.arccos(5.5 / 9.15)
      centre = 0.0 if s > 0 else np.pi
      lines.append(_arc(x0 + s * 11.0, W / 2, 9.15, centre - a, centre + a, 16))
  else:
    closed.append(_arc(L / 2, W / 2, 1.8, 0, 2 * np.pi, 32)[:-1])
    for x0, s in ((0.0, 1.0), (L, -1.0)):
      lines.append(_poly([(x0, W / 2 - 2.45), (x0 + s * 5.8, W / 2 - 2.45),
                          (x0 + s * 5.8, W / 2 + 2.45), (x0, W / 2 + 2.45)]))
      centre = 0.0 if s > 0 else np.pi
      lines.append(_arc(x0 + s * 5.8, W / 2, 1.8, centre - np.pi / 2,
                        centre + np.pi / 2, 16))
      # Three-point line: straight parts 0.9 m in from the sidelines.
      a = np.arcsin((W / 2 - 0.9) / 6.75)
      hoop = x0 + s * 1.575
      arc = _arc(hoop, W / 2, 6.75, centre - a, centre + a, 32)
      arc = arc[np.argsort(arc[:, 1])]
      lines.append(np.concatenate(
          [_poly([(x0, 0.9)]), arc, _poly([(x0, W - 0.9)])]))
  return closed, lines


def goals(sport):
  """3D polylines of goal frames (soccer) or backboard, rim and pole."""
  L, W = sport.length, sport.width
  out = []
  if sport.name == "soccer":
    for x0, s in ((0.0, -1.0), (L, 1.0)):
      y0, y1, h, d = W / 2 - 3.66, W / 2 + 3.66, 2.44, 1.5
      out.append(np.array([(x0, y0, 0), (x0, y0, h), (x0, y1, h), (x0, y1, 0)]))
      out.append(np.array([(x0 + s * d, y0, 0), (x0 + s * d, y0, h * 0.7),
                           (x0 + s * d, y1, h * 0.7), (x0 + s * d, y1, 0)]))
      out.append(np.array([(x0, y0, h), (x0 + s * d, y0, h * 0.7)]))
      out.append(np.array([(x0, y1, h), (x0 + s * d, y1, h * 0.7)]))
  else:
    for x0, s in ((0.0, 1.0), (L, -1.0)):
      board = x0 + s * 1.2
      out.append(np.array([(board, W / 2 - 0.9, 2.9), (board, W / 2 + 0.9, 2.9),
                           (board, W / 2 + 0.9, 3.95), (board, W / 2 - 0.9, 3.95),
                           (board, W / 2 - 0.9, 2.9)]))
      out.append(_arc(x0 + s * 1.575, W / 2, 0.23, 0, 2 * np.pi, 16, z=3.05))
      out.append(np.array([(x0 - s * 1.0, W / 2, 0), (x0 - s * 1.0, W / 2, 3.3),
                           (board, W / 2, 3.3)]))
  return out


def goal_target(sport, attack_right):
  """Where a shot aims: the goal mouth or the rim, [x, y, z]."""
  L, W = sport.length, sport.width
  if sport.name == "soccer":
    return np.array([L if attack_right else 0.0, W / 2, 1.0])
  x = L - 1.575 if attack_right else 1.575
  return np.array([x, W / 2, 3.05])

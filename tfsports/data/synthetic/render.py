"""Rasterises a `Scene` through a `CameraPath` with OpenCV (anti-aliased).

Players are drawn as upright figures whose extent is exactly their ground
truth box, far to near, so the box always covers the drawn pixels.
"""

import cv2
import numpy as np

from tfsports.data.synthetic import sports as sports_lib

_SHIFT = 4                 # fixed-point bits for sub-pixel anti-aliased drawing
_SCALE = 1 << _SHIFT
PLAYER_HEIGHT = 1.85       # metres
SKIN = (224, 172, 140)


def _fx(points):
  return np.round(points * _SCALE).astype(np.int32)


class Renderer:
  """Draws frames of one scene; builds per-clip geometry once."""

  def __init__(self, scene, camera, image_size):
    self.scene = scene
    self.camera = camera
    self.height, self.width = image_size
    sport = scene.sport
    closed, lines = sports_lib.markings(sport)
    self._closed = closed
    self._lines = lines
    self._goals = sports_lib.goals(sport)
    # Mowing stripes (or floor boards) as quads along the length.
    n = 12 if sport.name == "soccer" else 14
    xs = np.linspace(0, sport.length, n + 1)
    self._stripes = [np.array([(xs[i], 0, 0), (xs[i + 1], 0, 0),
                               (xs[i + 1], sport.width, 0), (xs[i], sport.width, 0)])
                     for i in range(n)]
    self._background = None

  def _line_px(self, t):
    return max(1, int(round(self.scene.sport.line_width * self.camera.focal[t] /
                            np.linalg.norm(self.camera.position - np.array(
                                [self.scene.sport.length / 2, 0, 0])) * 1.5)))

  def _draw_surface(self, t):
    sport = self.scene.sport
    frame = np.empty((self.height, self.width, 3), np.uint8)
    frame[:] = sport.surroundings_color
    for i, quad in enumerate(self._stripes):
      px, _ = self.camera.project(t, quad)
      cv2.fillConvexPoly(frame, _fx(px), sport.surface_colors[i % 2],
                         cv2.LINE_AA, _SHIFT)
    thickness = self._line_px(t)
    polys = [_fx(self.camera.project(t, p)[0]) for p in self._closed]
    cv2.polylines(frame, polys, True, sport.line_color, thickness, cv2.LINE_AA,
                  _SHIFT)
    polys = [_fx(self.camera.project(t, p)[0]) for p in self._lines]
    cv2.polylines(frame, polys, False, sport.line_color, thickness, cv2.LINE_AA,
                  _SHIFT)
    polys = [_fx(self.camera.project(t, p)[0]) for p in self._goals]
    goal_color = (250, 250, 250) if sport.name == "soccer" else (200, 60, 30)
    cv2.polylines(frame, polys, False, goal_color, max(1, thickness), cv2.LINE_AA,
                  _SHIFT)
    return frame

  def boxes(self, t):
    """Player boxes at frame t: float32 [N, 4] (x, y, w, h) and depth [N]."""
    pos = self.scene.positions[t]
    num = len(pos)
    feet = np.concatenate([pos, np.zeros((num, 1), np.float32)], -1)
    heads = feet + np.array([0, 0, PLAYER_HEIGHT], np.float32)
    foot_px, depth = self.camera.project(t, feet)
    head_px, _ = self.camera.project(t, heads)
    h = foot_px[:, 1] - head_px[:, 1]
    w = 0.42 * h
    x = foot_px[:, 0] - w / 2
    return np.stack([x, head_px[:, 1], w, h], -1).astype(np.float32), depth

  def _draw_player(self, frame, box, kit, number, phase):
    x, y, w, h = box
    if h < 1.0:
      return
    shirt, shorts, number_color = kit
    cx = x + w / 2
    # Legs swing with the gait phase; both stay within the box width.
    swing = 0.18 * w * np.sin(phase)
    leg_w = max(1, int(round(0.16 * w)))
    hip_y = y + 0.55 * h
    for side, s in ((-1, swing), (1, -swing)):
      hip = (cx + side * 0.12 * w, hip_y)
      foot = (np.clip(cx + side * 0.15 * w + s, x + leg_w / 2, x + w - leg_w / 2),
              y + h - leg_w / 2)
      cv2.line(frame, tuple(_fx(np.array(hip))), tuple(_fx(np.array(foot))),
               SKIN, leg_w, cv2.LINE_AA, _SHIFT)
    # Shorts, torso with arms, head.
    cv2.rectangle(frame, tuple(_fx(np.array([cx - 0.3 * w, y + 0.48 * h]))),
                  tuple(_fx(np.array([cx + 0.3 * w, y + 0.64 * h]))),
                  shorts, -1, cv2.LINE_AA, _SHIFT)
    torso = np.array([[x + 0.02 * w, y + 0.2 * h], [x + 0.98 * w, y + 0.2 * h],
                      [cx + 0.34 * w, y + 0.5 * h], [cx - 0.34 * w, y + 0.5 * h]])
    cv2.fillConvexPoly(frame, _fx(torso), shirt, cv2.LINE_AA, _SHIFT)
    r = 0.09 * h
    cv2.circle(frame, tuple(_fx(np.array([cx, y + r]))), int(round(r * _SCALE)),
               SKIN, -1, cv2.LINE_AA, _SHIFT)
    if number > 0 and h >= 24:
      text = str(int(number))
      scale = 0.011 * h
      thick = max(1, int(round(0.03 * h)))
      (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
      org = (int(round(cx - tw / 2)), int(round(y + 0.36 * h + th / 2)))
      cv2.putText(frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, number_color,
                  thick, cv2.LINE_AA)

  def render(self, t):
    """Returns (frame uint8 [H, W, 3], boxes [N, 4], ball_px [2], ball_visible,
    visibility [N])."""
    scene, camera = self.scene, self.camera
    if camera.is_static:
      if self._background is None:
        self._background = self._draw_surface(0)
      frame = self._background.copy()
    else:
      frame = self._draw_surface(t)
    boxes, depth = self.boxes(t)
    ball = scene.ball[t].astype(np.float64)
    ball_px, ball_depth = camera.project(t, ball)
    ball_r = max(1.0, camera.focal[t] * scene.sport.ball_radius / ball_depth)
    shadow_px, _ = camera.project(t, np.array([ball[0], ball[1], 0.0]))
    cv2.ellipse(frame, tuple(_fx(shadow_px)),
                (int(ball_r * _SCALE), int(ball_r * 0.45 * _SCALE)), 0, 0, 360,
                (25, 60, 25) if scene.sport.name == "soccer" else (120, 90, 60),
                -1, cv2.LINE_AA, _SHIFT)

    on_screen = ((boxes[:, 0] < self.width) & (boxes[:, 0] + boxes[:, 2] > 0) &
                 (boxes[:, 1] < self.height) & (boxes[:, 1] + boxes[:, 3] > 0))
    ball_drawn = False
    order = np.argsort(-depth)
    ball_in_frame = (0 <= ball_px[0] < self.width) and (0 <= ball_px[1] < self.height)
    ball_visible = ball_in_frame
    for i in order:
      # The ball is drawn in depth order among the players.
      if not ball_drawn and depth[i] < ball_depth:
        self._draw_ball(frame, ball_px, ball_r)
        ball_drawn = True
      if not on_screen[i]:
        continue
      x, y, w, h = boxes[i]
      if ball_drawn and ball_visible and (x <= ball_px[0] <= x + w) and (
          y <= ball_px[1] <= y + h):
        ball_visible = False
      team = scene.teams[i]
      self._draw_player(frame, boxes[i], scene.kits[team], scene.jerseys[i],
                        scene.phase[t, i])
    if not ball_drawn:
      self._draw_ball(frame, ball_px, ball_r)
    return frame, boxes, ball_px.astype(np.float32), bool(ball_visible), \
        self.visibility(boxes, depth)

  def _draw_ball(self, frame, px, r):
    cv2.circle(frame, tuple(_fx(px)), int(round(r * _SCALE)),
               self.scene.sport.ball_color, -1, cv2.LINE_AA, _SHIFT)

  def visibility(self, boxes, depth):
    """Fraction of each box inside the frame and not covered by nearer boxes.

    Estimated on a coarse grid over each box, which is exact enough for the
    MOT visibility column and cheap.
    """
    g = (np.arange(6, dtype=np.float32) + 0.5) / 6
    gx, gy = np.meshgrid(g, g)
    # Grid points of every box: [N, 36].
    px = boxes[:, :1] + gx.reshape(1, -1) * boxes[:, 2:3]
    py = boxes[:, 1:2] + gy.reshape(1, -1) * boxes[:, 3:4]
    inside = (px >= 0) & (px < self.width) & (py >= 0) & (py < self.height)
    # covered[i, k, j]: point k of box i lies in box j, and j is nearer.
    bx, by, bw, bh = (boxes[None, None, :, c] for c in range(4))
    covered = ((px[..., None] >= bx) & (px[..., None] <= bx + bw) &
               (py[..., None] >= by) & (py[..., None] <= by + bh) &
               (depth[None, None, :] < depth[:, None, None]))
    inside &= ~covered.any(-1)
    return inside.mean(-1).astype(np.float32)

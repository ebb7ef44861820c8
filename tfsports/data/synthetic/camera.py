"""Pinhole cameras over the pitch: a static courtside view, a broadcast
view that pans after the ball and zooms slowly, and a close view that keeps
the play around the ball in frame (for action recognition at low resolution)."""

import numpy as np


def look_at(position, target):
  """World-to-camera rotation: rows are right, down, forward."""
  forward = target - position
  forward = forward / np.linalg.norm(forward)
  right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
  right = right / np.linalg.norm(right)
  down = np.cross(forward, right)
  return np.stack([right, down, forward])


class CameraPath:
  """Per-frame projection matrices for one clip.

  Attributes:
    matrices: float64 [T, 3, 4], world (metres) to homogeneous pixels.
    focal: float64 [T], focal length in pixels (for sizes of round things).
    position: float64 [3], the camera centre.
  """

  def __init__(self, sport, image_size, ball_path, mode, rng, shake=0.0):
    height, width = image_size
    num_frames = len(ball_path)
    L, W = sport.length, sport.width
    distance = 0.35 * W + 0.12 * L
    self.position = np.array([L / 2, -distance, 0.55 * distance + 4.0])
    centre = np.array([L / 2, W / 2, 0.0])
    rotation = look_at(self.position, centre)
    # Fit the whole pitch into the frame at unit focal length, then scale.
    corners = np.array([[0, 0, 0], [L, 0, 0], [L, W, 0], [0, W, 0]], float)
    cam = (corners - self.position) @ rotation.T
    xy = cam[:, :2] / cam[:, 2:]
    fit = min((width / 2) / np.abs(xy[:, 0]).max(),
              (height / 2) / np.abs(xy[:, 1]).max()) * 0.96
    if mode == "static":
      targets = np.repeat(centre[None], num_frames, 0)
      zoom = np.ones(num_frames)
    elif mode == "broadcast":
      # The operator follows the ball with lag, which also smooths the pan.
      targets = np.empty((num_frames, 3))
      follow = ball_path[0, :2].copy()
      for t in range(num_frames):
        follow += 0.12 * (ball_path[t, :2] - follow)
        targets[t] = (follow[0], 0.4 * follow[1] + 0.6 * W / 2, 0.0)
      lo, hi = (2.2, 3.5) if sport.name == "soccer" else (1.3, 2.0)
      z0, z1 = rng.uniform(lo, hi, size=2)
      zoom = np.linspace(z0, z1, num_frames)
    elif mode == "close":
      targets = np.empty((num_frames, 3))
      follow = ball_path[0, :2].copy()
      for t in range(num_frames):
        follow += 0.25 * (ball_path[t, :2] - follow)
        targets[t] = (follow[0], follow[1], 0.0)
      # About 28 m of soccer pitch (13 m of court) across the frame.
      view = 0.27 * L if sport.name == "soccer" else 0.46 * L
      distance = np.linalg.norm(targets - self.position, axis=-1)
      zoom = (width / 2) * distance / (view / 2) / fit
    else:
      raise ValueError(f"camera must be 'static', 'broadcast' or 'close', got {mode!r}")
    if shake:
      jitter = rng.normal(0.0, shake, size=(num_frames, 3)) * (L / 105.0)
      jitter[:, 2] = 0.0
      targets = targets + jitter
    self.focal = fit * zoom
    intrinsics = np.zeros((num_frames, 3, 3))
    intrinsics[:, 0, 0] = self.focal
    intrinsics[:, 1, 1] = self.focal
    intrinsics[:, 0, 2] = width / 2
    intrinsics[:, 1, 2] = height / 2
    intrinsics[:, 2, 2] = 1.0
    self.matrices = np.empty((num_frames, 3, 4))
    for t in range(num_frames):
      r = look_at(self.position, targets[t])
      extrinsic = np.concatenate([r, -(r @ self.position)[:, None]], 1)
      self.matrices[t] = intrinsics[t] @ extrinsic
    self.is_static = mode == "static" and not shake

  def project(self, t, points):
    """Projects [..., 3] world points at frame t: pixels [..., 2], depth [...]."""
    h = points @ self.matrices[t, :, :3].T + self.matrices[t, :, 3]
    depth = h[..., 2]
    return h[..., :2] / depth[..., None], depth

"""Camera motion and the pitch: frame-to-frame motion by sparse optical flow
(a panning broadcast camera), composing it, and the homography from image
points to pitch metres."""

import cv2
import numpy as np


class CameraMotion:
  """Frame-to-frame camera motion by sparse optical flow: corners of the
  previous frame followed by pyramidal Lucas-Kanade, and a similarity
  transform (rotation, uniform scale, shift) fitted by RANSAC, so players
  moving against the background are outliers. Works on frames at most
  `work_width` wide; returns affines in full-frame pixels."""

  def __init__(self, work_width=640):
    self.work_width = work_width
    self.previous = None

  def __call__(self, frame):
    """affine float [2, 3] from the previous frame's pixels to this one's
    (identity on the first frame or when too few points are followed)."""
    scale = min(1.0, self.work_width / frame.shape[1])
    gray = cv2.cvtColor(cv2.resize(frame, None, fx=scale, fy=scale,
                                   interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    previous, self.previous = self.previous, gray
    identity = np.eye(2, 3)
    if previous is None:
      return identity
    points = cv2.goodFeaturesToTrack(previous, maxCorners=300, qualityLevel=0.01,
                                     minDistance=8)
    if points is None or len(points) < 8:
      return identity
    moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, gray, points, None)
    ok = status.reshape(-1) == 1
    if ok.sum() < 8:
      return identity
    # A still camera: codec noise alone would make the chained motion
    # drift, which the pitch mapping would then carry.
    if np.median(np.abs(moved[ok] - points[ok])) < 0.1:
      return identity
    affine, _ = cv2.estimateAffinePartial2D(points[ok], moved[ok], method=cv2.RANSAC,
                                            ransacReprojThreshold=1.0)
    if affine is None:
      return identity
    affine[:, 2] /= scale
    return affine


def compose(a, b):
  """The affine doing b, then a (both [2, 3])."""
  return (np.vstack([a, [0, 0, 1]]) @ np.vstack([b, [0, 0, 1]]))[:2]


def parse_pitch_points(text):
  """'u,v,X,Y;...' (image pixels of the first frame; pitch metres) ->
  image-to-pitch homography [3, 3]. Needs 4 or more pairs."""
  try:
    pairs = np.array([[float(v) for v in p.split(",")] for p in text.split(";") if p.strip()])
  except ValueError:
    raise ValueError(f"pitch points must be 'u,v,X,Y;...', got {text!r}") from None
  if pairs.ndim != 2 or pairs.shape[1] != 4 or len(pairs) < 4:
    raise ValueError(f"need at least 4 point pairs 'u,v,X,Y', got {len(pairs)}")
  homography, _ = cv2.findHomography(pairs[:, :2], pairs[:, 2:])
  if homography is None:
    raise ValueError("the pitch points are degenerate (collinear?)")
  return homography


def to_pitch(homography, camera_to_first, points):
  """Image points [N, 2] of a frame -> pitch metres [N, 2], through the
  camera motion back to the first frame, where the points were given."""
  p = np.asarray(points, np.float64).reshape(-1, 2)
  back = np.linalg.inv(np.vstack([camera_to_first, [0, 0, 1]]))[:2]
  p = p @ back[:, :2].T + back[:, 2]
  q = np.concatenate([p, np.ones((len(p), 1))], 1) @ homography.T
  return q[:, :2] / q[:, 2:]

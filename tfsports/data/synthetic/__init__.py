"""The built-in dataset: seeded, deterministic procedural sports footage with
full ground truth on every frame.

    from tfsports.data import synthetic
    clip = synthetic.render_clip(synthetic.SceneConfig.from_preset("tiny"), seed=0, index=3)
    clip["frames"]   # uint8 [T, H, W, 3]

Clip `index` under `seed` is always the same clip, whatever else is rendered
before it or in which process, so datasets shard and resume exactly.
"""

import dataclasses

import cv2
import numpy as np

from tfsports.data.synthetic import camera as camera_lib
from tfsports.data.synthetic import render as render_lib
from tfsports.data.synthetic import scene as scene_lib
from tfsports.data.synthetic import sports as sports_lib
from tfsports.data.synthetic.sports import ACTION_CLASSES
from tfsports import config as config_lib

REFEREE_TEAM = scene_lib.REFEREE_TEAM
NUM_KITS = len(scene_lib.KITS) + 1     # team kits and the referee's
MAX_SIZE = (1080, 1920)


@dataclasses.dataclass(frozen=True)
class SceneConfig(config_lib.Config):
  """What the renderer draws.

  sport: "soccer", "basketball" or "random" (chosen per clip).
  camera: "static" (courtside, whole pitch), "broadcast" (pans after the
    ball, zooms slowly), "close" (tight on the play around the ball) or
    "random" (static or broadcast).
  image_size: (height, width), up to 1080 x 1920.
  Nuisances, all off at 0: motion_blur (pixels of horizontal smear),
  noise (sensor noise std in 0-255 units), jpeg_quality (compression
  artefacts, 1-100), lighting (peak relative change of brightness over the
  clip), shake (camera jitter, metres of aim on a soccer pitch).
  """
  sport: str = "random"
  camera: str = "random"
  image_size: tuple = (256, 256)
  num_frames: int = 16
  fps: float = 25.0
  referee: bool = True
  motion_blur: float = 0.0
  noise: float = 0.0
  jpeg_quality: int = 0
  lighting: float = 0.0
  shake: float = 0.0

  def __post_init__(self):
    h, w = self.image_size
    if not (8 <= h <= MAX_SIZE[0] and 8 <= w <= MAX_SIZE[1]):
      raise ValueError(f"image_size must be within 8x8..1080x1920, got {self.image_size}")
    if self.sport not in ("random",) + tuple(sports_lib.SPORTS):
      raise ValueError(f"unknown sport {self.sport!r}")
    if self.camera not in ("random", "static", "broadcast", "close"):
      raise ValueError(f"unknown camera {self.camera!r}")
    if self.num_frames < 1 or self.fps <= 0:
      raise ValueError("num_frames must be >= 1 and fps > 0")



PRESETS = {
    # Test-sized: 4 frames of 16x16.
    "tiny": SceneConfig(image_size=(16, 16), num_frames=4),
    "base": SceneConfig(image_size=(256, 256), num_frames=16),
    # Actions unfold over about 1.5 s; 10 fps keeps them inside 16 frames.
    "action": SceneConfig(image_size=(96, 96), num_frames=16, fps=10.0, camera="close"),
    "broadcast_720p": SceneConfig(image_size=(720, 1280), num_frames=50,
                                  camera="broadcast", motion_blur=2.0,
                                  noise=2.0),
}
config_lib.register_presets(SceneConfig, PRESETS)


def clip_rng(seed, index):
  """The generator for clip `index` under `seed`: independent of order."""
  return np.random.default_rng([int(seed), int(index), 0x5EED])


def simulate_clip(config, seed, index, label=None):
  """Samples the scene and camera of one clip; returns (Scene, CameraPath)."""
  rng = clip_rng(seed, index)
  sport_name = config.sport
  if sport_name == "random":
    sport_name = ("soccer", "basketball")[rng.integers(2)]
  sport = sports_lib.SPORTS[sport_name]
  if label is None:
    label = int(rng.integers(len(ACTION_CLASSES)))
  scene = scene_lib.simulate(sport, config.num_frames, config.fps, label, rng,
                             referee=config.referee)
  mode = config.camera
  if mode == "random":
    mode = ("static", "broadcast")[rng.integers(2)]
  camera = camera_lib.CameraPath(sport, config.image_size, scene.ball, mode, rng,
                                 shake=config.shake)
  return scene, camera


def _apply_nuisances(frame, t, config, rng, num_frames):
  if config.motion_blur >= 1.0:
    k = int(round(config.motion_blur)) | 1
    frame = cv2.blur(frame, (k, 1))
  if config.lighting:
    gain = 1.0 + config.lighting * np.sin(np.pi * t / max(num_frames - 1, 1))
    frame = cv2.convertScaleAbs(frame, alpha=gain)
  if config.noise:
    # cv2.randn would be faster but its seed is process-global, which breaks
    # determinism under parallel rendering.
    noise = rng.standard_normal(frame.shape, dtype=np.float32) * config.noise
    frame = cv2.add(frame, noise, dtype=cv2.CV_8U)
  if config.jpeg_quality:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY,
                                            int(config.jpeg_quality)])
    frame = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
  return frame


def render_clip(config, seed=0, index=0, label=None):
  """Renders clip `index` of the synthetic set under `seed`.

  Args:
    config: `SceneConfig`.
    seed, index: together fix the clip exactly.
    label: force this action index; None draws one uniformly.

  Returns a dict of numpy arrays (T = num_frames, N = people on the pitch):
    frames: uint8 [T, H, W, 3] RGB.
    boxes: float32 [T, N, 4] each person's full extent (x, y, w, h), pixels;
      may reach outside the frame.
    visibility: float32 [T, N] fraction inside the frame and unoccluded.
    track_ids: int32 [N] (1-based, as MOT), teams: int32 [N] (0, 1, and 2 for
      the referee), jerseys: int32 [N] (0 for the referee), kits: int32 [N]
      the kit each wears (index into scene.KITS; len(KITS) for the referee):
      team numbers are per clip, kits are the same across clips.
    positions: float32 [T, N, 2] pitch coordinates, metres.
    ball: float32 [T, 3] pitch coordinates, metres (z up).
    ball_pixels: float32 [T, 2]; ball_visible: bool [T].
    label: int32 [] action index into ACTION_CLASSES.
    sport: str; pitch_size: float32 [2] (length, width) in metres.
  """
  scene, camera = simulate_clip(config, seed, index, label)
  renderer = render_lib.Renderer(scene, camera, config.image_size)
  # Nuisance noise has its own stream, so turning it on never changes the scene.
  nuisance_rng = np.random.default_rng([int(seed), int(index), 0xB1A5])
  T = config.num_frames
  frames, boxes, vis, ball_px, ball_vis = [], [], [], [], []
  for t in range(T):
    frame, b, bp, bv, v = renderer.render(t)
    frames.append(_apply_nuisances(frame, t, config, nuisance_rng, T))
    boxes.append(b)
    vis.append(v)
    ball_px.append(bp)
    ball_vis.append(bv)
  return {
      "frames": np.stack(frames),
      "boxes": np.stack(boxes),
      "visibility": np.stack(vis),
      "track_ids": scene.track_ids,
      "teams": scene.teams,
      "jerseys": scene.jerseys,
      "kits": np.array([scene.kit_ids[t] for t in scene.teams], np.int32),
      "positions": scene.positions,
      "ball": scene.ball,
      "ball_pixels": np.stack(ball_px),
      "ball_visible": np.array(ball_vis),
      "label": np.int32(scene.label),
      "sport": scene.sport.name,
      "pitch_size": np.array([scene.sport.length, scene.sport.width], np.float32),
  }



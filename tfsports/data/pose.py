"""Body pose per frame from MediaPipe's BlazePose models (Apache-2.0), run
with ai_edge_litert.

The two .tflite files ship inside the `mediapipe==0.10.21` wheel. Its
declared dependencies clash with ours (numpy<2, protobuf<5,
opencv-contrib-python), so it is installed with `pip install --no-deps
mediapipe==0.10.21` and never imported: the files are found through
`importlib.util.find_spec`. Neither file holds its post-processing, which
is written here after MediaPipe's graphs:

- `PoseDetector` (pose_detection.tflite, 224x224, values in [-1, 1]): the
  SSD anchors (`ssd_anchors`: 2254 of them, strides 8, 16, 32, 32, 32,
  fixed size), box and keypoint decoding and non-maximum suppression; its
  4 keypoints are the hip centre, a point on the body's enclosing circle,
  the shoulder centre and a point on the upper body's circle.
- `PoseLandmarker` (pose_landmark_full.tflite, 256x256, values in [0, 1]):
  39 landmarks x (x, y, z, visibility logit, presence logit) in input
  pixels, of which the first 33 are the body (`KEYPOINT_NAMES`); and a
  pose-present probability.

`clip_poses` gives per frame the keypoints normalised to the person's box,
their visibility, the box (normalised to the frame) and the pose score;
`cached_clip_poses` keeps them per file.
"""

import dataclasses
import hashlib
import importlib.util
import json
import os
import tempfile

import cv2
import numpy as np

from tfsports import errors

INSTALL = "pip install --no-deps mediapipe==0.10.21"
DETECTOR_FILE = os.path.join("modules", "pose_detection", "pose_detection.tflite")
LANDMARK_FILE = os.path.join("modules", "pose_landmark", "pose_landmark_full.tflite")
NUM_KEYPOINTS = 33
KEYPOINT_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index")
# Bones, for drawing and for the motion features of the pose stream.
SKELETON = ((11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24),
            (23, 25), (25, 27), (24, 26), (26, 28), (27, 31), (28, 32), (0, 11), (0, 12))
# The version of the post-processing below, and of the frames it sees
# (2: decoded through `video_io.frame_to_rgb`): cached poses of another are
# redone.
VERSION = 2


class PoseModelMissingError(errors.UserError):
  """The BlazePose files are not installed."""


def model_path(name):
  """The path of a BlazePose file inside the installed mediapipe wheel."""
  spec = importlib.util.find_spec("mediapipe")
  if spec is None or spec.origin is None:
    raise PoseModelMissingError(
        f"the BlazePose pose models are not installed: run `{INSTALL}` (--no-deps: its "
        "declared numpy, protobuf and OpenCV pins clash with ours; only its .tflite files "
        "are used)")
  path = os.path.join(os.path.dirname(spec.origin), name)
  if not os.path.isfile(path):
    raise PoseModelMissingError(f"{path} is missing: reinstall with `{INSTALL}`")
  return path


def _interpreter(name, num_threads):
  from tfsports.serving import interpreters
  return interpreters.load_interpreter(model_path(name), num_threads)


def _sigmoid(x):
  # MediaPipe clips score logits at 100; float32 exp overflows past 88.
  return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, np.float64), -100.0, 100.0)))


def ssd_anchors(input_size=224, strides=(8, 16, 32, 32, 32)):
  """float32 [2254, 2] anchor centres (x, y) in [0, 1], in the output's
  order: MediaPipe's SsdAnchorsCalculator for pose detection (one aspect
  ratio plus the interpolated one per layer, fixed anchor size, so layers
  of one stride share cells)."""
  out = []
  layer = 0
  while layer < len(strides):
    same = layer
    while same < len(strides) and strides[same] == strides[layer]:
      same += 1
    per_cell = 2 * (same - layer)
    cells = int(np.ceil(input_size / strides[layer]))
    ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells,
                         indexing="ij")
    centres = np.stack([xs.ravel(), ys.ravel()], 1)
    out.append(np.repeat(centres, per_cell, axis=0))
    layer = same
  return np.concatenate(out).astype(np.float32)


def letterbox(image, size):
  """(square uint8 [size, size, 3] with `image` centred in black, affine
  [2, 3] from output pixels back to image pixels)."""
  h, w = image.shape[:2]
  s = size / max(h, w)
  nh, nw = max(1, round(h * s)), max(1, round(w * s))
  y0, x0 = (size - nh) // 2, (size - nw) // 2
  out = np.zeros((size, size, 3), np.uint8)
  out[y0:y0 + nh, x0:x0 + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
  back = np.array([[w / nw, 0, -x0 * w / nw], [0, h / nh, -y0 * h / nh]], np.float64)
  return out, back


def apply_affine(m, points):
  """points [..., 2] through the affine m [2, 3]."""
  points = np.asarray(points, np.float64)
  return points @ m[:, :2].T + m[:, 2]


@dataclasses.dataclass
class Person:
  """One detection: box (x, y, w, h) and keypoints [4, 2] in image
  pixels, score."""
  box: np.ndarray
  keypoints: np.ndarray
  score: float


class PoseDetector:
  """People in a frame (uint8 RGB [H, W, 3]) -> [Person], best first."""
  SIZE = 224

  def __init__(self, min_score=0.5, nms_iou=0.3, num_threads=2):
    self.interpreter = _interpreter(DETECTOR_FILE, num_threads)
    self.input = self.interpreter.get_input_details()[0]["index"]
    outputs = {tuple(d["shape"][1:]): d["index"] for d in self.interpreter.get_output_details()}
    self.boxes_index, self.scores_index = outputs[(2254, 12)], outputs[(2254, 1)]
    self.anchors = ssd_anchors(self.SIZE)
    self.min_score, self.nms_iou = min_score, nms_iou

  def raw(self, image):
    """(raw boxes [2254, 12], score logits [2254]) and the letterbox's
    affine back to image pixels."""
    square, back = letterbox(image, self.SIZE)
    x = square.astype(np.float32) / 127.5 - 1.0
    self.interpreter.set_tensor(self.input, x[None])
    self.interpreter.invoke()
    return (self.interpreter.get_tensor(self.boxes_index)[0],
            self.interpreter.get_tensor(self.scores_index)[0, :, 0], back)

  def __call__(self, image):
    raw, logits, back = self.raw(image)
    return decode_detections(raw, logits, self.anchors, back, self.SIZE, self.min_score,
                             self.nms_iou)


def decode_detections(raw, logits, anchors, back, size, min_score=0.5, nms_iou=0.3):
  """MediaPipe's TensorsToDetections for pose detection: offsets from the
  anchor centres in input pixels, (x, y, w, h) then 4 keypoints (x, y);
  sigmoid scores; then NMS. Returns [Person] in image pixels, best first."""
  scores = _sigmoid(logits)
  keep = np.flatnonzero(scores >= min_score)
  if not len(keep):
    return []
  r = raw[keep].astype(np.float64) / size
  a = anchors[keep].astype(np.float64)
  centre = r[:, :2] + a
  wh = r[:, 2:4]
  keypoints = r[:, 4:12].reshape(-1, 4, 2) + a[:, None]
  corners = np.stack([centre - wh / 2, centre + wh / 2], 1) * size
  corners = apply_affine(back, corners)
  kp = apply_affine(back, keypoints * size)
  boxes = np.concatenate([corners[:, 0], corners[:, 1] - corners[:, 0]], 1)
  picked = cv2.dnn.NMSBoxes(boxes.tolist(), scores[keep].tolist(), min_score, nms_iou)
  picked = np.asarray(picked, int).reshape(-1)
  order = picked[np.argsort(-scores[keep][picked])]
  return [Person(boxes[i].astype(np.float32), kp[i].astype(np.float32),
                 float(scores[keep][i])) for i in order]


def person_roi(person, scale=1.25):
  """The landmark model's square region of a detection, as MediaPipe
  aligns it: centred on the hip centre, side twice the distance to the
  body-circle point, times `scale`, turned so that the body is upright.
  Returns (centre (x, y), side, rotation in radians)."""
  hip, circle = person.keypoints[0].astype(np.float64), person.keypoints[1].astype(np.float64)
  side = 2.0 * np.hypot(*(circle - hip)) * scale
  # The hip-to-shoulder direction should point up (90 degrees).
  shoulder = person.keypoints[2].astype(np.float64)
  angle = np.pi / 2 - np.arctan2(-(shoulder[1] - hip[1]), shoulder[0] - hip[0])
  angle = (angle + np.pi) % (2 * np.pi) - np.pi
  return hip, max(side, 8.0), float(angle)


def box_roi(box):
  """The square region of a person's box (x, y, w, h), upright: centred,
  as long as its longer side (a player-centred crop is letterboxed)."""
  x, y, w, h = np.asarray(box, np.float64)
  return np.array([x + w / 2, y + h / 2]), float(max(w, h)), 0.0


def roi_affine(centre, side, angle, size):
  """Affine [2, 3] from a `size` square input to image pixels of the
  region (centre, side, rotation)."""
  c, s = np.cos(angle), np.sin(angle)
  k = side / size
  rot = np.array([[c, -s], [s, c]]) * k
  offset = np.asarray(centre, np.float64) - rot @ np.array([size / 2, size / 2])
  return np.concatenate([rot, offset[:, None]], 1)


@dataclasses.dataclass
class Pose:
  """keypoints float32 [33, 2] in image pixels, visibility and presence
  [33] in [0, 1], score: the model's pose-present probability."""
  keypoints: np.ndarray
  visibility: np.ndarray
  presence: np.ndarray
  score: float


class PoseLandmarker:
  """33 body keypoints of the person in a region of a frame."""
  SIZE = 256

  def __init__(self, num_threads=2):
    self.interpreter = _interpreter(LANDMARK_FILE, num_threads)
    self.input = self.interpreter.get_input_details()[0]["index"]
    outputs = {tuple(d["shape"][1:]): d["index"] for d in self.interpreter.get_output_details()}
    self.landmarks_index, self.flag_index = outputs[(195,)], outputs[(1,)]

  @classmethod
  def model_input(cls, image, roi):
    """(float32 [1, 256, 256, 3] in [0, 1]: the region `roi` of uint8 RGB
    `image`, as the landmark model takes it; the affine map from input
    pixels back to the image)."""
    to_image = roi_affine(*roi, cls.SIZE)
    to_input = cv2.invertAffineTransform(to_image)
    x = cv2.warpAffine(image, to_input, (cls.SIZE, cls.SIZE), flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return (x.astype(np.float32) / 255.0)[None], to_image

  def __call__(self, image, roi):
    """image uint8 RGB [H, W, 3]; roi (centre, side, angle) as `box_roi`
    or `person_roi` give."""
    x, to_image = self.model_input(image, roi)
    self.interpreter.set_tensor(self.input, x)
    self.interpreter.invoke()
    raw = self.interpreter.get_tensor(self.landmarks_index)[0].reshape(39, 5)[:NUM_KEYPOINTS]
    flag = float(self.interpreter.get_tensor(self.flag_index).ravel()[0])
    return Pose(apply_affine(to_image, raw[:, :2]).astype(np.float32),
                _sigmoid(raw[:, 3]).astype(np.float32), _sigmoid(raw[:, 4]).astype(np.float32),
                flag)


def normalise_to_box(keypoints, box):
  """Keypoints [..., 2] in pixels -> relative to the box (x, y, w, h):
  (0, 0) its top-left corner, (1, 1) its bottom-right."""
  x, y, w, h = box
  return ((np.asarray(keypoints, np.float32) - (x, y)) / (max(w, 1e-6), max(h, 1e-6))
          ).astype(np.float32)


def keypoint_box(keypoints, visibility, min_visibility=0.5, margin=0.1):
  """The box (x, y, w, h) around the visible keypoints, with a margin."""
  pts = keypoints[visibility >= min_visibility]
  if len(pts) < 2:
    pts = keypoints
  lo, hi = pts.min(0), pts.max(0)
  pad = (hi - lo) * margin
  return np.concatenate([lo - pad, hi - lo + 2 * pad]).astype(np.float32)


class ClipPoser:
  """Poses of the frames of a clip. mode "crop": the frames are crops
  centred on one player (the basketball set), the landmark model runs on
  each whole crop; "frame": full frames, where the detector finds the
  person first (the best-scoring one), then the landmark model runs on its
  region."""

  def __init__(self, mode="crop", num_threads=2):
    if mode not in ("crop", "frame"):
      raise ValueError(f"mode must be 'crop' or 'frame', got {mode!r}")
    self.mode = mode
    self.landmarker = PoseLandmarker(num_threads)
    self.detector = PoseDetector(num_threads=num_threads) if mode == "frame" else None

  def __call__(self, frames):
    """frames uint8 [T, H, W, 3] -> dict of keypoints float32 [T, 33, 2]
    (relative to the person's box), visibility float32 [T, 33], boxes
    float32 [T, 4] (x, y, w, h relative to the frame), score float32 [T]
    (0 where nobody was found)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
      raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
    t, h, w = frames.shape[:3]
    out = {"keypoints": np.zeros((t, NUM_KEYPOINTS, 2), np.float32),
           "visibility": np.zeros((t, NUM_KEYPOINTS), np.float32),
           "boxes": np.zeros((t, 4), np.float32), "score": np.zeros((t,), np.float32)}
    for i, frame in enumerate(frames):
      if self.mode == "crop":
        roi = box_roi((0, 0, w, h))
      else:
        people = self.detector(frame)
        if not people:
          continue
        roi = person_roi(people[0])
      pose = self.landmarker(frame, roi)
      box = keypoint_box(pose.keypoints, pose.visibility)
      out["keypoints"][i] = normalise_to_box(pose.keypoints, box)
      out["visibility"][i] = pose.visibility
      out["boxes"][i] = box / (w, h, w, h)
      out["score"][i] = pose.score
    return out


def cache_key(path, mode, extra=""):
  """A key that changes with the file's content (size and mtime), the
  mode and the post-processing VERSION."""
  st = os.stat(path)
  text = json.dumps([os.path.abspath(path), st.st_size, st.st_mtime_ns, mode, VERSION, extra])
  return hashlib.sha1(text.encode()).hexdigest()[:20]


def default_cache_dir():
  return os.environ.get("TFSPORTS_POSE_CACHE",
                        os.path.join(os.path.expanduser("~"), ".cache", "tfsports", "pose"))


def cached_clip_poses(path, read_frames, poser, cache_dir=None, mode="crop", extra=""):
  """`poser(read_frames(path))`, kept in CACHE_DIR/<key>.npz: a file's
  poses are computed once (`extra` names anything else `read_frames`
  depends on, such as the frame rate it samples at). The cache is written atomically, and an
  unreadable cache file is recomputed, never trusted."""
  cache_dir = cache_dir or default_cache_dir()
  file = os.path.join(cache_dir, cache_key(path, mode, extra) + ".npz")
  if os.path.exists(file):
    try:
      with np.load(file) as data:
        return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError):
      pass
  result = poser(read_frames(path))
  os.makedirs(cache_dir, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".npz")
  with os.fdopen(fd, "wb") as f:
    np.savez(f, **result)
  os.replace(tmp, file)
  errors.public_mode(file)
  return result

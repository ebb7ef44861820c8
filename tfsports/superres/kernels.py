r"""Which kernel made a video small: the estimator behind
`tfsports upscale --degradation=auto`.

    tfsports train sr_kernels                      # about 2 minutes on 2 cores
    tfsports upscale IN.mp4 OUT.mp4 --model=rep_x4 --degradation=auto

A kernel-specific fine-tune beats the blind model only when it is told the
truth, and a wrong one costs more than blindness (docs/superres.md). The
per-video statistics tried first (difference and Fourier energies) moved
more with the content than with the kernel, so this is learned: a small
convolutional classifier of the downscaling kernel from standardised luma
patches of the low-resolution frames. It is trained on the training
footage and the renderer, each frame downscaled by every kernel the
evaluation uses (OpenCV's, as users' tools make them), half of them
JPEG-compressed afterwards, and held back by file.

A video's verdict unmixes its patches' votes, over frames spread through
it, through the confusion matrix measured on a calibration video. `choose` turns it into a model: the preset's fine-tune
for that kernel when there is one and the verdict is confident, else the
blind model.
"""

import dataclasses
import json
import os

import cv2
import numpy as np

from tfsports import config as config_lib
from tfsports import errors
from tfsports.data import real as real_data
from tfsports.training import job as job_lib

# Classes, named as `KERNELS` below and `--degradation` name them: the
# kernels with fine-tunes. OpenCV's other plain x4 resizes (bilinear,
# Lanczos, nearest) sample a few pixels round each point as bicubic does:
# a five-way estimator told them apart from bicubic no better than chance
# (35% over five classes, area alone right), so they are not classes.
KERNEL_CLASSES = ("area", "bicubic")
BUNDLED = os.path.join(os.path.dirname(__file__), "kernel_estimators")
MODEL_FILE = "estimator.keras"
TFLITE_FILE = "estimator_float32.tflite"
REPORT_FILE = "report.json"

REAL_TRAIN = tuple(os.path.join(real_data.REAL_ROOT, p) for p in (
    "video/tennis_broadcast_3.mp4", "video/tennis_broadcast_4.mp4",
    "video/compressed-handball_sideview.mp4", "video/v_CricketShot_g04_c01_rgb.gif",
    "ball/tennis_tracknet_game1_clip1/frames.mp4"))
# Held back by file: the super-resolution evaluation's two videos, and two
# sports nothing here trains on (still frames, grouped by source).
REAL_HELD_BACK = tuple(os.path.join(real_data.REAL_ROOT, p) for p in (
    "video/tennis_broadcast_6.mp4", "video/basketball_gym.mp4",
    "detection/soccer_dfl_players/images", "detection/volleyball_vnl_players/images"))


@dataclasses.dataclass(frozen=True)
class KernelEstimatorConfig(config_lib.Config):
  """One estimator run. `train_data` / `calibration_data` / `eval_data`:
  videos, or folders of still frames (one source per folder); `synthetic_clips`
  rendered scenes join the training data. The calibration sources, not
  trained on, measure the patch classifier's confusion matrix, which turns
  a video's patch votes into the share of each kernel (`verdict`). `frames_per_source` frames spread
  through each source, `patches_per_frame` of `patch_size` taken from each
  low-res frame (its most textured cells). `jpeg_prob` of the training
  frames are JPEG-compressed after downscaling at a quality drawn from
  `jpeg_quality`; `zoom` rescales each high-res frame first (content of
  other sizes). `min_confidence`: below it `choose` keeps the blind model."""
  scale: int = 4
  kernels: tuple = KERNEL_CLASSES
  patch_size: int = 32
  patches_per_frame: int = 16
  frames_per_source: int = 24
  synthetic_clips: int = 6
  # The heavily compressed handball video hides aliasing: every patch of
  # it reads as area, so it would calibrate nothing; it trains instead.
  train_data: tuple = REAL_TRAIN[:4]
  calibration_data: tuple = REAL_TRAIN[4:]
  eval_data: tuple = REAL_HELD_BACK
  jpeg_prob: float = 0.5
  jpeg_quality: tuple = (60, 95)
  zoom: tuple = (0.5, 1.0)
  filters: int = 32
  epochs: int = 12
  batch_size: int = 64
  learning_rate: float = 1e-3
  min_confidence: float = 0.6
  seed: int = 0
  run_dir: str = "runs/sr_kernels_x4"


PRESETS = config_lib.register_presets(KernelEstimatorConfig, {
    "x4": KernelEstimatorConfig(),
    # For tests: seconds on a CPU.
    "test": KernelEstimatorConfig(patch_size=16, patches_per_frame=4, frames_per_source=2,
                                  synthetic_clips=2, train_data=(), calibration_data=(),
                                  eval_data=(), filters=8,
                                  epochs=1, run_dir="runs/sr_kernels_test"),
})


# ---------------------------------------------------------------- data

def luma_patches(lr_frames, patch_size, per_frame, offset=(0, 0)):
  """The `per_frame` most textured `patch_size` cells of each frame's luma,
  each standardised to zero mean and unit spread (the kernel shows in the
  shape of edges, not in brightness or contrast).

  lr_frames: uint8 [T, h, w, 3] RGB. offset: (dy, dx) where the cell grid
  starts. Returns float32 [T * k, patch_size, patch_size, 1], k = min(
  per_frame, cells per frame); frames smaller than one cell give none.
  """
  out = []
  p = patch_size
  for frame in lr_frames:
    y = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YCrCb)[..., 0]
    y = y[offset[0]:, offset[1]:].astype(np.float32) / 255.0
    rows, cols = y.shape[0] // p, y.shape[1] // p
    if rows == 0 or cols == 0:
      continue
    cells = y[:rows * p, :cols * p].reshape(rows, p, cols, p).transpose(0, 2, 1, 3)
    cells = cells.reshape(-1, p, p)
    spread = cells.std(axis=(1, 2))
    keep = np.argsort(-spread, kind="stable")[:per_frame]
    chosen = cells[keep]
    chosen = (chosen - chosen.mean(axis=(1, 2), keepdims=True)) / (
        spread[keep][:, None, None] + 1e-3)
    out.append(chosen)
  if not out:
    return np.zeros((0, p, p, 1), np.float32)
  return np.concatenate(out)[..., None].astype(np.float32)


# Downscaling kernels of the real-footage evaluation, as a user's tools make
# them: OpenCV's area filter (antialiased) and its plain resizes (no
# antialiasing, so they alias; bicubic and Lanczos also ring).
KERNELS = {"area": cv2.INTER_AREA, "bicubic": cv2.INTER_CUBIC,
           "bilinear": cv2.INTER_LINEAR, "lanczos": cv2.INTER_LANCZOS4,
           "nearest": cv2.INTER_NEAREST}
# A broadcast chain: the area downscale, then H.264 at this crf (a typical
# distribution quality), as "area_h264".
BROADCAST_CRF = 23


def downscale(frames, scale, kernel):
  """uint8 [T, H, W, 3] -> uint8 [T, H/scale, W/scale, 3] with an OpenCV
  kernel, or "KERNEL_h264": that kernel, then an H.264 round trip."""
  base = kernel[:-len("_h264")] if kernel.endswith("_h264") else kernel
  if base not in KERNELS:
    raise ValueError(f"unknown kernel {kernel!r}; known: {', '.join(KERNELS)} "
                     "(each also as KERNEL_h264)")
  h, w = frames.shape[1:3]
  small = np.stack([cv2.resize(f, (w // scale, h // scale), interpolation=KERNELS[base])
                    for f in frames])
  if base != kernel:
    from tfsports.data import degrade
    h, w = small.shape[1:3]
    # 4:2:0 H.264 needs even sizes: code an edge-padded copy, keep the frame.
    even = np.pad(small, [(0, 0), (0, h % 2), (0, w % 2), (0, 0)], mode="edge")
    small = degrade.h264_roundtrip(even, BROADCAST_CRF)[:, :h, :w]
  return small


def _jpeg(frame, quality):
  ok, data = cv2.imencode(".jpg", frame[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
  return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]


def source_frames(source, count):
  """uint8 [count', H, W, 3] RGB: `count` frames spread evenly through a
  video file, or through the sorted images of a folder (fewer when it
  has fewer). Raises `UserError` for a missing or unreadable source."""
  from tfsports.data import video_io
  if os.path.isdir(source):
    names = sorted(n for n in os.listdir(source)
                   if n.lower().endswith((".jpg", ".jpeg", ".png")))
    if not names:
      raise errors.UserError(f"{source}: no .jpg or .png frames")
    picks = [names[i] for i in np.linspace(0, len(names) - 1, min(count, len(names))).astype(int)]
    return [cv2.imread(os.path.join(source, n))[..., ::-1] for n in picks]
  if not os.path.isfile(source):
    raise errors.UserError(f"{source}: no such video or folder")
  try:
    total = video_io.probe(source).num_frames or count
    wanted = set(np.linspace(0, max(total - 1, 0), min(count, total)).astype(int).tolist())
    frames = []
    for i, frame in enumerate(video_io.iter_frames(source)):
      if i in wanted:
        frames.append(frame)
      if i >= max(wanted):
        break
  except video_io.VideoReadError as e:
    raise errors.UserError(str(e)) from None
  return frames


def kernel_patches(frames, config, rng=None):
  """Every kernel's patches of high-res frames: (patches float32 [N, P, P,
  1], labels int32 [N], the index into `config.kernels`).

  frames: uint8 RGB high-res frames [H, W, 3] (any sizes). With `rng`
  (training) each frame is first zoomed by a factor from `config.zoom`, the
  cell grid starts at a random offset and `config.jpeg_prob` of the low-res
  frames are JPEG-compressed; without it (evaluation) nothing is random.
  """
  xs, ys = [], []
  for frame in frames:
    if rng is not None:
      factor = rng.uniform(*config.zoom)
      h, w = frame.shape[:2]
      size = (max(int(w * factor), config.scale), max(int(h * factor), config.scale))
      frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    h, w = frame.shape[:2]
    frame = frame[:h // config.scale * config.scale, :w // config.scale * config.scale]
    for label, kernel in enumerate(config.kernels):
      lr = downscale(frame[None], config.scale, kernel)[0]
      offset = (0, 0)
      if rng is not None:
        if rng.random() < config.jpeg_prob:
          lr = _jpeg(lr, rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
        offset = tuple(rng.integers(0, config.patch_size // 2, size=2))
      patches = luma_patches(lr[None], config.patch_size, config.patches_per_frame, offset)
      xs.append(patches)
      ys.append(np.full(len(patches), label, np.int32))
  p = config.patch_size
  if not xs:
    return np.zeros((0, p, p, 1), np.float32), np.zeros((0,), np.int32)
  return np.concatenate(xs), np.concatenate(ys)


def training_frames(config):
  """The training sources' high-res frames and `synthetic_clips` rendered
  ones (broadcast 720p scenes, one frame in four)."""
  from tfsports.data import synthetic
  frames = []
  for source in config.train_data:
    frames += list(source_frames(source, config.frames_per_source))
  scene = synthetic.SceneConfig.from_preset("broadcast_720p", num_frames=8)
  for index in range(config.synthetic_clips):
    frames += list(synthetic.render_clip(scene, seed=config.seed, index=index)["frames"][::4])
  return frames


# ---------------------------------------------------------------- model

def apply_conv_block(x, filters, strides, name):
  import keras
  x = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", name=f"{name}_conv")(x)
  return keras.layers.ReLU(name=f"{name}_relu")(x)


def apply_head(x, num_classes):
  import keras
  x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
  return keras.layers.Dense(num_classes, name="logits")(x)


def build_kernel_estimator(config):
  """Functional Keras model: standardised luma patches float32 [B, P, P, 1]
  -> kernel logits [B, len(config.kernels)]. Full resolution first, where
  aliasing and ringing live, then two stride-2 stages."""
  import keras
  patches = keras.Input((config.patch_size, config.patch_size, 1), name="patches")
  f = config.filters
  x = apply_conv_block(patches, f, 1, "stem1")
  x = apply_conv_block(x, f, 1, "stem2")
  x = apply_conv_block(x, 2 * f, 2, "down1")
  x = apply_conv_block(x, 2 * f, 1, "mid1")
  x = apply_conv_block(x, 4 * f, 2, "down2")
  return keras.Model(patches, apply_head(x, len(config.kernels)), name="kernel_estimator")


# ---------------------------------------------------------------- verdict

def confusion_matrix(probabilities, labels, num_classes):
  """float64 [K, K]: row t, column p = the share of kernel t's patches
  voted p (a row with no patches is the identity's)."""
  votes = np.argmax(probabilities, -1)
  m = np.eye(num_classes)
  for t in range(num_classes):
    if np.any(labels == t):
      m[t] = np.bincount(votes[labels == t], minlength=num_classes) / np.sum(labels == t)
  # Calibration footage that reads alike under every kernel cannot unmix:
  # leave the votes as they are.
  if abs(np.linalg.det(m)) < 0.1:
    return np.eye(num_classes)
  return m


def verdict(probabilities, kernels, confusion):
  """One video's kernel from its patches' probabilities [N, K].

  A patch can show a plain resize (aliasing, ringing) but not the area
  filter, whose mark is their absence: area videos' patches split between
  the two while bicubic ones vote bicubic. So the patches' vote shares are
  unmixed through the calibration's `confusion` matrix (adjusted classify
  and count: the kernel shares q >= 0 summing to 1 with q @ confusion
  nearest to the votes). Returns {"kernel", "confidence" (its share),
  "shares": {kernel: q}, "votes": {kernel: share of votes}, "num_patches"}.
  """
  from scipy import optimize
  k = len(kernels)
  votes = np.bincount(np.argmax(probabilities, -1), minlength=k) / len(probabilities)
  # The sum-to-one row, weighted so that it holds almost exactly.
  a = np.vstack([np.asarray(confusion, np.float64).T, 10.0 * np.ones((1, k))])
  q, _ = optimize.nnls(a, np.concatenate([votes, [10.0]]))
  q = q / q.sum() if q.sum() > 0 else np.full(k, 1.0 / k)
  best = int(np.argmax(q))
  return {"kernel": kernels[best], "confidence": float(q[best]),
          "shares": {name: float(v) for name, v in zip(kernels, q)},
          "votes": {name: float(v) for name, v in zip(kernels, votes)},
          "num_patches": int(len(probabilities))}


# ---------------------------------------------------------------- train

def _accuracy(probabilities, labels):
  return float(np.mean(np.argmax(probabilities, -1) == labels)) if len(labels) else float("nan")


def evaluate_sources(predict, config, sources, confusion):
  """Held-back accuracy per source: each kernel's patches scored alone
  ("patch") and as one video's `verdict` ("video": 1 when the kernel is
  named). `predict`: float32 patches -> probabilities. Returns [row per
  source], each with the per-kernel verdicts and their confidence."""
  rows = []
  for source in sources:
    frames = source_frames(source, config.frames_per_source)
    x, y = kernel_patches(frames, config)
    p = predict(x)
    verdicts = {}
    for label, kernel in enumerate(config.kernels):
      v = verdict(p[y == label], config.kernels, confusion)
      verdicts[kernel] = {"named": v["kernel"], "confidence": v["confidence"],
                          "votes": v["votes"][kernel]}
    rows.append({"source": os.path.relpath(source, real_data.REAL_ROOT),
                 "patch_accuracy": _accuracy(p, y),
                 "video_accuracy": float(np.mean([v["named"] == k
                                                  for k, v in verdicts.items()])),
                 "verdicts": verdicts})
  return rows


def train(config):
  """Trains, evaluates on the held-back sources and writes the run:
  config.json, estimator.keras, estimator_float32.tflite and report.json
  in `config.run_dir`. Returns the report."""
  import keras
  import tensorflow as tf
  _record_config(config)
  rng = np.random.default_rng(config.seed)
  keras.utils.set_random_seed(config.seed)
  x, y = kernel_patches(training_frames(config), config, rng)
  order = rng.permutation(len(y))
  x, y = x[order], y[order]
  model = build_kernel_estimator(config)
  model.compile(keras.optimizers.Adam(config.learning_rate),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
  history = model.fit(x, y, batch_size=config.batch_size, epochs=config.epochs, verbose=0,
                      shuffle=True)
  model.save(os.path.join(config.run_dir, MODEL_FILE))
  tflite_path = export_tflite(model, config, config.run_dir)
  predict = lambda patches: tf.nn.softmax(model.predict(patches, batch_size=256,
                                                        verbose=0)).numpy()
  calibration = [f for source in config.calibration_data
                 for f in source_frames(source, config.frames_per_source)]
  cx, cy = kernel_patches(calibration, config)
  confusion = confusion_matrix(predict(cx), cy, len(config.kernels)) if len(cy) else np.eye(
      len(config.kernels))
  held_back = evaluate_sources(predict, config, config.eval_data, confusion)
  report = {"num_train_patches": int(len(y)),
            "train_accuracy": float(history.history["accuracy"][-1]),
            "confusion": confusion.tolist(),
            "held_back": held_back,
            "held_back_patch_accuracy": float(np.mean([r["patch_accuracy"] for r in held_back]))
            if held_back else None,
            "held_back_video_accuracy": float(np.mean([r["video_accuracy"] for r in held_back]))
            if held_back else None,
            "tflite": tflite_path}
  with open(os.path.join(config.run_dir, REPORT_FILE), "w") as f:
    json.dump(report, f, indent=2)
  return report


def _record_config(config):
  # A two-minute run has no checkpoints to resume: a rerun starts again,
  # with the config it is given recorded.
  os.makedirs(config.run_dir, exist_ok=True)
  with open(config_lib.config_path(config.run_dir), "w") as f:
    json.dump(config.to_dict(), f, indent=2)


def export_tflite(model, config, out_dir):
  """The estimator as float32 TFLite at a fixed batch of one frame's
  patches; returns its path."""
  import tensorflow as tf
  from tfsports.serving import tflite
  spec = tf.TensorSpec((config.patches_per_frame, config.patch_size, config.patch_size, 1),
                       tf.float32, name="patches")
  return tflite.export_tflite(model, [spec], out_dir, ("float32",),
                              file_name="estimator_{variant}.tflite")["float32"]


# ---------------------------------------------------------------- use

class KernelEstimator:
  """A trained estimator (run directory or bundled folder), run with LiteRT.

      estimator = KernelEstimator.bundled(scale=4)
      estimator.estimate("clip.mp4")   # {"kernel": "area", "confidence": 0.97, ...}
  """

  def __init__(self, folder, num_threads=2):
    from tfsports.serving import interpreters
    path = os.path.join(folder, TFLITE_FILE)
    if not os.path.isfile(path):
      raise errors.UserError(f"{folder}: no {TFLITE_FILE}; train one with "
                             "`tfsports train sr_kernels`")
    self.config = config_lib.read_run_config(folder, KernelEstimatorConfig)
    with open(os.path.join(folder, REPORT_FILE)) as f:
      self.confusion = np.asarray(json.load(f)["confusion"])
    self._interpreter = interpreters.load_interpreter(path, num_threads=num_threads)
    self._input = self._interpreter.get_input_details()[0]
    self._output = self._interpreter.get_output_details()[0]

  @classmethod
  def bundled(cls, scale, num_threads=2):
    folder = os.path.join(BUNDLED, f"x{scale}")
    if not os.path.isdir(folder):
      raise errors.UserError(f"--degradation=auto: no bundled kernel estimator at x{scale} "
                             f"(bundled: {', '.join(sorted(os.listdir(BUNDLED)))})")
    return cls(folder, num_threads)

  def probabilities(self, patches):
    """float32 [N, P, P, 1] -> float32 [N, num_kernels]."""
    batch = self.config.patches_per_frame
    out = []
    for start in range(0, len(patches), batch):
      chunk = patches[start:start + batch]
      padded = np.zeros((batch,) + patches.shape[1:], np.float32)
      padded[:len(chunk)] = chunk
      self._interpreter.set_tensor(self._input["index"], padded)
      self._interpreter.invoke()
      logits = self._interpreter.get_tensor(self._output["index"])[:len(chunk)]
      e = np.exp(logits - logits.max(-1, keepdims=True))
      out.append(e / e.sum(-1, keepdims=True))
    return np.concatenate(out) if out else np.zeros((0, len(self.config.kernels)), np.float32)

  def estimate_frames(self, lr_frames):
    """`verdict` on low-res frames uint8 [T, h, w, 3]. Raises `UserError`
    when the frames are smaller than one patch."""
    patches = luma_patches(lr_frames, self.config.patch_size, self.config.patches_per_frame)
    if not len(patches):
      raise errors.UserError(f"--degradation=auto: frames of {lr_frames.shape[2]}x"
                             f"{lr_frames.shape[1]} are smaller than the estimator's "
                             f"{self.config.patch_size}-pixel patches")
    return verdict(self.probabilities(patches), self.config.kernels, self.confusion)

  def estimate(self, path, crop=None):
    """The verdict on a video file (`frames_per_source` frames spread
    through it; `crop` (x, y, w, h) as `tfsports upscale --crop`)."""
    frames = source_frames(path, self.config.frames_per_source)
    if crop:
      from tfsports.data import preprocess
      frames = [preprocess.crop_frame(f, crop) for f in frames]
    return self.estimate_frames(np.stack(frames))


def choose(verdict, fine_tunes, min_confidence):
  """The fine-tune suffix `verdict` picks among `fine_tunes`, or "" (the
  blind model) when its kernel has none or it is not confident enough."""
  if verdict["kernel"] in fine_tunes and verdict["confidence"] >= min_confidence:
    return verdict["kernel"]
  return ""


def summary(report):
  """What `tfsports train sr_kernels` prints."""
  lines = [f"kernel estimator: {report['num_train_patches']} training patches, "
           f"train accuracy {100 * report['train_accuracy']:.1f}%; calibration confusion "
           f"{np.round(report['confusion'], 2).tolist()}"]
  if report["held_back"]:
    lines.append(f"held back by file: {100 * report['held_back_patch_accuracy']:.1f}% of "
                 f"patches, {100 * report['held_back_video_accuracy']:.1f}% of (source, "
                 "kernel) verdicts")
    for row in report["held_back"]:
      named = ", ".join(f"{k}->{v['named']} {v['confidence']:.2f}"
                        for k, v in row["verdicts"].items())
      lines.append(f"  {row['source']}: patches {100 * row['patch_accuracy']:.1f}%; {named}")
  lines.append(f"tflite: {report['tflite']}")
  return "\n".join(lines)


def _train_job(config):
  return train(config)


JOB = job_lib.JobSpec(
    name="sr_kernels",
    description="The kernel estimator of `tfsports upscale --degradation=auto`: a small "
                "classifier of the downscaling kernel from low-res patches, trained on the "
                "training footage and the renderer under each kernel, scored on held-back "
                "files, exported as TFLite.",
    config_class=KernelEstimatorConfig, train=_train_job, summary=summary,
    default_preset="x4",
    examples=("tfsports train sr_kernels",
              "tfsports train sr_kernels --preset=test --run_dir=/tmp/kernels"),
)

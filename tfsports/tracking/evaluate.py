"""The perturbed-oracle protocol: association measured on real player motion
without frames.

Real ground-truth boxes are perturbed with a fixed seed per sequence (drop
10%, jitter centre and size by sigma 5% of the box size, 15% of the true
boxes at a low confidence U(0.1, 0.5) and the rest U(0.6, 1.0), a Poisson(1)
number of player-sized false positives per frame at U(0.1, 1.0)), tracked,
and scored against the unperturbed ground truth with TrackEval
(`metrics.tracking`).
"""

import configparser
import dataclasses
import glob
import os
import zlib

import numpy as np

from tfsports.data import mot

DROP = 0.10
JITTER = 0.05
LOW_SHARE = 0.15
FALSE_POSITIVES_PER_FRAME = 1.0


@dataclasses.dataclass
class Sequence:
  """name; gt {frame index: float32 [N, 5] (id, x, y, w, h)}; fps;
  num_frames; image_size (height, width)."""
  name: str
  gt: dict
  fps: float
  num_frames: int
  image_size: tuple


def load_sportsmot(root):
  """SportsMOT-layout sequences: ROOT/NAME/gt/gt.txt and seqinfo.ini."""
  out = []
  for folder in sorted(glob.glob(os.path.join(root, "*", "gt", "gt.txt"))):
    seq_dir = os.path.dirname(os.path.dirname(folder))
    info = configparser.ConfigParser()
    info.read(os.path.join(seq_dir, "seqinfo.ini"))
    s = info["Sequence"]
    out.append(Sequence(os.path.basename(seq_dir), mot.read_mot(folder),
                        float(s["frameRate"]), int(s["seqLength"]),
                        (int(s["imHeight"]), int(s["imWidth"]))))
  return out


def load_mot_folder(root, fps=30.0):
  """A folder of MOT ground-truth files, one sequence each (TrackID3x3's
  `mot/`). These carry no seqinfo: the frame count is the last labelled
  frame, the image size the extent of the boxes, and the frame rate `fps`
  (TrackID3x3 does not state it; 30 is the likeliest)."""
  out = []
  for path in sorted(glob.glob(os.path.join(root, "*.txt"))):
    gt = mot.read_mot(path)
    boxes = np.concatenate(list(gt.values()))
    width = int(np.ceil((boxes[:, 1] + boxes[:, 3]).max()))
    height = int(np.ceil((boxes[:, 2] + boxes[:, 4]).max()))
    out.append(Sequence(os.path.splitext(os.path.basename(path))[0], gt, fps,
                        max(gt) + 1, (height, width)))
  return out


def sequence_seed(name):
  """The fixed perturbation seed of a sequence: CRC-32 of its name."""
  return zlib.crc32(name.encode())


def perturb(sequence, seed=None):
  """Detections from ground truth under the protocol above.

  Returns {frame index: float32 [N, 5] (x, y, w, h, score)}.
  """
  rng = np.random.default_rng(sequence_seed(sequence.name) if seed is None else seed)
  all_boxes = np.concatenate(list(sequence.gt.values()))[:, 1:]
  height, width = sequence.image_size
  out = {}
  for t in range(sequence.num_frames):
    g = sequence.gt.get(t, np.zeros((0, 5), np.float32))[:, 1:].astype(np.float64)
    g = g[rng.random(len(g)) >= DROP]
    w, h = g[:, 2], g[:, 3]
    cx = g[:, 0] + w / 2 + rng.normal(0, JITTER, len(g)) * w
    cy = g[:, 1] + h / 2 + rng.normal(0, JITTER, len(g)) * h
    w = np.maximum(w * (1 + rng.normal(0, JITTER, len(g))), 1)
    h = np.maximum(h * (1 + rng.normal(0, JITTER, len(g))), 1)
    low = rng.random(len(g)) < LOW_SHARE
    score = np.where(low, rng.uniform(0.1, 0.5, len(g)), rng.uniform(0.6, 1.0, len(g)))
    dets = np.stack([cx - w / 2, cy - h / 2, w, h, score], axis=1)
    num_fp = rng.poisson(FALSE_POSITIVES_PER_FRAME)
    if num_fp:
      size = all_boxes[rng.integers(0, len(all_boxes), num_fp), 2:4]
      x = rng.uniform(0, np.maximum(width - size[:, 0], 1))
      y = rng.uniform(0, np.maximum(height - size[:, 1], 1))
      fp = np.concatenate([np.stack([x, y], 1), size, rng.uniform(0.1, 1.0, (num_fp, 1))], 1)
      dets = np.concatenate([dets, fp])
    out[t] = dets.astype(np.float32)
  return out


def oracle_sequences(real_root):
  """The protocol's sequences under the real-data root: the SportsMOT
  validation sequences and TrackID3x3's indoor ones."""
  return (load_sportsmot(os.path.join(real_root, "tracking", "sportsmot_val"))
          + load_mot_folder(os.path.join(real_root, "trajectories", "trackid3x3_indoor",
                                         "mot")))


def synthetic_sequence(camera, index, num_frames=50, image_size=(360, 640), seed=20_000):
  """A held-back synthetic clip as (frames uint8 [T, H, W, 3], Sequence):
  ground truth is every person at least 30% visible, with the renderer's
  track ids."""
  from tfsports.data import synthetic
  config = synthetic.SceneConfig(image_size=tuple(image_size), num_frames=num_frames,
                                 camera=camera, motion_blur=1.0, noise=2.0)
  clip = synthetic.render_clip(config, seed=seed, index=index)
  gt = {}
  for t in range(num_frames):
    v = clip["visibility"][t] >= 0.3
    gt[t] = np.concatenate([clip["track_ids"][v, None].astype(np.float32),
                            clip["boxes"][t][v]], 1)
  return clip["frames"], Sequence(f"{camera}_{index}", gt, config.fps, num_frames,
                                  tuple(image_size))

r"""BlazePose's own trunk features as a pose stream input, on real clips
held back by file: the landmark model (`data.pose`) run on each frame of
each player-centred clip and on its mirror image, every 2x2, 4x4 and 8x8
feature map of its trunk averaged over space, and per clip the mean and
spread over frames in a ridge classifier (the floor `actions_pose.py`
gives for the 33 keypoints). The feature map is chosen by 4-fold
cross-validation on the training files, never on the held-back ones; the
held-back top-1 of every map is printed beside it, so the choice's luck
can be seen.

    python benchmarks/actions_pose_embedding.py [--data=../shared/data/real/actions/basketball_jennycs]
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import numpy as np

flags.DEFINE_string("data", os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                         "data", "real", "actions", "basketball_jennycs"),
                    "A class-per-folder set of player-centred real clips.")
flags.DEFINE_float("eval_fraction", 0.25, "Latest files of each class held back.")
flags.DEFINE_float("fps", 24.0, "Frame rate the clips are sampled at.")
flags.DEFINE_list("ridge", ["10", "100", "1000"], "Ridge strengths tried.")
FLAGS = flags.FLAGS

# Feature maps of the trunk (height = width, channels) whose spatial mean is
# a per-frame embedding.
SHAPES = ((2, 288), (4, 288), (8, 288), (8, 144))


class TrunkEmbedder:
  """The landmark model with every intermediate tensor kept (no XNNPACK:
  its fused op hides them): frame -> {tensor index: float32 [C]}."""

  def __init__(self):
    from ai_edge_litert import interpreter as litert
    from tfsports.data import pose
    self.pose = pose
    self.it = litert.Interpreter(
        model_path=pose.model_path(pose.LANDMARK_FILE), num_threads=2,
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    self.it.allocate_tensors()
    self.input = self.it.get_input_details()[0]["index"]
    self.maps = sorted(d["index"] for d in self.it.get_tensor_details()
                       if tuple(d["shape"]) in {(1, s, s, c) for s, c in SHAPES})

  def __call__(self, frame):
    h, w = frame.shape[:2]
    x, _ = self.pose.PoseLandmarker.model_input(frame, self.pose.box_roi((0, 0, w, h)))
    self.it.set_tensor(self.input, x)
    self.it.invoke()
    return {i: self.it.get_tensor(i)[0].mean((0, 1)) for i in self.maps}


def clip_features(embedder, path, fps):
  """{map: (float32 [2C] of the clip, float32 [2C] of its mirror image)}:
  the per-frame embeddings' mean and spread over the clip."""
  from tfsports.data import video_io
  frames = video_io.read_frames_at(path, fps)
  views = [[embedder(f) for f in frames], [embedder(f[:, ::-1].copy()) for f in frames]]
  stats = lambda e: np.concatenate([e.mean(0), e.std(0)])
  return {i: tuple(stats(np.stack([d[i] for d in v])) for v in views) for i in embedder.maps}


def ridge_scores(a, y, b, lam, num_classes):
  # Channels constant over the training clips (ReLU6 maps that never fire)
  # are dropped: standardised, a held-back clip where they do fire would
  # score in the millions.
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  mu, sd = a.mean(0), a.std(0)
  keep = sd > 1e-6
  a, b = (a[:, keep] - mu[keep]) / sd[keep], (b[:, keep] - mu[keep]) / sd[keep]
  target = np.eye(num_classes)[y] * 2 - 1
  w = np.linalg.solve(a.T @ a + lam * np.eye(a.shape[1]), a.T @ target)
  return b @ w


def top1(train, train_y, test, test_y, lam, k):
  """Trained on the clips and their mirror images; each test clip's scores
  averaged with its mirror image's."""
  a = np.concatenate([train[:, 0], train[:, 1]])
  y = np.concatenate([train_y, train_y])
  s = ridge_scores(a, y, test[:, 0], lam, k) + ridge_scores(a, y, test[:, 1], lam, k)
  return float(np.mean(s.argmax(1) == test_y))


def cross_validated(x, y, lam, k, folds=4):
  """4-fold top-1 over the training files, each class's files in order."""
  fold = np.zeros(len(y), int)
  for c in range(k):
    mine = np.flatnonzero(y == c)
    fold[mine] = np.arange(len(mine)) * folds // max(len(mine), 1)
  hits = []
  for j in range(folds):
    tr, te = fold != j, fold == j
    hits.append(top1(x[tr], y[tr], x[te], y[te], lam, k) * te.sum())
  return float(np.sum(hits) / len(y))


def main(argv):
  del argv
  from tfsports.data import spec
  train, held = spec.folder_split(FLAGS.data, FLAGS.eval_fraction)
  k = len({label for _, label in train})
  embedder = TrunkEmbedder()
  t0 = time.perf_counter()
  feats = {name: [clip_features(embedder, p, FLAGS.fps) for p, _ in items]
           for name, items in (("train", train), ("held", held))}
  print(f"{len(train)} training and {len(held)} held-back files, {k} classes; "
        f"{len(embedder.maps)} feature maps embedded in {time.perf_counter() - t0:.0f} s")
  train_y = np.array([label for _, label in train])
  held_y = np.array([label for _, label in held])
  rows = []
  for i in embedder.maps:
    x = np.stack([np.stack(f[i]) for f in feats["train"]])
    h = np.stack([np.stack(f[i]) for f in feats["held"]])
    for lam in map(float, FLAGS.ridge):
      rows.append((cross_validated(x, train_y, lam, k), i, lam,
                   top1(x, train_y, h, held_y, lam, k)))
  rows.sort(key=lambda r: -r[0])
  held_all = [r[3] for r in rows]
  print(f"held-back top-1 over every (map, ridge): median {np.median(held_all):.1%}, "
        f"range {min(held_all):.1%}-{max(held_all):.1%}")
  cv, i, lam, got = rows[0]
  print(f"chosen by cross-validation on the training files: tensor {i}, ridge {lam:g} "
        f"(CV {cv:.1%}): held-back top-1 {got:.1%}")


if __name__ == "__main__":
  app.run(main)

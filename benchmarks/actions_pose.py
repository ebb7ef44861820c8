r"""Actions from pose alone, on real clips held back by file: BlazePose
keypoints per frame (`data.pose`, cached per file), the pose stream
(`actions.pose_stream`) trained on the training files, top-1 on the
held-back files over several seeds; beside it, a ridge classifier on
per-clip keypoint statistics (the floor the issue measured).

    python benchmarks/actions_pose.py [--data=../shared/data/real/actions/basketball_jennycs]
        [--mode=crop] [--seeds=0,1,2,3,4] [--epochs=150]

mode: crop (player-centred clips: the landmark model on each whole crop)
or frame (full frames: BlazePose's detector finds the person first).
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import numpy as np


flags.DEFINE_string("data", os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                         "data", "real", "actions", "basketball_jennycs"),
                    "A class-per-folder set of real clips.")
flags.DEFINE_enum("mode", "crop", ["crop", "frame"], "How the person is found.")
flags.DEFINE_float("eval_fraction", 0.25, "Latest files of each class held back.")
flags.DEFINE_list("seeds", ["0", "1", "2", "3", "4"], "Seeds.")
flags.DEFINE_integer("epochs", 150, "Training epochs of the pose stream.")
flags.DEFINE_integer("num_frames", 0, "Frames per window (0: the median clip's).")
FLAGS = flags.FLAGS

def ridge_floor(train_x, train_y, test_x, test_y):
  """Per-clip mean, spread and mean speed of the features, ridge classifier."""
  def stats(x):
    return np.concatenate([x.mean(1), x.std(1), np.abs(np.diff(x, axis=1)).mean(1)], 1)
  a, b = stats(train_x), stats(test_x)
  mu, sd = a.mean(0), a.std(0) + 1e-6
  a, b = (a - mu) / sd, (b - mu) / sd
  k = int(train_y.max()) + 1
  y = np.eye(k)[train_y] * 2 - 1
  w = np.linalg.solve(a.T @ a + 10.0 * np.eye(a.shape[1]), a.T @ y)
  return float(np.mean(np.argmax(b @ w, 1) == test_y))


def main(argv):
  del argv
  from tfsports.actions import pose_experiments as px

  t0 = time.perf_counter()
  pools = px.load_pose_pools(FLAGS.data, mode=FLAGS.mode, num_frames=FLAGS.num_frames,
                             eval_fraction=FLAGS.eval_fraction)
  seconds = time.perf_counter() - t0
  k = len(pools.class_names)
  train_x, train_y = px.windows_of(pools, np.arange(len(pools.train)))
  held_first = np.stack([w[0] for w in pools.held])
  held_y = pools.held_labels
  print(f"{len(pools.train)} training files, {len(pools.held)} held back, {k} classes, "
        f"{pools.num_frames} frames at {pools.fps:g} fps; poses in {seconds:.0f} s (cached "
        f"after the first run); majority class {np.bincount(held_y).max() / len(held_y):.1%}")
  print(f"ridge on per-clip statistics: {ridge_floor(train_x, train_y, held_first, held_y):.1%}")
  accs, mirrored = [], []
  for seed in map(int, FLAGS.seeds):
    model = px.fit_classifier(train_x, train_y, k, pools.num_frames, seed, FLAGS.epochs)
    accs.append(px.clip_accuracy(model, pools.held, held_y))
    # Test-time mirroring: each held-back clip and its mirror image averaged
    # (the stream trains on both, as an action done left-handed is the same).
    mirrored.append(px.clip_accuracy(model, pools.held, held_y, mirrored=pools.held_mirrored))
    print(f"pose stream seed {seed}: {accs[-1]:.1%}, with its mirror image averaged "
          f"{mirrored[-1]:.1%}", flush=True)
  print(f"pose stream: {np.mean(accs):.1%} ± {np.std(accs):.1%} over {len(accs)} seeds; "
        f"mirror image averaged {np.mean(mirrored):.1%} ± {np.std(mirrored):.1%}")


if __name__ == "__main__":
  app.run(main)

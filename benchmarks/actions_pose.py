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

from tfsports.data import pose as pose_lib
from tfsports.data import spec
from tfsports.data import video_io

flags.DEFINE_string("data", os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                         "data", "real", "actions", "basketball_jennycs"),
                    "A class-per-folder set of real clips.")
flags.DEFINE_enum("mode", "crop", ["crop", "frame"], "How the person is found.")
flags.DEFINE_float("eval_fraction", 0.25, "Latest files of each class held back.")
flags.DEFINE_list("seeds", ["0", "1", "2", "3", "4"], "Seeds.")
flags.DEFINE_integer("epochs", 150, "Training epochs of the pose stream.")
flags.DEFINE_integer("num_frames", 0, "Frames per clip (0: the shortest clip's).")
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
  import keras
  from tfsports.actions import pose_stream

  train, held = spec.folder_split(FLAGS.data, FLAGS.eval_fraction)
  names = sorted({l for _, l in train + held})
  t0 = time.perf_counter()
  train_poses = poses_of([p for p, _ in train], FLAGS.mode)
  held_poses = poses_of([p for p, _ in held], FLAGS.mode)
  seconds = time.perf_counter() - t0
  num_frames = FLAGS.num_frames or min(len(p["score"]) for p in train_poses + held_poses)
  feats = lambda ps: np.stack([pose_stream.pose_features(windows(p, num_frames)) for p in ps])
  train_x = feats(train_poses)
  train_x = np.concatenate([train_x, feats([pose_stream.flipped(p) for p in train_poses])])
  train_y = np.array([names.index(l) for _, l in train] * 2)
  held_x = feats(held_poses)
  held_y = np.array([names.index(l) for _, l in held])
  found = np.mean([np.mean(p["score"] > 0.5) for p in train_poses + held_poses])
  print(f"{len(train)} training files, {len(held)} held back, {len(names)} classes; "
        f"poses in {seconds:.0f} s (cached after the first run); frames with a pose "
        f"(score > 0.5): {found:.1%}; majority class {np.bincount(held_y).max() / len(held_y):.1%}")
  print(f"ridge on per-clip statistics: {ridge_floor(train_x, train_y, held_x, held_y):.1%}")
  accs = []
  for seed in map(int, FLAGS.seeds):
    keras.utils.set_random_seed(seed)
    config = pose_stream.PoseStreamConfig(num_classes=len(names), num_frames=num_frames)
    model, _ = pose_stream.build_pose_classifier(config)
    model.compile(keras.optimizers.AdamW(1e-3, weight_decay=1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    noise = lambda x: x + np.random.default_rng(seed).normal(0, 0.02, x.shape).astype(np.float32)
    model.fit(noise(train_x), train_y, epochs=FLAGS.epochs, batch_size=16, verbose=0)
    acc = float(np.mean(np.argmax(model.predict(held_x, verbose=0), 1) == held_y))
    accs.append(acc)
    print(f"pose stream seed {seed}: {acc:.1%}", flush=True)
  print(f"pose stream: {np.mean(accs):.1%} ± {np.std(accs):.1%} over {len(accs)} seeds")


if __name__ == "__main__":
  app.run(main)

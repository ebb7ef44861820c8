r"""The skeleton GAN on real clips held back by file (`actions.pose_gan`,
`actions.pose_experiments`): pose-space augmentation (real only, real plus
generated at a share tuned on validation files, generated then real) at 10
clips per class and on the full set, and the label-efficiency table of the
semi-supervised pose discriminator against the same network trained
supervised; writes the tables as markdown and an animated picture of
generated skeletons beside real ones, per class.

    python benchmarks/actions_pose_gan.py [--data=DIR] [--seeds=0,1,2,3,4]
        [--experiments=augment,ssl] [--unlabelled_videos=DIR,...]
        [--gif=docs/pose_gan.gif] [--out=results.md]
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
flags.DEFINE_list("seeds", ["0", "1", "2", "3", "4"], "Seeds.")
flags.DEFINE_list("experiments", ["augment", "ssl"], "augment, ssl.")
flags.DEFINE_list("per_class", ["10", "0"], "Augmentation: clips per class (0: all).")
flags.DEFINE_list("labels_per_class", ["5", "10", "0"], "Label efficiency settings.")
flags.DEFINE_integer("ssl_seeds", 3, "Label efficiency: the first N seeds.")
flags.DEFINE_integer("epochs", 150, "Classifier epochs.")
flags.DEFINE_integer("ssl_steps", 1500, "Supervised and semi-supervised steps.")
flags.DEFINE_list("unlabelled_videos", [os.path.join(os.path.dirname(__file__), "..", "..",
                                                     "shared", "data", "real", "video")],
                  "Label efficiency: videos (or folders of them) whose tracked players' "
                  "poses join the unlabelled pool; empty: the training clips alone.")
flags.DEFINE_string("gif", "", "Write generated next to real skeletons here.")
flags.DEFINE_string("out", "", "Append the markdown tables here.")
FLAGS = flags.FLAGS


def draw_skeleton(canvas, features, colour, scale=14.0):
  import cv2
  from tfsports.data import pose as pose_lib
  h, w = canvas.shape[:2]
  xy = np.asarray(features[:2 * pose_lib.NUM_KEYPOINTS]).reshape(-1, 2) * scale
  xy = xy + np.array([w / 2, h * 0.55])
  for a, b in pose_lib.SKELETON:
    pa, pb = xy[a], xy[b]
    if np.all(np.isfinite([*pa, *pb])):
      cv2.line(canvas, tuple(int(v) for v in pa), tuple(int(v) for v in pb), colour, 2,
               cv2.LINE_AA)


def write_gif(path, real, fake, class_names, per_class=3, cell=96):
  """Rows: classes; columns: `per_class` real windows then `per_class`
  generated ones. real/fake: {class: float32 [N, T, FEATURES]}."""
  import cv2
  from tfsports.data import video_io
  num_frames = next(iter(real.values())).shape[1]
  label_w = 80
  frames = []
  for t in range(num_frames):
    rows = []
    for k, name in enumerate(class_names):
      row = np.full((cell, label_w + 2 * per_class * cell, 3), 255, np.uint8)
      cv2.putText(row, name[:9], (4, cell // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
      for j in range(per_class):
        for side, (pool, colour) in enumerate(((real, (40, 90, 200)), (fake, (200, 60, 40)))):
          x0 = label_w + (side * per_class + j) * cell
          if j < len(pool[k]):
            draw_skeleton(row[:, x0:x0 + cell], pool[k][j, t], colour)
      rows.append(row)
    header = np.full((20, rows[0].shape[1], 3), 255, np.uint8)
    cv2.putText(header, "real", (label_w + 4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (40, 90, 200), 1)
    cv2.putText(header, "generated", (label_w + per_class * cell + 4, 14),
                cv2.FONT_HERSHEY_SIMPLEX, 0.45, (200, 60, 40), 1)
    frames.append(np.concatenate([header] + rows))
  video_io.write_gif(path, frames, fps=5.0)


def video_files(paths):
  from tfsports.data import sources
  out = []
  for p in paths:
    if os.path.isdir(p):
      out += sources.list_videos(p)[0]
    elif p:
      out.append(p)
  return out


def augmentation_table(per_class, result, seeds):
  arms = ["real only", "real + generated", "generated then real"]
  lines = [f"Clips per class: {per_class or 'all'}; mixing share chosen on validation files: "
           f"{result['share']:.2f} (validation: " +
           ", ".join(f"{n} {v:.1%}" for n, v in result["validation"].items()) + ")", "",
           "| arm | held-back top-1, mean ± std over seeds | per seed |", "|---|---:|---|"]
  for arm in arms:
    v = [r[2] for r in result["rows"] if r[1] == arm]
    lines.append(f"| {arm} | {np.mean(v):.1%} ± {np.std(v):.1%} | "
                 + " ".join(f"{x:.1%}" for x in v) + " |")
  return "\n".join(lines)


def main(argv):
  del argv
  from tfsports.actions import pose_experiments as px
  from tfsports.actions import pose_gan
  from tfsports.actions import ssgan

  pools = px.load_pose_pools(FLAGS.data, mode=FLAGS.mode)
  seeds = [int(s) for s in FLAGS.seeds]
  print(f"{len(pools.train)} training files, {len(pools.held)} held back, "
        f"{len(pools.class_names)} classes, {pools.num_frames} frames at {pools.fps:g} fps",
        flush=True)
  tables = [f"{time.strftime('%Y-%m-%d')}, `python benchmarks/actions_pose_gan.py`, "
            f"data {os.path.basename(os.path.normpath(FLAGS.data))}"]
  if "augment" in FLAGS.experiments:
    for per_class in map(int, FLAGS.per_class):
      t0 = time.perf_counter()
      print(f"augmentation, {per_class or 'all'} clips per class", flush=True)
      result = px.augmentation(pools, per_class, seeds, epochs=FLAGS.epochs)
      tables.append(augmentation_table(per_class, result, seeds))
      print(tables[-1], f"\n({time.perf_counter() - t0:.0f} s)", flush=True)
  if FLAGS.gif:
    x, y = px.windows_of(pools, np.arange(len(pools.train)))
    config = px.gan_config(pools, seeds[0])
    gan, standardise = pose_gan.train_gan(config, x, y)
    k = len(pools.class_names)
    fake = {c: pose_gan.sample(gan.ema_generator(), standardise, np.full(3, c), 7,
                               config.latent_dim) for c in range(k)}
    real = {c: np.stack([pools.train[i][0] for i in np.nonzero(pools.train_labels == c)[0][:3]])
            for c in range(k)}
    write_gif(FLAGS.gif, real, fake, pools.class_names)
    print(f"wrote {FLAGS.gif}")
  if "ssl" in FLAGS.experiments:
    t0 = time.perf_counter()
    videos = video_files(FLAGS.unlabelled_videos)
    extra = px.player_pose_windows(videos, pools.fps, pools.num_frames) if videos else None
    pool = len(px.windows_of(pools, range(len(pools.train)))[0])
    print(f"unlabelled pool: {pool} training-clip windows + "
          f"{0 if extra is None else len(extra)} player windows of {len(videos)} videos "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    rows = px.label_efficiency(pools, [int(s) for s in FLAGS.labels_per_class],
                               seeds[:FLAGS.ssl_seeds], steps=FLAGS.ssl_steps,
                               unlabelled_extra=extra)
    spread = {}
    for per_class in {r[0] for r in rows}:
      for method in ("supervised", "ssgan"):
        spread[per_class, method] = np.std([r[3] for r in rows if r[:1] == (per_class,)
                                            and r[2] == method])
    tables.append(f"Unlabelled pool: {pool} windows of the training clips and "
                  f"{0 if extra is None else len(extra)} of the tracked players of "
                  + (", ".join(os.path.basename(v) for v in videos) or "no videos") + "\n\n"
                  + ssgan.summarise(rows) + "\n\nStd over seeds: " + ", ".join(
        f"{p or 'all'}/{m} {v:.1%}" for (p, m), v in sorted(spread.items())))
    print(tables[-1], f"\n({time.perf_counter() - t0:.0f} s)", flush=True)
  if FLAGS.out:
    with open(FLAGS.out, "a") as f:
      f.write("\n\n".join(tables) + "\n")


if __name__ == "__main__":
  app.run(main)

"""Writes synthetic clips to disk in standard formats (see __main__)."""

import csv
import os


from tfsports import progress as progress_lib
from tfsports.data import video_io
from tfsports.data.synthetic.sports import ACTION_CLASSES

_README = """# Synthetic sports dataset (tfsports)

Rendered by `tfsports synth` with seed {seed}: {num_clips}
clips of {num_frames} frames at {width}x{height}, {fps} fps. Clip `k` is
`tfsports.data.synthetic.render_clip(config, seed={seed}, index=k)`.

- `videos/<action>/clip_NNNNN.mp4`: H.264 clips, one folder per action class
  (UCF101 layout); `classInd.txt` numbers the classes from 1.
- `labels.csv`: clip, action, action_index (0-based), sport, seed, index.
- `mot/clip_NNNNN/gt/gt.txt`: MOT Challenge ground truth,
  `frame,id,x,y,w,h,conf,class,visibility` (1-based frames, pixels, class 1 =
  person; a box may reach outside the frame; visibility is the fraction inside
  the frame and not hidden by a nearer person). Only people with visibility > 0
  are listed. `seqinfo.ini` as MOT17.
- `mot/clip_NNNNN/tracks.csv`: id, team (0, 1; 2 = referee), jersey (0 = none).
- `mot/clip_NNNNN/ball.csv`: frame, x, y (pixels), visible.
- `trajectories/clip_NNNNN.csv`: frame, id, team, jersey, x, y, z in metres on
  the pitch (x along the length from the left goal line, y from the near
  touchline). The ball is id 0, team -1.

Actions: {actions}.
"""


def write_clip_annotations(out_dir, name, clip, fps):
  """Writes the MOT, tracks, ball and trajectory files of one clip."""
  T, N = clip["visibility"].shape
  height, width = clip["frames"].shape[1:3]
  seq = os.path.join(out_dir, "mot", name)
  os.makedirs(os.path.join(seq, "gt"), exist_ok=True)
  with open(os.path.join(seq, "gt", "gt.txt"), "w") as f:
    for t in range(T):
      for i in range(N):
        vis = clip["visibility"][t, i]
        if vis <= 0:
          continue
        x, y, w, h = clip["boxes"][t, i]
        f.write(f"{t + 1},{clip['track_ids'][i]},{x:.2f},{y:.2f},{w:.2f},"
                f"{h:.2f},1,1,{vis:.3f}\n")
  with open(os.path.join(seq, "seqinfo.ini"), "w") as f:
    f.write(f"[Sequence]\nname={name}\nimDir=img1\nframeRate={fps:g}\n"
            f"seqLength={T}\nimWidth={width}\nimHeight={height}\nimExt=.jpg\n")
  with open(os.path.join(seq, "tracks.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "team", "jersey"])
    for i in range(N):
      w.writerow([clip["track_ids"][i], clip["teams"][i], clip["jerseys"][i]])
  with open(os.path.join(seq, "ball.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["frame", "x", "y", "visible"])
    for t in range(T):
      bx, by = clip["ball_pixels"][t]
      w.writerow([t + 1, f"{bx:.2f}", f"{by:.2f}", int(clip["ball_visible"][t])])
  os.makedirs(os.path.join(out_dir, "trajectories"), exist_ok=True)
  with open(os.path.join(out_dir, "trajectories", name + ".csv"), "w",
            newline="") as f:
    w = csv.writer(f)
    w.writerow(["frame", "id", "team", "jersey", "x", "y", "z"])
    for t in range(T):
      bx, by, bz = clip["ball"][t]
      w.writerow([t + 1, 0, -1, 0, f"{bx:.3f}", f"{by:.3f}", f"{bz:.3f}"])
      for i in range(N):
        px, py = clip["positions"][t, i]
        w.writerow([t + 1, clip["track_ids"][i], clip["teams"][i],
                    clip["jerseys"][i], f"{px:.3f}", f"{py:.3f}", "0.000"])


def write_dataset(out_dir, config, num_clips, seed=0, progress=False):
  """Renders `num_clips` clips and writes videos and annotations to `out_dir`."""
  from tfsports.data.synthetic import render_clip
  h, w = config.image_size
  if h % 2 or w % 2:
    raise ValueError(f"H.264 needs an even width and height, got {w}x{h}")
  os.makedirs(out_dir, exist_ok=True)
  with open(os.path.join(out_dir, "classInd.txt"), "w") as f:
    for k, name in enumerate(ACTION_CLASSES):
      f.write(f"{k + 1} {name}\n")
  rows = []
  meter = progress_lib.Progress("synth", num_clips, unit="clips") if progress else None
  for index in range(num_clips):
    clip = render_clip(config, seed=seed, index=index)
    name = f"clip_{index:05d}"
    action = ACTION_CLASSES[int(clip["label"])]
    video_dir = os.path.join(out_dir, "videos", action)
    os.makedirs(video_dir, exist_ok=True)
    video_io.write_video(os.path.join(video_dir, name + ".mp4"), clip["frames"],
                         fps=config.fps)
    write_clip_annotations(out_dir, name, clip, config.fps)
    rows.append([name, action, int(clip["label"]), clip["sport"], seed, index])
    if meter:
      meter.update(index + 1)
  if meter:
    meter.done()
  with open(os.path.join(out_dir, "labels.csv"), "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["clip", "action", "action_index", "sport", "seed", "index"])
    writer.writerows(rows)
  with open(os.path.join(out_dir, "README.md"), "w") as f:
    f.write(_README.format(seed=seed, num_clips=num_clips,
                           num_frames=config.num_frames, width=w, height=h,
                           fps=config.fps, actions=", ".join(ACTION_CLASSES)))
  return out_dir

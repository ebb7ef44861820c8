"""Player crops: from synthetic ground truth with identity labels, or from
any video with MOT-format boxes (ground truth or a tracker's output)."""

import cv2
import numpy as np
import tensorflow as tf

from tfsports.data import synthetic


def player_crops(clip, crop_size=(48, 24), min_height=24, min_visibility=0.7):
  """Crops every clearly visible person in every frame of a rendered clip.

  Returns a dict: crops uint8 [N, h, w, 3]; team, kit, jersey, track_id,
  frame int32 [N]. People smaller than `min_height` pixels (numbers unreadable) or
  less than `min_visibility` visible are left out.
  """
  h, w = crop_size
  frames = clip["frames"]
  out = {"crops": [], "team": [], "kit": [], "jersey": [], "track_id": [], "frame": []}
  for t in range(len(frames)):
    for i in range(len(clip["track_ids"])):
      x, y, bw, bh = clip["boxes"][t, i]
      if bh < min_height or clip["visibility"][t, i] < min_visibility:
        continue
      crop = crop_box(frames[t], x, y, bw, bh, crop_size)
      if crop is None:
        continue
      out["crops"].append(crop)
      out["team"].append(clip["teams"][i])
      out["kit"].append(clip["kits"][i])
      out["jersey"].append(clip["jerseys"][i])
      out["track_id"].append(clip["track_ids"][i])
      out["frame"].append(t)
  if not out["crops"]:
    return {"crops": np.zeros((0, h, w, 3), np.uint8),
            **{k: np.zeros((0,), np.int32) for k in ("team", "kit", "jersey", "track_id", "frame")}}
  return {"crops": np.stack(out["crops"]),
          **{k: np.asarray(out[k], np.int32) for k in ("team", "kit", "jersey", "track_id", "frame")}}


def crop_box(frame, x, y, bw, bh, crop_size):
  """One box of a frame (clipped to it) resized to crop_size (height,
  width): uint8 [h, w, 3], or None if it is too small. The athletes model
  trains on these crops, so everything that feeds it crops this way."""
  H, W = frame.shape[:2]
  x0, y0 = int(max(0, np.floor(x))), int(max(0, np.floor(y)))
  x1, y1 = int(min(W, np.ceil(x + bw))), int(min(H, np.ceil(y + bh)))
  if x1 - x0 < 4 or y1 - y0 < 8:
    return None
  h, w = crop_size
  return cv2.resize(frame[y0:y1, x0:x1], (w, h), interpolation=cv2.INTER_AREA)


def crops_from_video(video, boxes, crop_size=(48, 24), min_height=24, every=1):
  """Crops every box of a MOT box file (or {frame: [N, 5]} from `mot.read_mot`)
  out of a video, streaming it frame by frame.

  Returns a dict: crops uint8 [N, h, w, 3]; track_id, frame int32 [N]. Boxes
  smaller than `min_height` pixels are left out; `every` takes every k-th
  frame. Raises VideoReadError for a bad video and MOTFormatError for a bad
  box file.
  """
  from tfsports.data import mot
  from tfsports.data import video_io
  if not isinstance(boxes, dict):
    boxes = mot.read_mot(boxes)
  h, w = crop_size
  out = {"crops": [], "track_id": [], "frame": []}
  for t, frame in enumerate(video_io.iter_frames(video)):
    if t % every or t not in boxes:
      continue
    for track, x, y, bw, bh in boxes[t]:
      crop = crop_box(frame, x, y, bw, bh, crop_size) if bh >= min_height else None
      if crop is not None:
        out["crops"].append(crop)
        out["track_id"].append(int(track))
        out["frame"].append(t)
  if not out["crops"]:
    return {"crops": np.zeros((0, h, w, 3), np.uint8),
            "track_id": np.zeros((0,), np.int32), "frame": np.zeros((0,), np.int32)}
  return {"crops": np.stack(out["crops"]),
          "track_id": np.asarray(out["track_id"], np.int32),
          "frame": np.asarray(out["frame"], np.int32)}


CROP_SCENE = synthetic.SceneConfig(image_size=(360, 640), num_frames=6, fps=5.0,
                                   camera="broadcast")


def athlete_examples(crop_size, seed=0, start_index=0, num_clips=None,
                     scene_config=CROP_SCENE, input_context=None):
  """A dataset of (crop uint8 [h, w, 3], labels) from synthetic scenes.

  labels: kit (which team kit, or the referee's: team numbers are only
  meaningful within a clip), tens, units (jersey digits; tens 0 for one-digit
  numbers), identity (clip index * 1000 + track id, for triplet losses),
  int32 [].
  """
  h, w = crop_size

  def generate():
    index = start_index
    shard = input_context.input_pipeline_id if input_context else 0
    step = input_context.num_input_pipelines if input_context else 1
    index += shard
    end = None if num_clips is None else start_index + num_clips
    while end is None or index < end:
      clip = synthetic.render_clip(scene_config, seed=seed, index=index)
      c = player_crops(clip, crop_size)
      for k in range(len(c["crops"])):
        j = int(c["jersey"][k])
        yield c["crops"][k], {"kit": c["kit"][k], "tens": np.int32(j // 10),
                              "units": np.int32(j % 10),
                              "identity": np.int32(index * 1000 + c["track_id"][k])}
      index += step

  spec = (tf.TensorSpec([h, w, 3], tf.uint8),
          {k: tf.TensorSpec([], tf.int32) for k in ("kit", "tens", "units", "identity")})
  return tf.data.Dataset.from_generator(generate, output_signature=spec)

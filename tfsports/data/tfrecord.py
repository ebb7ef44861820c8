r"""Clips as sharded `tf.train.SequenceExample` TFRecords, JPEG frames.

    tfsports tfrecord --source=synthetic --num_clips=100 \
        --out=/data/train --num_shards=8
    tfsports tfrecord --source=/videos/by_class --out=/data/v

The reader decodes JPEG inside the graph (`tf.io.decode_jpeg`), so it scales
with `num_parallel_calls` and takes no Python lock.

Record layout: context `label`, `sport`, `source`, `track_ids`, `teams`,
`jerseys` (int64 [N]), `pitch_size`; one feature-list entry per frame for
`frames` (JPEG bytes), `boxes` ([N*4]), `visibility` ([N]), `positions`
([N*2]), `ball` ([3]), `ball_pixels` ([2]), `ball_visible` ([1]).
"""

import os

import cv2
import numpy as np
import tensorflow as tf

from tfsports.data import sources

# Records hold each clip's own number of objects; the reader pads them to
# max_objects, so a record never depends on a padding size chosen later.


def _int64(values):
  return tf.train.Feature(int64_list=tf.train.Int64List(
      value=np.asarray(values, np.int64).ravel()))


def _float(values):
  return tf.train.Feature(float_list=tf.train.FloatList(
      value=np.asarray(values, np.float32).ravel()))


def _bytes(value):
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def encode_jpeg(frame, quality=95):
  ok, data = cv2.imencode(".jpg", np.ascontiguousarray(frame[..., ::-1]),
                          [cv2.IMWRITE_JPEG_QUALITY, quality])
  if not ok:
    raise ValueError("JPEG encoding failed")
  return data.tobytes()


def clip_to_example(clip, source="", quality=95):
  """Serialises a clip (numpy dict, N unpadded objects) to a SequenceExample.

  Accepts a rendered clip (`synthetic.render_clip`) or a dict with only
  `frames` and `label`.
  """
  frames = np.asarray(clip["frames"])
  T = len(frames)
  n = len(clip.get("track_ids", ()))
  get = lambda k, shape: np.asarray(clip.get(k, np.zeros(shape)))
  context = {
      "label": _int64([int(clip.get("label", -1))]),
      "sport": _bytes(str(clip.get("sport", "")).encode()),
      "source": _bytes(source.encode()),
      "track_ids": _int64(get("track_ids", (0,))),
      "teams": _int64(get("teams", (0,))),
      "jerseys": _int64(get("jerseys", (0,))),
      "pitch_size": _float(get("pitch_size", (2,))),
  }
  boxes = get("boxes", (T, n, 4))
  vis = get("visibility", (T, n))
  pos = get("positions", (T, n, 2))
  ball = get("ball", (T, 3))
  ball_px = get("ball_pixels", (T, 2))
  ball_vis = get("ball_visible", (T,))
  lists = {
      "frames": [_bytes(encode_jpeg(f, quality)) for f in frames],
      "boxes": [_float(boxes[t]) for t in range(T)],
      "visibility": [_float(vis[t]) for t in range(T)],
      "positions": [_float(pos[t]) for t in range(T)],
      "ball": [_float(ball[t]) for t in range(T)],
      "ball_pixels": [_float(ball_px[t]) for t in range(T)],
      "ball_visible": [_int64([int(ball_vis[t])]) for t in range(T)],
  }
  return tf.train.SequenceExample(
      context=tf.train.Features(feature=context),
      feature_lists=tf.train.FeatureLists(feature_list={
          k: tf.train.FeatureList(feature=v) for k, v in lists.items()}))


def write_shards(clips, out_prefix, num_shards=1, source=""):
  """Writes an iterable of clips round-robin into `num_shards` files.

  Files are `{out_prefix}-{i:05d}-of-{num_shards:05d}.tfrecord`, written under
  a temporary name and renamed when complete. Returns the paths.
  """
  os.makedirs(os.path.dirname(os.path.abspath(out_prefix)), exist_ok=True)
  paths = [f"{out_prefix}-{i:05d}-of-{num_shards:05d}.tfrecord"
           for i in range(num_shards)]
  tmp = [p + ".partial" for p in paths]
  writers = [tf.io.TFRecordWriter(p) for p in tmp]
  try:
    for k, clip in enumerate(clips):
      writers[k % num_shards].write(
          clip_to_example(clip, source=source).SerializeToString())
  finally:
    for w in writers:
      w.close()
  for t, p in zip(tmp, paths):
    os.replace(t, p)
  return paths


_CONTEXT = {
    "label": tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    "sport": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "track_ids": tf.io.VarLenFeature(tf.int64),
    "teams": tf.io.VarLenFeature(tf.int64),
    "jerseys": tf.io.VarLenFeature(tf.int64),
    "pitch_size": tf.io.FixedLenFeature([2], tf.float32, default_value=[0, 0]),
}
_SEQUENCE = {
    "frames": tf.io.FixedLenSequenceFeature([], tf.string),
    "boxes": tf.io.VarLenFeature(tf.float32),
    "visibility": tf.io.VarLenFeature(tf.float32),
    "positions": tf.io.VarLenFeature(tf.float32),
    "ball": tf.io.FixedLenSequenceFeature([3], tf.float32),
    "ball_pixels": tf.io.FixedLenSequenceFeature([2], tf.float32),
    "ball_visible": tf.io.FixedLenSequenceFeature([1], tf.int64),
}


def _pad_to(x, max_objects, axis, value):
  n = tf.shape(x)[axis]
  tf.debugging.assert_less_equal(n, max_objects,
                                 message="record has more objects than max_objects")
  rank = len(x.shape)
  paddings = [[0, 0]] * rank
  paddings[axis] = [0, max_objects - n]
  return tf.pad(x, paddings, constant_values=value)


def parse_clip(serialized, num_frames, image_size, max_objects=sources.MAX_OBJECTS):
  """Parses one record into a clip (see `sources`), in graph.

  Returns frames uint8 [T, H, W, 3] and every label, objects padded to
  `max_objects`. `image_size` None leaves H and W to the stored JPEGs.
  """
  context, seq = tf.io.parse_single_sequence_example(
      serialized, context_features=_CONTEXT, sequence_features=_SEQUENCE)
  T = num_frames
  height, width = image_size or (None, None)
  frames = tf.map_fn(
      lambda b: tf.io.decode_jpeg(b, channels=3, dct_method="INTEGER_FAST"),
      seq["frames"], fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8))
  frames = tf.ensure_shape(frames, [T, height, width, 3])
  dense = lambda k: tf.sparse.to_dense(seq[k])
  n = tf.size(context["track_ids"].values)
  out = {
      "frames": frames,
      "label": tf.cast(context["label"], tf.int32),
      "boxes": _pad_to(tf.reshape(dense("boxes"), [T, n, 4]), max_objects, 1, 0.0),
      "visibility": _pad_to(tf.reshape(dense("visibility"), [T, n]), max_objects, 1, 0.0),
      "positions": _pad_to(tf.reshape(dense("positions"), [T, n, 2]), max_objects, 1, 0.0),
      "track_ids": _pad_to(tf.cast(context["track_ids"].values, tf.int32), max_objects, 0, -1),
      "teams": _pad_to(tf.cast(context["teams"].values, tf.int32), max_objects, 0, -1),
      "jerseys": _pad_to(tf.cast(context["jerseys"].values, tf.int32), max_objects, 0, 0),
      "ball": seq["ball"],
      "ball_pixels": seq["ball_pixels"],
      "ball_visible": tf.cast(seq["ball_visible"][:, 0], tf.bool),
      "pitch_size": context["pitch_size"],
  }
  return sources._set_shapes(out, T, (height, width), max_objects)


def tfrecord_clips(pattern, num_frames, image_size, input_context=None,
                   max_objects=sources.MAX_OBJECTS, cycle_length=4,
                   num_parallel_calls=tf.data.AUTOTUNE, deterministic=True):
  """Clips from TFRecord shards matching `pattern` (a glob or list of files).

  Shards are split between input pipelines by file when there are enough
  files, else by record. Returns a `tf.data.Dataset` of clips.
  """
  files = sorted(tf.io.gfile.glob(pattern)) if isinstance(pattern, str) else list(pattern)
  if not files:
    raise FileNotFoundError(f"no TFRecord files match {pattern!r}")
  n = input_context.num_input_pipelines if input_context else 1
  by_file = len(files) >= n
  ds = tf.data.Dataset.from_tensor_slices(files)
  if by_file:
    ds = sources._shard(ds, input_context)
  ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=cycle_length,
                     num_parallel_calls=tf.data.AUTOTUNE,
                     deterministic=deterministic)
  if not by_file:
    ds = sources._shard(ds, input_context)
  ds = ds.map(lambda s: parse_clip(s, num_frames, image_size, max_objects),
              num_parallel_calls=num_parallel_calls, deterministic=deterministic)
  return sources._options(ds, deterministic)


def convert(source, out_prefix, num_shards=1, num_clips=100, seed=0,
            scene_config=None, num_frames=16, image_size=None, stride=1):
  """Writes TFRecord shards from `source`: "synthetic" or a video folder.

  Synthetic clips are `render_clip(scene_config, seed, k)` for k < num_clips;
  a folder gives consecutive non-overlapping clips of every video (labels
  from class subfolders). Returns the shard paths.
  """
  from tfsports.data import synthetic
  from tfsports.data import video_io
  if source == "synthetic":
    config = scene_config or synthetic.SceneConfig.from_preset("base")
    clips = (synthetic.render_clip(config, seed=seed, index=k)
             for k in range(num_clips))
    return write_shards(clips, out_prefix, num_shards, source="synthetic")
  paths, labels, _ = sources.list_videos(source)

  def video_clips():
    for path, label in zip(paths, labels):
      for frames in video_io.iter_clips(path, num_frames, stride=stride,
                                        size=image_size):
        yield {"frames": frames, "label": label}

  return write_shards(video_clips(), out_prefix, num_shards, source=source)

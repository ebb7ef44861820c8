import itertools
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import decoded_index, index_frames
from tfsports.data import degrade
from tfsports.data import pipelines
from tfsports.data import preprocess
from tfsports.data import sources
from tfsports.data import synthetic
from tfsports.data import tfrecord
from tfsports.data import video_io

CONFIG = synthetic.SceneConfig(image_size=(16, 16), num_frames=4)


def _context(k, n=2):
  return tf.distribute.InputContext(num_input_pipelines=n, input_pipeline_id=k,
                                    num_replicas_in_sync=n)


def test_tfrecord_roundtrip_keeps_every_label(tmp_path):
  config = synthetic.SceneConfig(image_size=(32, 48), num_frames=4)
  paths = tfrecord.convert("synthetic", str(tmp_path / "train"), num_shards=2,
                           num_clips=3, seed=9, scene_config=config)
  assert len(paths) == 2 and all(os.path.exists(p) for p in paths)
  got = list(tfrecord.tfrecord_clips(paths, 4, (32, 48)).as_numpy_iterator())
  assert len(got) == 3
  # Shards are written round robin (shard 0 holds clips 0 and 2) and read
  # interleaved, which restores the order.
  order = [0, 1, 2]
  for clip, index in zip(got, order):
    want = sources.pad_objects(synthetic.render_clip(config, seed=9, index=index))
    for key in ("label", "boxes", "visibility", "positions", "track_ids", "teams",
                "jerseys", "ball", "ball_pixels", "ball_visible", "pitch_size"):
      np.testing.assert_allclose(clip[key], want[key], rtol=1e-6, err_msg=key)
    # Frames are exactly the stored JPEGs, decoded.
    ref = np.stack([tf.io.decode_jpeg(tfrecord.encode_jpeg(f), dct_method="INTEGER_FAST")
                    for f in want["frames"]])
    np.testing.assert_array_equal(clip["frames"], ref)
    assert np.abs(clip["frames"].astype(int) - want["frames"]).mean() < 8


def test_tfrecord_from_video_folder(tmp_path):
  for cls in ("a", "b"):
    os.makedirs(tmp_path / "v" / cls)
    video_io.write_video(tmp_path / "v" / cls / "x.mp4", index_frames(8, 32, 32))
  paths = tfrecord.convert(str(tmp_path / "v"), str(tmp_path / "rec"), num_clips=0,
                           num_frames=4)
  got = list(tfrecord.tfrecord_clips(paths, 4, (32, 32)).as_numpy_iterator())
  assert sorted(int(c["label"]) for c in got) == [0, 0, 1, 1]
  assert [decoded_index(f) for f in got[0]["frames"]] == [0, 1, 2, 3]
  assert (got[0]["track_ids"] == -1).all()


def test_missing_tfrecords_raise(tmp_path):
  with pytest.raises(FileNotFoundError):
    tfrecord.tfrecord_clips(str(tmp_path / "*.tfrecord"), 4, (16, 16))


def test_two_replica_shards_are_disjoint_synthetic():
  labels = []
  for k in range(2):
    ds = sources.synthetic_clips(CONFIG, seed=1, num_clips=6, input_context=_context(k))
    labels.append([c["positions"][0, 0].tobytes() for c in ds.as_numpy_iterator()])
  assert len(labels[0]) == len(labels[1]) == 3
  assert not set(labels[0]) & set(labels[1])
  whole = sources.synthetic_clips(CONFIG, seed=1, num_clips=6)
  assert {c["positions"][0, 0].tobytes() for c in whole.as_numpy_iterator()} == set(
      labels[0]) | set(labels[1])


def test_two_replica_shards_are_disjoint_tfrecord_and_videos(tmp_path):
  paths = tfrecord.convert("synthetic", str(tmp_path / "r"), num_shards=4,
                           num_clips=8, scene_config=CONFIG)
  seen = [[c["positions"].tobytes() for c in tfrecord.tfrecord_clips(
      paths, 4, (16, 16), input_context=_context(k)).as_numpy_iterator()] for k in range(2)]
  assert len(seen[0]) == len(seen[1]) == 4 and not set(seen[0]) & set(seen[1])
  for i in range(4):
    video_io.write_video(tmp_path / f"v{i}.mp4", index_frames(8, 16, 16)[i:])
  files = sorted(str(p) for p in tmp_path.glob("v*.mp4"))
  first = [[decoded_index(c["frames"][0]) for c in sources.video_clips(
      files, [-1] * 4, 4, (16, 16), input_context=_context(k)).as_numpy_iterator()]
           for k in range(2)]
  # File i starts at index i: worker 0 reads files 0, 2; worker 1 files 1, 3.
  assert sorted(first[0]) == [0, 2, 4] and sorted(first[1]) == [1, 3]


def test_pipelines_are_deterministic():
  def take():
    clips = pipelines.clip_dataset("synthetic", 4, (32, 32), seed=3, scene_config=CONFIG)
    ds = pipelines.sr_batches(clips, degrade.DegradationConfig.from_preset("broadcast"),
                              patch_size=4, batch_size=2, seed=3)
    return [lr.numpy() for lr, _ in ds.take(2)]
  for a, b in zip(take(), take()):
    np.testing.assert_array_equal(a, b)


def test_sr_pairs_follow_the_degradation():
  clips = pipelines.clip_dataset("synthetic", 4, (64, 64), scene_config=CONFIG)
  plain = degrade.DegradationConfig.from_preset("bicubic", scale=4)
  lr, hr = next(iter(pipelines.sr_batches(clips, plain, patch_size=8, batch_size=2)))
  assert lr.shape == (2, 4, 8, 8, 3) and hr.shape == (2, 4, 32, 32, 3)
  assert lr.dtype == tf.float32 and 0.0 <= float(tf.reduce_min(lr)) <= float(
      tf.reduce_max(lr)) <= 1.0
  expected = tf.image.resize(hr[0], (8, 8), method="bicubic", antialias=True)
  np.testing.assert_allclose(lr[0], tf.clip_by_value(expected, 0, 1), atol=1e-4)
  noisy = degrade.DegradationConfig(scale=1, blur_sigma=(0, 0), noise_std=(10, 10))
  lr, hr = next(iter(pipelines.sr_batches(clips, noisy, patch_size=16, batch_size=1)))
  assert lr.shape == hr.shape
  assert 0.02 < float(tf.math.reduce_std(lr - hr)) < 0.06


def test_jpeg_and_h264_degradations_compress():
  frames = synthetic.render_clip(synthetic.SceneConfig(image_size=(64, 64),
                                                       num_frames=4), 0, 0)["frames"]
  for config in (degrade.DegradationConfig(scale=1, blur_sigma=(0, 0),
                                           noise_std=(0, 0), jpeg_quality=(10, 10)),
                 degrade.DegradationConfig(scale=1, blur_sigma=(0, 0),
                                           noise_std=(0, 0), h264_crf=(45, 45))):
    out = degrade.degrade_clip(frames, config, tf.constant([0, 1]))
    err = np.abs(out.numpy() - frames).mean()
    assert 0.5 < err < 30
  with pytest.raises(ValueError):
    degrade.DegradationConfig(scale=3)


def test_real_degradation_draws_kernels_and_steps_per_clip():
  frames = synthetic.render_clip(synthetic.SceneConfig(image_size=(64, 64),
                                                       num_frames=3), 0, 0)["frames"]
  real = degrade.DegradationConfig.from_preset("real", scale=4)
  fn = tf.function(lambda seed: degrade.degrade_clip(frames, real, seed))
  outs = [fn(tf.constant([k, 5])).numpy() for k in range(40)]
  assert all(o.shape == (3, 16, 16, 3) for o in outs)
  np.testing.assert_array_equal(outs[0], fn(tf.constant([0, 5])).numpy())   # seeded
  # Every one of the 14 kernels alone gives its own picture of the frame...
  singles = {}
  for name in degrade.KERNELS:
    config = degrade.DegradationConfig(scale=4, blur_sigma=(0, 0), noise_std=(0, 0),
                                       kernels=(name,))
    singles[name] = degrade.degrade_clip(frames, config, tf.constant([0, 1])).numpy()
  assert len({s.round(3).tobytes() for s in singles.values()}) == len(degrade.KERNELS)
  # ...and the real preset leaves a share of clips clean (a single resize)
  # while degrading the rest further.
  clean = sum(any(np.abs(o - s).max() < 1e-3 for s in singles.values()) for o in outs)
  assert 4 <= clean <= 32, clean
  with pytest.raises(ValueError, match="kernels"):
    degrade.DegradationConfig(kernels=("box",))


def test_a_soft_source_is_the_target_as_well_as_the_input():
  clips = pipelines.clip_dataset("synthetic", 3, (64, 64), scene_config=CONFIG)
  sharp = degrade.DegradationConfig(scale=2, blur_sigma=(0, 0), noise_std=(0, 0),
                                    kernels=("area",))
  soft = degrade.DegradationConfig(scale=2, blur_sigma=(0, 0), noise_std=(0, 0),
                                   kernels=("area",), soft_source=1.0, soft_sigma=(1.2, 1.2))
  lr_sharp, hr_sharp = next(iter(pipelines.sr_batches(clips, sharp, 16, 1, seed=3)))
  lr_soft, hr_soft = next(iter(pipelines.sr_batches(clips, soft, 16, 1, seed=3)))
  # The same crop, blurred: the target is the soft source itself...
  want = degrade.gaussian_blur(hr_sharp[0] * 255.0, tf.constant(1.2)) / 255.0
  np.testing.assert_allclose(hr_soft[0], want, atol=1e-5)
  detail = lambda x: float(tf.reduce_mean(tf.abs(x[..., 1:, :] - x[..., :-1, :])))
  assert detail(hr_soft) < 0.8 * detail(hr_sharp)
  # ...and the input is that soft source downscaled.
  np.testing.assert_allclose(lr_soft[0], tf.image.resize(hr_soft[0], (16, 16), "area"),
                             atol=1e-4)
  # Never fires at 0, always at 1, sometimes in between; seeded.
  frames = hr_sharp[0] * 255.0
  assert np.array_equal(degrade.soften_source(frames, sharp, tf.constant([1, 2])), frames)
  resize = degrade.DegradationConfig.from_preset("resize", scale=2)
  fn = tf.function(lambda seed: degrade.soften_source(frames, resize, seed))
  fired = [not np.array_equal(fn(tf.constant([k, 4])).numpy(), frames.numpy())
           for k in range(40)]
  assert 5 <= sum(fired) <= 25, sum(fired)
  np.testing.assert_array_equal(fn(tf.constant([7, 4])), fn(tf.constant([7, 4])))
  with pytest.raises(ValueError, match="soft_source"):
    degrade.DegradationConfig(soft_source=0.5)
  with pytest.raises(ValueError, match="soft_source"):
    degrade.DegradationConfig(soft_source=1.5, soft_sigma=(0.5, 1.0))


def test_parallel_interleave_keeps_the_interleave_order_and_raises():
  produce = lambda n: iter(range(n * 10, n * 10 + n))
  got = list(sources.parallel_interleave([1, 3, 2, 0, 4], produce, cycle_length=2))
  want = list(tf.data.Dataset.from_tensor_slices(np.int64([1, 3, 2, 0, 4])).interleave(
      lambda n: tf.data.Dataset.range(n * 10, n * 10 + n), cycle_length=2).as_numpy_iterator())
  assert got == want

  def failing(n):
    yield n
    raise RuntimeError(f"file {n} broke")
  with pytest.raises(RuntimeError, match="file 1 broke"):
    list(sources.parallel_interleave([1, 2], failing, cycle_length=2))
  # A consumer that stops early releases the producers.
  endless = sources.parallel_interleave([0, 1], lambda n: itertools.count(), 2)
  assert [next(endless) for _ in range(4)] == [0, 0, 1, 1]
  endless.close()


def test_classification_batches():
  config = synthetic.SceneConfig(image_size=(32, 32), num_frames=12)
  clips = pipelines.clip_dataset("synthetic", 12, (32, 32), scene_config=config,
                                 num_clips=2)
  frames, labels = next(iter(pipelines.classification_batches(clips, 2)))
  assert frames.shape == (2, 12, 32, 32, 3) and frames.dtype == tf.uint8
  want = [int(synthetic.render_clip(config, 0, k)["label"]) for k in range(2)]
  assert labels.numpy().tolist() == want


def test_video_folder_labels_and_corrupt_file_skipped(tmp_path):
  for cls in ("pass", "shot"):
    os.makedirs(tmp_path / cls)
    video_io.write_video(tmp_path / cls / "good.mp4", index_frames(8, 16, 16))
  (tmp_path / "shot" / "broken.mp4").write_text("not a video")
  paths, labels, names = sources.list_videos(str(tmp_path))
  assert names == ["pass", "shot"] and sorted(labels) == [0, 1, 1]
  clips = list(pipelines.clip_dataset(str(tmp_path), 4, (16, 16)).as_numpy_iterator())
  assert sorted(int(c["label"]) for c in clips) == [0, 0, 1, 1]
  with pytest.raises(FileNotFoundError):
    sources.list_videos(str(tmp_path / "nowhere"))


def test_random_crop_is_the_same_window_for_every_frame():
  frames = tf.reshape(tf.range(4 * 10 * 12), [4, 10, 12, 1])
  crop, offset = preprocess.random_crop_clip(frames, (5, 6), tf.constant([1, 2]))
  top, left = offset.numpy()
  np.testing.assert_array_equal(crop, frames[:, top:top + 5, left:left + 6])
  boxes = preprocess.crop_boxes(tf.constant([[10.0, 20.0, 3.0, 4.0]]), offset)
  np.testing.assert_allclose(boxes, [[10 - left, 20 - top, 3, 4]])


def _background_motion(frames):
  """Mean frame-to-frame shift (pixels) of a clip's middle, by phase
  correlation: an estimator independent of the stabiliser's own tracker."""
  import cv2
  grey = [np.float32(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY))[20:-20, 20:-20] for f in frames]
  return float(np.mean([np.hypot(*cv2.phaseCorrelate(grey[t], grey[t + 1])[0])
                        for t in range(len(grey) - 1)]))


def test_stabilize_reduces_background_motion_eightfold():
  # A static textured scene under camera jitter (3 px std per frame): every
  # pixel is background, so all its motion is shake.
  rng = np.random.default_rng(0)
  base = synthetic.render_clip(synthetic.SceneConfig(
      image_size=(160, 200), num_frames=1, camera="static"), 0, 0)["frames"][0]
  texture = np.clip(base.astype(int) + rng.integers(-30, 30, base.shape), 0, 255).astype(np.uint8)
  frames = np.stack([cv2_shift(texture, dx, dy) for dx, dy in rng.normal(0, 3.0, (30, 2))])
  out, _ = preprocess.stabilize_clip(frames, radius=8)
  before, after = _background_motion(frames), _background_motion(out)
  # Measured 4.75 px -> 0.40 px per frame (11.9x); the stated factor is 8.
  assert after * 8 < before, (before, after)
  assert out.shape == frames.shape and out.dtype == np.uint8


def cv2_shift(img, dx, dy):
  import cv2
  m = np.float32([[1, 0, dx], [0, 1, dy]])
  return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]),
                        borderMode=cv2.BORDER_REFLECT)


def test_denoise_reduces_noise():
  clean = synthetic.render_clip(synthetic.SceneConfig(image_size=(48, 64),
                                                      num_frames=3, camera="static"), 0, 0)["frames"]
  rng = np.random.default_rng(1)
  noisy = np.clip(clean + rng.normal(0, 12, clean.shape), 0, 255).astype(np.uint8)
  for method in ("nlmeans", "bilateral"):
    out = preprocess.denoise_clip(noisy, strength=12, method=method)
    assert np.abs(out.astype(int) - clean).mean() < 0.8 * np.abs(noisy.astype(int) - clean).mean()
  with pytest.raises(ValueError):
    preprocess.denoise_clip(noisy.astype(np.float32))
  ds = tf.data.Dataset.from_tensors({"frames": tf.constant(noisy)}).map(
      preprocess.denoise_step(12))
  assert next(iter(ds))["frames"].shape == noisy.shape


def test_center_crop_is_the_middle_window():
  frames = tf.reshape(tf.range(2 * 10 * 12), [2, 10, 12, 1])
  np.testing.assert_array_equal(preprocess.center_crop_clip(frames, (4, 6)),
                                frames[:, 3:7, 3:9])

import json
import os
import time

import numpy as np
import pytest

from tests.conftest import decoded_index, index_frames
from tests import test_case
from tfsports.data import video_io


def _moving_square(n=12, h=64, w=96):
  frames = []
  for i in range(n):
    f = np.zeros((h, w, 3), np.uint8)
    f[..., 1] = 90
    f[16:40, 8 + 4 * i:32 + 4 * i] = (230, 40, 40)
    frames.append(f)
  return frames


def test_roundtrip_frames_match_within_codec_tolerance(tmp_path):
  frames = _moving_square()
  path = tmp_path / "sq.mp4"
  assert video_io.write_video(path, iter(frames), fps=30) == len(frames)
  decoded = video_io.read_frames(path)
  assert decoded.shape == (12, 64, 96, 3) and decoded.dtype == np.uint8
  err = np.abs(decoded.astype(int) - np.stack(frames)).mean()
  assert err < 3.0


def _smooth_rgb(h=64, w=96, seed=0):
  import cv2
  noise = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
  return cv2.GaussianBlur(noise, (7, 7), 2)


def _yuv_frame(rgb, colorspace=None, color_range=None):
  import av
  frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
  if colorspace is not None:
    frame.colorspace = colorspace
  if color_range is not None:
    frame.color_range = color_range
  return frame


def test_frame_to_rgb_is_unbiased_and_writes_in_place():
  rgb = _smooth_rgb()
  frame = _yuv_frame(rgb)
  out = np.empty_like(rgb)
  assert video_io.frame_to_rgb(frame, out=out) is out
  ours = out.astype(float) - rgb
  swscale = frame.to_ndarray(format="rgb24").astype(float) - rgb
  # swscale's default conversion is about a level dark; ours is not.
  assert abs(ours.mean()) < 0.3 and swscale.mean() < -0.8
  assert np.sqrt((ours ** 2).mean()) < np.sqrt((swscale ** 2).mean())
  small = video_io.frame_to_rgb(frame, size=(32, 48), out=np.empty((32, 48, 3), np.uint8))
  assert small.shape == (32, 48, 3)


@pytest.mark.parametrize("tags", [dict(colorspace=1), dict(color_range=2)])
def test_frame_to_rgb_keeps_swscale_for_tagged_frames(tags):
  # BT.709 and full range need their own matrix, which swscale applies.
  frame = _yuv_frame(_smooth_rgb(), **tags)
  np.testing.assert_array_equal(video_io.frame_to_rgb(frame), frame.to_ndarray(format="rgb24"))


def test_probe_reports_metadata(tmp_path):
  path = tmp_path / "sq.mp4"
  video_io.write_video(path, _moving_square(), fps=30)
  info = video_io.probe(path)
  assert (info.width, info.height, info.num_frames, info.codec) == (96, 64, 12, "h264")
  assert info.fps == pytest.approx(30.0)
  assert info.duration == pytest.approx(0.4, abs=0.05)


def test_clip_indices_are_exact(indexed_video):
  clip = video_io.read_clip(indexed_video, num_frames=5, stride=3, start=4)
  assert [decoded_index(f) for f in clip] == [4, 7, 10, 13, 16]


def test_iter_clips_matches_read_clip(indexed_video):
  clips = list(video_io.iter_clips(indexed_video, num_frames=4, stride=2, hop=5))
  # Starts 0, 5, 10, 15 fit in 24 frames with span 7; 20 does not.
  assert len(clips) == 4
  for k, clip in enumerate(clips):
    assert [decoded_index(f) for f in clip] == [5 * k + 2 * i for i in range(4)]


def test_read_clip_resizes(indexed_video):
  clip = video_io.read_clip(indexed_video, num_frames=2, size=(24, 32))
  assert clip.shape == (2, 24, 32, 3)


def test_clip_past_the_end_raises(indexed_video):
  with pytest.raises(video_io.VideoReadError, match="has 24 frames"):
    video_io.read_clip(indexed_video, num_frames=10, stride=3)


def test_bad_clip_arguments(indexed_video):
  with pytest.raises(ValueError):
    video_io.read_clip(indexed_video, num_frames=0)


def _bad_files(tmp_path, good):
  data = good.read_bytes()
  files = {}
  files["missing"] = tmp_path / "missing.mp4"
  files["empty"] = tmp_path / "empty.mp4"
  files["empty"].write_bytes(b"")
  files["truncated"] = tmp_path / "truncated.mp4"
  files["truncated"].write_bytes(data[: int(len(data) * 0.6)])
  # A damaged block of the stream (it spans NAL unit boundaries), and a
  # damaged container header.
  flipped = bytearray(data)
  for i in range(len(data) // 2, len(data) // 2 + 4000):
    flipped[i] ^= 0xFF
  files["corrupt"] = tmp_path / "corrupt.mp4"
  files["corrupt"].write_bytes(bytes(flipped))
  flipped = bytearray(data)
  for i in range(40, 400):
    flipped[i] ^= 0xFF
  files["corrupt_header"] = tmp_path / "corrupt_header.mp4"
  files["corrupt_header"].write_bytes(bytes(flipped))
  files["text"] = tmp_path / "notes.mp4"
  files["text"].write_text("this is not a video\n" * 50)
  files["directory"] = tmp_path / "dir.mp4"
  files["directory"].mkdir()
  return files


@pytest.fixture
def noisy_video(tmp_path):
  rng = np.random.default_rng(0)
  path = tmp_path / "noisy.mp4"
  video_io.write_video(path, (rng.integers(0, 255, (64, 96, 3), np.uint8)
                              for _ in range(30)), fps=25, crf=30)
  return path


@pytest.mark.parametrize("kind", ["missing", "empty", "truncated", "corrupt",
                                  "corrupt_header", "text", "directory"])
def test_bad_files_raise_documented_error(tmp_path, noisy_video, kind):
  path = _bad_files(tmp_path, noisy_video)[kind]
  start = time.monotonic()
  with pytest.raises(video_io.VideoReadError) as info:
    video_io.probe(path)
    video_io.read_frames(path)
  assert info.value.path == str(path)
  assert str(path) in str(info.value) and info.value.reason
  assert time.monotonic() - start < 10


def test_writer_rejects_bad_frames(tmp_path):
  with pytest.raises(ValueError, match="uint8"):
    with video_io.VideoWriter(tmp_path / "a.mp4") as w:
      w.write(np.zeros((8, 8, 3), np.float32))
  with pytest.raises(ValueError, match="even"):
    with video_io.VideoWriter(tmp_path / "b.mp4") as w:
      w.write(np.zeros((9, 8, 3), np.uint8))
  with pytest.raises(ValueError, match="frame 1"):
    with video_io.VideoWriter(tmp_path / "c.mp4") as w:
      w.write(np.zeros((8, 8, 3), np.uint8))
      w.write(np.zeros((8, 10, 3), np.uint8))
  # Nothing half-written is left behind, under any name.
  assert os.listdir(tmp_path) == []


def test_interrupted_write_keeps_existing_file(tmp_path):
  path = tmp_path / "keep.mp4"
  video_io.write_video(path, index_frames(5))
  before = path.read_bytes()

  def frames():
    yield from index_frames(3)
    raise KeyboardInterrupt

  with pytest.raises(KeyboardInterrupt):
    video_io.write_video(path, frames())
  assert path.read_bytes() == before
  assert os.listdir(tmp_path) == ["keep.mp4"]


def test_probe_cli_reports_good_and_bad_files(tmp_path, indexed_video):
  bad = tmp_path / "bad.mp4"
  bad.write_text("nope")
  out = test_case.run_command("probe", indexed_video, bad, indexed_video)
  assert out.returncode == 2
  lines = out.stdout.strip().splitlines()
  assert len(lines) == 2
  info = json.loads(lines[0])
  assert set(info) == {"path", "container", "codec", "width", "height", "fps",
                       "num_frames", "duration"}
  assert info["num_frames"] == 24
  errors = out.stderr.strip().splitlines()
  assert len(errors) == 1 and str(bad) in errors[0]


def test_reads_real_gif_and_mp4():
  from tests.conftest import SHARED
  gif = os.path.join(SHARED, "video", "v_CricketShot_g04_c01_rgb.gif")
  mp4 = os.path.join(SHARED, "video", "basketball_gym.mp4")
  if not os.path.exists(gif):
    pytest.skip("shared real data not present")
  clip = video_io.read_clip(gif, num_frames=4, stride=2)
  assert clip.shape == (4, 224, 224, 3)
  info = video_io.probe(mp4)
  assert (info.width, info.height, info.num_frames) == (426, 240, 300)

"""Video files in and out through PyAV (FFmpeg in the wheel).

Every failure to read a file surfaces as `VideoReadError`, which names the
file and the reason; nothing here returns a silently short result.
"""

import collections
import dataclasses
import fractions
import os
import tempfile

import av
import cv2
import numpy as np

from tfsports import errors

# FFmpeg's own logging is noisy on corrupt input; the errors that matter are
# raised as exceptions instead.
av.logging.set_level(av.logging.PANIC)


class VideoReadError(errors.UserError):
  """A video file could not be read. `path` and `reason` say which and why."""

  def __init__(self, path, reason):
    self.path = str(path)
    self.reason = str(reason)
    super().__init__(f"{self.path}: {self.reason}")


@dataclasses.dataclass(frozen=True)
class VideoInfo:
  path: str
  container: str
  codec: str
  width: int
  height: int
  fps: float
  num_frames: int
  duration: float

  def to_dict(self):
    return dataclasses.asdict(self)


def _open(path):
  path = os.fspath(path)
  if not os.path.exists(path):
    raise VideoReadError(path, "no such file")
  if os.path.isdir(path):
    raise VideoReadError(path, "is a directory, not a video file")
  if os.path.getsize(path) == 0:
    raise VideoReadError(path, "empty file (0 bytes)")
  try:
    container = av.open(path, mode="r", timeout=10.0)
  except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as e:
    raise VideoReadError(path, f"not a readable video container ({e})") from None
  if not container.streams.video:
    container.close()
    raise VideoReadError(path, "contains no video stream")
  stream = container.streams.video[0]
  if stream.codec_context is None or not stream.codec_context.width:
    container.close()
    raise VideoReadError(path, "video stream has no decodable codec or size")
  return container, stream


def _count_frames(container, stream):
  """Counts frames by demuxing packets (no decoding): exact for any codec."""
  n = 0
  for packet in container.demux(stream):
    if packet.size:
      n += 1
  container.seek(0)
  return n


def probe(path):
  """Returns `VideoInfo` for `path`; raises `VideoReadError`."""
  container, stream = _open(path)
  with container:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    try:
      num_frames = stream.frames or _count_frames(container, stream)
    except av.FFmpegError as e:
      raise VideoReadError(path, f"corrupt stream ({e})") from None
    if num_frames <= 0:
      raise VideoReadError(path, "video stream holds no frames")
    if stream.duration is not None and stream.time_base:
      duration = float(stream.duration * stream.time_base)
    elif fps:
      duration = num_frames / fps
    else:
      duration = 0.0
    return VideoInfo(
        path=os.fspath(path),
        container=container.format.name,
        codec=stream.codec_context.name,
        width=stream.codec_context.width,
        height=stream.codec_context.height,
        fps=fps,
        num_frames=int(num_frames),
        duration=duration,
    )


def _resize(frame, size):
  if size is None:
    return frame
  height, width = size
  if frame.shape[0] == height and frame.shape[1] == width:
    return frame
  interp = cv2.INTER_AREA if height < frame.shape[0] else cv2.INTER_LINEAR
  return cv2.resize(frame, (width, height), interpolation=interp)


# FFmpeg's colour-space codes for which swscale's default conversion is
# BT.601 in limited range, which is what OpenCV's I420 conversion computes.
_BT601_TAGS = (2, 5, 6)  # unspecified, BT.470BG, SMPTE 170M


def frame_to_rgb(frame, size=None, out=None):
  """One decoded PyAV frame as uint8 RGB [H, W, 3] (resized to `size`),
  written into `out` when given.

  4:2:0 frames in BT.601 limited range (nearly all H.264 sports footage)
  convert with OpenCV, straight into `out`. swscale's default conversion
  costs as much as decoding the frame, needs one copy more, and comes out
  about one level dark: an RGB -> yuv420p (swscale) -> RGB round trip is
  biased by -1.2 levels through swscale and -0.1 through OpenCV (tested).
  Other formats, full-range and BT.709/BT.2020-tagged frames keep swscale,
  which honours their tags.
  """
  if (frame.format.name == "yuv420p" and frame.colorspace in _BT601_TAGS
      and frame.color_range in (0, 1) and frame.width % 2 == 0 and frame.height % 2 == 0):
    native = size is None or tuple(size) == (frame.height, frame.width)
    rgb = cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420,
                       dst=out if native and out is not None else None)
  else:
    rgb = frame.to_ndarray(format="rgb24")
  rgb = _resize(rgb, size)
  if out is not None and rgb is not out:
    out[...] = rgb
    return out
  return rgb


def _decoded(path, threads=False):
  """Yields the PyAV frames of `path`; raises `VideoReadError` as
  `iter_frames` documents."""
  container, stream = _open(path)
  if threads:
    stream.thread_type = "AUTO"
  declared = stream.frames
  n = 0
  with container:
    try:
      for frame in container.decode(stream):
        yield frame
        n += 1
    except av.FFmpegError as e:
      raise VideoReadError(path, f"corrupt stream after frame {n} ({e})") from None
  if n == 0:
    raise VideoReadError(path, "no frame could be decoded")
  if declared and n < declared:
    raise VideoReadError(
        path, f"truncated: decoded {n} of the {declared} frames it declares")


def iter_frames(path, size=None, threads=False):
  """Yields every frame of `path` in order as uint8 RGB [H, W, 3].

  Args:
    path: a video file in any container and codec that FFmpeg reads.
    size: optional (height, width) to resize each frame to.
    threads: let FFmpeg decode with frame threads. Off by default: on light
      sports footage the thread hand-off costs more than it saves (720p:
      ~890 frames/s single-threaded, ~610 with frame threads on 2 cores), and
      pipelines get their parallelism by decoding several files at once.

  Raises:
    VideoReadError: the file is missing, not a video, or corrupt. A stream
      that ends before the frame count its container declares raises too,
      after the frames that did decode were yielded.
  """
  for frame in _decoded(path, threads):
    yield frame_to_rgb(frame, size)


def read_frames(path, size=None):
  """Returns all frames of `path`: uint8 [T, H, W, 3]. See `iter_frames`."""
  return np.stack(list(iter_frames(path, size=size)))


def resample_fps(frames, source_fps, fps):
  """Yields the frames of an iterable at `fps`: output frame k is the source
  frame shown at time k / fps (the latest one at or before it), so a video
  plays at the same speed at any frame rate; frames are repeated when `fps`
  exceeds `source_fps`. Holds one frame at a time."""
  if not source_fps or source_fps <= 0 or not fps or fps <= 0:
    raise ValueError(f"frame rates must be positive, got {source_fps} and {fps}")
  k = 0
  for n, frame in enumerate(frames):
    # Source frame n covers [n / source_fps, (n + 1) / source_fps).
    end = (n + 1) / source_fps
    while k / fps < end - 1e-9:
      yield frame
      k += 1


def read_frames_at(path, fps, size=None):
  """All frames of `path` resampled to `fps` (see `resample_fps`): uint8
  [T, H, W, 3] with T about duration * fps (at least 1)."""
  source_fps = probe(path).fps or 25.0
  frames = list(resample_fps(iter_frames(path, size=size), source_fps, fps))
  if not frames:
    raise VideoReadError(path, "no frame could be decoded")
  return np.stack(frames)


def clip_indices(start, num_frames, stride):
  return [start + i * stride for i in range(num_frames)]


def read_clip(path, num_frames, stride=1, start=0, size=None):
  """Returns exactly frames start, start+stride, ... of `path`.

  Frames are decoded from the start and skipped, never located by keyframe
  seeking, so the indices are exact for any codec and GOP structure.

  Returns:
    uint8 [num_frames, H, W, 3] (H, W from `size` when given).

  Raises:
    ValueError: bad arguments.
    VideoReadError: unreadable file, or it ends before the last index.
  """
  if num_frames < 1 or stride < 1 or start < 0:
    raise ValueError(
        f"need num_frames >= 1, stride >= 1, start >= 0; got {num_frames}, "
        f"{stride}, {start}")
  wanted = clip_indices(start, num_frames, stride)
  last = wanted[-1]
  out = []
  index = -1
  frames = iter_frames(path, size=size)
  try:
    for index, frame in enumerate(frames):
      if index >= start and (index - start) % stride == 0:
        out.append(frame)
      if index == last:
        break
  finally:
    frames.close()
  if len(out) < num_frames:
    raise VideoReadError(
        path, f"has {index + 1} frames; clip needs frame {last} "
        f"(start={start}, stride={stride}, num_frames={num_frames})")
  return np.stack(out)


def iter_clips(path, num_frames, stride=1, hop=None, size=None, threads=False,
               new_clip=None):
  """Yields consecutive clips in one decoding pass: uint8 [T, H, W, 3].

  Clip k holds frames k*hop + i*stride for i < num_frames. `hop` defaults to
  the clip's span (non-overlapping clips). A tail too short for a clip is
  dropped; corrupt files raise `VideoReadError`.

  `new_clip(shape)` gives the array each non-overlapping clip is written
  into (default: a new one), so a caller can reuse memory that is already
  mapped, as the decode pool's shared-memory slots are: a fresh 720p clip
  costs more in page faults than its copy.
  """
  span = (num_frames - 1) * stride + 1
  hop = hop or span
  new_clip = new_clip or (lambda shape: np.empty(shape, np.uint8))
  if hop == span:
    # Clips that do not overlap: each wanted frame is copied once, straight
    # into its clip (stacking a window costs a third of the decode rate).
    clip = None
    for index, frame in enumerate(_decoded(path, threads)):
      offset = index % span
      if offset % stride:
        continue
      if clip is None:
        clip = new_clip((num_frames,) + (tuple(size) if size else (frame.height, frame.width))
                        + (3,))
      frame_to_rgb(frame, size, out=clip[offset // stride])
      if offset == span - 1:
        yield clip
        clip = None
    return
  window = collections.deque(maxlen=span)
  next_start = 0
  for index, frame in enumerate(iter_frames(path, size=size, threads=threads)):
    window.append(frame)
    if index == next_start + span - 1:
      yield np.stack(list(window)[::stride])
      next_start += hop


class VideoWriter:
  """Streams frames into an H.264 mp4; the file appears only on `close()`.

  Frames go to a temporary file beside the target that is renamed on a clean
  close, so an interrupted write never leaves a half file under the real name
  (nor replaces an existing one).

  `lossless` writes RGB H.264 at crf 0 (libx264rgb): the frames read back
  bit-exact, for measuring a model's output. `audio_from` copies the audio
  stream of that file, unchanged, into the output.

      with VideoWriter("out.mp4", fps=25) as writer:
        for frame in frames:      # uint8 [H, W, 3] RGB
          writer.write(frame)
  """

  def __init__(self, path, fps=25.0, crf=18, preset="veryfast",
               codec="libx264", lossless=False, audio_from=None):
    self.path = os.fspath(path)
    self.fps = fps
    self.crf = 0 if lossless else crf
    self.preset = preset
    self.codec = "libx264rgb" if lossless else codec
    self.pix_fmt = "rgb24" if lossless else "yuv420p"
    self.audio_from = audio_from
    self._audio = None
    self._container = None
    self._stream = None
    self._size = None
    self.num_frames = 0
    directory = os.path.dirname(os.path.abspath(self.path))
    os.makedirs(directory, exist_ok=True)
    fd, self._tmp_path = tempfile.mkstemp(
        suffix=".mp4", prefix=".partial-", dir=directory)
    os.close(fd)

  def _start(self, height, width):
    if self.pix_fmt == "yuv420p" and (height % 2 or width % 2):
      raise ValueError(
          f"H.264 (yuv420p) needs even frame sizes, got {height}x{width}")
    from fractions import Fraction
    # faststart puts the index first, so a file cut short later still opens
    # and its loss is detected as truncation rather than as garbage.
    self._container = av.open(self._tmp_path, mode="w", format="mp4",
                              options={"movflags": "+faststart"})
    rate = Fraction(self.fps).limit_denominator(1001)
    self._stream = self._container.add_stream(self.codec, rate=rate)
    self._stream.width = width
    self._stream.height = height
    self._stream.pix_fmt = self.pix_fmt
    self._stream.options = {"crf": str(self.crf), "preset": self.preset}
    self._size = (height, width)
    if self.audio_from:
      self._add_audio()

  def _add_audio(self):
    # The stream must exist before the header is written (first mux).
    try:
      source = av.open(os.fspath(self.audio_from))
    except (av.FFmpegError, OSError):
      return
    if not source.streams.audio:
      source.close()
      return
    template = source.streams.audio[0]
    self._audio = (source, template,
                   self._container.add_stream_from_template(template))

  def _copy_audio(self):
    source, template, stream = self._audio
    with source:
      try:
        for packet in source.demux(template):
          if packet.dts is None:
            continue
          packet.stream = stream
          self._container.mux(packet)
      except av.FFmpegError:
        pass   # a damaged audio track does not cost the upscaled video

  def write(self, frame):
    """Appends one uint8 RGB frame [H, W, 3]; all frames share one size."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[-1] != 3:
      raise ValueError(
          f"expected a uint8 [H, W, 3] RGB frame, got {frame.dtype} "
          f"{list(frame.shape)}")
    if self._container is None:
      self._start(*frame.shape[:2])
    elif frame.shape[:2] != self._size:
      raise ValueError(
          f"frame {self.num_frames} is {frame.shape[:2]}, the video is "
          f"{self._size}")
    video_frame = av.VideoFrame.from_ndarray(
        np.ascontiguousarray(frame), format="rgb24")
    for packet in self._stream.encode(video_frame):
      self._container.mux(packet)
    self.num_frames += 1

  def close(self):
    if self._container is None:
      self.abort()
      raise ValueError(f"{self.path}: no frame was written")
    for packet in self._stream.encode():
      self._container.mux(packet)
    if self._audio:
      self._copy_audio()
    self._container.close()
    self._container = None
    errors.public_mode(self._tmp_path)
    os.replace(self._tmp_path, self.path)

  def abort(self):
    if self._audio:
      self._audio[0].close()
      self._audio = None
    if self._container is not None:
      try:
        self._container.close()
      except av.FFmpegError:
        pass
      self._container = None
    if os.path.exists(self._tmp_path):
      os.remove(self._tmp_path)

  def __enter__(self):
    return self

  def __exit__(self, exc_type, exc, tb):
    if exc_type is None:
      self.close()
    else:
      self.abort()
    return False


def write_gif(path, frames, fps=8.0):
  """Writes uint8 [H, W, 3] frames as a looping GIF (FFmpeg's gif encoder,
  3-3-2 colour: a preview, not a master); returns the frame count. The
  file appears only when complete."""
  frames = [np.asarray(f, np.uint8) for f in frames]
  if not frames:
    raise ValueError(f"{path}: no frames to write")
  tmp = f"{os.fspath(path)}.part.gif"
  container = av.open(tmp, "w")
  try:
    stream = container.add_stream("gif", rate=fractions.Fraction(fps).limit_denominator(1000))
    stream.height, stream.width = frames[0].shape[:2]
    stream.pix_fmt = "rgb8"
    for frame in frames:
      for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
        container.mux(packet)
    for packet in stream.encode():
      container.mux(packet)
  finally:
    container.close()
  os.replace(tmp, path)
  return len(frames)


def write_video(path, frames, fps=25.0, crf=18, lossless=False):
  """Writes an iterable of uint8 [H, W, 3] frames as H.264 mp4; returns count."""
  with VideoWriter(path, fps=fps, crf=crf, lossless=lossless) as writer:
    for frame in frames:
      writer.write(frame)
  return writer.num_frames

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Two logical CPU devices for the replica-equivalence tests; must precede any
# TensorFlow op, so it lives here.
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
try:
  tf.config.set_logical_device_configuration(
      _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
except RuntimeError:
  pass

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tfsports.data import video_io  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO, "..", "shared", "data", "real")


def index_frames(num_frames, height=48, width=64):
  """Frames whose flat grey level encodes their index (10 levels apart)."""
  return [np.full((height, width, 3), 10 + 10 * i, np.uint8)
          for i in range(num_frames)]


def decoded_index(frame):
  return int(round((frame.mean() - 10) / 10))


@pytest.fixture
def indexed_video(tmp_path):
  path = tmp_path / "indexed.mp4"
  video_io.write_video(path, index_frames(24), fps=25)
  return path

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


# The integration lane (`-m integration`): modules that train, export and
# reload networks, run several processes, kill them or fuzz the decoders.
# Everything else is the unit lane, under 3 minutes on 2 cores
# (`-m "not slow and not integration"`).
INTEGRATION_MODULES = {
    "test_actions_footage", "test_actions_pose", "test_athlete_ssgan", "test_augment", "test_classifier",
    "test_faults", "test_forecast", "test_fuzz_decoders", "test_gan", "test_install",
    "test_multi_worker", "test_safe_mode", "test_serving_contracts", "test_serving_rest",
    "test_sr", "test_sr_distill", "test_sr_kernels", "test_tracking_detector", "test_tracking_video", "test_detect"}


def pytest_collection_modifyitems(config, items):
  for item in items:
    if item.module.__name__.rsplit(".", 1)[-1] in INTEGRATION_MODULES:
      item.add_marker(pytest.mark.integration)

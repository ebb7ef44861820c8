r"""Trains the streaming action classifier, evaluates it on held-back files
and exports it.

    python training/train_classifier.py                    # tiny, synthetic actions
    python training/train_classifier.py --preset=footage \
        --data=/videos/by_class --run_dir=runs/my_actions  # DIR/<class>/*.mp4

Running the same command again resumes from the run directory.
"""

import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfsports.actions import recipe  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_enum("preset", "tiny", recipe.ClassifierTrainConfig.preset_names(), "Preset.")
flags.DEFINE_string("run_dir", None, "Run directory (default: the preset's).")
flags.DEFINE_string("data", None, "'synthetic', a class-per-folder video directory (with "
                    "generated:DIR parts to mix in generated clips, comma-separated), or "
                    "TFRecord shards (with --class_names, --fps and --eval_data).")
flags.DEFINE_float("generated_fraction", None, "Share of each batch from the generated:DIR "
                   "parts of --data (default: as their count gives).")
flags.DEFINE_integer("max_per_class", None, "Keep only the first N real training files of "
                     "each class.")
flags.DEFINE_string("init_from", None, "Start from another run's weights (a second stage).")
flags.DEFINE_list("class_names", None, "Class names in label order (TFRecord data only).")
flags.DEFINE_string("eval_data", None, "Held-back class-per-folder directory "
                    "(default: a file-level split of --data).")
flags.DEFINE_float("eval_fraction", None, "Share of each class's files held back.")
flags.DEFINE_float("fps", None, "Frame rate clips are sampled at (default: the data's).")
flags.DEFINE_integer("num_frames", None, "Frames per window (default: the preset's).")
flags.DEFINE_list("image_size", None, "HEIGHT,WIDTH of the model's frames.")
flags.DEFINE_integer("train_steps", None, "Training steps (preset default).")
flags.DEFINE_integer("batch_size", None, "Global batch size.")
flags.DEFINE_bool("stabilize", None, "Stabilise every clip before use.")
flags.DEFINE_bool("denoise", None, "Denoise every clip before use.")
flags.DEFINE_enum("strategy", None, ["default", "mirrored", "multi_worker", "tpu"],
                  "tf.distribute strategy.")
flags.DEFINE_integer("seed", None, "Seed.")
flags.DEFINE_float("dropout", None, "Dropout before the logits (preset default).")


def main(argv):
  del argv
  changes = {k: getattr(FLAGS, k) for k in (
      "run_dir", "data", "eval_data", "eval_fraction", "fps", "num_frames", "train_steps",
      "batch_size", "stabilize", "denoise", "strategy", "seed", "generated_fraction",
      "max_per_class", "init_from", "dropout")
      if getattr(FLAGS, k) is not None}
  if FLAGS.class_names:
    changes["class_names"] = tuple(FLAGS.class_names)
  if FLAGS.image_size:
    changes["image_size"] = tuple(int(v) for v in FLAGS.image_size)
  sys.exit(recipe.main(recipe.ClassifierTrainConfig.from_preset(FLAGS.preset, **changes)))


if __name__ == "__main__":
  app.run(main)

r"""Trains the video super-resolution GAN, evaluates it and exports it.

    python training/train_sr.py          # tiny x4 on synthetic scenes + ../shared real footage
    python training/train_sr.py --preset=base --scale=2 --data=/videos \
        --run_dir=runs/base_x2 --strategy=mirrored

Running the same command again resumes from the run directory.
"""

import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfsports.gan import loop as common  # noqa: E402
from tfsports.superres import evaluate as sr_eval  # noqa: E402
from tfsports.superres import recipe as sr  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_enum("preset", "tiny", list(sr.TRAIN_PRESETS), "Model and recipe preset.")
flags.DEFINE_enum("scale", "4", ["1", "2", "4"], "Upscaling factor; 1 = restoration.")
flags.DEFINE_string("run_dir", "runs/sr_tiny_x4", "Run directory (resumes if present).")
flags.DEFINE_integer("train_steps", None, "Total generator steps (preset default).")
flags.DEFINE_integer("warmup_steps", None, "Reconstruction-only steps first.")
flags.DEFINE_integer("batch_size", None, "Global batch size.")
flags.DEFINE_string("data", None, "'synthetic', folders or files of videos, or TFRecords, "
                    "comma-separated (preset default: synthetic + the real training videos).")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker", "tpu"],
                  "tf.distribute strategy.")
flags.DEFINE_enum("mixed_precision", "", ["", "mixed_float16", "mixed_bfloat16"],
                  "Mixed precision policy.")
flags.DEFINE_bool("jit_compile", False, "XLA-compile the train step.")
flags.DEFINE_string("degradation", None,
                    "Degradation preset: real, bicubic, light, broadcast, restore.")
flags.DEFINE_multi_string("eval_video", None, "Real videos to evaluate on, never trained on "
                          "(preset default: the held-back real videos).")
flags.DEFINE_integer("seed", 0, "Seed.")
flags.DEFINE_integer("checkpoint_every", None, "Steps between checkpoints (preset default).")
flags.DEFINE_bool("deterministic", False, "Op determinism: a killed and resumed run ends "
                  "with the weights of an uninterrupted one (slower on GPUs).")


def main(argv):
  del argv
  changes = {k: getattr(FLAGS, k) for k in ("train_steps", "warmup_steps", "batch_size",
                                           "degradation", "data", "checkpoint_every")
             if getattr(FLAGS, k) is not None}
  if FLAGS.eval_video is not None:
    changes["real_eval_videos"] = tuple(FLAGS.eval_video)
  if FLAGS.deterministic:
    common.enable_determinism()
  config = sr.SRTrainConfig.from_preset(
      FLAGS.preset, scale=int(FLAGS.scale), run_dir=FLAGS.run_dir,
      strategy=FLAGS.strategy, mixed_precision=FLAGS.mixed_precision,
      jit_compile=FLAGS.jit_compile, seed=FLAGS.seed, **changes)
  try:
    report = sr.train_sr(config)
  except common.NonFiniteLossError as e:
    print(f"error: {e}", file=sys.stderr)
    return 3
  except (FileNotFoundError, ValueError) as e:   # bad data, a conflicting run directory
    print(f"error: {e}", file=sys.stderr)
    return 2
  if "synthetic" not in report:
    print("worker done; the chief evaluates and exports")
    return 0
  mean = report["synthetic"]["mean"]
  print(f"PSNR-Y {mean['psnr_y']:.2f} dB vs bicubic {mean['bicubic_psnr_y']:.2f} dB "
        f"({mean['gain_db']:+.2f} dB) on held-back synthetic clips")
  if "real" in report:
    real = report["real"]
    print("real footage never trained on, through `tfsports upscale`:")
    print(sr_eval.format_real(real))
    print(f"real-footage gain over bicubic: {real['mean']['gain_db']:+.2f} dB on average, "
          f"{real['min_gain_db']:+.2f} dB at worst")
  for name, path in report["exports"].items():
    print(f"{name}: {path}")
  print(f"report: {os.path.join(config.run_dir, 'export', 'eval_report.json')}")
  return 0


if __name__ == "__main__":
  app.run(main)

r"""Every bundled super-resolution preset on the real videos held back from
training, as a user would run it (`tfsports upscale --lossless`, scored
independently): PSNR-Y / SSIM-Y / tOF against the better bicubic, per clip
and kernel, and the mean and worst gain per preset.

    python benchmarks/sr_presets_real.py [--presets=rep_x4,tiny_x4,broadcast_x2,tiny_x2]
        [--kernels=area,bicubic] [--broadcast_kernels=area_h264] [--frames=8] [--int8]
        [--degradation=auto]

Kernels are OpenCV's downscales (`superres.evaluate.KERNELS`); "area_h264"
is the area downscale then H.264 at crf 23, a broadcast chain, scored for
the x2 presets (--broadcast_kernels). --int8 runs each preset's int8 TFLite
model (in tiles) instead of its SavedModel.
"""

import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags

from tfsports.superres import evaluate as sr_eval
from tfsports.superres import recipe

FLAGS = flags.FLAGS
flags.DEFINE_list("presets", ["rep_x4", "tiny_x4", "broadcast_x2", "tiny_x2"], "Presets.")
flags.DEFINE_list("kernels", ["area", "bicubic"], "Downscaling kernels, every preset.")
flags.DEFINE_list("broadcast_kernels", ["area_h264"], "Extra kernels for x2 presets.")
flags.DEFINE_list("videos", list(recipe.REAL_HELD_BACK), "Real videos never trained on.")
flags.DEFINE_integer("frames", 8, "Frames per clip.")
flags.DEFINE_bool("int8", False, "Score the int8 TFLite models.")
flags.DEFINE_string("degradation", "", "As `tfsports upscale --degradation` (auto: the "
                    "kernel estimator picks each file's fine-tune).")


def main(argv):
  del argv
  summary = []
  for name in FLAGS.presets:
    scale = int(re.search(r"x(\d)", name).group(1))   # rep_x4, rep_x4_area, broadcast_x2
    kernels = FLAGS.kernels + (FLAGS.broadcast_kernels if scale == 2 else [])
    report = sr_eval.evaluate_real(name, FLAGS.videos, scale, kernels, FLAGS.frames,
                                   degradation=FLAGS.degradation, int8=FLAGS.int8)
    print(f"## {name}{' (int8)' if FLAGS.int8 else ''}"
          f"{' --degradation=' + FLAGS.degradation if FLAGS.degradation else ''}")
    print(sr_eval.format_real(report))
    for kernel_set in (FLAGS.kernels, [k for k in kernels if k not in FLAGS.kernels]):
      rows = [r for r in report["clips"] if r["kernel"] in kernel_set]
      if rows:
        gains = [r["gain_db"] for r in rows]
        summary.append(f"| {name} | {', '.join(kernel_set)} | "
                       f"{sum(gains) / len(gains):+.2f} | {min(gains):+.2f} | "
                       f"{sum(r['tof'] for r in rows) / len(rows):.3f} / "
                       f"{sum(r['bicubic_tof'] for r in rows) / len(rows):.3f} |")
  print("| preset | kernels | mean gain (dB) | worst (dB) | tOF model / bicubic |")
  print("|---|---|---:|---:|---:|")
  print("\n".join(summary))


if __name__ == "__main__":
  app.run(main)

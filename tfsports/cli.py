r"""The `tfsports` command: one entry point, one subcommand per job.

    tfsports --help
    tfsports upscale IN.mp4 OUT.mp4 [--model=tiny_x4]
    tfsports classify VIDEO --model=RUN_DIR/export/saved_model/classifier/1
    tfsports track VIDEO --out=DIR [--detector=centernet|background|mot:FILE]
    tfsports track --detections=DETS.txt --fps=25 --out=DIR
    tfsports forecast TRACKS.csv --out=DIR [--horizon=4] [--samples=20] [--fill]
    tfsports generate --model=RUN_DIR --class=shooting --num=32 --out=DIR
    tfsports probe FILE...
    tfsports synth --out=DIR --num_clips=N
    tfsports tfrecord --source=DIR --out=PREFIX
    tfsports SUBCOMMAND --help          the subcommand's flags

`python -m tfsports ...` does the same. Each subcommand lives in its job's
package as a module with `define_flags()` and `main(argv) -> exit status`;
flags are defined only for the subcommand that runs, so two subcommands may
share a flag name. Bad input gets a one-line `error: ...` and exit status 2.
"""

import importlib
import sys

# name -> (module, one-line description); the order is the one --help shows.
COMMANDS = {
    "upscale": ("tfsports.superres.command",
                "upscale or restore a video with a super-resolution model"),
    "classify": ("tfsports.actions.command",
                 "label the actions in a video, window by window"),
    "track": ("tfsports.tracking.command",
              "track players and the ball in a video, or players in a MOT detections file"),
    "forecast": ("tfsports.forecast.command",
                 "sample players' futures, or fill gaps in their tracks"),
    "generate": ("tfsports.augment.command",
                 "write labelled clips from a trained video GAN, class per folder"),
    "probe": ("tfsports.data.probe", "print video metadata as JSON lines"),
    "synth": ("tfsports.data.synthetic.command",
              "write a synthetic sports dataset with full ground truth"),
    "tfrecord": ("tfsports.data.tfrecord", "write clips as TFRecord shards"),
}


def usage():
  width = max(map(len, COMMANDS))
  lines = ["usage: tfsports SUBCOMMAND [ARGS] [--FLAGS]", "", "subcommands:"]
  lines += [f"  {name:<{width}}  {desc}" for name, (_, desc) in COMMANDS.items()]
  lines += ["", "tfsports SUBCOMMAND --help lists a subcommand's flags."]
  return "\n".join(lines)


def main(argv=None):
  argv = list(sys.argv if argv is None else argv)
  if len(argv) < 2 or argv[1] in ("-h", "--help", "help"):
    print(usage())
    return 0 if len(argv) >= 2 else 2
  name = argv[1]
  if name not in COMMANDS:
    print(f"{usage()}\n\nerror: unknown subcommand {name!r}", file=sys.stderr)
    return 2
  from absl import app
  module = importlib.import_module(COMMANDS[name][0])
  module.define_flags()
  # absl parses the flags and passes [program, positional args...] on.
  app.run(lambda args: sys.exit(module.main(args)), argv=[f"tfsports {name}"] + argv[2:])
  return 0


if __name__ == "__main__":
  sys.exit(main())

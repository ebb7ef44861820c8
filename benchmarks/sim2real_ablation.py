r"""Does the renderer help the detector on real footage, and does the
translation GAN help more? The same budget, several seeds, three mixes:

- real: the real labelled frames only (the `real` preset's sets, its
  held-back games held back);
- real+rendered: 70% real labelled frames, 30% rendered scenes;
- real+translated: the same, every rendered frame through the translator
  (`tfsports train translator`).

    python benchmarks/sim2real_ablation.py --translator=runs/translator/export \
        [--steps=300] [--batch_size=4] [--seeds=0,1,2] [--out=runs/sim2real_ablation]

Every run starts from one shared network pretrained on rendered scenes
alone (OUT/pretrain_rendered, `--pretrain_steps` at `--pretrain_batch`: at
a CPU budget, runs from scratch do not get off the ground: 300 steps at
batch 4 scored person AP50 0.000), then fine-tunes in OUT/<mix>_seed<k>
(finished runs are read back from OUT/results.json, so the script
resumes), and is scored on the held-back games and on volleyball (never
trained on) with pycocotools. Prints a markdown table of mean and standard
deviation over seeds.
"""

import dataclasses
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import numpy as np

from tfsports.tracking import labelled
from tfsports.tracking import recipe
from tfsports.training import run as run_lib

flags.DEFINE_string("translator", "runs/translator/export", "The translator export.")
flags.DEFINE_integer("steps", 300, "Training steps of every run.")
flags.DEFINE_integer("batch_size", 4, "Batch size of every run.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds.")
flags.DEFINE_list("mixes", ["real", "real+rendered", "real+translated"], "Mixes to run.")
flags.DEFINE_string("out", "runs/sim2real_ablation", "Output folder.")
flags.DEFINE_integer("pretrain_steps", 400, "Steps of the shared rendered-only pretraining.")
flags.DEFINE_integer("pretrain_batch", 8, "Its batch size.")
flags.DEFINE_integer("eval_images", 60, "At most this many images of each held-back part.")
FLAGS = flags.FLAGS

# (labelled share, translated) per mix; the rest of each batch is rendered.
MIXES = {"real": (1.0, False), "real+rendered": (0.7, False), "real+translated": (0.7, True)}
FIGURES = (
    ("soccer person AP50", "soccer_dfl_players (held-back games)", ("person", "ap50")),
    ("soccer person AP50:95", "soccer_dfl_players (held-back games)", ("person", "ap50_95")),
    ("ball centre AP (players set)", "soccer_dfl_players (held-back games)",
     ("ball", "centre", "ap")),
    ("ball centre AP (ball set)", "soccer_dfl_ball (held-back games)", ("ball", "centre", "ap")),
    ("volleyball person AP50", "volleyball_vnl_players (never trained on)", ("person", "ap50")),
)


def config_for(mix, seed):
  share, translated = MIXES[mix]
  name = f"{mix.replace('+', '_')}_seed{seed}"
  return dataclasses.replace(
      recipe.DetectorTrainConfig.from_preset("real"), run_dir=os.path.join(FLAGS.out, name),
      train_steps=FLAGS.steps, batch_size=FLAGS.batch_size,
      checkpoint_every=max(1, FLAGS.steps // 2), seed=seed, real_share=0.0,
      labelled_share=share, translator=FLAGS.translator if translated else "", verbose=0,
      init_from=pretrain_dir(), eval_images=FLAGS.eval_images)


def pretrain_dir():
  return os.path.join(FLAGS.out, "pretrain_rendered")


def pretrain():
  """The shared starting point: rendered scenes only."""
  config = dataclasses.replace(
      recipe.DetectorTrainConfig.from_preset("real"), run_dir=pretrain_dir(),
      train_steps=FLAGS.pretrain_steps, batch_size=FLAGS.pretrain_batch,
      checkpoint_every=max(1, FLAGS.pretrain_steps // 2), real_share=0.0, labelled_share=0.0,
      verbose=0, eval_images=FLAGS.eval_images)
  return run_lib.train(recipe.RECIPE, config)


def figures(report):
  out = {}
  for label, part, keys in FIGURES:
    value = report.get(part)
    for k in keys:
      value = value.get(k) if isinstance(value, dict) else None
    out[label] = value
  return out


def save(results, path):
  with open(path + ".tmp", "w") as f:
    json.dump(results, f, indent=1)
  os.replace(path + ".tmp", path)


def main(argv):
  del argv
  os.makedirs(FLAGS.out, exist_ok=True)
  results_path = os.path.join(FLAGS.out, "results.json")
  results = json.load(open(results_path)) if os.path.exists(results_path) else {}
  if "pretrain" not in results:
    trained = pretrain()
    report = labelled.evaluate(trained.model, trained.parts, trained.config)
    results["pretrain"] = {"figures": figures(report), "seconds": trained.status["seconds"]}
    print("pretrain", json.dumps(results["pretrain"]["figures"]), flush=True)
    save(results, results_path)
  # Seeds outside mixes: a cut-short run still compares every mix.
  for seed in map(int, FLAGS.seeds):
    for mix in FLAGS.mixes:
      key = f"{mix}/seed{seed}"
      if key in results:
        continue
      config = config_for(mix, seed)
      trained = run_lib.train(recipe.RECIPE, config)
      report = labelled.evaluate(trained.model, trained.parts, config)
      results[key] = {"figures": figures(report), "seconds": trained.status["seconds"],
                      "report": report}
      save(results, results_path)
      print(key, json.dumps(results[key]["figures"]), flush=True)
  print(f"\nfrom {FLAGS.pretrain_steps} rendered-only steps at batch {FLAGS.pretrain_batch} "
        f"({json.dumps(results['pretrain']['figures'])}), {FLAGS.steps} steps at batch "
        f"{FLAGS.batch_size}, seeds {','.join(FLAGS.seeds)}; mean ± standard deviation over "
        "seeds\n")
  labels = [f[0] for f in FIGURES]
  print("| mix | " + " | ".join(labels) + " |")
  print("|---" * (len(labels) + 1) + "|")
  for mix in FLAGS.mixes:
    runs = [v["figures"] for k, v in results.items() if k.startswith(mix + "/")]
    if not runs:
      continue
    cells = []
    for label in labels:
      values = np.array([r[label] for r in runs if r[label] is not None], float)
      cells.append(f"{values.mean():.3f} ± {values.std():.3f}" if len(values) else "-")
    print(f"| {mix} (n={len(runs)}) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
  app.run(main)

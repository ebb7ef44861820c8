r"""Does GAN augmentation help? The experiment of issue 11, on a real
class-per-folder set (the shared basketball actions by default), split by
file; every arm uses the same classifier (`footage` preset) and the same
step budget, and is scored on the same held-back files:

  1. real clips only;
  2. real plus generated clips, mixed at the generated share that scored
     best on a validation part of the training files (by file, never the
     held-back ones);
  3. two stages: two thirds of the steps on the mix of arm 2, the last third
     on real clips only, starting from the first stage's weights;

each on the full training part and with 10 real clips per class (the GAN
for that regime is trained on those 10 per class only), each over --seeds
seeds. Prints the table (mean and standard deviation of top-1).

    python benchmarks/augmentation_benefit.py [--data=DIR] [--seeds=3] [--steps=1500]
        [--gan_steps=3000] [--work_dir=runs/augmentation_benefit]

Slow on a CPU: two GAN trainings and about 22 classifier trainings. Runs
resume: rerunning with the same --work_dir skips what is done.
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
import numpy as np

from tfsports.actions import recipe as classifier_recipe
from tfsports.augment import command as generate_command
from tfsports.augment import export as augment_export
from tfsports.augment import recipe as augment_recipe

flags.DEFINE_string("data", augment_recipe.BASKETBALL, "Class-per-folder dataset.")
flags.DEFINE_string("work_dir", "runs/augmentation_benefit", "Where the runs go (resumable).")
flags.DEFINE_integer("seeds", 3, "Seeds per arm.")
flags.DEFINE_integer("steps", 1500, "Classifier steps per arm (the same budget for all).")
flags.DEFINE_integer("gan_steps", 3000, "GAN training steps.")
flags.DEFINE_integer("generated_per_class", 64, "Generated clips per class.")
flags.DEFINE_string("ratios", "0.25,0.5", "Generated shares tried on the validation part.")
flags.DEFINE_integer("few", 10, "Real clips per class in the few-labels regime.")
flags.DEFINE_string("classifier", "", "A real-only classifier run on the same split, whose "
                    "features score the GANs (Fréchet, KID, conditioning); trained if empty.")
FLAGS = flags.FLAGS


def classifier(run_dir, **changes):
  settings = dict(data=FLAGS.data, run_dir=run_dir, train_steps=FLAGS.steps, verbose=0,
                  tflite_variants=("float32",))
  settings.update(changes)
  return classifier_recipe.resolve(
      classifier_recipe.ClassifierTrainConfig.from_preset("footage", **settings))


def top1(config):
  """Trains (or resumes) and scores one arm on the held-back files."""
  done = os.path.join(config.run_dir, "export", "eval_report.json")
  if os.path.exists(done):
    with open(done) as f:
      return json.load(f)["eval"]["top1"]
  return classifier_recipe.train_classifier(config)["eval"]["top1"]


def generated_pool(regime, max_per_class):
  """Trains the regime's GAN (resuming) and writes its clips; returns the folder."""
  run = os.path.join(FLAGS.work_dir, f"gan_{regime}")
  out = os.path.join(FLAGS.work_dir, f"generated_{regime}")
  if not os.path.isdir(out):
    config = augment_recipe.AugmentTrainConfig.from_preset(
        "tiny", data=FLAGS.data, run_dir=run, train_steps=FLAGS.gan_steps,
        max_per_class=max_per_class)
    report = augment_recipe.train_augment(config, FLAGS.classifier or None)
    print(augment_recipe.summary(report), flush=True)
    runner = augment_export.GeneratorRunner(report["exports"]["saved_model"])
    # Written aside and renamed, so an interrupted run does not leave a pool
    # that a rerun would take as finished.
    generate_command.generate_class_folders(runner, runner.class_names,
                                            FLAGS.generated_per_class, out + ".partial",
                                            seed=1000)
    os.rename(out + ".partial", out)
  return out


def validation_share(regime, pool, max_per_class):
  """The generated share that scores best on a validation part carved, by
  file, out of the training files (the held-back files are not looked at)."""
  train, _ = classifier_recipe.folder_split(classifier(
      "unused", max_per_class=max_per_class))
  scores = {}
  for ratio in map(float, FLAGS.ratios.split(",")):
    # The training files' own split: its last quarter per class validates.
    sub = os.path.join(FLAGS.work_dir, f"val_data_{regime}")
    if not os.path.isdir(sub):
      for path, label in train:
        cls = os.path.basename(os.path.dirname(path))
        os.makedirs(os.path.join(sub, cls), exist_ok=True)
        os.symlink(os.path.abspath(path), os.path.join(sub, cls, os.path.basename(path)))
    scores[ratio] = top1(classifier(os.path.join(FLAGS.work_dir, f"val_{regime}_{ratio}"),
                                    data=f"{sub},generated:{pool}", generated_fraction=ratio))
  return max(scores, key=scores.get), scores


def main(argv):
  del argv
  os.makedirs(FLAGS.work_dir, exist_ok=True)
  rows = {}
  for regime, max_per_class in (("full", 0), (f"{FLAGS.few}_per_class", FLAGS.few)):
    pool = generated_pool(regime, max_per_class)
    share, val = validation_share(regime, pool, max_per_class)
    arms = {"real only": [], f"real + generated ({share:.0%} of each batch)": [],
            "generated + real, then real only": []}
    for seed in range(FLAGS.seeds):
      base = os.path.join(FLAGS.work_dir, f"{regime}_seed{seed}")
      names = list(arms)
      arms[names[0]].append(top1(classifier(f"{base}_real", seed=seed,
                                            max_per_class=max_per_class)))
      mixed = dict(data=f"{FLAGS.data},generated:{pool}", generated_fraction=share,
                   seed=seed, max_per_class=max_per_class)
      arms[names[1]].append(top1(classifier(f"{base}_mixed", **mixed)))
      stage1 = classifier(f"{base}_stage1", train_steps=2 * FLAGS.steps // 3, **mixed)
      top1(stage1)
      arms[names[2]].append(top1(classifier(
          f"{base}_stage2", seed=seed, max_per_class=max_per_class,
          train_steps=FLAGS.steps - stage1.train_steps, init_from=stage1.run_dir)))
    gan_report = os.path.join(FLAGS.work_dir, f"gan_{regime}", "export", "eval_report.json")
    with open(gan_report) as f:
      quality = json.load(f)["quality"]
    rows[regime] = {"arms": arms, "validation": val, "gan_quality": quality}
  with open(os.path.join(FLAGS.work_dir, "results.json"), "w") as f:
    json.dump(rows, f, indent=2)
  print("| regime | arm | top-1 mean | std | seeds |\n|---|---|---:|---:|---:|")
  for regime, r in rows.items():
    for arm, scores in r["arms"].items():
      print(f"| {regime} | {arm} | {100 * np.mean(scores):.1f}% | {100 * np.std(scores):.1f} "
            f"| {len(scores)} |")
  for regime, r in rows.items():
    print(f"{regime}: validation top-1 by generated share {r['validation']}; GAN quality "
          f"{json.dumps(r['gan_quality'])}")


if __name__ == "__main__":
  app.run(main)

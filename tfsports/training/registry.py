"""Every job's name, where its `JOB` spec (`job.JobSpec`) lives, and a line
about it. Specs are imported only when asked for, so that a job reaches
another job's training through this registry rather than through its recipe
(augmentation trains and loads a real-only action classifier this way)."""

import importlib

# job -> (module holding its `JOB` spec, one-line description); --help's order.
JOBS = {
    "superres": ("tfsports.superres.recipe", "video super-resolution / restoration GAN"),
    "sr_kernels": ("tfsports.superres.kernels",
                   "downscaling-kernel estimator for upscale --degradation=auto"),
    "actions": ("tfsports.actions.recipe", "streaming action classifier"),
    "ssgan": ("tfsports.actions.ssgan", "semi-supervised GAN classifier, few labels"),
    "athletes": ("tfsports.athletes.recipe", "athlete recognition: team, jersey, re-ID"),
    "detector": ("tfsports.tracking.recipe", "tracking detector: players and the ball"),
    "translator": ("tfsports.tracking.translate",
                   "renderer-to-real translation GAN for the detector's rendered frames"),
    "forecast": ("tfsports.forecast.recipe", "trajectory GAN: forecasting and gap filling"),
    "augment": ("tfsports.augment.recipe", "class-conditional video GAN for augmentation"),
}


def get(name):
  """The `JobSpec` of job `name`; KeyError naming the jobs for another."""
  if name not in JOBS:
    raise KeyError(f"unknown job {name!r}; jobs: {', '.join(JOBS)}")
  return importlib.import_module(JOBS[name][0]).JOB

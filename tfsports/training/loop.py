"""What every GAN trainer shares: strategies, precision, run directories,
checkpoints that resume, and the callbacks that guard a run."""

import json
import math
import os
import shutil
import sys

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from tfsports import errors


class NonFiniteLossError(RuntimeError):
  """Training stopped because a loss became NaN or Inf."""


def make_strategy(name="default"):
  """default | mirrored | multi_worker | tpu -> a `tf.distribute.Strategy`."""
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "mirrored":
    if not tf.config.list_logical_devices("GPU"):
      # Without GPUs the default all-reduce is a collective op whose order
      # across replicas can differ from that of the synchronised batch norm's
      # all-reduces, and the step aborts; a reduction on one device has none.
      return tf.distribute.MirroredStrategy(
          cross_device_ops=tf.distribute.ReductionToOneDevice())
    return tf.distribute.MirroredStrategy()
  if name == "multi_worker":
    return tf.distribute.MultiWorkerMirroredStrategy()
  if name == "tpu":
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
  raise ValueError(f"unknown strategy {name!r}: default, mirrored, multi_worker, tpu")


def enable_determinism():
  """Op determinism for the whole process: the same run, killed and resumed,
  ends with the same weights as an uninterrupted one (tested to 1e-6). Slower
  on GPUs; ops without a deterministic kernel then raise instead of drifting."""
  tf.config.experimental.enable_op_determinism()


def set_precision(policy=None):
  """None (float32), "mixed_float16" or "mixed_bfloat16"."""
  if policy not in (None, "", "float32", "mixed_float16", "mixed_bfloat16"):
    raise ValueError(f"unknown mixed precision policy {policy!r}")
  keras.mixed_precision.set_global_policy(policy or "float32")


def make_optimizer(learning_rate, beta_1=0.5, use_ema=False, ema_momentum=0.999):
  """Adam, wrapped for loss scaling when the global policy is mixed_float16."""
  opt = keras.optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=0.99,
                              use_ema=use_ema, ema_momentum=ema_momentum)
  if keras.mixed_precision.global_policy().name == "mixed_float16":
    opt = keras.optimizers.LossScaleOptimizer(opt)
  return opt


def inner_optimizer(opt):
  return getattr(opt, "inner_optimizer", opt)


def average_loss(per_example):
  """Sum over the local batch divided by the global batch: replicas' sums
  then add up to the global mean, so N replicas step as one."""
  return tf.nn.compute_average_loss(tf.cast(per_example, tf.float32))


def worker_task():
  """(task type, index) of this process in a multi-worker cluster
  (TF_CONFIG), or None outside one."""
  spec = json.loads(os.environ.get("TF_CONFIG") or "{}")
  task = spec.get("task") or {}
  return (task["type"], int(task.get("index", 0))) if "type" in task else None


def is_chief():
  """True unless this process is a non-chief worker of a multi-worker run:
  the chief (or worker 0 when the cluster has no chief) alone writes
  checkpoints, reports and exports into the run directory."""
  task = worker_task()
  if task is None:
    return True
  cluster = json.loads(os.environ["TF_CONFIG"]).get("cluster", {})
  kind, index = task
  return kind == "chief" or (kind == "worker" and index == 0 and "chief" not in cluster)


class CheckpointError(errors.UserError):
  """A run has checkpoints but none of them can be read (a ValueError, so
  the training scripts report it as bad input, exit status 2)."""


class RunDirectory:
  """Checkpoints (networks, optimizers with their EMA weights, step) under
  RUN_DIR/checkpoints; restoring the latest makes a rerun resume."""

  def __init__(self, run_dir, max_to_keep=3, **trackables):
    self.run_dir = run_dir
    os.makedirs(run_dir, exist_ok=True)
    self.checkpoint = tf.train.Checkpoint(**trackables)
    self.manager = tf.train.CheckpointManager(
        self.checkpoint, os.path.join(run_dir, "checkpoints"), max_to_keep)
    self.skipped = []    # damaged checkpoints passed over by `restore`

  def restore(self):
    """Restores the newest readable checkpoint; returns its path, or None
    when the run has none.

    A damaged newest checkpoint (truncated or corrupt files, say after a
    kill during a save or a full disk) is skipped with a warning naming it,
    and the one before is tried. If checkpoints exist but none is readable,
    raises `CheckpointError` rather than silently training from scratch.
    """
    found = self.manager.checkpoints or self._checkpoints_on_disk()
    if not found:
      return None
    problems = []
    for path in reversed(found):
      try:
        self.checkpoint.restore(path).assert_existing_objects_matched()
      except Exception as e:  # pylint: disable=broad-except
        # The reader fails in many ways on damaged files (OpError, IndexError
        # on a short read, ValueError, AssertionError on a mismatch); each
        # reason is reported, and if none restores the run stops.
        reason = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        logging.warning("checkpoint %s is unreadable (%s); trying the one before", path,
                        reason)
        problems.append(f"{path}: {reason}")
        continue
      logging.info("resumed from %s", path)
      if problems:
        self.skipped = problems
      return path
    raise CheckpointError(
        "no readable checkpoint in " + self.manager.directory + " (" + "; ".join(problems)
        + "); not starting over silently: move the folder away to train from scratch")

  def _checkpoints_on_disk(self):
    """ckpt-N prefixes present without the list file (lost, or a kill
    before it was first written), oldest first."""
    names = [n[:-len(".index")] for n in os.listdir(self.manager.directory)
             if n.startswith("ckpt-") and n.endswith(".index")] if os.path.isdir(
                 self.manager.directory) else []
    names = [n for n in names if n[5:].isdigit()]
    return [os.path.join(self.manager.directory, n)
            for n in sorted(names, key=lambda n: int(n[5:]))]

  def save(self, step):
    """Every worker of a multi-worker run must save (the save is a collective
    step); a non-chief one writes into a scratch folder it then removes, so
    only the chief's checkpoints land in the run directory."""
    if is_chief():
      return self.manager.save(checkpoint_number=int(step))
    scratch = os.path.join(self.manager.directory, f"worker_temp_{worker_task()[1]}")
    tf.train.CheckpointManager(self.checkpoint, scratch, 1).save(checkpoint_number=int(step))
    shutil.rmtree(scratch, ignore_errors=True)
    return None


class NonFiniteGuard(keras.callbacks.Callback):
  """Stops training when any logged value (every loss key, not only `loss`)
  is NaN or Inf. Checkpoints are written by `CheckpointEvery`, which refuses
  to save once this has fired, so the last good checkpoint stays intact."""

  def __init__(self):
    super().__init__()
    self.bad = None

  def on_train_batch_end(self, batch, logs=None):
    for key, value in (logs or {}).items():
      if not np.all(np.isfinite(np.asarray(value, np.float64))):
        self.bad = (key, float(np.asarray(value).ravel()[0]))
        self.model.stop_training = True
        logging.error("stopping: %s became %s at batch %d", key, self.bad[1], batch)
        return


class CheckpointEvery(keras.callbacks.Callback):
  """Saves a checkpoint at each epoch end (an epoch = the save interval)."""

  def __init__(self, run_directory, step_variable, guard):
    super().__init__()
    self.run_directory = run_directory
    self.step_variable = step_variable
    self.guard = guard

  def on_epoch_end(self, epoch, logs=None):
    if self.guard.bad is not None:
      return
    weights_ok = all(np.all(np.isfinite(w)) for w in self.model.get_weights())
    if not weights_ok:
      self.guard.bad = ("weights", float("nan"))
      self.model.stop_training = True
      return
    self.run_directory.save(int(self.step_variable.numpy()))


class OffsetStep:
  """A step counter read as `offset + variable`: a second model fitted after
  the first in the same run directory (the action classifier's pose stream
  after its pixels) numbers its checkpoints after the first's, so neither
  overwrites the other's and the newest holds both."""

  def __init__(self, variable, offset):
    self.variable = variable
    self.offset = int(offset)

  def numpy(self):
    return self.offset + int(self.variable.numpy())


def epochs_for(total_steps, steps_per_epoch):
  return int(math.ceil(total_steps / steps_per_epoch))


def fit_resumable(model, run, step_variable, make_dataset, end_step, every, verbose=1,
                  callbacks=()):
  """Fits from the restored step up to `end_step` in epochs of `every` steps,
  checkpointing each epoch, under the NaN/Inf guard.

  make_dataset(begin) returns the data stream positioned at step `begin`.
  Raises `NonFiniteLossError` if a loss became NaN/Inf (the last good
  checkpoint is kept). Returns the number of steps taken.
  """
  begin = int(step_variable.numpy())
  if begin >= end_step:
    return 0
  if verbose == 1 and not sys.stdout.isatty():
    verbose = 2      # a log file gets one line per epoch, not a redrawn bar
  if begin % every:
    raise ValueError(f"checkpoint at step {begin} is not on the {every}-step grid")
  guard = NonFiniteGuard()
  fit = lambda: model.fit(
      make_dataset(begin), steps_per_epoch=every, epochs=epochs_for(end_step, every),
      initial_epoch=begin // every,
      callbacks=[guard, CheckpointEvery(run, step_variable, guard), *callbacks],
      verbose=verbose)
  strategy = model.distribute_strategy
  if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
    # Keras 3's fit first "symbolically builds" a model created under a
    # strategy by reducing one batch with strategy.reduce(MEAN), which fails
    # for MultiWorkerMirroredStrategy (keras-team/keras#20585). Our models
    # are built already; without a captured strategy fit skips that step and
    # takes the strategy of the scope it runs in.
    # Its per-step reduction then takes the MEAN of each logged value along
    # axis 0, which a scalar lacks: the step returns them as [1] vectors.
    captured, model._distribute_strategy = model._distribute_strategy, None
    step = model.train_step
    model.train_step = lambda data: keras.tree.map_structure(
        lambda v: tf.reshape(v, [1]) if len(v.shape) == 0 else v, step(data))
    try:
      with strategy.scope():
        model.make_train_function(force=True)
        fit()
    finally:
      model._distribute_strategy = captured
      del model.train_step
      model.make_train_function(force=True)
  else:
    fit()
  if guard.bad:
    raise NonFiniteLossError(
        f"{guard.bad[0]} became {guard.bad[1]}; stopped, last good checkpoint kept: "
        f"{run.manager.latest_checkpoint}")
  return int(step_variable.numpy()) - begin

"""Distilling a super-resolution teacher into the real-time student
(`superres.gan.DistilledVideoSRGAN`, `--teacher`): the student matches the
teacher's frames and, through a learned adapter, its features; the adapter
is checkpointed, so a resumed run equals an uninterrupted one."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tfsports import errors
from tfsports.superres import gan as sr_gan
from tfsports.superres import model as sr_models
from tfsports.superres import recipe as sr


@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory):
  """A `tiny` teacher trained for a few steps and exported."""
  run_dir = tmp_path_factory.mktemp("teacher") / "run"
  sr.train_sr(sr.SRTrainConfig.from_preset("test", run_dir=str(run_dir)))
  return str(run_dir)


def _student(tmp_path, teacher_run, name="student", **changes):
  return sr.SRTrainConfig.from_preset("test", run_dir=str(tmp_path / name), preset="rep",
                                      teacher=teacher_run, teacher_preset="tiny",
                                      tflite_variants=("float32",), **changes)


def _batch():
  lr = tf.random.stateless_uniform([2, 5, 6, 6, 3], seed=(1, 2))
  hr = tf.image.resize(tf.reshape(lr, [-1, 6, 6, 3]), [24, 24])
  return lr, tf.reshape(hr, [2, 5, 24, 24, 3])


def test_a_student_equal_to_its_teacher_has_nothing_to_learn(tmp_path, teacher_run):
  config = sr.SRTrainConfig.from_preset("test", teacher=teacher_run, teacher_preset="tiny",
                                        init_from=teacher_run, run_dir=str(tmp_path / "s"))
  trainer = sr.train(dataclasses.replace(config, train_steps=0, warmup_steps=0)).model
  assert isinstance(trainer, sr_gan.DistilledVideoSRGAN)
  # The same width: an identity adapter makes the features equal too.
  kernel, bias = trainer.adapter.get_weights()
  trainer.adapter.set_weights([np.eye(kernel.shape[-1])[None, None].astype(np.float32),
                               np.zeros_like(bias)])
  data = _batch()
  extra, logs = trainer.extra_generator_loss(data, *trainer.generate_for_loss(data))
  # Charbonnier's floor is its epsilon, 1e-3.
  np.testing.assert_allclose(logs["distill_loss"], 1e-3, rtol=1e-3)
  np.testing.assert_allclose(logs["feature_loss"], 0.0, atol=1e-10)
  # Another student is pulled towards the teacher by both terms.
  other = sr.build_trainer(_student(tmp_path, teacher_run),
                           sr_models.SRConfig.from_preset("rep", scale=4))
  _, logs = other.extra_generator_loss(data, *other.generate_for_loss(data))
  assert float(tf.reduce_mean(logs["distill_loss"])) > 2e-3
  assert float(tf.reduce_mean(logs["feature_loss"])) > 0


def test_the_adapter_trains_and_a_resumed_run_equals_an_uninterrupted_one(tmp_path,
                                                                         teacher_run):
  steps = dict(train_steps=6, warmup_steps=2, checkpoint_every=2)
  whole = sr.train(_student(tmp_path, teacher_run, "a", **steps)).model
  fresh = sr.build_trainer(_student(tmp_path, teacher_run, "c"),
                           sr_models.SRConfig.from_preset("rep", scale=4))
  part = _student(tmp_path, teacher_run, "b", **steps)
  sr.train(dataclasses.replace(part, train_steps=4))
  resumed = sr.train(part)
  assert resumed.status["start_step"] == 4
  resumed = resumed.model
  assert "distill_loss" in whole.trackers and "feature_loss" in whole.trackers
  assert not np.allclose(whole.adapter.get_weights()[0], fresh.adapter.get_weights()[0])
  for model in ("generator", "adapter"):
    for a, b in zip(getattr(whole, model).get_weights(), getattr(resumed, model).get_weights()):
      np.testing.assert_allclose(a, b, atol=1e-6)
  # The teacher stays as it was loaded.
  teacher = sr.load_teacher(part)[0]
  for a, b in zip(whole.teacher.get_weights(), teacher.get_weights()):
    np.testing.assert_array_equal(a, b)


def test_a_student_exports_as_any_rep_model(tmp_path, teacher_run):
  config = _student(tmp_path, teacher_run)
  report = sr.train_sr(config)
  assert set(report["exports"]) >= {"saved_model", "tflite_float32"}
  # The export is the student alone: its weights are a plain `rep`
  # generator's (not the teacher's, no adapter), and they are the trained
  # EMA weights.
  plain = sr_models.build_sr_generator(sr_models.SRConfig.from_preset("rep", scale=4))
  plain.load_weights(str(tmp_path / "student" / "export" / sr.GENERATOR_WEIGHTS))
  trained = sr.train(config).model.ema_generator()
  for a, b in zip(plain.get_weights(), trained.get_weights()):
    np.testing.assert_array_equal(a, b)


def test_a_teacher_that_is_not_there_or_does_not_fit_is_a_clear_error(tmp_path, teacher_run):
  with pytest.raises(FileNotFoundError, match="--teacher=.*no generator.weights.h5 there"):
    sr.train(_student(tmp_path, str(tmp_path), "x"))
  with pytest.raises(errors.UserError, match="--teacher=.*does not fit preset 'base'"):
    sr.train(dataclasses.replace(_student(tmp_path, teacher_run, "y"), teacher_preset="base"))


def test_the_main_job_distils_from_the_bundled_teacher_of_its_scale():
  main = sr.SRTrainConfig.from_preset("finetune")
  assert sr.teacher_of(main) == "base_x4"
  teacher, teacher_config = sr.load_teacher(main)
  assert teacher_config.filters == 64 and not teacher.trainable
  # No bundled teacher at x2: the main job there is a plain fine-tune, and
  # the distill preset says what to do.
  assert sr.teacher_of(dataclasses.replace(main, scale=2)) == ""
  with pytest.raises(errors.UserError, match="no bundled teacher at x2.*--teacher=RUN_DIR"):
    sr.teacher_of(sr.SRTrainConfig.from_preset("distill", scale=2))

"""The renderer-to-real translation GAN (`tracking.translate`): its networks
(unit), and end to end on the real frames (train, evaluate, export, the
exports agree, the detector's rendered stream goes through it with its
boxes unchanged)."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import test_case
from tests.conftest import SHARED
from tfsports.tracking import detector as detector_lib
from tfsports.tracking import recipe
from tfsports.tracking import translate
from tfsports.tracking import translator as translator_lib

TEST = translate.TranslatorConfig.from_preset("test")


def test_generator_is_fully_convolutional_and_keeps_the_frame_size():
  generator = translate.build_generator(TEST)
  for shape in ((1, 32, 32, 3), (2, 64, 96, 3)):
    out = generator(np.random.default_rng(0).random(shape, np.float32))
    assert out.shape == shape
    assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 1.0


def test_a_zero_residual_is_the_identity():
  # The generator is input + residual: boxes stay where they were.
  generator = translate.build_generator(TEST)
  layer = generator.get_layer("residual")
  layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
  x = np.random.default_rng(1).random((1, 32, 32, 3), np.float32)
  np.testing.assert_allclose(generator(x), x, atol=1e-7)


def test_encoder_and_heads_share_the_generator():
  generator = translate.build_generator(TEST)
  encoder = translate.build_encoder(generator)
  heads = translate.build_heads(generator, width=16)
  features = encoder(np.zeros((1, 32, 32, 3), np.float32))
  assert len(features) == len(heads) == len(translate.NCE_LAYERS)
  assert {id(v) for v in encoder.trainable_variables} <= {
      id(v) for v in generator.trainable_variables}
  for f, head in zip(features, heads):
    flat = tf.reshape(f, [1, -1, f.shape[-1]])
    assert head(flat).shape[-1] == 16


def test_train_step_lowers_nothing_to_nan_and_updates_both_networks():
  generator = translate.build_generator(TEST)
  discriminator = translate.build_discriminator(TEST)
  gan = translate.TranslationGAN(generator, discriminator, translate.build_heads(generator),
                                 TEST.num_patches, TEST.temperature)
  gan.compile_from_config(TEST, d_beta_1=0.5, g_beta_1=0.5, nce_weight=TEST.nce_weight)
  rng = np.random.default_rng(2)
  batch = tuple(tf.constant(rng.random((2, 32, 32, 3), np.float32)) for _ in range(2))
  g0 = [w.copy() for w in generator.get_weights()]
  d0 = [w.copy() for w in discriminator.get_weights()]
  logs = gan.train_step(batch)
  assert all(np.isfinite(float(v)) for v in logs.values())
  assert float(logs["nce_loss"]) > 0
  assert any(not np.array_equal(a, b) for a, b in zip(g0, generator.get_weights()))
  assert any(not np.array_equal(a, b) for a, b in zip(d0, discriminator.get_weights()))


def test_look_features_tell_a_flat_image_from_a_busy_one():
  flat = np.full((1, 32, 32, 3), 128, np.uint8)
  busy = np.random.default_rng(3).integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
  a, b = translate.look_features(flat), translate.look_features(busy)
  assert a.shape == b.shape == (1, 8)
  assert b[0, 6] > a[0, 6] and b[0, 7] > a[0, 7]


@pytest.mark.integration
@pytest.mark.skipif(not os.path.isdir(os.path.join(SHARED, "detection")),
                    reason="no ../shared/data/real/detection")
class TestEndToEnd:

  @pytest.fixture(scope="class")
  def report(self, tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("translator"))
    config = TEST.__class__.from_preset("test", run_dir=run_dir)
    return config, translate.train_translator(config)

  def test_report_and_exports(self, report):
    config, report = report
    look = report["look_frechet"]
    assert set(look) == {"rendered_vs_real", "translated_vs_real", "real_half_vs_half"}
    assert all(np.isfinite(v) and v >= 0 for v in look.values())
    assert 0 < report["ssim_y_translated_vs_rendered"] <= 1
    for key in ("keras", "saved_model", "tflite_float32", "samples"):
      assert os.path.exists(report["exports"][key])
    test_case.run_tflite_builtin_test(report["exports"]["tflite_float32"])

  def test_keras_savedmodel_and_tflite_agree(self, report):
    config, report = report
    exports = report["exports"]
    generator = keras.saving.load_model(exports["keras"], safe_mode=True)
    frame = np.random.default_rng(4).integers(0, 256, tuple(config.export_size) + (3,),
                                              dtype=np.uint8)
    want = translate.translate_frames(generator, frame[None])[0].astype(int)
    lite = translator_lib.Translator(os.path.dirname(os.path.dirname(exports["tflite_float32"])))
    got = lite(frame).astype(int)
    served = tf.saved_model.load(exports["saved_model"]).signatures["serving_default"]
    via_serving = next(iter(served(frames=tf.constant(frame[None])).values())).numpy()[0]
    # Rounding to uint8 may differ by one level where float32 paths differ.
    assert np.abs(got - want).max() <= 1
    assert np.abs(via_serving.astype(int) - want).max() <= 1
    with pytest.raises(ValueError, match="translator input must be uint8"):
      lite(frame[:10])

  def test_detector_stream_translates_rendered_frames_and_keeps_their_boxes(self, report):
    _, report = report
    export_dir = os.path.dirname(report["exports"]["keras"])
    model_config = detector_lib.DetectorConfig.from_preset("test")
    plain = recipe.synthetic_examples(model_config, 0)
    translated = recipe.translated_examples(recipe.synthetic_examples(model_config, 0),
                                            export_dir, model_config)
    for _ in range(3):
      (a, boxes_a, classes_a), (b, boxes_b, classes_b) = next(plain), next(translated)
      assert a.shape == b.shape and b.dtype == np.uint8
      np.testing.assert_array_equal(boxes_a, boxes_b)
      assert classes_a == classes_b
    ball = detector_lib.DetectorConfig.from_preset("ball_test")
    with pytest.raises(ValueError, match="single frames"):
      next(recipe.translated_examples(iter([]), export_dir, ball))


def test_a_missing_translator_is_refused_before_training(tmp_path):
  model_config = detector_lib.DetectorConfig.from_preset("test")
  with pytest.raises(translator_lib.TranslatorNotFoundError, match="no translator export"):
    recipe.translated_examples(iter([]), str(tmp_path), model_config)

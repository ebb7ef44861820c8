import numpy as np
import pytest
import tensorflow as tf

from tfsports.gan import losses
from tfsports.data import crops
from tfsports.data import synthetic
from tfsports.athletes import model as athlete_models
from tfsports.models import video_generator as video_gan
from tfsports.athletes import recipe as athlete
from tests import test_case
from tfsports.actions import ssgan
from tfsports.serving import runners


def test_player_crops_hold_the_player():
  config = synthetic.SceneConfig(sport="basketball", camera="static", image_size=(360, 640),
                                 num_frames=2, referee=False)
  clip = synthetic.render_clip(config, seed=0, index=0)
  c = crops.player_crops(clip, (48, 24))
  assert c["crops"].shape[1:] == (48, 24, 3) and len(c["crops"]) > 0
  assert set(c["team"].tolist()) <= {0, 1}
  scene, _ = synthetic.simulate_clip(config, 0, 0)
  for crop, team, kit in zip(c["crops"], c["team"], c["kit"]):
    assert kit == scene.kit_ids[team]
    shirt = np.array(scene.kits[team][0])
    # The shirt colour is the most common non-floor colour near the middle.
    assert (np.abs(crop.astype(int) - shirt).max(-1) < 40).sum() >= 3


def test_batch_hard_triplet_golden():
  emb = tf.constant([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0], [0.0, 2.0]])
  labels = tf.constant([0, 0, 1, 1])
  # Anchor 0: hardest positive 1.0, nearest negative 2.0 -> max(1 - 2 + 0.5, 0) = 0.
  # Anchor 1: positive 1.0, negative sqrt(5) -> 0. Anchor 2: positive 1, negative 3 -> 0.
  # Anchor 3: positive 1, negative 2 -> 0; with margin 1.5: 1 - 2 + 1.5 = 0.5.
  got = losses.batch_hard_triplet_loss(labels, emb, margin=1.5)
  np.testing.assert_allclose(got, [0.5, 1.5 + 1 - np.sqrt(5), 0.0, 0.5], atol=1e-5)
  alone = losses.batch_hard_triplet_loss(tf.constant([0, 1]), emb[:2])
  np.testing.assert_allclose(alone, [0.0, 0.0])


def test_athlete_recipe_exports_matching_models(tmp_path):
  report = athlete.train_athlete(athlete.AthleteTrainConfig.from_preset(
      "test", run_dir=str(tmp_path)))
  assert report["eval"]["num_crops"] > 0
  crops = np.random.default_rng(0).integers(0, 255, (1, 16, 8, 3), np.uint8)
  loaded = tf.saved_model.load(report["exports"]["saved_model"])
  out = loaded.serve(tf.constant(crops))
  np.testing.assert_allclose(tf.norm(out["embedding"], axis=-1), [1], atol=1e-5)
  test_case.run_tflite_builtin_test(report["exports"]["tflite_float32"])
  from ai_edge_litert import interpreter as litert
  runner = litert.Interpreter(model_path=report["exports"]["tflite_float32"])
  lite = runner.get_signature_runner()(crops=crops)
  assert sorted(lite) == sorted(out)
  for key in out:
    np.testing.assert_allclose(lite[key], out[key].numpy(), atol=1e-5)


def test_generators_save_and_reload(tmp_path):
  gen = video_gan.build_video_generator(video_gan.VideoGeneratorConfig.from_preset("test"))
  inputs = [tf.random.normal([3, 8]), tf.constant([0, 1, 4])]
  assert gen(inputs).shape == (3, 4, 16, 16, 3)
  test_case.run_model_saving_test(gen, inputs, tmp_path)
  test_case.run_serialization_test(gen)


def test_ssgan_discriminator_losses_golden():
  k = 2
  # Logits (0, 0, 0): p = 1/3 each. Supervised CE over the real classes: ln 2.
  # -log D(x) = -log(2/3); fake: -log p(generated) = log 3.
  zeros = tf.zeros([1, 3])
  sup, unsup = ssgan.ssgan_d_losses(zeros, tf.constant([1]), zeros, zeros, k)
  np.testing.assert_allclose(sup, [np.log(2)], rtol=1e-6)
  np.testing.assert_allclose(unsup, [-np.log(2 / 3) + np.log(3)], rtol=1e-6)


def test_labelled_subset_has_the_asked_labels_per_class():
  labels = np.repeat(np.arange(5), 8)
  idx = ssgan.choose_labelled(labels, 3, np.random.default_rng(0), 5)
  assert np.bincount(labels[idx], minlength=5).tolist() == [3] * 5
  assert len(set(idx.tolist())) == 15
  assert len(ssgan.choose_labelled(labels, 0, np.random.default_rng(0), 5)) == 40


def test_label_efficiency_table_averages_the_seeds():
  rows = ssgan.label_efficiency(ssgan.LabelEfficiencyConfig.from_preset("test"),
                                log=lambda s: None)
  assert sorted(r[2] for r in rows) == ["ssgan", "supervised"]
  fake = [(5, 0, "supervised", 0.2), (5, 1, "supervised", 0.4), (5, 0, "ssgan", 0.5),
          (5, 1, "ssgan", 0.6), (0, 0, "supervised", 0.9), (0, 0, "ssgan", 0.8)]
  table = ssgan.summarise(fake).splitlines()
  assert table[2] == "| 5 | 30.0 | 55.0 | +25.0 |"
  assert table[3] == "| all | 90.0 | 80.0 | -10.0 |"


def test_ssgan_discriminator_exports_like_the_classifier(tmp_path):
  report = ssgan.train_and_export(ssgan.LabelEfficiencyConfig.from_preset("test"), 2, str(tmp_path))
  loaded = tf.saved_model.load(report["exports"]["saved_model"])
  out = loaded.signatures["serving_default"](frames=tf.zeros([1, 4, 16, 16, 3], tf.uint8))
  assert out["probabilities"].shape == (1, 6)
  lite = report["exports"]["tflite_stream_float32"]
  runner = runners.StreamingTFLiteRunner(lite)
  for _ in range(4):
    logits = runner(np.zeros((16, 16, 3), np.uint8))
  probs = tf.nn.softmax(logits).numpy()
  np.testing.assert_allclose(probs, out["probabilities"][0], atol=1e-5)

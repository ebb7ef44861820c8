import numpy as np
import pytest
import tensorflow as tf

from tfsports.gan import losses
from tfsports.data import crops
from tfsports.data import synthetic
from tfsports.athletes import model as athlete_models
from tfsports.actions import generator as video_gan
from tfsports.athletes import recipe as athlete
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


def test_athlete_recipe_runs_and_exports(tmp_path):
  report = athlete.train_athlete(athlete.AthleteTrainConfig.from_preset(
      "test", run_dir=str(tmp_path)))
  ev = report["eval"]
  assert 0 <= ev["team_accuracy"] <= 1 and ev["num_crops"] > 0
  loaded = tf.saved_model.load(report["exports"]["saved_model"])
  out = loaded.serve(tf.zeros([2, 16, 8, 3], tf.uint8))
  np.testing.assert_allclose(tf.norm(out["embedding"], axis=-1), [1, 1], atol=1e-5)
  from ai_edge_litert import interpreter as litert
  it = litert.Interpreter(model_path=report["exports"]["tflite_float32"])
  ops = {o["op_name"] for o in it._get_ops_details()}
  assert not any(o.startswith("Flex") for o in ops)


def test_video_generator_shapes():
  gen = video_gan.build_video_generator(video_gan.VideoGeneratorConfig.from_preset("test"))
  clip = gen([tf.random.normal([3, 8]), tf.constant([0, 1, 4])])
  assert clip.shape == (3, 4, 16, 16, 3)
  assert float(tf.reduce_min(clip)) >= 0 and float(tf.reduce_max(clip)) <= 1


def test_ssgan_discriminator_losses_golden():
  k = 2
  # Logits (0, 0, 0): p = 1/3 each. Supervised CE over the real classes: ln 2.
  # -log D(x) = -log(2/3); fake: -log p(generated) = log 3.
  zeros = tf.zeros([1, 3])
  sup, unsup = ssgan.ssgan_d_losses(zeros, tf.constant([1]), zeros, zeros, k)
  np.testing.assert_allclose(sup, [np.log(2)], rtol=1e-6)
  np.testing.assert_allclose(unsup, [-np.log(2 / 3) + np.log(3)], rtol=1e-6)


def test_label_efficiency_runs():
  rows = ssgan.label_efficiency(ssgan.LabelEfficiencyConfig.from_preset("test"), log=lambda s: None)
  assert {r[2] for r in rows} == {"supervised", "ssgan"}
  assert all(0.0 <= r[3] <= 1.0 for r in rows)
  table = ssgan.summarise(rows)
  assert "| 2 |" in table


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

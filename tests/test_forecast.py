"""The trajectory GAN: in-graph baselines, a frame that rotates with the
scene, saving, replicas, resume, the recipe end to end with its exports,
and `tfsports forecast` with its errors."""

import dataclasses
import os

import numpy as np
import pytest
import tensorflow as tf

from tests import test_case
from tests.conftest import SHARED
from tests.test_gan import assert_gan_steps_like_one_replica
from tfsports.forecast import data
from tfsports.forecast import model
from tfsports.forecast import recipe
from tfsports.training import run as run_lib

CONFIG = model.ForecastConfig.from_preset("test")
TRAJ = os.path.join(SHARED, "trajectories")


def _inputs(seed=0, batch=2):
  rng = np.random.default_rng(seed)
  a, t = CONFIG.max_agents, CONFIG.num_frames
  paths = np.cumsum(rng.normal(0, 0.5, (batch, a, t, 2)), 2).astype(np.float32) + 20
  known = np.zeros((batch, a, t), np.float32)
  known[:, :5, :CONFIG.num_observed] = 1          # agent 5 is padding
  known[1, 0] = 1
  known[1, 0, 12:20] = 0                          # a gap in a full track
  team = np.tile(np.array([0, 1, 0, 1, -1, -1], np.int32), (batch, 1))
  noise = rng.normal(size=(batch, a, CONFIG.noise_dim)).astype(np.float32)
  return {"paths": paths, "known": known, "team": team, "noise": noise}


def test_baseline_path_is_constant_velocity_and_linear_interpolation():
  x = _inputs()
  base = np.asarray(model.BaselinePath()(x["paths"], x["known"]))
  o = CONFIG.num_observed
  np.testing.assert_allclose(
      base[0, :4, o:], data.constant_velocity(x["paths"][0, :4, :o], CONFIG.num_future),
      atol=1e-4)
  np.testing.assert_allclose(
      base[1, 0], data.linear_interpolation(x["paths"][1, :1], x["known"][1, :1] > 0)[0],
      atol=1e-4)
  np.testing.assert_array_equal(base[0, 5], 0)     # padding stays zero


def test_generator_keeps_known_frames_and_turns_with_the_scene():
  gen = model.build_trajectory_generator(CONFIG)
  x = _inputs()
  # A trained-looking head: the zero initialisation would hide the frame.
  head = gen.get_layer("head")
  head.set_weights([np.random.default_rng(1).normal(0, 0.3, w.shape) for w in
                    head.get_weights()])
  out = np.asarray(gen(x))
  k = x["known"][..., None] > 0
  np.testing.assert_allclose(np.where(k, out, 0), np.where(k, x["paths"], 0), atol=1e-5)
  assert np.abs(out - np.asarray(model.BaselinePath()(x["paths"], x["known"]))).max() > 0.01
  # Rotating and shifting the scene rotates and shifts the futures: the
  # model works in the scene's own frame.
  angle = 0.7
  rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
  moved = dict(x, paths=x["paths"] @ rot.T + np.float32([30, -12]))
  np.testing.assert_allclose(np.asarray(gen(moved))[..., :5, :, :],
                             (out @ rot.T + np.float32([30, -12]))[..., :5, :, :], atol=2e-3)


def test_models_save_and_reload_safely(tmp_path):
  x = _inputs()
  test_case.run_model_saving_test(model.build_trajectory_generator(CONFIG), x, tmp_path)
  critic_in = {k: x[k] for k in ("paths", "known", "team")}
  agent = model.build_agent_discriminator(CONFIG)
  assert agent(critic_in).shape == (2, CONFIG.max_agents)
  test_case.run_model_saving_test(agent, critic_in, tmp_path)
  test_case.run_model_saving_test(model.build_group_discriminator(CONFIG), critic_in, tmp_path)
  test_case.run_serialization_test(model.ToSceneFrame(10.0, inverse=True, translate=False))


TEST = recipe.ForecastTrainConfig.from_preset("test")


def _scenes():
  return {"synthetic": (data.synthetic_scenes(3, seed=5, seconds=7.0),
                        data.synthetic_scenes(1, seed=6, seconds=7.0))}


def test_gan_step_trains_every_network_and_two_replicas_agree():
  pools = [( [w for s in _scenes()["synthetic"][0]
              for w in data.windows(data.resample(s, 5), CONFIG.num_frames, 1,
                                    CONFIG.max_agents)], 1.0)]
  batch = recipe.make_batch(pools, TEST, 0)
  assert batch["noise"].shape == (TEST.batch_size, TEST.num_samples + 1, CONFIG.max_agents,
                                  CONFIG.noise_dim)
  def build():
    trainer = recipe.build_trainer(TEST)
    # Off the zero-initialised head, whose first steps give the rest of the
    # generator gradients at round-off level, where Adam's normalisation
    # turns summation order (1 vs 2 replicas) into visible differences.
    head = trainer.generator.get_layer("head")
    head.set_weights([np.random.default_rng(2).normal(0, 0.1, w.shape) for w in
                      head.get_weights()])
    return trainer
  assert_gan_steps_like_one_replica(build, batch)


def test_recipe_resumes_exactly_then_evaluates_and_exports(tmp_path):
  scenes = {k: tuple([data.resample(s, 5) for s in part] for part in v)
            for k, v in _scenes().items()}
  cfg = dataclasses.replace(TEST, data=str(tmp_path), train_steps=4, checkpoint_every=2)
  whole = recipe.train(dataclasses.replace(cfg, run_dir=str(tmp_path / "a")), scenes).model
  part = dataclasses.replace(cfg, run_dir=str(tmp_path / "b"))
  recipe.train(dataclasses.replace(part, train_steps=2), scenes)
  trained = recipe.train(part, scenes)
  resumed, status = trained.model, trained.status
  assert status["start_step"] == 2 and status["step"] == 4
  for a, b in zip(whole.generator.get_weights() + whole.group_discriminator.get_weights(),
                  resumed.generator.get_weights() + resumed.group_discriminator.get_weights()):
    np.testing.assert_allclose(a, b, atol=1e-6)
  report = run_lib.evaluate_and_export(recipe.RECIPE, trained)
  entry = report["datasets"]["synthetic"]
  assert entry["windows"] >= 1
  fc = entry["forecast"]
  for method in ("model", "constant velocity", "linear extrapolation"):
    assert 0 < fc[method]["minADE@1s"] <= fc[method]["minADE@4s"]
    assert fc[method]["minJFDE"] >= fc[method]["minFDE@4s"] - 1e-9   # joint is no easier
  assert set(entry["gaps"]) >= {"linear interpolation", "model (best of samples)"}
  # SavedModel and TFLite give the Keras model's samples for the same seed.
  check = report["export_check"]
  assert check["saved_model_vs_keras_max_abs_m"] < 1e-3
  assert check["tflite_float32_vs_keras_max_abs_m"] < 1e-3
  test_case.run_tflite_builtin_test(report["exports"]["tflite_float32"])
  assert "| synthetic |" in open(tmp_path / "b" / "export" / "report.md").read()
  # The forecast signature pads the observation and returns only futures.
  loaded = tf.saved_model.load(report["exports"]["saved_model"])
  a, o = CONFIG.max_agents, CONFIG.num_observed
  out = loaded.signatures["serving_default"](
      observed=tf.zeros((2, a, o, 2)), mask=tf.ones((2, a, o)), team=tf.zeros((2, a), tf.int32),
      seed=tf.constant(1))["futures"]
  assert out.shape == (2, TEST.eval_samples, a, CONFIG.num_future, 2)


def test_metrics_and_baselines():
  observed = np.array([[[0, 0], [1, 0], [2, 0]]], np.float32)
  np.testing.assert_allclose(data.linear_extrapolation(observed, 2)[0], [[3, 0], [4, 0]],
                             atol=1e-6)
  xy = np.array([[[0, 0], [9, 9], [2, 2]]], np.float32)
  np.testing.assert_allclose(data.linear_interpolation(xy, np.array([[1, 0, 1]], bool))[0, 1],
                             [1, 1])
  err = data.displacement_errors(np.zeros((2, 1, 3, 2)), np.ones((1, 3, 2)),
                                 np.array([[True, False, True]]))
  assert np.isnan(err[0, 0, 1]) and err[1, 0, 0] == pytest.approx(np.sqrt(2))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  tmp = tmp_path_factory.mktemp("forecast")
  cfg = dataclasses.replace(TEST, run_dir=str(tmp / "run"), train_steps=2)
  scenes = {k: tuple([data.resample(s, 5) for s in part] for part in v)
            for k, v in _scenes().items()}
  run_lib.evaluate_and_export(recipe.RECIPE, recipe.train(cfg, scenes))
  return str(tmp / "run")


def _tracks_csv(path, lines=None):
  rows = ["frame,time_s,track_id,x,y,w,h,team,jersey,pitch_x_m,pitch_y_m"]
  for t in range(50):                          # two players, 10 s at 5 fps
    rows.append(f"{t + 1},{t / 5:.2f},1,0,0,1,1,0,,{10 + t * 0.3:.2f},20.00")
    if not 20 <= t < 27:                       # player 2 lost for 1.4 s
      rows.append(f"{t + 1},{t / 5:.2f},2,0,0,1,1,1,,30.00,{10 + t * 0.2:.2f}")
  path.write_text("\n".join(lines or rows) + "\n")
  return str(path)


def test_forecast_command_writes_futures_and_fills_gaps(exported, tmp_path):
  tracks = _tracks_csv(tmp_path / "tracks.csv")
  out = tmp_path / "out"
  proc = test_case.run_command("forecast", tracks, f"--out={out}", f"--model={exported}",
                               "--horizon=2", "--samples=5")
  assert proc.returncode == 0, proc.stderr
  rows = open(out / "futures.csv").read().splitlines()
  assert rows[0] == "scene,sample,agent_id,team,time_s,x_m,y_m"
  # 2 agents x 5 samples x 10 frames (2 s at 5 Hz), starting after the last observed frame.
  assert len(rows) == 1 + 2 * 5 * 10 and rows[1].split(",")[4] == "10.00"
  assert (out / "forecast_tracks.png").stat().st_size > 1000
  proc = test_case.run_command("forecast", tracks, f"--out={out}", f"--model={exported}/export/"
                               "forecast_float32.tflite", "--fill")
  assert proc.returncode == 0, proc.stderr
  filled = [r.split(",") for r in open(out / "filled.csv").read().splitlines()[1:]]
  gap = [r for r in filled if r[1] == "2" and r[6] == "1"]
  assert len(gap) == 7 and all(abs(float(r[4]) - 30) < 5 for r in gap)


def test_forecast_command_bad_input(exported, tmp_path):
  good = _tracks_csv(tmp_path / "tracks.csv")
  model = f"--model={exported}"
  rows = open(good).read().splitlines()
  cases = {
      "missing.csv": (["frame,time_s,x,y"] + ["1,0,1,1"], "missing column"),
      "back.csv": (rows[:5] + [rows[1]], "time_s goes back"),
      "nan.csv": (rows[:3] + [rows[3].replace("20.00", "nan")], "not finite"),
      "odd.csv": (["a,b,c", "1,2,3"], "unknown trajectory format"),
  }
  for name, (lines, match) in cases.items():
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    test_case.run_command_error_test("forecast", path, f"--out={tmp_path / 'o'}", model,
                                     match=match)
  test_case.run_command_error_test("forecast", good, f"--out={tmp_path / 'o'}", model,
                                   "--horizon=9", match="up to 4 s")
  test_case.run_command_error_test("forecast", tmp_path / "none.csv", f"--out={tmp_path}",
                                   model, match="no such file")


@pytest.mark.skipif(not os.path.isdir(TRAJ), reason="needs ../shared/data/real")
def test_real_sources_split_by_file_and_read():
  files = recipe.source_files(TRAJ)
  assert set(files) >= {"hockey", "soccer (Last Row)", "3x3 basketball", "soccer (Metrica)"}
  for name, (train, test) in files.items():
    if name != "soccer (Metrica)":
      assert train and test and not set(train) & set(test)
  assert all("basket_S3" in os.path.basename(f) for f in files["3x3 basketball"][1])
  metrica = data.read_scenes(files["soccer (Metrica)"][1][0])
  assert len(metrica) == 2 and metrica[0].fps == 25 and metrica[0].xy.shape[0] == 19
  court = data.read_scenes(files["3x3 basketball"][0][0])[0]
  xy = court.xy[court.valid]
  # The 11 x 15 m half court, give or take a player stepping out.
  assert xy.min() > -1.5 and xy[:, 0].max() < 12 and xy[:, 1].max() < 16.5


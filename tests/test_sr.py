import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import SHARED, index_frames
from tfsports.superres import command as upscale
from tfsports.data import video_io
from tfsports.superres import model as sr_models
from tfsports.serving import runners
from tests import test_case
from tfsports.training import loop as common
from tfsports.superres import recipe as sr

TEST = sr.SRTrainConfig.from_preset("test")


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_generator_shapes_and_safe_mode_reload(tmp_path, scale):
  config = sr_models.SRConfig.from_preset("tiny", scale=scale)
  gen = sr_models.build_sr_generator(config)
  x = tf.random.uniform([2, 3, 6, 10, 3])
  y = gen(x)
  assert y.shape == (2, 6 * scale, 10 * scale, 3)
  assert all(layer.name for layer in gen.layers)
  test_case.run_model_saving_test(gen, x, tmp_path)
  test_case.run_serialization_test(gen)


def test_discriminators_give_patch_logits():
  config = sr_models.SRConfig.from_preset("tiny")
  assert sr_models.build_spatial_discriminator(config)(tf.zeros([2, 16, 16, 3])).shape == (2, 2, 2, 1)
  assert sr_models.build_temporal_discriminator(config)(tf.zeros([2, 16, 16, 9])).shape == (2, 2, 2, 1)


def test_bad_sr_config():
  with pytest.raises(ValueError):
    sr_models.SRConfig(scale=3)
  with pytest.raises(ValueError):
    sr_models.SRConfig(num_frames=4)


def test_resume_equals_uninterrupted(tmp_path):
  cfg = dict(train_steps=6, warmup_steps=2, checkpoint_every=2)
  whole = sr.train(sr.SRTrainConfig.from_preset("test", run_dir=str(tmp_path / "a"), **cfg)).model
  part = sr.SRTrainConfig.from_preset("test", run_dir=str(tmp_path / "b"), **cfg)
  sr.train(dataclass_replace(part, train_steps=4))
  resumed = sr.train(part)
  status, resumed = resumed.status, resumed.model
  assert status["start_step"] == 4 and status["step"] == 6
  for a, b in zip(whole.generator.get_weights(), resumed.generator.get_weights()):
    np.testing.assert_allclose(a, b, atol=1e-6)
  assert len(os.listdir(tmp_path / "b" / "checkpoints")) > 0


def dataclass_replace(config, **changes):
  import dataclasses
  return dataclasses.replace(config, **changes)


def test_nan_guard_stops_and_keeps_last_good_checkpoint(tmp_path):
  run_dir = str(tmp_path / "run")
  good = sr.SRTrainConfig.from_preset("test", run_dir=run_dir, train_steps=2,
                                        warmup_steps=2, checkpoint_every=2)
  sr.train(good)
  bad = dataclass_replace(good, train_steps=8, warmup_steps=8, g_learning_rate=float("inf"))
  with pytest.raises(common.NonFiniteLossError, match="ckpt-2"):
    sr.train(bad)
  # The kept checkpoint restores to finite weights at step 2.
  trainer = sr.build_trainer(good, sr_models.SRConfig.from_preset("tiny"))
  run = sr.run_directory(trainer, good)
  assert run.restore().endswith("ckpt-2")
  assert all(np.isfinite(w).all() for w in trainer.generator.get_weights())


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  run_dir = str(tmp_path_factory.mktemp("sr_run"))
  config = sr.SRTrainConfig.from_preset("test", run_dir=run_dir, degradation="broadcast",
                                        tflite_variants=("float32", "int8"))
  return config, sr.train_sr(config)


def test_re_export_uses_the_run_config(exported, tmp_path):
  config, report = exported
  # A copy: a re-export replaces the whole export folder (int8 would go).
  run_dir = str(tmp_path / "run")
  shutil.copytree(config.run_dir, run_dir)
  again = sr.export_run(run_dir, tflite_variants=("float32",))
  assert sorted(os.listdir(os.path.join(run_dir, "export", "tflite"))) == ["float32.tflite"]
  # The run's own degradation (not the preset's "real") and the same model.
  assert again["config"]["degradation"] == "broadcast"
  assert again["synthetic"]["mean"]["psnr_y"] == pytest.approx(
      report["synthetic"]["mean"]["psnr_y"], abs=1e-6)


def test_export_layout_and_report(exported):
  config, report = exported
  export = os.path.join(config.run_dir, "export")
  version = os.path.join(export, "saved_model", "sr", "1")
  assert os.path.exists(os.path.join(version, "saved_model.pb"))
  assert "name: \"sr\"" in open(os.path.join(export, "saved_model", "models.config")).read()
  assert os.path.exists(os.path.join(export, "saved_model", "batching_parameters.txt"))
  warm = os.path.join(version, "assets.extra", "tf_serving_warmup_requests")
  record = next(iter(tf.data.TFRecordDataset(warm))).numpy()
  assert record[0] == (6 << 3) | 2 and b"serving_default" in record
  assert os.path.exists(os.path.join(export, "tflite", "float32.tflite"))
  assert os.path.exists(os.path.join(export, "eval_report.json"))
  mean = report["synthetic"]["mean"]
  assert {"psnr_y", "ssim_y", "tof", "bicubic_psnr_y", "gain_db"} <= set(mean)
  builtin_only = lambda ops: not any(o.startswith("Flex") or o == "CUSTOM" for o in ops)
  for variant in ("float32", "int8"):
    assert builtin_only(report["tflite"][variant]["ops"])
  # float32 TFLite matches the SavedModel to rounding.
  assert report["tflite"]["float32"]["psnr_vs_saved_model"] > 45
  # The int8 model's quantised output becomes pixels through the runner's
  # table exactly as dequantising it would make them.
  lite = runners.load_runner(os.path.join(export, "tflite", "int8.tflite"))
  window = np.random.default_rng(2).integers(0, 256, (3, 8, 8, 3), np.uint8)
  got = lite(window)
  raw = lite.interpreter.get_tensor(lite.output["index"])[0].astype(np.float64)
  scale, zero = lite.output["quantization"]
  np.testing.assert_array_equal(
      got, np.clip(np.round((raw - zero) * scale * 255.0), 0, 255).astype(np.uint8))


def test_saved_model_serves_uint8_with_dynamic_batch(exported, tmp_path):
  config, _ = exported
  path = os.path.join(config.run_dir, "export", "saved_model", "sr", "1")
  fn = tf.saved_model.load(path).signatures["serving_default"]
  frames = tf.constant(np.random.default_rng(0).integers(0, 255, (3, 3, 6, 10, 3), np.uint8))
  out = next(iter(fn(frames=frames).values()))
  assert out.dtype == tf.uint8 and out.shape == (3, 24, 40, 3)
  npy = tmp_path / "frames.npy"
  np.save(npy, np.zeros((1, 3, 4, 4, 3), np.uint8))
  cli = subprocess.run(
      [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "run", "--dir", path,
       "--tag_set", "serve", "--signature_def", "serving_default",
       "--inputs", f"frames={npy}"],
      capture_output=True, text=True, timeout=120)
  assert cli.returncode == 0, cli.stderr[-2000:]
  assert "Result for output key" in cli.stdout


def test_tflite_matches_saved_model_on_a_window(exported):
  config, _ = exported
  export = os.path.join(config.run_dir, "export")
  saved = runners.load_runner(os.path.join(export, "saved_model", "sr", "1"))
  lite = runners.load_runner(os.path.join(export, "tflite", "float32.tflite"))
  window = np.random.default_rng(1).integers(0, 255, (3, 8, 8, 3), np.uint8)
  assert np.abs(saved(window).astype(int) - lite(window)).max() <= 1
  with pytest.raises(runners.ModelMismatchError, match="8x8"):
    lite(np.zeros((3, 6, 8, 3), np.uint8))
  with pytest.raises(runners.ModelMismatchError, match="uint8"):
    lite(np.zeros((3, 8, 8, 3), np.float32))


def test_iter_windows_repeats_edges():
  frames = [np.full((1, 1, 3), i, np.uint8) for i in range(5)]
  got = [w[:, 0, 0, 0].tolist() for w in runners.iter_windows(frames, 3)]
  assert got == [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 4]]
  got = [w[:, 0, 0, 0].tolist() for w in runners.iter_windows(frames[:1], 5)]
  assert got == [[0, 0, 0, 0, 0]]
  got = [w[:, 0, 0, 0].tolist() for w in runners.iter_windows(frames[:2], 5)]
  assert got == [[0, 0, 0, 1, 1], [0, 0, 1, 1, 1]]


def test_upscale_tool_streams_and_refuses_bad_input(exported, tmp_path):
  config, _ = exported
  export = os.path.join(config.run_dir, "export")
  src = tmp_path / "in.mp4"
  video_io.write_video(src, index_frames(7, 8, 8))
  out = tmp_path / "out.mp4"
  for model in (os.path.join(export, "saved_model", "sr", "1"),
                os.path.join(export, "tflite", "float32.tflite")):
    assert upscale.upscale_video(str(src), str(out), model) == 7
    assert video_io.probe(out).num_frames == 7
    assert video_io.read_frames(out).shape == (7, 32, 32, 3)
  big = tmp_path / "big.mp4"
  video_io.write_video(big, index_frames(3, 16, 16))
  # An 8x8 model cannot tile with a margin covering its receptive field.
  with pytest.raises(ValueError, match="margin"):
    upscale.upscale_video(str(big), str(tmp_path / "x.mp4"),
                          os.path.join(export, "tflite", "float32.tflite"))
  assert not (tmp_path / "x.mp4").exists()
  assert upscale.upscale_video(str(big), str(tmp_path / "y.mp4"),
                               os.path.join(export, "tflite", "float32.tflite"), resize=True) == 3
  # A crop of a bigger frame fits the fixed-shape model without resizing.
  assert upscale.upscale_video(str(big), str(tmp_path / "c.mp4"),
                               os.path.join(export, "tflite", "float32.tflite"),
                               crop=(4, 2, 8, 8), denoise=True) == 3
  assert video_io.read_frames(tmp_path / "c.mp4").shape == (3, 32, 32, 3)
  bad = tmp_path / "bad.mp4"
  bad.write_text("no")
  lite = f"--model={export}/tflite/float32.tflite"
  test_case.run_command_error_test("upscale", bad, tmp_path / "z.mp4", lite, match=str(bad))
  test_case.run_command_error_test("upscale", src, tmp_path / "z.mp4", "--model=no_such_model",
                                   match="no_such_model")
  test_case.run_command_error_test("upscale", src, tmp_path / "z.mp4", lite, "--crop=0,0,9",
                                   match="X,Y,W,H")
  test_case.run_command_error_test("upscale", big, tmp_path / "z.mp4", lite,
                                   "--crop=10,10,8,8", match="outside")
  assert not (tmp_path / "z.mp4").exists()


@pytest.mark.parametrize("scale", [2, 4])
def test_generator_is_a_residual_over_bilinear(scale):
  gen = sr_models.build_sr_generator(sr_models.SRConfig.from_preset("tiny", scale=scale))
  conv = gen.get_layer("upsample_conv")
  conv.set_weights([np.zeros_like(w) for w in conv.get_weights()])
  x = tf.random.uniform([1, 3, 7, 9, 3])
  want = tf.image.resize(x[:, 1], (7 * scale, 9 * scale), "bilinear")
  np.testing.assert_allclose(gen(x), want, atol=1e-6)


@pytest.fixture(scope="module")
def float32_run(tmp_path_factory):
  return sr.train(sr.SRTrainConfig.from_preset(
      "test", run_dir=str(tmp_path_factory.mktemp("f32")))).model


@pytest.mark.parametrize("policy,tolerance", [("mixed_bfloat16", 0.05),
                                              ("mixed_float16", 0.01)])
def test_mixed_precision_tracks_float32(tmp_path, float32_run, policy, tolerance):
  try:
    trained = sr.train(sr.SRTrainConfig.from_preset(
        "test", run_dir=str(tmp_path), mixed_precision=policy))
    trainer, status = trained.model, trained.status
  finally:
    common.set_precision(None)
  assert status["step"] == 4
  assert trainer.generator.layers[-1].compute_dtype != "float32"
  # float16 gets a loss-scale optimizer per network.
  if policy == "mixed_float16":
    assert isinstance(trainer.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(trainer.d_optimizer, keras.optimizers.LossScaleOptimizer)
  # Same seed, data and steps: the weights end near float32's, off by the
  # rounding of the lower precision and no more.
  ref = float32_run.generator.get_weights()
  got = trainer.generator.get_weights()
  diffs = [float(np.abs(a - b).max()) for a, b in zip(ref, got)]
  assert max(diffs) < tolerance, diffs
  assert max(diffs) > 0.0          # it did run in another precision
  x = np.random.default_rng(0).uniform(size=(1, 3, 8, 8, 3)).astype(np.float32)
  out = np.asarray(trainer.generator(x), np.float32)
  ref_out = np.asarray(float32_run.generator(x), np.float32)
  assert np.abs(out - ref_out).max() < 4 * tolerance


@pytest.fixture(scope="module")
def tiled_model(tmp_path_factory):
  """A random tiny x2 generator (residual scaled up, so that it dominates the
  bilinear base) as a whole-frame SavedModel and a 24x32 float32 TFLite."""
  from tfsports.serving import saved_model as saved_model_lib
  from tfsports.serving import tflite as tflite_lib
  keras.utils.set_random_seed(3)
  gen = sr_models.build_sr_generator(sr_models.SRConfig.from_preset("tiny", scale=2))
  conv = gen.get_layer("upsample_conv")
  conv.set_weights([w * 4 for w in conv.get_weights()])
  out = tmp_path_factory.mktemp("tiled")
  saved = saved_model_lib.export_frame_model(gen, str(out / "saved"), "sr",
                                             (3, None, None, 3))
  lite = tflite_lib.export_frame_tflite(gen, str(out / "tflite"), (3, 24, 32, 3),
                                        variants=("float32",))["float32"]
  return saved, lite


def test_tile_starts_cover_with_margins():
  assert runners.tile_starts(20, 24, 5) == [0]
  assert runners.tile_starts(50, 24, 5) == [0, 14, 26]
  with pytest.raises(ValueError, match="margin"):
    runners.tile_starts(50, 8, 5)


@pytest.mark.parametrize("size", [(24, 32), (61, 90), (17, 20)])
def test_tiled_tflite_equals_whole_frame_saved_model(tiled_model, size):
  saved, lite = tiled_model
  tiled = runners.TiledRunner(runners.load_runner(lite))
  # 8 convs of 3x3 (7 in the body and the bilinear base's): 8 px, plus one.
  assert tiled.margin == 9 and tiled.scale == 2
  window = np.random.default_rng(size[0]).integers(0, 256, (3,) + size + (3,), np.uint8)
  got = tiled(window).astype(int)
  want = runners.load_runner(saved)(window).astype(int)
  assert got.shape == want.shape == (2 * size[0], 2 * size[1], 3)
  if size[0] >= 24 and size[1] >= 32:
    assert np.abs(got - want).max() <= 1       # no seams anywhere
  else:
    # Smaller than a tile: padded by edge pixels; exact away from the pad.
    inner = np.abs(got - want)[:2 * size[0] - 20, :2 * size[1] - 20]
    assert inner.max() <= 1


def test_upscale_any_size_keeps_fps_and_audio(tiled_model, tmp_path):
  import av
  _, lite = tiled_model
  src = tmp_path / "with_audio.mp4"
  write_video_with_audio(src, index_frames(6, 40, 70), fps=30)
  out = tmp_path / "up.mp4"
  assert upscale.upscale_video(str(src), str(out), lite, lossless=True) == 6
  info = video_io.probe(out)
  assert (info.width, info.height, info.num_frames) == (140, 80, 6)
  assert info.fps == pytest.approx(30.0)
  with av.open(str(out)) as container:
    assert len(container.streams.audio) == 1
    assert container.streams.audio[0].codec_context.name == "aac"
  # Lossless output is bit-exact: the file holds the tiled model's frames.
  runner = runners.TiledRunner(runners.load_runner(lite))
  first = next(runners.iter_windows(iter(video_io.read_frames(src)), 3))
  np.testing.assert_array_equal(video_io.read_frames(out)[0], runner(first))


def write_video_with_audio(path, frames, fps):
  """An H.264 + AAC mp4: `frames` and one second of a 440 Hz tone."""
  import av
  from fractions import Fraction
  with av.open(str(path), "w") as container:
    video = container.add_stream("libx264", rate=Fraction(fps))
    video.height, video.width = frames[0].shape[:2]
    video.pix_fmt = "yuv420p"
    audio = container.add_stream("aac", rate=44100)
    audio.layout = "mono"
    for f in frames:
      for p in video.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
        container.mux(p)
    for p in video.encode():
      container.mux(p)
    tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(44100) / 44100)).astype(np.float32)
    for start in range(0, 44100, 1024):
      chunk = tone[None, start:start + 1024]
      frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
      frame.sample_rate = 44100
      frame.pts = start
      for p in audio.encode(frame):
        container.mux(p)
    for p in audio.encode():
      container.mux(p)


def test_real_footage_evaluation_goes_through_the_command(tiled_model, tmp_path):
  from tfsports.superres import evaluate as sr_eval
  saved, lite = tiled_model
  src = tmp_path / "real.mp4"
  rng = np.random.default_rng(0)
  video_io.write_video(src, [rng.integers(0, 256, (50, 70, 3), np.uint8) for _ in range(4)],
                       lossless=True)
  # A 48x64 crop: the x2 input is 24x32, the TFLite model's own shape.
  report = sr_eval.evaluate_real(saved, [str(src)], 2, ("area", "bicubic", "nearest"),
                                 num_frames=3, crop=(48, 64))
  assert [(r["kernel"], r["size"]) for r in report["clips"]] == [
      ("area", "64x48"), ("bicubic", "64x48"), ("nearest", "64x48")]
  for r in report["clips"]:
    assert r["gain_db"] == pytest.approx(r["psnr_y"] - r["bicubic_psnr_y"])
    assert r["bicubic"] in ("bicubic_tf", "bicubic_cv2")
  # The fixed-shape TFLite model scores what the SavedModel scores.
  lite_report = sr_eval.evaluate_real(lite, [str(src)], 2, ("area",), num_frames=3,
                                      crop=(48, 64))
  assert lite_report["clips"][0]["psnr_y"] == pytest.approx(report["clips"][0]["psnr_y"],
                                                            abs=0.05)
  with pytest.raises(ValueError, match="kernel"):
    sr_eval.downscale(np.zeros((1, 8, 8, 3), np.uint8), 2, "box")


# Measured on these 3 frames: x4 about +0.6 dB, x2 about +0.3 dB (the
# presets' RECIPE.md has the 8-frame figures); a margin below that.
# (preset, scale, kernels, lowest mean gain in dB): below the figures of
# docs/superres.md (measured on 8 frames), as 3 frames score a little apart.
BUNDLED_GAINS = (("deep_x4", 4, ("area", "bicubic"), 0.6),
                 ("distilled_x4", 4, ("area", "bicubic"), 0.5),
                 ("rep_x4", 4, ("area", "bicubic"), 0.25),
                 ("tiny_x4", 4, ("area", "bicubic"), 0.3),
                 ("tiny_x2", 2, ("area", "bicubic"), 0.1),
                 ("broadcast_x2", 2, ("area_h264",), 0.6),
                 ("rep_x2", 2, ("area", "bicubic"), 0.9),
                 ("rep_x4_area", 4, ("area",), 0.9))


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="needs ../shared/data/real")
def test_bundled_presets_beat_bicubic_on_held_back_real_footage():
  from tfsports.superres import evaluate as sr_eval
  presets = upscale.list_presets()
  assert {name for name, *_ in BUNDLED_GAINS} <= set(presets)
  # The presets' held-back videos, as `tfsports upscale` runs them (3 frames
  # of each, to stay quick); the full report is in each preset's RECIPE.md.
  held_back = [os.path.join(SHARED, "video", name)
               for name in ("tennis_broadcast_6.mp4", "basketball_gym.mp4")]
  for name, scale, kernels, least in BUNDLED_GAINS:
    report = sr_eval.evaluate_real(name, held_back, scale, kernels, num_frames=3)
    assert report["mean"]["gain_db"] > least, (name, sr_eval.format_real(report))


def test_the_oracle_fine_tune_beats_the_blind_model_on_its_kernel():
  from tfsports.superres import evaluate as sr_eval
  held_back = [os.path.join(SHARED, "video", "tennis_broadcast_6.mp4")]
  if not os.path.isfile(held_back[0]):
    pytest.skip("needs ../shared/data/real")
  gain = {name: sr_eval.evaluate_real(name, held_back, 4, ("area",),
                                      num_frames=3)["mean"]["gain_db"]
          for name in ("rep_x4", "rep_x4_area")}
  assert gain["rep_x4_area"] > gain["rep_x4"] + 0.1, gain


def test_a_deeper_rep_generator_grows_from_a_trained_one(tmp_path):
  import keras
  from tfsports import errors
  deep = dict(preset="rep_deep", teacher="", tflite_variants=("float32",), train_steps=0,
              warmup_steps=0)
  grown = sr.train(sr.SRTrainConfig.from_preset(
      "test", run_dir=str(tmp_path / "deep"), init_from="distilled_x4", **deep)).model.generator
  source = sr_models.build_sr_generator(sr_models.SRConfig.from_preset("rep", scale=4))
  source.load_weights(sr.generator_weights("distilled_x4", "--init_from"))
  for layer in source.layers:
    for a, b in zip(layer.get_weights(), grown.get_layer(layer.name).get_weights()):
      np.testing.assert_array_equal(a, b)
  # The new blocks pass their input through, before their activation.
  frames = tf.random.stateless_uniform([1, 3, 12, 12, 3], [1, 2])
  for name in ("block4", "block5"):
    block = grown.get_layer(name)
    x, y = keras.Model(grown.input, [block.input, block.output])(frames)
    np.testing.assert_allclose(x, y, atol=1e-6)
  with pytest.raises(errors.UserError, match="--init_from=base_x4: its generator does not fit "
                                              "preset 'rep_deep'"):
    sr.train(sr.SRTrainConfig.from_preset("test", run_dir=str(tmp_path / "bad"),
                                          init_from="base_x4", **deep))


def test_fine_tune_starts_from_an_export_or_a_run(tmp_path):
  rep = dict(preset="rep", tflite_variants=("float32",))
  first = sr.SRTrainConfig.from_preset("test", run_dir=str(tmp_path / "first"), **rep)
  sr.train_sr(first)
  weights = tmp_path / "first" / "export" / sr.GENERATOR_WEIGHTS
  assert weights.is_file()
  want = sr_models.build_sr_generator(sr_models.SRConfig.from_preset("rep", scale=4))
  want.load_weights(str(weights))
  # An export folder, and a run directory through its export: the EMA weights.
  for source in (tmp_path / "first" / "export", tmp_path / "first"):
    tuned = sr.train(sr.SRTrainConfig.from_preset(
        "test", run_dir=str(tmp_path / f"tuned_{source.name}"), init_from=str(source),
        train_steps=0, warmup_steps=0, **rep)).model.generator
    for a, b in zip(tuned.get_weights(), want.get_weights()):
      np.testing.assert_array_equal(a, b)
  # Checkpoints alone are refused, not half-restored.
  shutil.copytree(tmp_path / "first" / "checkpoints", tmp_path / "bare" / "checkpoints")
  with pytest.raises(FileNotFoundError, match="no generator.weights.h5 there"):
    sr.train(sr.SRTrainConfig.from_preset("test", run_dir=str(tmp_path / "t_bare"),
                                          init_from=str(tmp_path / "bare"), **rep))
  from tfsports import errors
  with pytest.raises(errors.UserError, match="does not fit preset 'tiny'"):
    sr.train(sr.SRTrainConfig.from_preset("test", run_dir=str(tmp_path / "bad"),
                                          init_from=str(tmp_path / "first" / "export")))
  with pytest.raises(FileNotFoundError, match="no generator.weights.h5 there"):
    sr.train(sr.SRTrainConfig.from_preset("test", run_dir=str(tmp_path / "none"),
                                          init_from=str(tmp_path)))

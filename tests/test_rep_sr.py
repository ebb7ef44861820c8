"""Re-parameterisable super-resolution: the folded model is the trained one."""

import os

import numpy as np
import pytest
import tensorflow as tf

from tests import test_case
from tfsports import layers
from tfsports.serving import runners
from tfsports.serving import tflite as tflite_lib
from tfsports.superres import model as sr_models


def _perturb(model, seed=0, std=0.05):
  """Random values in every weight, edge scales and biases included, so no
  branch is trivially zero."""
  rng = np.random.default_rng(seed)
  for v in model.weights:
    v.assign(v + rng.normal(0, std, v.shape).astype(np.float32))


def _conv(x, kernel, bias=None):
  y = tf.nn.conv2d(x, kernel, 1, "SAME")
  return y if bias is None else y + bias


def _branch_sum(layer, x):
  """`RepConv2D` computed as its parallel branches, each on its own (ECBSR's
  1x1-then-3x3 branch pads its intermediate with the 1x1 bias, which is what
  the fused kernel computes at the border)."""
  cin = x.shape[-1]
  y = _conv(x, layer.k3, layer.b3)
  mid = tf.einsum("bhwi,im->bhwm", x, layer.k1) + layer.b1
  padded = tf.pad(mid - layer.b1, [[0, 0], [1, 1], [1, 1], [0, 0]]) + layer.b1
  y += tf.nn.conv2d(padded, layer.k13, 1, "VALID") + layer.b13
  for name, mask in layers._EDGE_MASKS.items():
    k1, b1, scale, bias = layer.edge_weights(name)
    mid = tf.einsum("bhwi,io->bhwo", x, k1) + b1
    padded = tf.pad(mid - b1, [[0, 0], [1, 1], [1, 1], [0, 0]]) + b1
    depthwise = np.asarray(mask, np.float32)[:, :, None, None] * scale[None, None, :, None]
    y += tf.nn.depthwise_conv2d(padded, depthwise, [1, 1, 1, 1], "VALID") + bias
  if layer.use_identity:
    y += x
  if layer.base_scale:
    o = layer.base_offset
    y += _conv(x[..., o:o + 3], layers.bilinear_subpixel_kernel(layer.base_scale, 3))
  return y


@pytest.mark.parametrize("cin,cout,kwargs", [
    (9, 16, {}), (16, 16, {}), (9, 48, {"identity": False, "base_scale": 4, "base_offset": 3}),
    (9, 3, {"identity": False, "base_scale": 1, "base_offset": 3})])
def test_rep_conv_equals_the_sum_of_its_branches(cin, cout, kwargs):
  layer = layers.RepConv2D(cout, **kwargs)
  x = tf.random.stateless_uniform([2, 7, 9, cin], [1, 2])
  layer(x)
  _perturb(layer)
  np.testing.assert_allclose(layer(x), _branch_sum(layer, x), atol=2e-5)
  # One plain convolution of the fused weights is the same function.
  kernel, bias = layer.fused_weights()
  assert kernel.shape == (3, 3, cin, cout)
  np.testing.assert_allclose(layer(x), _conv(x, kernel, bias), atol=2e-5)
  test_case.run_serialization_test(layer)


def test_rep_conv_refuses_a_base_it_cannot_hold():
  with pytest.raises(ValueError, match="x4 base needs 48 outputs"):
    layers.RepConv2D(12, base_scale=4)(tf.zeros([1, 4, 4, 9]))


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_folded_generator_equals_the_trained_one(tmp_path, scale):
  config = sr_models.SRConfig.from_preset("rep", scale=scale, filters=8, num_blocks=2)
  generator = sr_models.build_sr_generator(config)
  _perturb(generator, seed=scale)
  # Frames are pixels: on the 1/255 grid the deploy input's PixelQuant keeps.
  window = tf.round(tf.random.stateless_uniform([2, 3, 10, 12, 3], [scale, 0]) * 255) / 255
  trained = generator(window).numpy()
  assert trained.shape == (2, 10 * scale, 12 * scale, 3)
  window_model, core = sr_models.inference_generators(generator, config, (10, 12))
  assert not any(isinstance(l, layers.RepConv2D) for l in core.layers)
  assert not any(isinstance(l, layers.StackFrames) for l in core.layers)
  stacked = np.stack([runners.stack_window(w) for w in np.asarray(window)])
  np.testing.assert_array_equal(stacked[..., 3:6], window[:, 1])
  # PixelQuant rounds to 1/255 steps: half a step is the only difference.
  for folded in (window_model(window), core(stacked)):
    assert np.abs(np.asarray(folded) - trained).max() <= 0.5 / 255 + 1e-5
  test_case.run_model_saving_test(generator, window, tmp_path)
  test_case.run_model_saving_test(core, stacked, tmp_path)


def test_untrained_generator_starts_at_the_bilinear_upscale():
  """The sub-pixel convolutions start at zero but for the skip's constant:
  a new model is the bilinear upscale of the centre frame, not a
  checkerboard."""
  config = sr_models.SRConfig.from_preset("rep", scale=2, filters=8, num_blocks=1)
  generator = sr_models.build_sr_generator(config)
  frames = tf.random.stateless_uniform([1, 3, 8, 8, 3], [4, 4], minval=0.1, maxval=0.9)
  centre = frames[:, 1]
  want = tf.nn.depth_to_space(layers.BilinearSubpixel(2)(centre), 2)
  inner = np.s_[:, 2:-2, 2:-2]      # zero padding differs from resize at the edge
  np.testing.assert_allclose(generator(frames)[inner], want[inner], atol=1e-5)


def test_int8_rep_model_emits_pixels_from_stacked_frames(tmp_path):
  config = sr_models.SRConfig.from_preset("rep", scale=2, filters=8, num_blocks=1)
  generator = sr_models.build_sr_generator(config)
  _perturb(generator, std=0.02)
  window_model, core = sr_models.inference_generators(generator, config, (8, 12))
  rng = np.random.default_rng(0)
  windows = [rng.integers(0, 256, (3, 8, 12, 3), np.uint8) for _ in range(6)]
  paths = tflite_lib.export_frame_tflite(core, str(tmp_path), (8, 12, 9),
                                         [runners.stack_window(w) for w in windows[:4]],
                                         variants=("float32", "int8"))
  saved = runners.KerasRunner(window_model)
  for variant, path in paths.items():
    test_case.run_tflite_builtin_test(path)
    lite = runners.load_runner(path)
    assert lite.stacked and lite.window == 3 and lite.input_size == (8, 12)
    if variant == "int8":
      # Input and output at scale 1/255, zero point 0: frames go in and
      # pixels come out with no mapping, and no clip op runs.
      for end in (lite.input, lite.output):
        assert end["dtype"] == np.uint8 and end["quantization"][1] == 0
        assert end["quantization"][0] == pytest.approx(1 / 255)
      assert lite._lut is None
      assert not {"MINIMUM", "MAXIMUM", "RELU"} & set(lite.ops())
    tolerance = 1 if variant == "float32" else 24
    for w in windows[4:]:
      got, want = lite(w).astype(int), saved(w).astype(int)
      assert got.shape == want.shape == (16, 24, 3)
      assert np.abs(got - want).max() <= tolerance, variant
    with pytest.raises(runners.ModelMismatchError, match="windows of 3"):
      lite(windows[0][:2])


def test_stacked_tflite_runs_in_seamless_tiles(tmp_path):
  config = sr_models.SRConfig.from_preset("rep", scale=2, filters=8, num_blocks=2)
  generator = sr_models.build_sr_generator(config)
  _perturb(generator, seed=5, std=0.1)
  window_model, core = sr_models.inference_generators(generator, config, (16, 20))
  path = tflite_lib.export_frame_tflite(core, str(tmp_path), (16, 20, 9),
                                        variants=("float32",))["float32"]
  tiled = runners.TiledRunner(runners.load_runner(path))
  # 3x3 convolutions: head, 2 blocks, tail: a radius of at least 4 pixels.
  assert tiled.margin >= 5
  window = np.random.default_rng(7).integers(0, 256, (3, 37, 53, 3), np.uint8)
  got = tiled(window).astype(int)
  want = runners.KerasRunner(window_model)(window).astype(int)
  assert got.shape == want.shape == (74, 106, 3)
  assert np.abs(got - want).max() <= 1


def test_upscale_picks_the_fine_tune_and_the_int8_file():
  from tfsports import errors
  from tfsports.superres import command
  assert command.choose_model("rep_x4") == "rep_x4"
  assert command.choose_model("rep_x4", degradation="area") == "rep_x4_area"
  assert command.choose_model("rep_x4", degradation="bicubic") == "rep_x4_bicubic"
  path = command.choose_model("rep_x4", int8=True, degradation="area")
  assert path.endswith(os.path.join("rep_x4_area", "tflite", "int8.tflite"))
  lite = runners.load_runner(path)
  assert lite.stacked and lite._lut is None
  with pytest.raises(errors.UserError, match="fine-tunes of rep_x4: area, bicubic\\)"):
    command.choose_model("rep_x4", degradation="gaussian")
  # The default model has no fine-tunes: the error names the one that has.
  with pytest.raises(errors.UserError, match="distilled_x4: none; try --model=rep_x4"):
    command.choose_model("distilled_x4", degradation="area")


def _smooth_windows(n, shape, seed):
  """Smooth uint8 windows [3, h, w, 3] (gradients plus a little texture):
  where a base kernel's gain error shows as a flat offset."""
  rng = np.random.default_rng(seed)
  h, w = shape
  yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
  out = []
  for _ in range(n):
    frames = []
    for _ in range(3):
      a, b, c = rng.uniform(-1, 1, 3)
      base = 128 + 100 * (a * yy + b * xx) * c
      frames.append(np.stack([base + rng.normal(0, 4, (h, w)) for _ in range(3)], -1))
    out.append(np.clip(np.stack(frames), 0, 255).astype(np.uint8))
  return out


def test_int8_weight_rounding_lands_on_the_converters_grid_and_cuts_the_error():
  import keras
  rng = np.random.default_rng(0)
  inputs = keras.Input((10, 14, 9))
  conv = keras.layers.Conv2D(12, 3, padding="same", name="skip")
  model = keras.Model(inputs, conv(inputs))
  base = np.zeros((3, 3, 9, 12), np.float32)
  base[..., 3:6, :] = layers.bilinear_subpixel_kernel(2, 3)
  conv.set_weights([base + rng.normal(0, 0.02, base.shape).astype(np.float32),
                    rng.normal(0, 0.01, 12).astype(np.float32)])
  before = [w.copy() for w in model.get_weights()]
  stack = lambda ws: [(runners.stack_window(w).astype(np.float32) / 255)[None] for w in ws]
  calibration, held = stack(_smooth_windows(4, (10, 14), 1)), stack(_smooth_windows(4, (10, 14), 2))
  rounded = tflite_lib.int8_weight_rounding(model, calibration)
  for got, want in zip(model.get_weights(), before):
    np.testing.assert_array_equal(got, want)            # the original is untouched
  kernel = rounded.get_layer("skip").get_weights()[0].reshape(-1, 12)
  steps = np.abs(kernel).max(axis=0) / 127
  np.testing.assert_allclose(kernel / steps, np.round(kernel / steps), atol=1e-3)
  nearest_kernel = np.round(before[0].reshape(-1, 12) / (np.abs(before[0].reshape(-1, 12)).max(0) / 127))
  np.testing.assert_allclose(steps, np.abs(before[0].reshape(-1, 12)).max(0) / 127, rtol=1e-6)
  nearest = keras.models.clone_model(model)
  nearest.set_weights([(nearest_kernel * steps).reshape(before[0].shape), before[1]])
  error = lambda m: np.mean([np.mean((m(x).numpy() - model(x).numpy()) ** 2) for x in held])
  assert error(rounded) < 0.5 * error(nearest)


def test_int8_export_rounds_a_base_kernel_without_a_gain_error(tmp_path):
  """The int8 file is closer to the float model on smooth frames with the
  kernels' rounding than a conversion that rounds each weight to nearest."""
  config = sr_models.SRConfig.from_preset("rep", scale=2, filters=8, num_blocks=1)
  generator = sr_models.build_sr_generator(config)
  _perturb(generator, std=0.02)
  window_model, core = sr_models.inference_generators(generator, config, (8, 12))
  calibration = [runners.stack_window(w) for w in _smooth_windows(4, (8, 12), 3)]
  held = _smooth_windows(4, (8, 12), 4)
  rounded = tflite_lib.export_frame_tflite(core, str(tmp_path / "r"), (8, 12, 9), calibration,
                                           variants=("int8",))["int8"]
  samples = [[(c.astype(np.float32) / 255)[None]] for c in calibration]
  plain = tflite_lib.export_tflite(
      core, [tf.TensorSpec((1, 8, 12, 9), tf.float32)], str(tmp_path / "p"), ("int8",),
      samples, int8_model=tflite_lib.frame_int8_model(core, (8, 12, 9)))["int8"]
  saved = runners.KerasRunner(window_model)
  error = lambda path: np.mean([np.mean((runners.load_runner(path)(w).astype(float)
                                         - saved(w).astype(float)) ** 2) for w in held])
  assert error(rounded) < error(plain)


def test_int8_rounding_samples_rows_without_concatenating_them():
  rng = np.random.default_rng(0)
  parts = [rng.normal(size=(n, 5)).astype(np.float32) for n in (7, 0, 11, 4)]
  got = tflite_lib._sampled_rows(parts, 9, np.random.default_rng(3))
  want = np.concatenate(parts)[np.sort(np.random.default_rng(3).choice(22, 9, replace=False))]
  assert got.dtype == np.float64
  np.testing.assert_array_equal(got, want)
  np.testing.assert_array_equal(tflite_lib._sampled_rows(parts, 50, rng), np.concatenate(parts))

"""Rendered frames made to look like real broadcast frames, with their boxes
kept: an unpaired translation GAN in the manner of CUT (Park et al. 2020,
"Contrastive Learning for Unpaired Image-to-Image Translation", the FastCUT
setting) on the suite's GAN core.

- Generator: input + a learned residual, fully convolutional (trained on
  crops, run on whole frames), so geometry stays where it was.
- Discriminator: a PatchGAN on crops of real frames against translated ones.
- PatchNCE: features of the translated image at random locations must
  match the input's features at the same locations (`losses.patch_nce_loss`,
  through small MLP heads), which ties content to place: a player stays a
  player inside the rendered box.

Real frames are unlabelled: the training games of the detector's labelled
sets (never its held-back games) and frames of the real videos the
detector also trains on, scaled as the detector's training scales them.

    RUN_DIR/export/translator.keras                     float [0, 1] -> float [0, 1]
    RUN_DIR/export/saved_model/translator/1/            uint8 [B, 288, 512, 3] -> uint8
    RUN_DIR/export/tflite/translator_float32.tflite     uint8 [1, 288, 512, 3]
    RUN_DIR/export/samples.png                          rendered | translated | real

`DetectorTrainConfig.translator` names that export; the detector's
synthetic stream then runs every rendered frame through the TFLite file
(`tracking.translator.Translator`).
"""

import dataclasses
import itertools
import os

import cv2
import keras
import numpy as np
import tensorflow as tf

from tfsports import config as config_lib
from tfsports import layers
from tfsports.data import detection as detection_data
from tfsports.data import real as real_data
from tfsports.data import video_io
from tfsports.gan import losses as losses_lib
from tfsports.gan import model as gan_lib
from tfsports.metrics import distribution
from tfsports.metrics import video_quality
from tfsports.serving import saved_model as saved_model_lib
from tfsports.serving import tflite as tflite_lib
from tfsports.tracking import detector as detector_lib
from tfsports.tracking import labelled
from tfsports.tracking import recipe as detector_recipe
from tfsports.training import job as job_lib
from tfsports.training import loop
from tfsports.training import run as run_lib

# Generator layers whose features PatchNCE compares (input to bottleneck).
NCE_LAYERS = ("stem", "down1", "down2", "res0")
# Unlabelled real video for the real side: the static videos the detector
# already trains on; tennis_broadcast_6 and basketball_gym stay unseen.
REAL_VIDEOS = detector_recipe.PSEUDO_LABELLED


@dataclasses.dataclass(frozen=True)
class TranslatorConfig(config_lib.Config):
  """crop_size: the (height, width) of the training crops; export_size:
  the frame size of the TFLite export (the detector's input). filters:
  widths at strides 1, 2 and 4; num_blocks residual blocks at stride 4.
  num_patches: locations per NCE layer; nce_weight: its weight against the
  adversarial loss (FastCUT's 10). detector_preset: the detector whose
  rendered frames and training scale are translated; labelled_sets and
  held_games: as its `DetectorTrainConfig` (held-back games never seen)."""
  run_dir: str = "runs/translator"
  real_root: str = real_data.REAL_ROOT
  detector_preset: str = "real"
  crop_size: tuple = (128, 128)
  export_size: tuple = (288, 512)
  filters: tuple = (24, 48, 64)
  num_blocks: int = 3
  disc_filters: int = 32
  num_patches: int = 64
  nce_weight: float = 10.0
  temperature: float = 0.07
  gan_loss: str = "non_saturating"
  g_learning_rate: float = 2e-4
  d_learning_rate: float = 2e-4
  ema_momentum: float = 0.99
  batch_size: int = 4
  train_steps: int = 1500
  checkpoint_every: int = 250
  seed: int = 0
  labelled_sets: tuple = detector_recipe.REAL_LABELLED_SETS
  held_games: tuple = detector_recipe.REAL_HELD_GAMES
  scale_range: tuple = (1.2, 3.0)
  eval_images: int = 48
  verbose: int = 2

  RESUMABLE_FIELDS = ("train_steps", "verbose", "run_dir", "checkpoint_every", "eval_images")


TRANSLATOR_PRESETS = {
    "real": TranslatorConfig(),
    "test": TranslatorConfig(run_dir="runs/translator_test", crop_size=(32, 32),
                             export_size=(64, 96), filters=(4, 8, 8), num_blocks=1,
                             disc_filters=4, num_patches=8, batch_size=2, train_steps=4,
                             checkpoint_every=2, eval_images=4, verbose=0,
                             detector_preset="test"),
}
config_lib.register_presets(TranslatorConfig, TRANSLATOR_PRESETS)


# Networks.

def apply_conv(x, filters, name, strides=1, kernel_size=3, activation=True):
  x = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same", name=name)(x)
  return keras.layers.LeakyReLU(0.2, name=f"{name}_lrelu")(x) if activation else x


def apply_residual_block(x, filters, name):
  y = apply_conv(x, filters, f"{name}_conv1")
  y = apply_conv(y, filters, f"{name}_conv2", activation=False)
  return keras.layers.Add(name=name)([x, y])


def apply_up(x, filters, name):
  x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_resize")(x)
  return apply_conv(x, filters, name)


def build_generator(config, image_size=(None, None)):
  """Frames float32 [B, H, W, 3] in [0, 1] -> translated frames, same
  shape, in [0, 1]: the input plus a residual, clipped. H and W multiples
  of 4."""
  f1, f2, f4 = config.filters
  frames = keras.Input(tuple(image_size) + (3,), name="frames")
  x = apply_conv(frames, f1, "stem")
  skip = x
  x = apply_conv(x, f2, "down1", strides=2)
  x = apply_conv(x, f4, "down2", strides=2)
  for i in range(config.num_blocks):
    x = apply_residual_block(x, f4, f"res{i}")
  x = apply_up(x, f2, "up1")
  x = apply_up(x, f1, "up2")
  x = keras.layers.Concatenate(name="skip")([x, skip])
  residual = apply_conv(x, 3, "residual", activation=False)
  x = keras.layers.Add(name="add")([frames, residual])
  out = keras.layers.ReLU(max_value=1.0, name="output")(x)
  return keras.Model(frames, out, name="translator")


def build_encoder(generator):
  """The generator's NCE_LAYERS features of an input (shared weights)."""
  return keras.Model(generator.input, [generator.get_layer(n).output for n in NCE_LAYERS],
                     name="translator_encoder")


def build_heads(generator, width=64):
  """One two-layer MLP per NCE layer, on [B, P, C] sampled features."""
  heads = []
  for n in NCE_LAYERS:
    channels = generator.get_layer(n).output.shape[-1]
    x = inputs = keras.Input((None, channels), name=f"{n}_features")
    x = keras.layers.Dense(width, activation="relu", name=f"{n}_dense1")(x)
    x = keras.layers.Dense(width, name=f"{n}_dense2")(x)
    heads.append(keras.Model(inputs, x, name=f"{n}_head"))
  return heads


def build_discriminator(config):
  """Frames [B, H, W, 3] in [0, 1] -> patch logits [B, H/8, W/8, 1]."""
  frames = keras.Input((None, None, 3), name="frames")
  x = keras.layers.Rescaling(2.0, offset=-1.0, name="centre")(frames)
  for i in range(3):
    x = apply_conv(x, config.disc_filters * 2**i, f"down{i}", strides=2, kernel_size=4)
  logits = keras.layers.Conv2D(1, 3, padding="same", name="logits")(x)
  return keras.Model(frames, logits, name="translator_discriminator")


def build_export_model(generator, image_size):
  """uint8 frames [B, H, W, 3] -> uint8 translated frames, for serving."""
  frames = keras.Input(tuple(image_size) + (3,), dtype="uint8", name="frames")
  x = layers.Rescale(name="rescale")(frames)
  x = generator(x)
  return keras.Model(frames, layers.ToUint8(name="translated")(x), name="translator_uint8")


class TranslationGAN(gan_lib.GAN):
  """Batches (rendered [B, h, w, 3], real [B, h, w, 3]) float32 in [0, 1]."""
  METRICS = ("d_loss", "g_loss", "g_adv_loss", "nce_loss")

  def __init__(self, generator, discriminator, heads, num_patches, temperature, **kwargs):
    super().__init__(generator, discriminator, **kwargs)
    self.encoder = build_encoder(generator)
    self.heads = heads
    self.num_patches = num_patches
    self.temperature = temperature

  @property
  def generator_variables(self):
    # CUT trains the MLP heads with the generator's loss.
    return self.generator.trainable_variables + [
        v for h in self.heads for v in h.trainable_variables]

  def compile(self, d_optimizer, g_optimizer, d_loss_fn, g_loss_fn, d_steps=1,
              nce_weight=10.0, **kwargs):
    super().compile(d_optimizer, g_optimizer, d_loss_fn, g_loss_fn, d_steps, **kwargs)
    self.nce_weight = nce_weight

  def generate(self, data, training):
    return self.generator(data[0], training=training)

  def discriminator_loss(self, data, fake):
    per_example = self.d_loss_fn(self.discriminator(data[1], training=True),
                                 self.discriminator(fake, training=True))
    return loop.average_loss(per_example), {}

  def _nce(self, source, fake):
    # The same random locations in input and output; stateless and keyed
    # by the step, so a resumed run samples what the uninterrupted one did.
    step = tf.cast(self.g_optimizer.iterations, tf.int32)
    total = 0.0
    for i, (a, b, head) in enumerate(zip(self.encoder(source, training=True),
                                         self.encoder(fake, training=True), self.heads)):
      shape = tf.shape(a)
      cells = shape[1] * shape[2]
      idx = tf.random.stateless_uniform([self.num_patches], [step, i], 0, cells, tf.int32)
      flat = lambda f: tf.gather(tf.reshape(f, [shape[0], cells, shape[3]]), idx, axis=1)
      # Keys from the input carry no gradient to it (it is data), but the
      # head sees both sides, as in CUT.
      total += losses_lib.patch_nce_loss(head(flat(b)), head(flat(a)),
                                                 self.temperature)
    return total / len(self.heads)

  def generator_loss(self, data):
    source = data[0]
    fake = self.generator(source, training=True)
    adv = self.g_loss_fn(self.discriminator(fake, training=True))
    nce = self._nce(source, fake)
    loss = loop.average_loss(adv + self.nce_weight * nce)
    return loss, {"g_adv_loss": loop.average_loss(adv), "nce_loss": loop.average_loss(nce)}


# Data.

def _random_crop(image, size, rng):
  h, w = size
  H, W = image.shape[:2]
  y = int(rng.integers(0, H - h + 1))
  x = int(rng.integers(0, W - w + 1))
  return image[y:y + h, x:x + w]


def real_frames(config):
  """The unlabelled real frames, each uint8 [H, W, 3]: a callable per
  frame (images are read when drawn), from the training games of
  `labelled_sets` and every 10th frame of REAL_VIDEOS."""
  sets = labelled.read_sets(config.labelled_sets, config.real_root)
  out = [item.read for found in sets.values()
         for item in detection_data.split_by_game(found, config.held_games)[0]]
  for name in REAL_VIDEOS:
    path = os.path.join(config.real_root, name)
    if os.path.exists(path):
      # Streamed, keeping every 10th: decoding whole videos held gigabytes.
      for t, frame in enumerate(video_io.iter_frames(path)):
        if t % 10 == 0:
          out.append(lambda frame=frame: frame)
  return out


def rendered_frames(model_config, seed):
  """Endless rendered frames uint8 [h, w, 3] at the detector's input size,
  with their boxes and classes (the detector's synthetic stream)."""
  return detector_recipe.synthetic_examples(model_config, seed)


def crop_pairs(config, model_config, seed):
  """Endless (rendered crop, real crop), uint8 [crop_size..., 3] each: the
  rendered crop from the detector's synthetic stream; the real one from a
  real frame scaled so its height is `scale_range` detector input heights,
  as the detector's own training sees real frames."""
  reals = real_frames(config)
  if not reals:
    raise FileNotFoundError(f"no real frames under {config.real_root} to translate towards")
  rendered = rendered_frames(model_config, seed)
  rng = np.random.default_rng([seed, 11])
  h = model_config.image_size[0]
  lo, hi = config.scale_range
  ch, cw = config.crop_size
  while True:
    image = reals[int(rng.integers(len(reals)))]()
    s = max(rng.uniform(lo, hi) * h / image.shape[0], ch / image.shape[0], cw / image.shape[1])
    size = (max(cw, round(image.shape[1] * s)), max(ch, round(image.shape[0] * s)))
    real = _random_crop(cv2.resize(image, size, interpolation=cv2.INTER_AREA),
                        config.crop_size, rng)
    frame = next(rendered)[0]
    if rng.random() < 0.5:
      frame = frame[:, ::-1]
    yield np.ascontiguousarray(_random_crop(frame, config.crop_size, rng)), real


def make_dataset(config, model_config):
  """Batches (rendered, real) float32 [B, crop_size..., 3] in [0, 1]."""
  spec = tuple(tf.TensorSpec(tuple(config.crop_size) + (3,), tf.uint8) for _ in range(2))
  to_float = lambda a, b: (tf.cast(a, tf.float32) / 255.0, tf.cast(b, tf.float32) / 255.0)
  return (tf.data.Dataset.from_generator(lambda: crop_pairs(config, model_config, config.seed),
                                         output_signature=spec)
          .map(to_float).batch(config.batch_size, drop_remainder=True)
          .prefetch(tf.data.AUTOTUNE))


# Recipe.

def build(config):
  model_config = detector_lib.DetectorConfig.from_preset(config.detector_preset)
  generator = build_generator(config)
  discriminator = build_discriminator(config)
  gan = TranslationGAN(generator, discriminator, build_heads(generator), config.num_patches,
                       config.temperature)
  gan.compile_from_config(config, d_beta_1=0.5, g_beta_1=0.5, nce_weight=config.nce_weight)
  run = gan.run_directory(config.run_dir, discriminator=discriminator,
                          **{f"head{i}": h for i, h in enumerate(gan.heads)})
  return run_lib.Trained(gan, run, gan.g_optimizer.iterations, config, parts=model_config)


def fit(trained, strategy):
  config = trained.config
  make = lambda begin: make_dataset(config, trained.parts).skip(begin)
  loop.fit_resumable(trained.model, trained.run, trained.step, make, config.train_steps,
                     config.checkpoint_every, config.verbose)


def translate_frames(generator, frames):
  """uint8 [N, H, W, 3] -> uint8 translated frames (a Keras generator)."""
  x = generator.predict(np.asarray(frames, np.float32) / 255.0, verbose=0, batch_size=4)
  return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def look_features(images):
  """[N, 8] statistics of how an image looks (not what it shows): CIELAB
  mean and spread, mean gradient magnitude and Laplacian energy (sharpness,
  noise and compression)."""
  out = []
  for image in images:
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float64)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
    gx, gy = np.gradient(grey)
    lap = cv2.Laplacian(grey, cv2.CV_64F)
    out.append(np.concatenate([lab.mean(0), lab.std(0), [np.hypot(gx, gy).mean(),
                                                         np.log1p(lap.var())]]))
  return np.asarray(out)


def evaluation_crops(config, model_config, count):
  """`count` (rendered, real) crop pairs from a stream seeded apart from
  training's."""
  return list(itertools.islice(crop_pairs(config, model_config, config.seed + 50_000), count))


def evaluate(trained):
  """How far rendered and translated crops look from real ones (Fréchet
  distance of `look_features`; the real crops' own split-half distance is
  the floor), and how much of the input's structure survives (SSIM-Y of
  translated against rendered)."""
  config = trained.config
  generator = trained.model.ema_generator()
  pairs = evaluation_crops(config, trained.parts, max(4, config.eval_images))
  rendered = np.stack([p[0] for p in pairs])
  real = np.stack([p[1] for p in pairs])
  translated = translate_frames(generator, rendered)
  f_real = look_features(real)
  half = len(real) // 2
  trained.eval_data = (rendered, translated, real)
  return {"look_frechet": {
              "rendered_vs_real": distribution.frechet_distance(look_features(rendered), f_real),
              "translated_vs_real": distribution.frechet_distance(look_features(translated),
                                                                  f_real),
              "real_half_vs_half": distribution.frechet_distance(f_real[:half], f_real[half:])},
          "ssim_y_translated_vs_rendered": float(np.mean(
              [video_quality.ssim_y(a, b) for a, b in zip(rendered, translated)])),
          "crops": len(pairs)}


def write_samples(path, rendered, translated, real, count=6):
  """A picture: rendered crops on top, their translations, real crops."""
  rows = [np.concatenate(list(x[:count]), 1) for x in (rendered, translated, real)]
  cv2.imwrite(path, np.concatenate(rows, 0)[..., ::-1])
  return path


def export(trained, export_dir, report):
  config = trained.config
  generator = trained.model.ema_generator()
  keras_path = os.path.join(export_dir, "translator.keras")
  generator.save(keras_path)
  fixed = build_generator(config, config.export_size)
  fixed.set_weights(generator.get_weights())
  uint8 = build_export_model(fixed, config.export_size)
  shape = tuple(config.export_size) + (3,)
  saved = saved_model_lib.write_saved_model(
      uint8, os.path.join(export_dir, "saved_model"), "translator",
      [{"frames": np.zeros((1,) + shape, np.uint8)}],
      input_signature=[tf.TensorSpec((None,) + shape, tf.uint8, name="frames")])
  lite = tflite_lib.export_tflite(uint8, [tf.TensorSpec((1,) + shape, tf.uint8, name="frames")],
                                  os.path.join(export_dir, "tflite"), ("float32",),
                                  file_name="translator_{variant}.tflite")
  rendered, translated, real = trained.eval_data
  samples = write_samples(os.path.join(export_dir, "samples.png"), rendered, translated, real)
  return {"keras": keras_path, "saved_model": saved, "tflite_float32": lite["float32"],
          "samples": samples}


RECIPE = run_lib.Recipe("translator", build=build, fit=fit, evaluate=evaluate, export=export)


def train_translator(config):
  return run_lib.run(RECIPE, config)


def summary(report):
  look = report.get("look_frechet", {})
  return (f"look distance to real: rendered {look.get('rendered_vs_real', float('nan')):.1f}, "
          f"translated {look.get('translated_vs_real', float('nan')):.1f} (real vs real "
          f"{look.get('real_half_vs_half', float('nan')):.1f}); structure kept SSIM-Y "
          f"{report.get('ssim_y_translated_vs_rendered', float('nan')):.3f}")


JOB = job_lib.JobSpec(
    name="translator",
    description="Renderer-to-real translation GAN (CUT-style, PatchNCE) whose output "
                "keeps the rendered boxes; the detector trains on its frames with "
                "--translator=RUN_DIR/export.",
    config_class=TranslatorConfig, train=train_translator, summary=summary,
    default_preset="real",
    field_help={"real_root": "Real-data root (../shared/data/real).",
                "crop_size": "Training crops, height,width.",
                "export_size": "Frame size of the TFLite and SavedModel exports (the "
                               "detector's input).",
                "nce_weight": "PatchNCE weight against the adversarial loss.",
                "num_patches": "Locations sampled per PatchNCE layer.",
                "held_games": "Games of the labelled sets never used (the detector's "
                              "held-back games).",
                "detector_preset": "The detector whose rendered frames are translated."},
    examples=("tfsports train translator --run_dir=runs/translator",
              "tfsports train detector --preset=real --translator=runs/translator/export"),
)

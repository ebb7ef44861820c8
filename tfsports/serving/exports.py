"""What the generator exports of several jobs share: an export folder of a
TF Serving SavedModel, TFLite files, the Keras model and model_info.json,
and finding those again from any path a user may give."""

import json
import os

MODEL_INFO = "model_info.json"


def finish_export(export_dir, model, info, saved_model, tflite_paths, keras_name):
  """Writes model_info.json and the Keras model beside the SavedModel and
  TFLite files; returns {saved_model, tflite_<variant>, keras: path}."""
  with open(os.path.join(export_dir, MODEL_INFO), "w") as f:
    json.dump(info, f, indent=2)
  keras_path = os.path.join(export_dir, keras_name)
  model.save(keras_path)
  return {"saved_model": saved_model, **{f"tflite_{v}": p for v, p in tflite_paths.items()},
          "keras": keras_path}


def find_export(path, name, tflite_file):
  """(kind, model path, model_info.json path) of a run directory, its
  export directory, the SavedModel version directory or a .tflite file;
  kind is "saved_model" or "tflite"."""
  if os.path.isdir(os.path.join(path, "export")):
    path = os.path.join(path, "export")
  if path.endswith(".tflite") and os.path.isfile(path):
    return "tflite", path, os.path.join(os.path.dirname(path), MODEL_INFO)
  if os.path.isfile(os.path.join(path, "saved_model.pb")):
    # EXPORT_DIR/saved_model/<name>/<version>
    export_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.normpath(path))))
    return "saved_model", path, os.path.join(export_dir, MODEL_INFO)
  if os.path.isfile(os.path.join(path, MODEL_INFO)):
    for kind, sub in (("saved_model", os.path.join("saved_model", name, "1")),
                      ("tflite", tflite_file)):
      if os.path.exists(os.path.join(path, sub)):
        return kind, os.path.join(path, sub), os.path.join(path, MODEL_INFO)
  raise FileNotFoundError(f"{path}: not a {name} run, export, SavedModel or .tflite")


def read_model_info(path):
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: missing; the export is incomplete")
  with open(path) as f:
    return json.load(f)

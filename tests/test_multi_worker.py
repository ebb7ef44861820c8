"""Two worker processes on loopback under MultiWorkerMirroredStrategy, each
with its own TF_CONFIG, train the SR GAN and the action classifier; the
chief's checkpoints hold the weights a single process reaches with the same
global batch, also after a resume."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_ports(n):
  socks = [socket.socket() for _ in range(n)]
  for s in socks:
    s.bind(("localhost", 0))
  ports = [s.getsockname()[1] for s in socks]
  for s in socks:
    s.close()
  return ports


def run_workers(cmd, num_workers=2, timeout=600):
  """Runs `cmd` as every worker of a loopback cluster; returns their outputs."""
  hosts = [f"localhost:{p}" for p in _free_ports(num_workers)]
  procs = []
  for index in range(num_workers):
    env = dict(os.environ, TF_CONFIG=json.dumps(
        {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}}))
    procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True))
  outs = [p.communicate(timeout=timeout) for p in procs]
  for p, (_, err) in zip(procs, outs):
    assert p.returncode == 0, err[-3000:]
  return outs


def run_single(cmd, timeout=600):
  proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                        env={k: v for k, v in os.environ.items() if k != "TF_CONFIG"})
  assert proc.returncode == 0, proc.stderr[-3000:]


def weights(run_dir):
  reader = tf.train.load_checkpoint(os.path.join(run_dir, "checkpoints"))
  return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
          if not k.startswith("_CHECKPOINTABLE") and "save_counter" not in k}


def assert_same_weights(a, b, atol=1e-5):
  wa, wb = weights(a), weights(b)
  assert wa.keys() == wb.keys() and len(wa) > 5
  for key in wa:
    np.testing.assert_allclose(wa[key], wb[key], atol=atol, err_msg=key)


def _sr(run_dir, steps, strategy):
  return [sys.executable, os.path.join(ROOT, "training", "train_sr.py"), "--preset=test",
          "--data=synthetic", f"--run_dir={run_dir}", f"--train_steps={steps}",
          "--warmup_steps=2", "--batch_size=4", f"--strategy={strategy}"]


def test_two_workers_train_the_sr_gan_like_one_process_and_resume(tmp_path):
  workers, single = str(tmp_path / "workers"), str(tmp_path / "single")
  outs = run_workers(_sr(workers, 4, "multi_worker"))
  assert "worker done" in outs[1][0]                   # worker 1 leaves the export to the chief
  assert os.path.isfile(os.path.join(workers, "export", "eval_report.json"))
  assert sorted(f for f in os.listdir(os.path.join(workers, "checkpoints"))
                if f.endswith(".index")) == ["ckpt-2.index", "ckpt-4.index"]
  run_single(_sr(single, 4, "default"))
  assert_same_weights(workers, single)
  # Resume: both workers restart from the chief's checkpoint and go on.
  run_workers(_sr(workers, 6, "multi_worker"))
  report = json.load(open(os.path.join(workers, "export", "eval_report.json")))
  assert report["training"]["start_step"] == 4          # resumed, not started over
  run_single(_sr(str(tmp_path / "single6"), 6, "default"))
  assert_same_weights(workers, str(tmp_path / "single6"))


def _classifier(run_dir, strategy):
  return [sys.executable, os.path.join(ROOT, "training", "train_classifier.py"),
          "--preset=test", "--data=synthetic", f"--run_dir={run_dir}", "--train_steps=4",
          "--batch_size=4", f"--strategy={strategy}",
          # Dropout masks are drawn per replica: with dropout the runs agree in
          # distribution, not to the bit.
          "--dropout=0"]


def test_two_workers_train_the_classifier_like_one_process(tmp_path):
  workers, single = str(tmp_path / "workers"), str(tmp_path / "single")
  run_workers(_classifier(workers, "multi_worker"))
  run_single(_classifier(single, "default"))
  assert_same_weights(workers, single)

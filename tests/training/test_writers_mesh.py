"""Metric writers (JSON lines, TensorBoard events) and mesh helpers."""

import glob
import json
import struct

import jax
import pytest

from jiqa.training import mesh, writers


def _read_events(path):
  from tensorboardX.proto import event_pb2
  out = []
  with open(path, "rb") as f:
    raw = f.read()
  i = 0
  while i < len(raw):
    (n,) = struct.unpack("<Q", raw[i:i + 8])
    ev = event_pb2.Event()
    ev.ParseFromString(raw[i + 12:i + 12 + n])
    out.append(ev)
    i += 12 + n + 4
  return out


def test_jsonl_and_tensorboard(tmp_path):
  with writers.MetricWriter(tmp_path, enabled=True) as w:
    w.write(1, {"loss": 0.5, "acc": 1})
    w.write(2, {"loss": float("nan")}, split="eval")
  lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
  assert json.loads(lines[0]) == {"step": 1, "split": "train", "loss": 0.5, "acc": 1.0}
  assert json.loads(lines[1]) == {"step": 2, "split": "eval", "loss": None}
  (event_file,) = glob.glob(str(tmp_path / "tensorboard" / "events.out.tfevents.*"))
  scalars = {(e.step, v.tag): v.simple_value for e in _read_events(event_file)
             for v in e.summary.value}
  assert scalars[(1, "train/loss")] == 0.5 and scalars[(1, "train/acc")] == 1.0


def test_resume_drops_rows_past_the_restored_step(tmp_path):
  # A run logged steps 1..3 (train and eval rows) and was killed while writing step 4's line;
  # its newest checkpoint is step 2, so steps 3 and 4 will be run and logged again.
  with writers.MetricWriter(tmp_path, enabled=True) as w:
    for step in (1, 2, 3):
      w.write(step, {"loss": step / 10})
      w.write(step, {"loss": step}, split="eval")
  with open(tmp_path / "metrics.jsonl", "a") as f:
    f.write('{"step": 4, "split": "tr')           # cut short by the kill
  with writers.MetricWriter(tmp_path, enabled=True, resume_step=2) as w:
    for step in (3, 4):
      w.write(step, {"loss": step / 10})
  rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert [(r["step"], r["split"]) for r in rows] == [
      (1, "train"), (1, "eval"), (2, "train"), (2, "eval"), (3, "train"), (4, "train")]
  assert writers.last_row(tmp_path / "metrics.jsonl") == {"step": 4, "split": "train", "loss": 0.4}
  assert writers.last_row(tmp_path / "metrics.jsonl", split="eval")["step"] == 2
  # TensorBoard: the second writer was opened with purge_step=3, so a reader drops the
  # first writer's events of steps >= 3 (tensorboard's own purge marker, SessionLog.START).
  files = sorted(glob.glob(str(tmp_path / "tensorboard" / "events.out.tfevents.*")))
  assert len(files) == 2
  starts = [e.step for f in files for e in _read_events(f) if e.session_log.status == 1]
  assert starts == [3]


def test_resume_from_scratch_keeps_nothing_and_missing_file_is_fine(tmp_path):
  assert writers.truncate_jsonl(tmp_path / "none.jsonl", 5) == 0
  assert not (tmp_path / "none.jsonl").exists()
  with writers.MetricWriter(tmp_path, enabled=True, tensorboard=False) as w:
    w.write(1, {"loss": 1.0})
  with writers.MetricWriter(tmp_path, enabled=True, tensorboard=False, resume_step=0):
    pass
  assert (tmp_path / "metrics.jsonl").read_text() == ""
  assert writers.last_row(tmp_path / "metrics.jsonl") is None


def test_disabled_writer_writes_nothing(tmp_path):
  w = writers.MetricWriter(tmp_path / "x", enabled=False)
  w.write(1, {"loss": 1.0})
  w.close()
  assert not (tmp_path / "x").exists()


def test_writer_rejects_non_scalar(tmp_path):
  with writers.MetricWriter(tmp_path, enabled=True, tensorboard=False) as w:
    with pytest.raises(ValueError, match="scalar"):
      w.write(1, {"loss": [1.0, 2.0]})


def test_mesh_uses_all_devices_and_checks_batch():
  m = mesh.make_mesh()
  assert m.shape["data"] == jax.device_count() == 8
  assert mesh.check_batch_size(16, m) == 2
  with pytest.raises(ValueError, match="batch_size"):
    mesh.check_batch_size(12, m)
  with pytest.raises(ValueError, match="num_devices"):
    mesh.make_mesh(9)
  assert not mesh.initialize_distributed()

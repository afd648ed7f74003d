"""`jiqa run`: bad input is one line before training starts; the report's bookkeeping after a
resume; (slow) the README's main job on the smoke config, killed during its evaluation and rerun."""

import json
import os
import re

import numpy as np
import pytest
from PIL import Image

from jiqa import cli, configs, pipeline
from jiqa.evaluation import report as report_lib
from jiqa.training import data as data_lib
from jiqa.training import loop


class Killed(Exception):
  pass


def _config_file(tmp_path, **overrides):
  """A config file: the smoke pipeline with ``section.key=value`` overrides."""
  lines = ["from jiqa.configs import pipeline", "def get_config(arg=''):",
           "  c = pipeline.get_config('smoke')"]
  lines += [f"  c.{k.replace('__', '.')} = {v!r}" for k, v in overrides.items()]
  path = tmp_path / "cfg.py"
  path.write_text("\n".join(lines + ["  return c", ""]))
  return f"{path}:"


def _folders(tmp_path):
  (tmp_path / "empty").mkdir()
  (tmp_path / "txt").mkdir()
  (tmp_path / "txt" / "notes.txt").write_text("hello")
  (tmp_path / "fake").mkdir()
  (tmp_path / "fake" / "a.png").write_text("not a png")
  (tmp_path / "tiny").mkdir()
  Image.fromarray(np.zeros((5, 6, 3), np.uint8)).save(tmp_path / "tiny" / "a.png")
  (tmp_path / "afile").write_text("x")
  (tmp_path / "blocked" / "report.json").mkdir(parents=True)
  (tmp_path / "ckfile").mkdir()
  (tmp_path / "ckfile" / "checkpoints").write_text("x")


BAD = [
    ("images-empty", ["--images", "{t}/empty"], r"folder: .*empty.* no usable image|no image"),
    ("images-txt", ["--images", "{t}/txt"], r"folder: .*txt"),
    ("images-fake-png", ["--images", "{t}/fake"], r"a\.png"),
    ("images-5x6", ["--images", "{t}/tiny"], r"5x6"),
    ("images-missing", ["--images", "{t}/nope"], r"folder: .*nope.* not a directory"),
    ("out-is-file", ["--out", "{t}/afile"], r"--out: .*afile.* exists and is not a folder"),
    ("out-under-file", ["--out", "{t}/afile/run"], r"--out: .*afile.* is not a folder"),
    ("out-readonly", ["--out", "{ro}/run"], r"--out: the folder .* is not writable"),
    ("report-is-dir", ["--out", "{t}/blocked"], r"--out: .*report\.json.* is a folder; expected a file name"),
    ("checkpoints-is-file", ["--out", "{t}/ckfile"], r"checkpoints.* is a file"),
    ("steps-0", ["--config", "CFG:train__steps=0"], r"config\.train\.steps: expected an integer >= 1; got 0"),
    ("log-every-0", ["--config", "CFG:train__log_every=0"], r"config\.train\.log_every"),
    ("checkpoint-every-0", ["--config", "CFG:train__checkpoint_every=0"], r"config\.train\.checkpoint_every"),
    ("crop-over-pool", ["--config", "CFG:data__crop_size=512"], r"config\.data\.crop_size: expected at most data\.pool_size"),
    ("eval-crop-small", ["--config", "CFG:eval__crop_size=64"], r"config\.eval\.crop_size: expected >= 161"),
    ("batch-not-split", ["--config", "CFG:data__batch_size=12"], r"config\.data\.batch_size: expected a multiple of the 8 devices"),
    ("lr-negative", ["--config", "CFG:optim__learning_rate=-1.0"], r"config\.optim\.learning_rate"),
    ("holdout-type", ["--config", "CFG:eval__holdout_types=('blurr',)"], r"holdout_types: unknown types \['blurr'\]"),
    ("engine-field", ["--config", "CFG:engine__bogus=1"], r"config\.engine\.bogus is not a field"),
    ("config-arg", ["--config", "pipeline:huge"], r"config: 'pipeline:huge'"),
    ("config-file", ["--config", "nope.py"], r"config: no such file 'nope.py'"),
]


@pytest.mark.parametrize("case, args, message", BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_one_line_before_training(tmp_path, capsys, monkeypatch, case, args, message,
                                               unwritable_dir):
  _folders(tmp_path)
  subs = {"t": tmp_path, "ro": unwritable_dir() if case == "out-readonly" else ""}
  argv = {"--out": str(tmp_path / "run"), "--config": "pipeline:smoke"}
  for flag, value in zip(args[::2], args[1::2]):
    if value.startswith("CFG:"):
      key, _, val = value[4:].partition("=")
      value = _config_file(tmp_path, **{key: eval(val)})  # noqa: S307 (test literals)
    argv[flag] = value.format(**subs)

  def no_training(*a, **k):
    raise AssertionError("training started")

  monkeypatch.setattr(loop, "setup", no_training)
  rc = cli.main(["run", "--no-progress", *[x for kv in argv.items() for x in kv]])
  err = capsys.readouterr().err
  lines = [x for x in err.splitlines() if not re.match(r"\S+\.py:\d+: \w*Warning|  ", x)]
  assert rc == 2, err
  assert len(lines) == 1 and lines[0].startswith("jiqa run: error: "), err
  assert re.search(message, lines[0]), lines[0]
  assert not (tmp_path / "run" / "config.json").exists()  # nothing recorded for a refused run


def _record(tmp_path, config):
  out = tmp_path / "run"
  out.mkdir()
  loop.save_config(config, out)
  return out, (out / "config.json").read_bytes()


def test_resume_with_another_architecture_is_refused_and_the_record_kept(tmp_path, capsys,
                                                                         monkeypatch):
  saved = configs.load_config_file("pipeline:smoke")
  saved.model.map.width = 4
  out, before = _record(tmp_path, saved)
  monkeypatch.setattr(loop, "setup", lambda *a, **k: pytest.fail("training started"))
  assert pipeline.main(["--out", str(out), "--config", "pipeline:smoke", "--no-progress"]) == 2
  err = capsys.readouterr().err.strip()
  assert err.startswith("jiqa run: error: workdir: ") and "\n" not in err
  assert "model.map.width: 4 saved, 8 now" in err
  assert (out / "config.json").read_bytes() == before


def test_resume_with_other_images_names_data_folder(tmp_path, capsys, monkeypatch):
  out, before = _record(tmp_path, configs.load_config_file("pipeline:smoke"))
  (tmp_path / "photos").mkdir()
  monkeypatch.setattr(loop, "setup", lambda *a, **k: pytest.fail("training started"))
  assert pipeline.main(["--out", str(out), "--config", "pipeline:smoke",
                        "--images", str(tmp_path / "photos")]) == 2
  err = capsys.readouterr().err
  assert f"data.folder: '' saved, '{tmp_path / 'photos'}' now" in err
  assert (out / "config.json").read_bytes() == before


def test_report_takes_final_metrics_from_the_file_and_records_images(tmp_path, capsys,
                                                                     monkeypatch):
  # A rerun after a kill during evaluation trains nothing (history empty): train.final must
  # still be the last train row of metrics.jsonl, and --images must reach the report.
  out = tmp_path / "run"
  photos = tmp_path / "photos"
  rows = [{"step": 3, "split": "train", "loss": 0.25}, {"step": 3, "split": "eval", "loss": 0.5}]
  seen = {}

  def fake_train(config, workdir, **kw):
    seen["config"] = config
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
      f.writelines(json.dumps(r) + "\n" for r in [{"step": 2, "split": "train", "loss": 1.0}] + rows)
    pool = data_lib.ImagePool(np.zeros((1, 8, 8, 3)), np.zeros((1, 8, 8, 3)), ("a.png",), ("b.png",))
    return loop.TrainResult(None, None, pool, type("M", (), {"size": 1})(), [], 0.0, config, 3)

  def fake_report(config, graphdef, state, images, out_dir, *, mesh, extra, progress):
    rep = {"config": json.loads(config.to_json()), **extra,
           "evaluation": {"seen_types": {"tiers": {"psnr": {"pairwise_accuracy": 0.5,
                                                             "kendall_tau": 0.0}}}}}
    report_lib.write_json(os.path.join(out_dir, "report.json"), rep)
    return rep

  monkeypatch.setattr(loop, "train_and_evaluate", fake_train)
  monkeypatch.setattr(report_lib, "write_report", fake_report)
  assert pipeline.main(["--out", str(out), "--config", "pipeline:smoke", "--images",
                        str(photos), "--no-progress"]) == 0
  report = json.loads((out / "report.json").read_text())
  assert report["train"]["final"] == rows[0]
  assert report["train"]["resumed_from_step"] == 3
  assert report["train"]["images"]["folder"] == str(photos)
  assert report["config"]["data"]["folder"] == str(photos)
  assert seen["config"].data.folder == str(photos)
  assert "psnr" in capsys.readouterr().out


def test_help_is_plain_text_with_defaults(capsys):
  with pytest.raises(SystemExit):
    pipeline.main(["--help"])
  out = capsys.readouterr().out
  assert "``" not in out and "(default: pipeline)" in " ".join(out.split())
  assert "\n  DIR/report.json         every figure" in out  # the file list kept as written


@pytest.mark.slow
def test_main_job_smoke_killed_during_evaluation_then_rerun(tmp_path, capsys, monkeypatch):
  argv = ["--out", str(tmp_path), "--config", "pipeline:smoke", "--no-progress"]
  real = report_lib.write_report

  def killed(*a, **k):
    raise Killed

  monkeypatch.setattr(report_lib, "write_report", killed)
  with pytest.raises(Killed):
    pipeline.main(argv)
  monkeypatch.setattr(report_lib, "write_report", real)
  record = (tmp_path / "config.json").read_bytes()
  assert pipeline.main(argv) == 0
  assert (tmp_path / "config.json").read_bytes() == record
  report = json.loads((tmp_path / "report.json").read_text())
  rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  train_rows = [r for r in rows if r["split"] == "train"]
  assert [r["step"] for r in train_rows] == [1, 2, 3]        # no row twice
  assert report["train"]["final"] == train_rows[-1]
  assert report["train"]["resumed_from_step"] == 3
  for split in ("seen_types", "heldout_types"):
    ev = report["evaluation"][split]
    assert set(ev["tiers"]) == {"scorer", "untrained", "psnr", "ssim", "ms_ssim", "gmsd"}
    for fig in ev["tiers"].values():
      assert -1.0 <= fig["kendall_tau"] <= 1.0 and 0.0 <= fig["pairwise_accuracy"] <= 1.0
    assert ev["map"]["antisymmetry_error"] < 1e-6
    assert set(ev["gmc"]) == set(ev["tiers"])
  for f in ("surfaces.png", "surfaces.html", "maps.png", "metrics.jsonl"):
    assert (tmp_path / f).is_file()
  assert "scorer" in capsys.readouterr().out

"""`jiqa gmc` end to end: --json against the reference numbers, pictures, bad input."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from jiqa import cli
from tests.gmc._reference import assert_matches, load, surface_file

METHODS = ("PLCC", "SRCC", "KRCC")


def _check_json(result, ref, dataset, models, samples, atol):
  scores = pd.read_csv(ref / "gmc_scores.csv")
  for model in models:
    entry = result["models"][model]
    row = scores[(scores.dataset == dataset) & (scores.model == model)].iloc[0]
    for method in METHODS:
      pts = np.asarray(entry[method]["points"])
      np.testing.assert_allclose(pts[:, :2], samples, rtol=0, atol=1e-12)  # sample order kept
      assert_matches(surface_file(ref, dataset, model), pts[:, 2], dataset, model, method, atol)
      assert abs(entry[method]["gmc"] - row[f"gmc_{method}"]) < 2e-3, (model, method)


def test_cli_json_livec_in_process(gmc_reference, tmp_path, capsys):
  d = gmc_reference / "livec"
  out = tmp_path / "gmc.json"
  png, html = tmp_path / "gmc.png", tmp_path / "gmc.html"
  rc = cli.main(["gmc", "--pred-file", str(d / "predictions.csv"), "--std-col", "std",
                 "--sample-file", str(d / "samples.csv"), "--method", "all", "--json", str(out),
                 "--png", str(png), "--html", str(html), "--quiet"])
  assert rc == 0
  result = json.loads(out.read_text())
  _, models, samples = load(gmc_reference, "livec")
  assert list(result["models"]) == models
  _check_json(result, gmc_reference, "livec", models, samples, 1e-6)
  printed = capsys.readouterr().out
  assert "qalign" in printed and "GMC PLCC" in printed
  assert png.stat().st_size > 50_000
  text = html.read_text()
  assert "plotly" in text and len(text) > 1_000_000  # plotly.js embedded: works offline


@pytest.mark.slow
def test_cli_json_kadid_one_model_in_process(gmc_reference, tmp_path):
  d = gmc_reference / "kadid10k"
  out = tmp_path / "gmc.json"
  rc = cli.main(["gmc", "--pred-file", str(d / "predictions.csv"), "--pred-cols", "DeepWSD",
                 "--weights-file", str(d / "weights.txt"), "--sample-file", str(d / "samples.csv"),
                 "--json", str(out), "--quiet"])
  assert rc == 0
  _, _, samples = load(gmc_reference, "kadid10k")
  _check_json(json.loads(out.read_text()), gmc_reference, "kadid10k", ["DeepWSD"], samples, 1e-6)


def test_console_script_float32(gmc_reference, tmp_path):
  d = gmc_reference / "livec"
  out = tmp_path / "gmc.json"
  cache = tmp_path / "cache"
  env = dict(os.environ, JAX_PLATFORMS="cpu", JIQA_JAX_CACHE=str(cache))
  env.pop("XLA_FLAGS", None)
  env.pop("JAX_COMPILATION_CACHE_DIR", None)  # the test run's shared cache (tests/conftest.py)
  exe = os.path.join(os.path.dirname(sys.executable), "jiqa")
  proc = subprocess.run([exe, "gmc", "--pred-file", str(d / "predictions.csv"), "--pred-cols",
                         "qalign,niqe", "--sample-file", str(d / "samples.csv"), "--dtype", "float32",
                         "--json", str(out)], capture_output=True, text=True, env=env, timeout=300)
  assert proc.returncode == 0, proc.stderr
  assert "GMC pairs" in proc.stderr  # progress bar
  # main() asked for one CPU device per core and filled the persistent compilation cache.
  assert f"{os.cpu_count()} device(s)" in proc.stdout
  assert any(p.name.startswith("jit__run_chunk") for p in cache.iterdir())
  _, _, samples = load(gmc_reference, "livec")
  _check_json(json.loads(out.read_text()), gmc_reference, "livec", ["qalign", "niqe"], samples, 1e-5)


def _table(tmp_path, rows, name="t.csv"):
  path = tmp_path / name
  pd.DataFrame(rows).to_csv(path, index=False)
  return str(path)


GOOD = {"mos": [1.0, 2.0, 3.0, 4.0, 5.0], "std": [0.5, 0.6, 0.5, 0.4, 0.5], "a": [1.0, 2.5, 2.0, 4.0, 5.0]}


@pytest.mark.parametrize("change,extra,message", [
    ({}, ["--mos-col", "MOS"], "MOS column 'MOS' not found"),
    ({}, ["--pred-cols", "b"], "prediction column(s) ['b'] not found"),
    ({"a": [1.0, float("nan"), 2.0, 4.0, 5.0]}, [], "prediction column 'a' of t.csv: row 1"),
    ({"a": ["1", "x", "2", "4", "5"]}, [], "non-numeric"),
    ({"a": [2.0] * 5}, [], "constant"),
    ({"std": [0.5, -0.1, 0.5, 0.4, 0.5]}, [], "std must be >= 0; row 1"),
    ({"mos": [1.0, 2.0], "std": [.5, .5], "a": [1.0, 2.0]}, [], "at least 3 rows"),
])
def test_cli_bad_input(tmp_path, capsys, change, extra, message):
  path = _table(tmp_path, {**GOOD, **change})
  rc = cli.main(["gmc", "--pred-file", path, "--samples", "4", "--quiet", *extra])
  assert rc == 2
  assert message in capsys.readouterr().err


def test_cli_bad_files(tmp_path, capsys):
  path = _table(tmp_path, GOOD)
  (tmp_path / "std.txt").write_text("0.5\n0.5\n")
  assert cli.main(["gmc", "--pred-file", path, "--std-file", str(tmp_path / "std.txt"), "--quiet"]) == 2
  assert "std has 2 values but mos has 5" in capsys.readouterr().err
  (tmp_path / "s.csv").write_text("Q,Qd\n3.0,1.0\n7.0,1.0\n")
  assert cli.main(["gmc", "--pred-file", path, "--sample-file", str(tmp_path / "s.csv"), "--quiet"]) == 2
  assert "Q=7 outside the MOS range [1, 5]" in capsys.readouterr().err
  assert cli.main(["gmc", "--pred-file", str(tmp_path / "missing.csv"), "--quiet"]) == 2
  assert "does not exist" in capsys.readouterr().err


def test_cli_xlsx_without_std(tmp_path):
  rng = np.random.default_rng(0)
  mos = rng.uniform(0, 100, 60)
  path = tmp_path / "t.xlsx"
  pd.DataFrame({"mos": mos, "m1": mos + rng.normal(0, 10, 60), "m2": rng.normal(size=60)}).to_excel(path, index=False)
  out = tmp_path / "r.json"
  assert cli.main(["gmc", "--pred-file", str(path), "--samples", "20", "--method", "KRCC",
                   "--json", str(out), "--quiet"]) == 0
  result = json.loads(out.read_text())
  assert result["std_source"] == "beta(phi=3)" and result["weights_source"] == "lds"
  assert set(result["models"]) == {"m1", "m2"} and "PLCC" not in result["models"]["m1"]
  assert result["models"]["m1"]["KRCC"]["gmc"] > result["models"]["m2"]["KRCC"]["gmc"]


def test_import_changes_no_flags_and_starts_no_backend():
  """Importing the CLI module sets no XLA_FLAGS and starts no JAX backend (issue 13 item 2)."""
  code = ("import os, sys; os.environ.pop('XLA_FLAGS', None); import jiqa.gmc.cli; "
          "from jax._src import xla_bridge; "
          "print(os.environ.get('XLA_FLAGS'), xla_bridge.backends_are_initialized())")
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout.split() == ["None", "False"]

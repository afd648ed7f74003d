"""How jiqa ships and is checked: (slow) a wheel, installed in a fresh virtualenv, runs the main
job and `jiqa compare` from outside the checkout; CI's guard that the reference tests cannot be
skipped silently."""

import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


def _clean_env(**extra):
  """The environment of a user's shell: no checkout on the path, no fake devices."""
  env = {k: v for k, v in os.environ.items()
         if k not in ("PYTHONPATH", "XLA_FLAGS", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST")}
  env.update(JAX_PLATFORMS="cpu", **extra)
  return env


def _run(cmd, cwd, timeout=600, **env):
  res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=_clean_env(**env), capture_output=True,
                       text=True, timeout=timeout)
  assert res.returncode == 0, f"{cmd} exited {res.returncode}:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
  return res


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
  """Builds the wheel from a copy of the sources (so no build/ lands in the checkout)."""
  tmp = tmp_path_factory.mktemp("wheel")
  src = tmp / "src"
  src.mkdir()
  shutil.copytree(REPO / "jiqa", src / "jiqa", ignore=shutil.ignore_patterns("__pycache__"))
  for name in ("pyproject.toml", "README.md"):
    shutil.copy(REPO / name, src / name)
  cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", ".", "-w", tmp / "dist"]
  if importlib.util.find_spec("wheel") is not None:
    cmd.insert(4, "--no-build-isolation")  # build offline with the installed setuptools
  _run(cmd, cwd=src)
  (path,) = (tmp / "dist").glob("jiqa-*.whl")
  return path


@pytest.mark.slow
def test_wheel_ships_every_package_file(wheel):
  names = set(zipfile.ZipFile(wheel).namelist())
  on_disk = {p.relative_to(REPO).as_posix() for p in (REPO / "jiqa").rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")}
  assert on_disk - names == set()
  assert {"jiqa/configs/pipeline.py", "jiqa/configs/scorer.py", "jiqa/configs/map_predictor.py",
          "jiqa/cli.py"} <= names
  if (REPO / "jiqa" / "weights").is_dir():
    assert "jiqa/weights/weights.npz" in names and "jiqa/weights/config.json" in names


@pytest.mark.slow
def test_wheel_runs_main_job_and_compare_outside_the_checkout(wheel, tmp_path):
  from PIL import Image, ImageFilter

  venv = tmp_path / "venv"
  # --system-site-packages: the dependencies are not downloaded again; the assertion on
  # jiqa.__file__ below makes sure the venv's jiqa is the wheel's, not the editable checkout.
  _run([sys.executable, "-m", "venv", "--system-site-packages", venv], cwd=tmp_path)
  py, jiqa = venv / "bin" / "python", venv / "bin" / "jiqa"
  _run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel], cwd=tmp_path)
  work = tmp_path / "work"  # outside the checkout
  work.mkdir()
  where = _run([py, "-c", "import jiqa; print(jiqa.__file__)"], cwd=work).stdout.strip()
  assert pathlib.Path(where).is_relative_to(venv), where
  assert not pathlib.Path(where).is_relative_to(REPO), where

  version = _run([jiqa, "--version"], cwd=work).stdout
  assert version.split() == ["jiqa", "0.1.0"]

  res = _run([jiqa, "run", "--config", "pipeline:smoke", "--out", "X", "--no-progress"], cwd=work,
             timeout=3600)
  report = json.loads((work / "X" / "report.json").read_text())
  assert report["train"]["final"]["step"] == 3
  assert {"seen_types", "heldout_types"} <= set(report["evaluation"])
  assert "scorer" in res.stdout

  help_ = subprocess.run([jiqa, "compare", "--help"], cwd=work, env=_clean_env(),
                         capture_output=True, text=True)
  if help_.returncode != 0:
    pytest.skip("jiqa compare is not in this version")
  import skimage.data

  photo = Image.fromarray(skimage.data.astronaut()).resize((192, 192))
  photo.save(work / "REF.png")
  photo.filter(ImageFilter.GaussianBlur(2)).save(work / "DIST.png")
  _run([jiqa, "compare", "REF.png", "DIST.png", "--json", "out.json"], cwd=work)
  out = json.loads((work / "out.json").read_text())
  assert isinstance(out["score"], float) and np.isfinite(out["score"]), out
  # The score is anchored on the reference: a pair of identical images scores 0.
  _run([jiqa, "compare", "REF.png", "REF.png", "--json", "same.json"], cwd=work)
  assert abs(json.loads((work / "same.json").read_text())["score"]) < 1e-5


def _pytest_one(tmp_path, **env):
  """Runs one test that needs the reference data, with that data missing."""
  test = "tests/experiments/test_kadid_severity_check.py::test_agreements_match_independent_numbers"
  return subprocess.run(
      [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "-rs", test],
      cwd=REPO, env=_clean_env(JIQA_GMC_REFERENCE=str(tmp_path / "missing"), **env),
      capture_output=True, text=True, timeout=600)


def test_missing_reference_data_fails_in_ci_and_skips_elsewhere(tmp_path):
  ci = _pytest_one(tmp_path, CI="true")
  assert ci.returncode == 1, ci.stdout
  assert "1 error" in ci.stdout and "CI=true" in ci.stdout
  local = _pytest_one(tmp_path, CI="")
  assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout


def test_ci_script_runs_the_readme_command_and_fails_on_no_tests():
  script = (REPO / ".ci" / "run").read_text()
  assert 'python3 -m pytest -q -m "not slow" -n 2 --durations=15 --doctest-modules jiqa tests' in script
  # Its exit status handling, run with pytest replaced by one that collects nothing.
  body = script.split('rc=0\n', 1)[1].replace(
      'python3 -m pytest -q -m "not slow" -n 2 --durations=15 --doctest-modules jiqa tests', "(exit 5)")
  res = subprocess.run(["bash", "-c", "set -euo pipefail\nrc=0\n" + body], capture_output=True,
                       text=True)
  assert res.returncode == 5 and "collected no tests" in res.stderr

"""jiqa.gmc against the published reference numbers (../shared/gmc-reference)."""

import numpy as np
import pandas as pd
import pytest

import jax
from jiqa.gmc import fit, surface, weights
from tests.gmc._reference import KNOWN_FILE_ERRORS, assert_matches, brute_force, load, surface_file

METHODS = ("PLCC", "SRCC", "KRCC")


@pytest.mark.parametrize("dataset", ["kadid10k", "livec"])
def test_weights_equal_published(gmc_reference, dataset):
  table, _, _ = load(gmc_reference, dataset)
  with jax.enable_x64(True):
    w = np.asarray(weights.gaussian_weights(table["mos"].to_numpy(), table["std"].to_numpy()))
  np.testing.assert_allclose(w, np.loadtxt(gmc_reference / dataset / "weights.txt"), rtol=1e-6)


def _run(gmc_reference, dataset, models, dtype):
  table, _, samples = load(gmc_reference, dataset)
  w = np.loadtxt(gmc_reference / dataset / "weights.txt")
  return surface.surface(table["mos"].to_numpy(), {m: table[m].to_numpy() for m in models}, samples,
                         std=table["std"].to_numpy(), weights=w, dtype=dtype)


@pytest.mark.parametrize("dtype,atol", [("float64", 1e-6), ("float32", 1e-5)])
def test_livec_surfaces_all_models(gmc_reference, dtype, atol):
  _, models, _ = load(gmc_reference, "livec")
  out = _run(gmc_reference, "livec", models, dtype)
  for model in models:
    ref = surface_file(gmc_reference, "livec", model)
    for method in METHODS:
      assert_matches(ref, out[model][method], "livec", model, method, atol)


def test_livec_file_errors_are_in_the_file(gmc_reference):
  """At the known entries an independent brute-force evaluation agrees with jiqa, not the file."""
  table, _, samples = load(gmc_reference, "livec")
  w = np.loadtxt(gmc_reference / "livec" / "weights.txt")
  y, s = table["mos"].to_numpy(), table["std"].to_numpy()
  for (_, model, method, k), offset in KNOWN_FILE_ERRORS.items():
    p = table[model].to_numpy()
    direct = brute_force(y, s, w, p, *samples[k])[method]
    # float64 pair weights: agreement to rounding (the float32 default is ~1e-8 off, which the
    # published-surface tests check at 1e-6).
    ours = surface.surface(y, {model: p}, samples[k:k + 1], std=s, weights=w,
                           pair_dtype="float64")[model][method][0]
    published = surface_file(gmc_reference, "livec", model)[method][k]
    assert abs(ours - direct) < 1e-9
    assert abs(published - direct - offset) < 1e-6


@pytest.mark.parametrize("model", ["DeepWSD", pytest.param("psnr", marks=pytest.mark.slow),
                                   pytest.param("ssim", marks=pytest.mark.slow)])
def test_kadid_surface_float64(gmc_reference, model):
  out = _run(gmc_reference, "kadid10k", [model], "float64")
  ref = surface_file(gmc_reference, "kadid10k", model)
  for method in METHODS:
    assert_matches(ref, out[model][method], "kadid10k", model, method, 1e-6)


@pytest.mark.slow
def test_kadid_surfaces_all_models_both_dtypes(gmc_reference):
  _, models, _ = load(gmc_reference, "kadid10k")
  for dtype, atol in (("float64", 1e-6), ("float32", 1e-5)):
    out = _run(gmc_reference, "kadid10k", models, dtype)
    for model in models:
      ref = surface_file(gmc_reference, "kadid10k", model)
      for method in METHODS:
        assert_matches(ref, out[model][method], "kadid10k", model, method, atol)


def test_kadid_surface_float32_subset(gmc_reference):
  """float32 on kadid10k (every model, the first 12 points; the full run is marked slow)."""
  table, models, samples = load(gmc_reference, "kadid10k")
  w = np.loadtxt(gmc_reference / "kadid10k" / "weights.txt")
  out = surface.surface(table["mos"].to_numpy(), {m: table[m].to_numpy() for m in models},
                        samples[:12], std=table["std"].to_numpy(), weights=w, dtype="float32")
  for model in models:
    ref = surface_file(gmc_reference, "kadid10k", model)[:12]
    for method in METHODS:
      np.testing.assert_allclose(out[model][method], ref[method], rtol=0, atol=1e-5)


def test_gmc_scores_equal_published(gmc_reference):
  scores = pd.read_csv(gmc_reference / "gmc_scores.csv")
  for _, row in scores.iterrows():
    table = pd.read_csv(gmc_reference / row["dataset"] / "predictions.csv", usecols=["mos"])
    ref = surface_file(gmc_reference, row["dataset"], row["model"])
    mos_range = (table["mos"].min(), table["mos"].max())
    for method in METHODS:
      score, _ = fit.gmc_score(ref[["Q", "Qd"]].to_numpy(), ref[method].to_numpy(), mos_range)
      assert abs(score - row[f"gmc_{method}"]) < 2e-3, (row["dataset"], row["model"], method)

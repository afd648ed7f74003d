"""The KADID cell yardstick against references computed here by hand: pandas row
arithmetic for the order, ``distortions.apply`` + numpy for the cell means, scipy for
the correlations and the within-type order."""

import os
import pathlib
import warnings

import jax
import numpy as np
import pandas as pd
import pytest
import scipy.stats

from jiqa import distortions
from jiqa.evaluation import kadid_cells as kc

REFERENCE = pathlib.Path(os.environ.get(
    "JIQA_GMC_REFERENCE", pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "gmc-reference"))

TYPES = ("white_noise", "mean_shift", "contrast_change")  # cheap ops, two signed


@pytest.fixture(scope="module")
def kadid_csv():
  path = REFERENCE / "kadid10k" / "predictions.csv"
  if not path.is_file():
    if os.environ.get("CI") == "true":
      pytest.fail(f"KADID-10k predictions not found at {path} (required under CI=true).")
    pytest.skip(f"KADID-10k predictions not found at {path} (set JIQA_GMC_REFERENCE).")
  return path


def _photos():
  rng = np.random.default_rng(0)
  y, x = np.mgrid[0:36, 0:48] / 48.0
  smooth = np.stack([x, y, 0.5 * (x + y)], -1)
  return {"smooth": smooth.astype(np.float32),
          "noisy": np.clip(0.4 + 0.2 * rng.standard_normal((36, 48, 3)), 0, 1).astype(np.float32)}


def test_row_order_matches_kadid_numbering(kadid_csv):
  d = pd.read_csv(kadid_csv)
  cols = kc.read_kadid(kadid_csv)
  for c, t, lv in [(0, 0, 0), (3, 17, 2), (80, 24, 4), (41, 9, 3)]:
    assert cols["mos"][c, t, lv] == d["mos"].iloc[125 * c + 5 * t + lv]
  # The identity rows experiments/kadid_severity_check checks: type 1 and 3 at L1.
  assert d["psnr"].iloc[0] >= 79.9 and d["psnr"].iloc[10] >= 79.9
  # jiqa's names in KADID's numbering: 18 mean shift (L3 the identity), 25 contrast change.
  names = distortions.names()
  assert names[17] == "mean_shift" and names[24] == "contrast_change" and names[14] == "denoise"
  assert np.all(cols["psnr"][:, 17, 2][np.arange(81) != 17] >= 79.9)


def test_shuffled_rows_are_rejected(kadid_csv, tmp_path):
  d = pd.read_csv(kadid_csv)
  order = np.arange(len(d)).reshape(81, 25, 5)[:, ::-1].reshape(-1)  # types reversed
  d.iloc[order].to_csv(tmp_path / "p.csv", index=False)
  with pytest.raises(ValueError, match="KADID-10k's order"):
    kc.read_kadid(tmp_path / "p.csv")


def _by_hand(photos, seed, size):
  """Cell means of -MSE and of mean |diff| with the ops applied one level at a time."""
  out = {"neg_mse": [], "mae": []}
  for i, p in enumerate(photos.values()):
    ref = kc.kadid_like(p, size=size)
    rows_mse, rows_mae = [], []
    for name in TYPES:
      t = distortions.index(name)
      k = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), i), t)
      mse, mae = [], []
      for lv_i, lv in enumerate(kc.cell_levels()[t]):
        d = np.asarray(distortions.apply(name, jax.random.fold_in(k, lv_i), ref, lv))
        d = np.round(d * 255) / 255
        mse.append(-np.mean((d - ref) ** 2))
        mae.append(np.mean(np.abs(d - ref)))
      rows_mse.append(mse)
      rows_mae.append(mae)
    out["neg_mse"].append(rows_mse)
    out["mae"].append(rows_mae)
  return {k: np.mean(np.asarray(v), axis=0) for k, v in out.items()}


@pytest.fixture(scope="module")
def small_result(kadid_csv):
  preds = {"neg_mse": lambda r, d: -np.mean((np.asarray(d) - r) ** 2, axis=(1, 2, 3)),
           "mae": lambda r, d: np.mean(np.abs(np.asarray(d) - r), axis=(1, 2, 3))}
  with warnings.catch_warnings():  # GMC's note on a 12-point surface
    warnings.filterwarnings("ignore", ".*overshoots", RuntimeWarning)
    return kc.evaluate(_photos(), preds, size=(24, 32), seed=3, types=TYPES, gmc_samples=12,
                       reference=kadid_csv, progress=False, compare_to=("neg_mse",),
                       resamples=300)


def test_differences_against_the_compared_predictors(small_result):
  assert list(small_result["differences"]) == ["mae"]  # every predictor not compared to
  d = small_result["differences"]["mae"]["neg_mse"]
  p = small_result["predictors"]
  assert d["difference"] == pytest.approx(p["mae"]["spearman"] - p["neg_mse"]["spearman"],
                                          abs=1e-9)
  assert d["low"] <= d["difference"] <= d["high"]


def test_cell_means_are_plain_means(small_result):
  want = _by_hand(_photos(), 3, (24, 32))
  for name in ("neg_mse", "mae"):
    got = np.asarray(small_result["predictors"][name]["cell_means"])
    np.testing.assert_allclose(got, want[name], rtol=1e-4, atol=1e-6)
    per_image = np.asarray(small_result["scores"][name])
    np.testing.assert_allclose(got, per_image.sum(0) / per_image.shape[0], rtol=1e-12)


def test_correlations_match_scipy(small_result, kadid_csv):
  d = pd.read_csv(kadid_csv)
  idx = [distortions.index(t) for t in TYPES]
  mos = d["mos"].to_numpy().reshape(81, 25, 5).mean(axis=0)[idx].ravel()
  np.testing.assert_allclose(np.asarray(small_result["cells"]["mos"]).ravel(), mos, rtol=1e-12)
  for name in ("neg_mse", "mae"):
    p = small_result["predictors"][name]
    x = np.asarray(p["cell_means"]).ravel()
    assert p["spearman"] == pytest.approx(scipy.stats.spearmanr(x, mos)[0], abs=1e-9)
    assert p["pearson"] == pytest.approx(scipy.stats.pearsonr(x, mos)[0], abs=1e-9)
    assert p["kendall"] == pytest.approx(scipy.stats.kendalltau(x, mos)[0], abs=1e-9)
    assert set(p["gmc"]) == {"PLCC", "SRCC", "KRCC"}
  assert small_result["num_cells"] == 15 and len(small_result["gmc"]["samples"]) == 12


def test_within_type_order_matches_scipy(small_result):
  mos = np.asarray(small_result["cells"]["mos"])
  severity = np.abs(np.asarray(small_result["cells"]["levels"]))
  for name in ("neg_mse", "mae"):
    cells = np.asarray(small_result["predictors"][name]["cell_means"])
    for key, ref in (("mos", mos), ("severity", -severity)):
      w = small_result["predictors"][name]["within_type"][key]
      rho = [scipy.stats.spearmanr(c, r)[0] for c, r in zip(cells, ref)]
      np.testing.assert_allclose([w["spearman"][t] for t in TYPES], rho, atol=1e-9)
      assert w["mean_spearman"] == pytest.approx(np.mean(rho))
      strict = 0
      for c, r in zip(cells, ref):
        pairs = [(a, b) for a in range(5) for b in range(5) if r[a] > r[b]]
        strict += all(c[a] > c[b] for a, b in pairs)
      assert w["strict_share"] == pytest.approx(strict / len(TYPES))


def test_fidelity_gap_by_hand(small_result, kadid_csv):
  d = pd.read_csv(kadid_csv)
  t = distortions.index("white_noise")
  kadid = np.minimum(d["psnr"].to_numpy(), 80).reshape(81, 25, 5).mean(axis=0)[t]
  f = small_result["fidelity"]["white_noise"]
  np.testing.assert_allclose(f["kadid_psnr"], kadid, rtol=1e-12)
  mse = -np.asarray(small_result["scores"]["neg_mse"])[:, 0]          # (images, 5)
  engine = np.mean(np.minimum(10 * np.log10(1 / mse), 80), axis=0)
  np.testing.assert_allclose(f["engine_psnr"], engine, atol=2e-3)
  assert f["mean_abs_gap"] == pytest.approx(np.mean(np.abs(engine - kadid)), abs=2e-3)


def test_bad_arguments_are_rejected(kadid_csv):
  with pytest.raises(ValueError, match="types"):
    kc.evaluate(_photos(), {}, types=("no_such",), reference=kadid_csv)
  with pytest.raises(ValueError, match="images"):
    kc.evaluate({}, {}, reference=kadid_csv)
  with pytest.raises(ValueError, match="path"):
    kc.read_kadid("/nonexistent/predictions.csv")

"""Tests of jiqa.evaluation.kadid_figures against scipy and hand-made cases."""

import numpy as np
import pytest
import scipy.stats

from jiqa.evaluation import kadid_figures as kf


def test_within_type_strictness_by_hand():
  r = kf.within_type(np.array([[5., 4, 4, 2, 1], [1., 2, 3, 4, 5]]),
                     np.array([[5., 4, 3, 2, 1], [5., 4, 3, 2, 1]]), ["tie", "reversed"])
  assert r["strict_types"] == [] and r["strict_share"] == 0.0
  assert r["spearman"]["reversed"] == pytest.approx(-1.0)
  assert r["spearman"]["tie"] == pytest.approx(scipy.stats.spearmanr([5, 4, 4, 2, 1],
                                                                     [5, 4, 3, 2, 1])[0])


def test_fidelity_gap_by_hand():
  f = kf.fidelity(np.array([[30., 31, 32, 33, 34]]), np.array([[31., 31, 30, 33, 30]]), ["a"])
  assert f["a"]["gap"] == [-1.0, 0.0, 2.0, 0.0, 4.0]
  assert f["a"]["mean_abs_gap"] == pytest.approx(7.0 / 5)


def _cells(seed):
  rng = np.random.default_rng(seed)
  mos = rng.normal(size=(25, 5))
  return mos, mos + 0.3 * rng.normal(size=mos.shape), mos + 1.0 * rng.normal(size=mos.shape)


def test_spearman_difference_point_is_scipy_and_interval_is_a_paired_bootstrap():
  mos, good, poor = _cells(0)
  d = kf.spearman_difference(good, poor, mos, resamples=4000, seed=1)
  want = (scipy.stats.spearmanr(good.ravel(), mos.ravel())[0]
          - scipy.stats.spearmanr(poor.ravel(), mos.ravel())[0])
  assert d["difference"] == pytest.approx(want, abs=1e-12) and d["difference"] > 0
  # An independent percentile bootstrap: resample the 125 cells, the same ones for both.
  rng = np.random.default_rng(7)
  x, y, m = good.ravel(), poor.ravel(), mos.ravel()
  boot = []
  for _ in range(4000):
    i = rng.integers(0, x.size, x.size)
    boot.append(scipy.stats.spearmanr(x[i], m[i])[0] - scipy.stats.spearmanr(y[i], m[i])[0])
  low, high = np.percentile(boot, [2.5, 97.5])
  assert d["low"] == pytest.approx(low, abs=0.015) and d["high"] == pytest.approx(high, abs=0.015)
  assert d["low"] < d["difference"] < d["high"]


def test_spearman_difference_of_a_predictor_with_itself_is_zero():
  mos, good, _ = _cells(2)
  assert kf.spearman_difference(good, good, mos, resamples=50) == {
      "difference": 0.0, "low": 0.0, "high": 0.0}


@pytest.mark.parametrize("args, match", [
    ((np.ones((25, 5)), np.arange(125.).reshape(25, 5), np.arange(125.).reshape(25, 5)),
     "non-constant"),
    ((np.arange(10.), np.arange(12.), np.arange(10.)), "one shape"),
    ((np.array([0., 1]), np.array([1., 0]), np.array([0., 1])), "at least 3"),
    ((np.array([0., np.nan, 2]), np.arange(3.), np.arange(3.)), "finite"),
])
def test_spearman_difference_refuses_bad_input(args, match):
  with pytest.raises(ValueError, match=match):
    kf.spearman_difference(*args)

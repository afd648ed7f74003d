"""Tier statistics against scipy, and map figures on hand-made cases."""

import numpy as np
import pytest
from scipy import stats as sps

from jiqa.evaluation import stats


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kendall_tau_matches_scipy(seed):
  rng = np.random.default_rng(seed)
  sev = np.sort(rng.random((6, 5)), axis=1)
  scores = rng.integers(0, 3, (6, 5)).astype(float)  # with ties
  want = np.mean([sps.kendalltau(s, -v).statistic if np.ptp(s) > 0 else 0.0
                  for s, v in zip(scores, sev)])
  assert stats.tier_kendall_tau(scores, sev) == pytest.approx(want, abs=1e-12)


def test_pairwise_accuracy_counts_pairs():
  sev = np.array([[0.0, 0.5, 1.0], [0.0, 0.5, 1.0]])
  scores = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])  # right, reversed
  assert stats.tier_pairwise_accuracy(scores, sev) == 0.5
  assert stats.tier_pairwise_accuracy(np.ones((1, 3)), sev[:1]) == 0.5


def test_tier_checks():
  with pytest.raises(ValueError, match="scores and severity"):
    stats.tier_kendall_tau(np.ones((2, 3)), np.ones((2, 4)))
  with pytest.raises(ValueError, match="finite"):
    stats.tier_pairwise_accuracy(np.array([[np.nan, 1.0]]), np.array([[0.0, 1.0]]))


def test_map_figures():
  names = ("a", "b", "c")
  signed = np.array([True, False, True])
  true = np.zeros((2, 4, 4, 3))
  true[0, :2, :, 0] = -0.5     # signed type a, negative
  true[1, :, :, 2] = 0.8       # signed type c, positive
  pred = np.zeros_like(true)
  pred[0, :2, :, 0] = -0.25    # right sign
  pred[1, :, :, 2] = -0.1      # wrong sign
  logits = np.array([[2.0, -1.0, -1.0], [-1.0, 1.0, 3.0]])  # b wrong on image 1
  f = stats.map_figures(pred, logits, true, names=names, types=names, signed=signed,
                        swapped_maps=-pred, self_maps=np.zeros_like(pred))
  assert f["sign_accuracy"] == 0.5 and f["sign_pairs"] == 2
  assert f["sign_accuracy_per_type"] == {"a": 1.0, "c": 0.0}
  assert f["presence_accuracy"] == {"a": 1.0, "b": 0.5, "c": 1.0}
  assert f["map_mae"] == pytest.approx(np.mean(np.abs(pred - true)))
  assert f["antisymmetry_error"] == 0.0 and f["self_map_abs"] == 0.0
  # The checks on a subset: example 1 only, swapped maps off by 0.1 on its 16 x 3 values.
  f = stats.map_figures(pred, logits, true, names=names, types=names, signed=signed,
                        swapped_maps=-pred[1:] + 0.1, checked_maps=pred[1:])
  assert f["antisymmetry_error"] == pytest.approx(0.1) and f["antisymmetry_checked"] == 1
  with pytest.raises(ValueError, match="swapped_maps must have the shape of checked_maps"):
    stats.map_figures(pred, logits, true, names=names, types=names, signed=signed,
                      swapped_maps=-pred, checked_maps=pred[1:])


def test_nested_difference_matches_a_hand_written_paired_bootstrap():
  rng = np.random.default_rng(5)
  b, n = 60, 5
  tier_a, tier_b = rng.normal(size=(b, n)), rng.normal(size=(b, n))
  nested_a = tier_a - rng.normal(0.3, 1.0, (b, n))      # a orders most pairs right
  nested_b = tier_b - rng.normal(0.0, 1.0, (b, n))      # b about half
  changed = rng.uniform(size=(b, n)) > 0.2
  got = stats.nested_difference(tier_a, nested_a, tier_b, nested_b, changed, resamples=4000)
  va = np.where(tier_a > nested_a, 1.0, np.where(tier_a == nested_a, 0.5, 0.0))
  vb = np.where(tier_b > nested_b, 1.0, np.where(tier_b == nested_b, 0.5, 0.0))
  want = va[changed].mean() - vb[changed].mean()
  np.testing.assert_allclose(got["difference"], want, atol=1e-12)
  # The same tiers resampled for both, the pooled share per resample, percentile interval.
  boot = []
  for _ in range(4000):
    i = rng.integers(0, b, b)
    c = changed[i]
    boot.append((va[i][c].sum() - vb[i][c].sum()) / c.sum())
  lo, hi = np.percentile(boot, [2.5, 97.5])
  assert abs(got["low"] - lo) < 0.02 and abs(got["high"] - hi) < 0.02
  assert got["low"] < want < got["high"]


def test_nested_difference_checks_and_identical_predictors():
  t = np.zeros((3, 2))
  c = np.ones((3, 2), bool)
  with pytest.raises(ValueError, match="one \\(B, n\\) shape"):
    stats.nested_difference(t, t, t, t, c[:2])
  with pytest.raises(ValueError, match="at least 2 tiers"):
    stats.nested_difference(t, t, t, t, np.eye(3, 2, dtype=bool) & False)
  same = stats.nested_difference(t, t - 1, t, t - 1, c)
  assert same == {"difference": 0.0, "low": 0.0, "high": 0.0}


def test_nested_per_tier_pools_to_nested_accuracy():
  rng = np.random.default_rng(7)
  t, n = rng.normal(size=(30, 4)), rng.normal(size=(30, 4))
  n[0] = t[0]                                  # ties count 1/2
  changed = rng.uniform(size=(30, 4)) > 0.3
  changed[1] = False                           # a tier without a pair: NaN
  per = stats.nested_per_tier(t, n, changed)
  assert np.isnan(per[1]) and np.all(np.isfinite(np.delete(per, 1)))
  counts = changed.sum(1)
  pooled = np.nansum(per * counts) / counts.sum()
  np.testing.assert_allclose(pooled, stats.nested_accuracy(t, n, changed)["accuracy"])
  by_hand = np.mean([1.0 if a > b else 0.5 if a == b else 0.0
                     for a, b in zip(t[changed], n[changed])])
  np.testing.assert_allclose(pooled, by_hand)

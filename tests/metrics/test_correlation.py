"""Global PLCC/SRCC/KRCC against scipy.stats (with ties)."""

import numpy as np
import pytest
import scipy.stats

from jiqa.metrics import correlation


@pytest.mark.parametrize("n", [3, 4, 17, 1000, 20000])
@pytest.mark.parametrize("ties", [False, True])
def test_match_scipy(n, ties):
  rng = np.random.default_rng(n)
  x = rng.normal(size=n)
  y = x + rng.normal(size=n)
  if ties:
    x, y = np.round(x), np.round(y * 2)
  assert abs(correlation.plcc(x, y) - scipy.stats.pearsonr(x, y)[0]) < 1e-12
  assert abs(correlation.srcc(x, y) - scipy.stats.spearmanr(x, y)[0]) < 1e-12
  assert abs(correlation.krcc(x, y) - scipy.stats.kendalltau(x, y)[0]) < 1e-12


def test_ranks():
  np.testing.assert_array_equal(correlation.average_ranks([2, 1, 2, 5]), scipy.stats.rankdata([2, 1, 2, 5]))
  np.testing.assert_array_equal(correlation.dense_ranks([2, 1, 2, 5]),
                                scipy.stats.rankdata([2, 1, 2, 5], method="dense") - 1)


@pytest.mark.parametrize("x,y,message", [
    ([1, 2], [1, 2], "at least 3"), ([1, 2, 3], [1, 2], "same length"),
    ([1, 2, np.nan], [1, 2, 3], "finite"), ([1, 1, 1], [1, 2, 3], "constant"),
])
def test_errors(x, y, message):
  for f in (correlation.plcc, correlation.srcc, correlation.krcc):
    with pytest.raises(ValueError, match=message):
      f(x, y)

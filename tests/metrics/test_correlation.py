"""Global PLCC/SRCC/KRCC (thin over scipy.stats) against numpy by hand, with ties.

The module calls ``scipy.stats``; the references here are the textbook formulas
written out in numpy: Pearson's r from centred sums, average ranks by counting
(rank = #smaller + (#equal + 1) / 2), and Kendall's tau-b from every pair's
signs (O(N^2), so N stays small).
"""

import numpy as np
import pytest

from jiqa.metrics import correlation


def _pearson(x, y):
  xc, yc = x - x.mean(), y - y.mean()
  return np.sum(xc * yc) / np.sqrt(np.sum(xc * xc) * np.sum(yc * yc))


def _average_ranks(x):
  smaller = (x[None, :] < x[:, None]).sum(1)
  equal = (x[None, :] == x[:, None]).sum(1)
  return smaller + (equal + 1) / 2


def _tau_b(x, y):
  i, j = np.triu_indices(x.size, 1)
  sx, sy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
  return np.sum(sx * sy) / np.sqrt(np.sum(sx != 0) * np.sum(sy != 0))


@pytest.mark.parametrize("n", [3, 4, 17, 500, 2000])
@pytest.mark.parametrize("ties", [False, True])
def test_match_the_formulas_by_hand(n, ties):
  rng = np.random.default_rng(n)
  x = rng.normal(size=n)
  y = x + rng.normal(size=n)
  if ties:
    x, y = np.round(x), np.round(y * 2)
  assert abs(correlation.plcc(x, y) - _pearson(x, y)) < 1e-12
  assert abs(correlation.srcc(x, y) - _pearson(_average_ranks(x), _average_ranks(y))) < 1e-12
  assert abs(correlation.krcc(x, y) - _tau_b(x, y)) < 1e-12


def test_ranks():
  x = np.array([2, 1, 2, 5, 1, 1.5])
  np.testing.assert_array_equal(correlation.average_ranks(x), _average_ranks(x))
  np.testing.assert_array_equal(correlation.dense_ranks(x), [2, 0, 2, 3, 0, 1])


def test_perfect_orders_are_plus_and_minus_one_within_the_range():
  x = np.arange(10.0)
  for f in (correlation.plcc, correlation.srcc, correlation.krcc):
    up, down = f(x, 2 * x + 1), f(x, -x)
    assert abs(up - 1) < 1e-12 and abs(down + 1) < 1e-12 and -1 <= down <= up <= 1


@pytest.mark.parametrize("x,y,message", [
    ([1, 2], [1, 2], "at least 3"), ([1, 2, 3], [1, 2], "same length"),
    ([1, 2, np.nan], [1, 2, 3], "finite"), ([1, 1, 1], [1, 2, 3], "constant"),
])
def test_errors(x, y, message):
  for f in (correlation.plcc, correlation.srcc, correlation.krcc):
    with pytest.raises(ValueError, match=message):
      f(x, y)

"""Global correlation statistics between predictions and MOS, matching scipy.stats.

``plcc`` is Pearson's r (``scipy.stats.pearsonr``), ``srcc`` Spearman's rho on
average ranks (``scipy.stats.spearmanr``) and ``krcc`` Kendall's tau-b with tie
correction (``scipy.stats.kendalltau``, its default). They are host-side
statistics of whole datasets (sorting, tie groups), computed in float64 with
numpy and returned as Python floats; scipy is not used so that the tests can
compare against it as an independent reference. Kendall's tau-b uses Knight's
O(N log N) method: the number of discordant pairs is the number of inversions
of the y-ranks after sorting by (x, y), counted level by level of a bottom-up
merge sort with vectorised ``searchsorted`` (no library offers this in numpy).
"""

from __future__ import annotations

import jax
import numpy as np

__all__ = ["plcc", "srcc", "krcc", "average_ranks", "dense_ranks"]


def _pair(x: jax.typing.ArrayLike, y: jax.typing.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
  x = np.asarray(x, np.float64).ravel()
  y = np.asarray(y, np.float64).ravel()
  if x.shape != y.shape:
    raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}.")
  if x.size < 3:
    raise ValueError(f"x and y need at least 3 values, got {x.size}.")
  if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
    raise ValueError("x and y must be finite (no NaN or inf).")
  for name, v in (("x", x), ("y", y)):
    if np.all(v == v[0]):
      raise ValueError(f"{name} is constant; a correlation is undefined.")
  return x, y


def dense_ranks(x: jax.typing.ArrayLike) -> np.ndarray:
  """Dense ranks 0, 1, 2, ... (ties share a rank, ranks are consecutive).

  Example:
    >>> dense_ranks([3.0, 1.0, 3.0, 2.0]).tolist()
    [2, 0, 2, 1]
  """
  return np.unique(np.asarray(x).ravel(), return_inverse=True)[1].astype(np.int64)


def average_ranks(x: jax.typing.ArrayLike) -> np.ndarray:
  """Ranks 1..N with ties given their average rank (``scipy.stats.rankdata``).

  Example:
    >>> average_ranks([3.0, 1.0, 3.0, 2.0]).tolist()
    [3.5, 1.0, 3.5, 2.0]
  """
  x = np.asarray(x, np.float64).ravel()
  order = np.argsort(x, kind="mergesort")
  xs = x[order]
  new = np.r_[True, xs[1:] != xs[:-1]]
  group = np.cumsum(new) - 1
  starts = np.flatnonzero(new)
  ends = np.r_[starts[1:], xs.size]
  avg = (starts + ends + 1) / 2.0  # mean of 1-based positions start+1 .. end
  ranks = np.empty_like(x)
  ranks[order] = avg[group]
  return ranks


def plcc(x: jax.typing.ArrayLike, y: jax.typing.ArrayLike) -> float:
  """Pearson linear correlation coefficient.

  Example:
    >>> round(plcc([1, 2, 3, 4], [1, 2, 3, 5]), 6)
    0.982708
  """
  x, y = _pair(x, y)
  xc, yc = x - x.mean(), y - y.mean()
  r = float(np.dot(xc, yc) / np.sqrt(np.dot(xc, xc) * np.dot(yc, yc)))
  return max(-1.0, min(1.0, r))


def srcc(x: jax.typing.ArrayLike, y: jax.typing.ArrayLike) -> float:
  """Spearman rank correlation (Pearson on average ranks, as scipy).

  Example:
    >>> srcc([1, 2, 2, 4], [1, 3, 2, 4])
    0.9486832980505138
  """
  x, y = _pair(x, y)
  return plcc(average_ranks(x), average_ranks(y))


def _tie_pairs(v: np.ndarray) -> int:
  counts = np.unique(v, return_counts=True)[1].astype(np.int64)
  return int(np.sum(counts * (counts - 1) // 2))


def _inversions(v: np.ndarray) -> int:
  """Number of pairs i < j with v[i] > v[j] (v non-negative integers)."""
  n = v.size
  base = np.int64(v.max()) + 1
  total = 0
  run = 1
  cur = v.astype(np.int64).copy()
  while run < n:
    idx = np.arange(n)
    block = idx // (2 * run)
    is_right = (idx // run) % 2 == 1
    keyed = cur + block * base
    left_keys = keyed[~is_right]  # sorted: each run sorted, blocks increasing
    right_keys = keyed[is_right]
    right_block = block[is_right]
    upper = np.searchsorted(left_keys, (right_block + 1) * base, side="left")
    not_greater = np.searchsorted(left_keys, right_keys, side="right")
    total += int(np.sum(upper - not_greater))
    cur = np.sort(keyed) - np.sort(block) * base  # merge every block of 2*run
    run *= 2
  return total


def krcc(x: jax.typing.ArrayLike, y: jax.typing.ArrayLike) -> float:
  """Kendall's tau-b (tie-corrected), as ``scipy.stats.kendalltau``.

  Example:
    >>> round(krcc([1, 2, 2, 4], [1, 3, 2, 4]), 6)
    0.912871
  """
  x, y = _pair(x, y)
  n = x.size
  rx, ry = dense_ranks(x), dense_ranks(y)
  order = np.lexsort((ry, rx))
  discordant = _inversions(ry[order])
  n0 = n * (n - 1) // 2
  n_tx, n_ty = _tie_pairs(rx), _tie_pairs(ry)
  n_txy = _tie_pairs(rx * (ry.max() + 1) + ry)  # pairs tied in both
  concordant_minus_discordant = n0 - n_tx - n_ty + n_txy - 2 * discordant
  r = concordant_minus_discordant / np.sqrt(float(n0 - n_tx) * float(n0 - n_ty))
  return max(-1.0, min(1.0, float(r)))

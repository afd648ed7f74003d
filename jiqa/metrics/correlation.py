"""Global correlation statistics between predictions and MOS, from ``scipy.stats``.

``plcc`` is Pearson's r (``scipy.stats.pearsonr``), ``srcc`` Spearman's rho on
average ranks (``scipy.stats.spearmanr``) and ``krcc`` Kendall's tau-b with tie
correction (``scipy.stats.kendalltau``, its default; O(N log N)).
:func:`average_ranks` is ``scipy.stats.rankdata`` and :func:`dense_ranks` its
``method="dense"`` form counted from 0. They are host-side statistics of whole
datasets (sorting, tie groups), computed in float64 and returned as Python
floats; this module adds only the checks (same length, at least 3 finite
values, not constant), so that no figure is a silent NaN, and the clip of
rounding overshoot to ``[-1, 1]``.

Example:
  >>> round(plcc([1, 2, 3, 4], [1, 2, 3, 5]), 6), round(krcc([1, 2, 3], [1, 3, 2]), 6)
  (0.982708, 0.333333)
"""

from __future__ import annotations

import jax
import numpy as np
import scipy.stats

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


def _clip(r) -> float:
  return max(-1.0, min(1.0, float(r)))


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
  return scipy.stats.rankdata(np.asarray(x, np.float64).ravel())


def plcc(x: jax.typing.ArrayLike, y: jax.typing.ArrayLike) -> float:
  """Pearson linear correlation coefficient (``scipy.stats.pearsonr``).

  Example:
    >>> round(plcc([1, 2, 3, 4], [1, 2, 3, 5]), 6)
    0.982708
  """
  x, y = _pair(x, y)
  return _clip(scipy.stats.pearsonr(x, y).statistic)


def srcc(x: jax.typing.ArrayLike, y: jax.typing.ArrayLike) -> float:
  """Spearman rank correlation (``scipy.stats.spearmanr``: Pearson on average ranks).

  Example:
    >>> round(srcc([1, 2, 2, 4], [1, 3, 2, 4]), 6)
    0.948683
  """
  x, y = _pair(x, y)
  return _clip(scipy.stats.spearmanr(x, y).statistic)


def krcc(x: jax.typing.ArrayLike, y: jax.typing.ArrayLike) -> float:
  """Kendall's tau-b (tie-corrected), as ``scipy.stats.kendalltau``.

  Example:
    >>> round(krcc([1, 2, 2, 4], [1, 3, 2, 4]), 6)
    0.912871
  """
  x, y = _pair(x, y)
  return _clip(scipy.stats.kendalltau(x, y).statistic)

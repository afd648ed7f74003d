"""Figures of the KADID-10k cell yardstick: within-type level order, engine fidelity.

Host-side summaries of ``(25, 5)`` cell arrays (types x KADID's five levels)
that :func:`jiqa.evaluation.kadid_cells.evaluate` reports (and re-exports):

* :func:`within_type`: per type, the Spearman correlation of a predictor's five
  cell means against a reference (the cell-mean MOS, or the negated nominal
  severity), their mean over types, and which types are ordered strictly
  (every pair of cells with different reference values in the reference's order);
* :func:`fidelity`: per type, the engine's cell-mean PSNR beside KADID-10k's and
  their mean absolute gap;
* :func:`spearman_difference`: how much better one predictor's cells follow the
  MOS than another's, with a paired bootstrap interval over the cells
  (``scipy.stats.bootstrap``), on :func:`spearman_along` (row-wise Spearman).

Example:
  >>> w = within_type(np.array([[3., 2, 1, 0, -1]]), np.array([[5., 4, 3, 2, 1]]), ["a"])
  >>> w["strict_types"]
  ['a']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jiqa.metrics import correlation


def _rho(x: np.ndarray, y: np.ndarray) -> float | None:
  try:
    return correlation.srcc(x, y)
  except ValueError:  # a constant side: undefined
    return None


def _strict(x: np.ndarray, ref: np.ndarray) -> bool:
  """Every pair with different ``ref`` is strictly ordered like it by ``x``."""
  i, j = np.triu_indices(len(x), 1)
  keep = ref[i] != ref[j]
  return bool(np.all(np.sign(x[i] - x[j])[keep] == np.sign(ref[i] - ref[j])[keep]))


def within_type(cells: np.ndarray, reference: np.ndarray, names: Sequence[str]) -> dict:
  """Per-type Spearman of ``(25, 5)`` cell means against a ``(25, 5)`` reference (higher =
  better), the mean over types, and the share of types ordered strictly.

  Example:
    >>> r = within_type(np.array([[3., 2, 1, 0, -1]]), np.array([[5., 4, 3, 2, 1]]), ["a"])
    >>> round(r["mean_spearman"], 6), r["strict_share"]
    (1.0, 1.0)
  """
  rho = {n: _rho(c, r) for n, c, r in zip(names, cells, reference)}
  valid = [v for v in rho.values() if v is not None]
  strict = [n for n, c, r in zip(names, cells, reference) if _strict(c, r)]
  return {"spearman": rho, "mean_spearman": float(np.mean(valid)) if valid else None,
          "strict_share": len(strict) / len(rho), "strict_types": strict}


def fidelity(engine_psnr: np.ndarray, kadid_psnr: np.ndarray, names: Sequence[str]) -> dict:
  """Per type: engine vs KADID cell-mean PSNR ``(25, 5)`` and their mean absolute gap.

  Example:
    >>> fidelity(np.full((1, 5), 30.), np.full((1, 5), 31.), ["a"])["a"]["mean_abs_gap"]
    1.0
  """
  return {n: {"engine_psnr": e.tolist(), "kadid_psnr": k.tolist(),
              "gap": (e - k).tolist(), "mean_abs_gap": float(np.mean(np.abs(e - k)))}
          for n, e, k in zip(names, np.asarray(engine_psnr), np.asarray(kadid_psnr))}


def spearman_along(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
  """Spearman correlation along ``axis`` (average ranks for ties), vectorised over the rest.

  ``scipy.stats.spearmanr`` has no row-wise form; this is it, for bootstraps and
  many predictors at once.

  Example:
    >>> x = np.array([[1.0, 2.0, 3.0], [3.0, 1.0, 2.0]])
    >>> spearman_along(x, np.array([[1.0, 2.0, 3.0]] * 2)).tolist()
    [1.0, -0.5]
  """
  from scipy import stats

  rx, ry = stats.rankdata(x, axis=axis), stats.rankdata(y, axis=axis)
  rx = rx - rx.mean(axis=axis, keepdims=True)
  ry = ry - ry.mean(axis=axis, keepdims=True)
  return (rx * ry).sum(axis) / np.sqrt((rx * rx).sum(axis) * (ry * ry).sum(axis))


def spearman_difference(cells: np.ndarray, other: np.ndarray, mos: np.ndarray, *,
                        resamples: int = 2000, confidence: float = 0.95, seed: int = 0) -> dict:
  """Spearman of ``cells`` minus Spearman of ``other``, both against ``mos``, with a paired
  percentile bootstrap interval over the cells (the same resampled cells for both).

  Args:
    cells, other: two predictors' cell means (any shape; higher = better).
    mos: the cell-mean MOS, the same shape.
    resamples: bootstrap resamples (``scipy.stats.bootstrap``'s ``n_resamples``).
    confidence: the interval's level.
    seed: the resampling seed.

  Returns:
    ``{"difference", "low", "high"}``: ``difference > 0`` when ``cells`` follows the MOS better.

  Raises:
    ValueError: on shapes that differ, fewer than 3 cells, non-finite or constant values.

  Example:
    >>> m = np.arange(20.0); noisy = m + np.tile([0.0, 5.0], 10)
    >>> d = spearman_difference(m, noisy, m, resamples=200)
    >>> d["difference"] > 0 and d["low"] > 0
    True
  """
  x, y, z = (np.asarray(v, np.float64).ravel() for v in (cells, other, mos))
  if not (np.shape(cells) == np.shape(other) == np.shape(mos)):
    raise ValueError(f"cells, other, mos: expected one shape; got {np.shape(cells)}, "
                     f"{np.shape(other)} and {np.shape(mos)}.")
  if x.size < 3 or not all(np.all(np.isfinite(v)) and np.ptp(v) > 0 for v in (x, y, z)):
    raise ValueError("cells, other, mos: expected at least 3 finite, non-constant values each.")
  if resamples < 1 or not 0 < confidence < 1:
    raise ValueError(f"resamples >= 1 and 0 < confidence < 1 expected; got {resamples} and "
                     f"{confidence}.")

  from scipy import stats

  def diff(a, b, m, axis=-1):
    return spearman_along(a, m, axis) - spearman_along(b, m, axis)

  res = stats.bootstrap((x, y, z), diff, paired=True, vectorized=True, n_resamples=resamples,
                        confidence_level=confidence, method="percentile",
                        rng=np.random.default_rng(seed))
  return {"difference": float(diff(x, y, z)), "low": float(res.confidence_interval.low),
          "high": float(res.confidence_interval.high)}

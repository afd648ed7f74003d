"""Figures of the KADID-10k cell yardstick: within-type level order, engine fidelity.

Two host-side summaries of ``(25, 5)`` cell arrays (types x KADID's five levels)
that :func:`jiqa.evaluation.kadid_cells.evaluate` reports (and re-exports):

* :func:`within_type`: per type, the Spearman correlation of a predictor's five
  cell means against a reference (the cell-mean MOS, or the negated nominal
  severity), their mean over types, and which types are ordered strictly
  (every pair of cells with different reference values in the reference's order);
* :func:`fidelity`: per type, the engine's cell-mean PSNR beside KADID-10k's and
  their mean absolute gap.

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

"""Figures of merit of the relational models on tiers and triplets.

Hand-written (each is a few lines of numpy; scipy is not a runtime dependency
of jiqa and the tests check these against ``scipy.stats.kendalltau``):

* :func:`tier_kendall_tau` and :func:`tier_pairwise_accuracy`: how well a
  predictor orders the images *within* each tier (one content, severities
  strictly increasing). Higher prediction must mean lower severity, so
  distortion measures (GMSD) are negated before they get here.
* :func:`map_figures`: mean absolute error of predicted maps, per-type presence
  accuracy, sign accuracy on signed types and the anti-symmetry error.

Example:
  >>> s = np.array([[3.0, 2.0, 1.0]]); v = np.array([[0.1, 0.5, 0.9]])
  >>> float(tier_kendall_tau(s, v)), float(tier_pairwise_accuracy(s, v))
  (1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _check_tiers(scores, severity) -> tuple[np.ndarray, np.ndarray]:
  s = np.asarray(scores, np.float64)
  v = np.asarray(severity, np.float64)
  if s.ndim != 2 or s.shape != v.shape or s.shape[1] < 2:
    raise ValueError(f"scores and severity must both have shape (tiers, n) with n >= 2; got "
                     f"{s.shape} and {v.shape}.")
  if not (np.all(np.isfinite(s)) and np.all(np.isfinite(v))):
    raise ValueError("scores and severity must be finite (no NaN or infinity).")
  return s, v


def _pair_signs(s: np.ndarray, v: np.ndarray):
  iu = np.triu_indices(s.shape[1], 1)
  ds = (s[:, :, None] - s[:, None, :])[:, iu[0], iu[1]]
  dq = (v[:, None, :] - v[:, :, None])[:, iu[0], iu[1]]  # quality = -severity
  return np.sign(ds), np.sign(dq)


def tier_kendall_tau(scores: np.ndarray, severity: np.ndarray) -> float:
  """Mean over tiers of Kendall's tau-b between scores and ``-severity``.

  Args:
    scores: ``(tiers, n)`` predictions, higher = better quality.
    severity: ``(tiers, n)`` severities, higher = worse.

  Returns:
    The mean tau-b (a tier whose scores are all equal counts as 0).

  Example:
    >>> tier_kendall_tau(np.array([[1., 2.]]), np.array([[0., 1.]]))
    -1.0
  """
  s, v = _check_tiers(scores, severity)
  a, b = _pair_signs(s, v)
  num = np.sum(a * b, axis=1)
  den = np.sqrt(np.sum(a != 0, axis=1) * np.sum(b != 0, axis=1))
  return float(np.mean(np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)))


def tier_pairwise_accuracy(scores: np.ndarray, severity: np.ndarray) -> float:
  """Share of within-tier pairs of different severity that the scores order right.

  A tie in the scores counts as half right.

  Example:
    >>> tier_pairwise_accuracy(np.array([[2., 2., 1.]]), np.array([[0., 1., 2.]]))
    0.8333333333333334
  """
  s, v = _check_tiers(scores, severity)
  a, b = _pair_signs(s, v)
  valid = b != 0
  right = np.where(a == b, 1.0, np.where(a == 0, 0.5, 0.0))
  return float(np.sum(right * valid) / max(int(np.sum(valid)), 1))


def map_figures(pred_maps: np.ndarray, presence_logits: np.ndarray, true_maps: np.ndarray, *,
                names: Sequence[str], types: Sequence[str], signed: np.ndarray,
                swapped_maps: np.ndarray | None = None, self_maps: np.ndarray | None = None
                ) -> dict:
  """Map MAE, per-type presence accuracy, sign accuracy and anti-symmetry error.

  Args:
    pred_maps: ``(N, H, W, T)`` predicted maps of the distorted image relative
      to the reference.
    presence_logits: ``(N, T)`` predicted presence logits.
    true_maps: ``(N, H, W, T)`` true maps.
    names: the ``T`` type names (channel order).
    types: the types of this split (figures per type are reported for these).
    signed: ``(T,)`` booleans, which types carry a signed direction.
    swapped_maps: predictions with the two images swapped (for the
      anti-symmetry error ``mean |f(a, b) + f(b, a)|``), if computed.
    self_maps: predictions ``f(a, a)`` (their mean absolute value is reported).

  Returns:
    A dict: ``map_mae`` (all channels), ``map_mae_split_types`` (this split's
    channels), ``presence_accuracy`` per type and its mean, ``sign_accuracy``
    over (image, signed type present) pairs — the sign of the predicted map
    averaged over the region where the true map is non-zero against the true
    sign — with ``sign_pairs`` (how many), per-type sign accuracy, and
    ``antisymmetry_error`` / ``self_map_abs`` when given.

  Example:
    >>> figs = map_figures(p, l, t, names=n, types=n[:2], signed=s)  # doctest: +SKIP
  """
  p = np.asarray(pred_maps, np.float64)
  t = np.asarray(true_maps, np.float64)
  logits = np.asarray(presence_logits, np.float64)
  if p.shape != t.shape or p.ndim != 4 or logits.shape != (p.shape[0], p.shape[-1]):
    raise ValueError(f"pred_maps, true_maps must be (N, H, W, T) and presence_logits (N, T); "
                     f"got {p.shape}, {t.shape}, {logits.shape}.")
  names = list(names)
  if len(names) != p.shape[-1] or len(signed) != p.shape[-1]:
    raise ValueError(f"names and signed must have {p.shape[-1]} entries (T).")
  idx = [names.index(x) for x in types]
  present = np.any(np.abs(t) > 0, axis=(1, 2))  # (N, T)
  pred_present = logits > 0
  out = {
      "map_mae": float(np.mean(np.abs(p - t))),
      "map_mae_split_types": float(np.mean(np.abs(p[..., idx] - t[..., idx]))),
      "presence_accuracy": {names[i]: float(np.mean(pred_present[:, i] == present[:, i]))
                            for i in idx},
  }
  out["presence_accuracy_mean"] = float(np.mean(list(out["presence_accuracy"].values())))
  region = np.abs(t) > 0
  count = np.maximum(region.sum(axis=(1, 2)), 1)
  mean_pred = np.sum(np.where(region, p, 0.0), axis=(1, 2)) / count
  mean_true = np.sum(np.where(region, t, 0.0), axis=(1, 2)) / count
  hits, per_type = [], {}
  for i in idx:
    if not signed[i]:
      continue
    rows = present[:, i]
    if not np.any(rows):
      continue
    ok = np.sign(mean_pred[rows, i]) == np.sign(mean_true[rows, i])
    per_type[names[i]] = float(np.mean(ok))
    hits.extend(ok.tolist())
  out["sign_accuracy"] = float(np.mean(hits)) if hits else None
  out["sign_pairs"] = len(hits)
  out["sign_accuracy_per_type"] = per_type
  if swapped_maps is not None:
    out["antisymmetry_error"] = float(np.mean(np.abs(p + np.asarray(swapped_maps, np.float64))))
  if self_maps is not None:
    out["self_map_abs"] = float(np.mean(np.abs(np.asarray(self_maps, np.float64))))
  return out

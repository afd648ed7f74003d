"""Figures of merit of the relational models on tiers and triplets.

* :func:`tier_kendall_tau` and :func:`tier_pairwise_accuracy`: how well a
  predictor orders the images *within* each tier (one content, severities
  strictly increasing). Higher prediction must mean lower severity, so
  distortion measures (GMSD) are negated before they get here. They are thin:
  Kendall's tau-b is :func:`jiqa.metrics.krcc` (``scipy.stats.kendalltau``) per
  tier and the pairwise accuracy :func:`jiqa.losses.pairwise_accuracy` (the
  figure the train step logs), in float64 on the host; only the checks are here.
* :func:`nested_accuracy` and :func:`nested_difference`: how often a predictor
  scores a tier image ``x`` above ``B(x)``, a further distortion on top of it
  (an order that is certain), and one predictor's accuracy minus another's with
  a paired bootstrap interval over the tiers (``scipy.stats.bootstrap``).
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


def tier_kendall_tau(scores: np.ndarray, severity: np.ndarray) -> float:
  """Mean over tiers of Kendall's tau-b between scores and ``-severity``.

  Args:
    scores: ``(tiers, n)`` predictions, higher = better quality; ``n >= 3``.
    severity: ``(tiers, n)`` severities, higher = worse.

  Returns:
    The mean tau-b (a tier whose scores are all equal counts as 0).

  Example:
    >>> tier_kendall_tau(np.array([[1., 2., 3.]]), np.array([[0., 1., 2.]]))
    -1.0
  """
  from jiqa import metrics

  s, v = _check_tiers(scores, severity)
  if s.shape[1] < 3:
    raise ValueError(f"scores: Kendall's tau needs tiers of n >= 3 images; got n = {s.shape[1]}.")
  return float(np.mean([0.0 if np.all(a == a[0]) else metrics.krcc(a, -b)
                        for a, b in zip(s, v)]))


def tier_pairwise_accuracy(scores: np.ndarray, severity: np.ndarray) -> float:
  """Share of within-tier pairs of different severity that the scores order right.

  A tie in the scores counts as half right.

  Example:
    >>> tier_pairwise_accuracy(np.array([[2., 2., 1.]]), np.array([[0., 1., 2.]]))
    0.8333333333333334
  """
  from jiqa.losses import ranking

  s, v = _check_tiers(scores, severity)
  return float(ranking.pairwise_accuracy(s, v))


def _nested_values(tier_scores, nested_scores) -> np.ndarray:
  """1 where ``x`` is scored above ``B(x)``, 1/2 on ties, else 0."""
  t, n = np.asarray(tier_scores, np.float64), np.asarray(nested_scores, np.float64)
  return np.where(t > n, 1.0, np.where(t == n, 0.5, 0.0))


def nested_per_tier(tier_scores: np.ndarray, nested_scores: np.ndarray,
                    changed: np.ndarray) -> np.ndarray:
  """Per tier (row), the share of its pairs ``(x, B(x))`` ordered ``x`` first; NaN without one.

  The same count as :func:`nested_accuracy` (ties 1/2, only ``changed`` pairs),
  kept per tier for standard errors and paired comparisons; arrays may carry
  leading batch axes (``(..., B, n)``).

  Example:
    >>> nested_per_tier(np.array([[1.0, 2.0], [1.0, 1.0]]), np.array([[0.0, 2.0], [2.0, 0.0]]),
    ...                 np.array([[True, True], [False, False]])).tolist()
    [0.75, nan]
  """
  changed = np.asarray(changed, bool)
  val = _nested_values(tier_scores, nested_scores)
  with np.errstate(invalid="ignore"):
    return (val * changed).sum(-1) / changed.sum(-1)


def nested_accuracy(tier_scores: np.ndarray, nested_scores: np.ndarray,
                    changed: np.ndarray) -> dict[str, float]:
  """The share of pairs ``(x, B(x))`` with ``x`` scored above ``B(x)`` (ties count 1/2).

  Only where ``B(x)`` differs from ``x`` (``changed``); all arrays ``(B, n)``.

  Example:
    >>> nested_accuracy(np.array([[1.0, 2.0, 3.0]]), np.array([[0.0, 2.0, 5.0]]),
    ...                 np.array([[True, True, False]]))
    {'accuracy': 0.75, 'pairs': 2}
  """
  changed = np.asarray(changed, bool)
  val = _nested_values(tier_scores, nested_scores)
  pairs = int(changed.sum())
  return {"accuracy": float(val[changed].mean()) if pairs else float("nan"), "pairs": pairs}


def nested_difference(tier_a: np.ndarray, nested_a: np.ndarray, tier_b: np.ndarray,
                      nested_b: np.ndarray, changed: np.ndarray, *, resamples: int = 2000,
                      confidence: float = 0.95, seed: int = 0) -> dict[str, float]:
  """Nested accuracy of predictor ``a`` minus that of ``b``, with a paired percentile bootstrap
  interval over the tiers (rows; the same resampled tiers for both).

  Args:
    tier_a, nested_a, tier_b, nested_b: ``(B, n)`` scores of the tier images and of the
      images on top of them, for each predictor.
    changed: ``(B, n)``, where ``B(x)`` differs from ``x`` (the pairs that count).
    resamples, confidence, seed: of ``scipy.stats.bootstrap``.

  Returns:
    ``{"difference", "low", "high"}``.

  Raises:
    ValueError: on shapes that differ, or fewer than 2 tiers with a pair.

  Example:
    >>> t = np.array([[2.0, 1.0]] * 4); c = np.ones((4, 2), bool)
    >>> nested_difference(t, t - 1, t, t + np.array([[1.0, -1.0]]), c, resamples=50)
    {'difference': 0.5, 'low': 0.5, 'high': 0.5}
  """
  shapes = {np.shape(v) for v in (tier_a, nested_a, tier_b, nested_b, changed)}
  if len(shapes) != 1 or len(next(iter(shapes))) != 2:
    raise ValueError(f"tier_a, nested_a, tier_b, nested_b, changed: expected one (B, n) shape; "
                     f"got {sorted(shapes)}.")
  changed = np.asarray(changed, bool)
  keep = changed.any(axis=1)
  if keep.sum() < 2:
    raise ValueError(f"changed: expected at least 2 tiers with a pair; got {int(keep.sum())}.")
  # Per tier: right pairs of a and of b, and the number of pairs (pooled ratio per resample).
  right_a = (_nested_values(tier_a, nested_a) * changed).sum(1)[keep]
  right_b = (_nested_values(tier_b, nested_b) * changed).sum(1)[keep]
  count = changed.sum(1)[keep].astype(np.float64)

  def diff(ra, rb, c, axis=-1):
    return (ra.sum(axis) - rb.sum(axis)) / c.sum(axis)

  from scipy import stats

  point = float(diff(right_a, right_b, count))
  if np.array_equal(right_a, right_b):   # identical per tier: every resample gives 0
    return {"difference": point, "low": point, "high": point}
  res = stats.bootstrap((right_a, right_b, count), diff, paired=True, vectorized=True,
                        n_resamples=resamples, confidence_level=confidence,
                        method="percentile", rng=np.random.default_rng(seed))
  return {"difference": point, "low": float(res.confidence_interval.low),
          "high": float(res.confidence_interval.high)}


def map_figures(pred_maps: np.ndarray, presence_logits: np.ndarray, true_maps: np.ndarray, *,
                names: Sequence[str], types: Sequence[str], signed: np.ndarray,
                swapped_maps: np.ndarray | None = None, self_maps: np.ndarray | None = None,
                checked_maps: np.ndarray | None = None) -> dict:
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
    checked_maps: ``f(a, b)`` of the examples ``swapped_maps`` holds, computed
      beside them (``None``: ``pred_maps``); the checks may run on a subset.

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
    sw = np.asarray(swapped_maps, np.float64)
    fw = p if checked_maps is None else np.asarray(checked_maps, np.float64)
    if sw.shape != fw.shape or sw.shape[1:] != p.shape[1:]:
      raise ValueError(f"swapped_maps must have the shape of checked_maps (default pred_maps), "
                       f"(M, H, W, T) with (H, W, T) = {p.shape[1:]}; got {sw.shape} and "
                       f"{fw.shape}.")
    out["antisymmetry_error"] = float(np.mean(np.abs(fw + sw)))
    out["antisymmetry_checked"] = int(sw.shape[0])
  if self_maps is not None:
    out["self_map_abs"] = float(np.mean(np.abs(np.asarray(self_maps, np.float64))))
  return out

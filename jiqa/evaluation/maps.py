"""Figures of the distortion-map predictor on held-out images, each beside a trivial baseline.

The metrics only, on host arrays; the pairs they are measured on and the
predictor's maps on them come from :mod:`jiqa.evaluation.map_pairs`.

On **single-distortion pairs under partial masks** (one type per pair, mask
kinds other than ``"full"``, no pristine pairs;
:func:`jiqa.evaluation.map_pairs.single_engine`):

* :func:`type_identification`: is the true type the top-1 / among the top-3
  of the image-level presence logits over all ``T`` types (chance ``1/T`` and
  ``3/T``: 0.04 / 0.12 for 25 types);
* :func:`localisation_auc`: per pair, the ROC AUC of the true type's
  predicted ``|map|`` for pixels inside its support (``|true| > 0``) against
  pixels outside, averaged over the pairs whose support is neither empty nor
  the whole image; baseline: the same AUC of the per-pixel ``|B - A|`` (mean
  over RGB). With ``any_type=True`` the score is the maximum of ``|map|`` over
  the types and the support that of any type ("something is here", for
  held-out types the predictor never saw);
* :func:`sign_accuracy`: on signed types at ``|level| >= 0.4``, whether the
  sign of the mean predicted map over the support is the true sign; baselines:
  chance 0.5, and the type's majority sign on the same data (a predictor that
  is told which image is the reference and knows each type's usual
  direction);
* :func:`strength_spearman`: per type, Spearman's rank correlation of the
  predicted against the true signed map over the support pixels of every
  pair, then averaged over the types; also of the magnitudes (``|map|``
  against ``|true|``) and, as baseline, of ``|B - A|`` against ``|true|``.
  :func:`map_report` gives it for the maps (presence x strength) and, as
  ``strength_spearman_of_strength``, for the signed-strength output alone.

On **multi-distortion triplets** (the split's engine):
:func:`presence_average_precision`, per type the average precision of the
image-level presence logits against the true presence (scikit-learn's
definition: the sum over distinct thresholds of ``(R_n - R_{n-1}) P_n``),
averaged over the types of the split that occur; baseline: a constant score,
whose AP is the type's prevalence.

Hand-written in numpy (scikit-learn and scipy are test dependencies only; the
tests check these against ``roc_auc_score``, ``average_precision_score`` and
``scipy.stats.spearmanr``).

Example:
  >>> s = np.array([0.1, 0.4, 0.35, 0.8]); y = np.array([0, 0, 1, 1])
  >>> float(roc_auc(s, y)), round(float(average_precision(s, y)), 4)
  (0.75, 0.8333)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SIGN_LEVEL = 0.4


def _ranks(x: np.ndarray) -> np.ndarray:
  """Average ranks (1-based) of a 1-D array, ties sharing their mean rank."""
  x = np.asarray(x, np.float64).ravel()
  order = np.argsort(x, kind="mergesort")
  sx = x[order]
  starts = np.r_[0, np.nonzero(np.diff(sx))[0] + 1]
  ends = np.r_[starts[1:], len(sx)]
  avg = (starts + ends + 1) / 2.0  # mean of 1-based ranks starts+1 .. ends
  ranks = np.empty(len(x))
  ranks[order] = np.repeat(avg, ends - starts)
  return ranks


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
  """ROC AUC of ``scores`` for boolean ``labels`` (Mann-Whitney U, ties counted 1/2).

  Raises:
    ValueError: if ``labels`` has no positive or no negative.

  Example:
    >>> roc_auc(np.array([0., 1., 1.]), np.array([0, 1, 0]))
    0.75
  """
  y = np.asarray(labels, bool).ravel()
  npos, nneg = int(y.sum()), int((~y).sum())
  if npos == 0 or nneg == 0:
    raise ValueError("labels must contain both positives and negatives for an AUC.")
  r = _ranks(scores)
  return float((r[y].sum() - npos * (npos + 1) / 2.0) / (npos * nneg))


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
  """Average precision ``sum_n (R_n - R_{n-1}) P_n`` over distinct score thresholds.

  Example:
    >>> average_precision(np.array([0.9, 0.1]), np.array([1, 0]))
    1.0
  """
  y = np.asarray(labels, bool).ravel()
  if not y.any():
    raise ValueError("labels must contain at least one positive for an average precision.")
  s = np.asarray(scores, np.float64).ravel()
  order = np.argsort(-s, kind="mergesort")
  s, y = s[order], y[order]
  last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # last index of each distinct score
  tp = np.cumsum(y)[last]
  precision = tp / (last + 1)
  recall = tp / y.sum()
  return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def spearman(x: np.ndarray, y: np.ndarray) -> float:
  """Spearman's rank correlation (Pearson of average ranks); NaN when one side is constant.

  Example:
    >>> spearman(np.array([1., 2., 3.]), np.array([3., 5., 4.]))
    0.5
  """
  rx, ry = _ranks(x), _ranks(y)
  rx, ry = rx - rx.mean(), ry - ry.mean()
  den = np.sqrt(np.sum(rx * rx) * np.sum(ry * ry))
  return float(np.sum(rx * ry) / den) if den > 0 else float("nan")


def _check(pred_maps, true_maps):
  # Float maps keep their dtype (float32 -> float64 is exact, so ranks, signs and
  # supports are the same; a float64 copy of (384, 96, 96, 25) maps is 700 MB);
  # sums below are taken in float64.
  p, t = _as_float(pred_maps), _as_float(true_maps)
  if p.ndim != 4 or p.shape != t.shape:
    raise ValueError(f"pred_maps and true_maps must both have shape (N, H, W, T); got {p.shape} "
                     f"and {t.shape}.")
  return p, t


def _as_float(x) -> np.ndarray:
  x = np.asarray(x)
  return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def true_types(true_maps: np.ndarray) -> np.ndarray:
  """``(N,)`` the one present type of each single-distortion pair.

  Raises:
    ValueError: if a pair has no or several present types.

  Example:
    >>> true_types(np.zeros((1, 2, 2, 3)) + np.array([0, 0.3, 0])).tolist()
    [1]
  """
  present = np.any(np.abs(_as_float(true_maps)) > 0, axis=(1, 2))
  if not np.all(present.sum(-1) == 1):
    raise ValueError("true_maps: expected exactly one present type per pair (single-distortion "
                     f"pairs); got counts {sorted(set(present.sum(-1).tolist()))}.")
  return present.argmax(-1)


def type_identification(presence_logits: np.ndarray, true_maps: np.ndarray) -> dict:
  """Top-1 / top-3 accuracy of the image-level logits on single-distortion pairs.

  Ties with the true type count against it (a constant predictor scores 0).

  Example:
    >>> t = np.zeros((2, 1, 1, 4)); t[0, ..., 1] = 0.5; t[1, ..., 3] = -0.2
    >>> type_identification(np.array([[0., 2, 1, 0], [3., 2, 1, 0]]), t)["top1"]
    0.5
  """
  logits = np.asarray(presence_logits, np.float64)
  tt = true_types(true_maps)
  if logits.shape != (len(tt), np.shape(true_maps)[-1]):
    raise ValueError(f"presence_logits must have shape (N, T) = {(len(tt), np.shape(true_maps)[-1])}; "
                     f"got {logits.shape}.")
  rank = np.sum(logits >= logits[np.arange(len(tt)), tt][:, None], axis=-1) - 1
  k = logits.shape[-1]
  return {"top1": float(np.mean(rank == 0)), "top3": float(np.mean(rank < 3)),
          "chance_top1": 1.0 / k, "chance_top3": min(3, k) / k, "pairs": int(len(tt))}


def localisation_auc(pred_maps: np.ndarray, true_maps: np.ndarray, reference: np.ndarray,
                     distorted: np.ndarray, *, any_type: bool = False) -> dict:
  """Mean per-pair pixel AUC of the predicted ``|map|`` inside vs outside the support.

  Returns:
    ``{"auc", "auc_abs_diff", "pairs"}``; ``auc`` is ``None`` when no pair has
    a partial support.

  Example:
    >>> t = np.zeros((1, 2, 2, 1)); t[0, 0, :, 0] = 0.5
    >>> r = np.zeros((1, 2, 2, 3)); d = r + t[..., :1]
    >>> localisation_auc(t, t, r, d)["auc"]
    1.0
  """
  p, t = _check(pred_maps, true_maps)
  base = np.abs(np.asarray(distorted, np.float64) - np.asarray(reference, np.float64)).mean(-1)
  if any_type:
    score, support = np.abs(p).max(-1), np.any(np.abs(t) > 0, axis=-1)
  else:
    tt = true_types(t)
    idx = np.arange(len(tt))
    score, support = np.abs(p[idx, ..., tt]), np.abs(t[idx, ..., tt]) > 0
  aucs, bases = [], []
  for i in range(p.shape[0]):
    if 0 < support[i].mean() < 1:
      aucs.append(roc_auc(score[i], support[i]))
      bases.append(roc_auc(base[i], support[i]))
  if not aucs:
    return {"auc": None, "auc_abs_diff": None, "pairs": 0}
  return {"auc": float(np.mean(aucs)), "auc_abs_diff": float(np.mean(bases)), "pairs": len(aucs)}


def sign_accuracy(pred_maps: np.ndarray, true_maps: np.ndarray, signed: Sequence[bool], *,
                  min_level: float = SIGN_LEVEL) -> dict:
  """Sign of the mean predicted map over the support vs the true sign, signed types only.

  Counts every (pair, signed type) whose true ``max |map|`` is at least
  ``min_level``.

  Example:
    >>> t = np.zeros((2, 1, 2, 1)); t[0] = 0.5; t[1] = -0.6
    >>> sign_accuracy(-t, t, [True])["accuracy"], sign_accuracy(t, t, [True])["accuracy"]
    (0.0, 1.0)
  """
  rows, ok, major = sign_pieces(pred_maps, true_maps, signed, min_level=min_level)
  ok, base = ok[rows], major[rows]
  return {"accuracy": float(np.mean(ok)) if ok.size else None, "pairs": int(ok.size),
          "chance": 0.5, "majority_sign": float(np.mean(base)) if base.size else None}


def sign_pieces(pred_maps: np.ndarray, true_maps: np.ndarray, signed: Sequence[bool], *,
                min_level: float = SIGN_LEVEL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Per (pair, type), ``(N, T)`` booleans: counted by :func:`sign_accuracy`; predicted sign
  right; the type's majority sign (over the counted rows of all pairs) right.

  Example:
    >>> t = np.zeros((2, 1, 2, 1)); t[0] = 0.5; t[1] = -0.6
    >>> [a.ravel().tolist() for a in sign_pieces(t, t, [True])]
    [[True, True], [True, True], [True, False]]
  """
  p, t = _check(pred_maps, true_maps)
  signed = np.asarray(signed, bool)
  if signed.shape != (t.shape[-1],):
    raise ValueError(f"signed must have T = {t.shape[-1]} entries; got {signed.shape}.")
  support = np.abs(t) > 0
  count = np.maximum(support.sum(axis=(1, 2)), 1)
  mp = np.sum(np.where(support, p, 0), axis=(1, 2), dtype=np.float64) / count
  mt = np.sum(np.where(support, t, 0), axis=(1, 2), dtype=np.float64) / count
  rows = (np.abs(t).max(axis=(1, 2)) >= min_level) & signed[None]
  # Baseline: each type's majority sign of the true maps on this data.
  major = np.where(np.sum(np.sign(mt) * rows, axis=0) >= 0, 1.0, -1.0)
  return rows, np.sign(mp) == np.sign(mt), np.broadcast_to(major, mt.shape) == np.sign(mt)


def strength_spearman(pred_maps: np.ndarray, true_maps: np.ndarray, reference: np.ndarray,
                      distorted: np.ndarray, *, min_pixels: int = 10) -> dict:
  """Per-type Spearman correlation over the support pixels of all pairs, averaged over types.

  Returns:
    ``{"signed", "magnitude", "magnitude_abs_diff", "types"}``: predicted vs true
    signed maps, ``|pred|`` vs ``|true|``, and the baseline ``|B - A|`` vs
    ``|true|``.

  Example:
    >>> t = np.linspace(-1, 1, 16).reshape(1, 4, 4, 1); r = np.zeros((1, 4, 4, 3))
    >>> strength_spearman(0.5 * t, t, r, r + np.abs(t))["signed"]
    1.0
  """
  p, t = _check(pred_maps, true_maps)
  base = np.abs(np.asarray(distorted, np.float64) - np.asarray(reference, np.float64)).mean(-1)
  out = {"signed": [], "magnitude": [], "magnitude_abs_diff": []}
  for k in range(t.shape[-1]):
    sup = np.abs(t[..., k]) > 0
    if sup.sum() < min_pixels:
      continue
    x, y = p[..., k][sup], t[..., k][sup]
    vals = (spearman(x, y), spearman(np.abs(x), np.abs(y)), spearman(base[sup], np.abs(y)))
    for name, v in zip(out, vals):
      out[name].append(v)
  res = {name: (float(np.nanmean(v)) if v and not np.all(np.isnan(v)) else None)
         for name, v in out.items()}
  res["types"] = len(out["signed"])
  return res


def presence_average_precision(presence_logits: np.ndarray, true_maps: np.ndarray, *,
                               names: Sequence[str], types: Sequence[str]) -> dict:
  """Per-type AP of the image-level presence logits on multi-distortion triplets.

  Returns:
    ``{"mean_ap", "mean_prevalence", "per_type": {name: {"ap", "prevalence"}}}``
    over the types of ``types`` that occur at least once.

  Example:
    >>> t = np.zeros((2, 1, 1, 2)); t[0, ..., 0] = 0.3
    >>> presence_average_precision(np.array([[1., 0], [0, 0]]), t, names=("a", "b"),
    ...                            types=("a", "b"))["mean_ap"]
    1.0
  """
  logits = np.asarray(presence_logits, np.float64)
  present = np.any(np.abs(np.asarray(true_maps)) > 0, axis=(1, 2))
  if logits.shape != present.shape:
    raise ValueError(f"presence_logits must have shape (N, T) = {present.shape}; got {logits.shape}.")
  names = list(names)
  per = {}
  for name in types:
    i = names.index(name)
    if present[:, i].any():
      per[name] = {"ap": average_precision(logits[:, i], present[:, i]),
                   "prevalence": float(present[:, i].mean())}
  if not per:
    return {"mean_ap": None, "mean_prevalence": None, "per_type": {}}
  return {"mean_ap": float(np.mean([v["ap"] for v in per.values()])),
          "mean_prevalence": float(np.mean([v["prevalence"] for v in per.values()])),
          "per_type": per}


def map_report(single: dict, single_preds: dict, multi: dict, multi_preds: dict, *,
               names: Sequence[str], types: Sequence[str], signed: Sequence[bool]) -> dict:
  """Every figure of the module on one split (data dicts hold ``reference, distorted, maps``;
  prediction dicts ``maps, presence_logits``).

  Example:
    >>> figs = map_report(single, sp, multi, mp, names=n, types=n, signed=s)  # doctest: +SKIP
  """
  ref, dist, true = single["reference"], single["distorted"], single["maps"]
  pm = single_preds["maps"]
  return {
      "single_pairs": int(true.shape[0]),
      "type_identification": type_identification(single_preds["presence_logits"], true),
      "localisation": localisation_auc(pm, true, ref, dist),
      "localisation_any_type": localisation_auc(pm, true, ref, dist, any_type=True),
      "sign": sign_accuracy(pm, true, signed),
      "strength_spearman": strength_spearman(pm, true, ref, dist),
      # The same on the signed-strength output itself (not multiplied by the presence).
      "strength_spearman_of_strength": (
          strength_spearman(single_preds["strength"], true, ref, dist)
          if "strength" in single_preds else None),
      "presence_ap": presence_average_precision(multi_preds["presence_logits"], multi["maps"],
                                                names=names, types=types),
  }


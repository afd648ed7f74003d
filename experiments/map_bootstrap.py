"""How sure are the map figures? Bootstrap intervals over the report's held-out pairs.

  python -m experiments.map_bootstrap --workdir W [--split seen_types|heldout_types]
                                      [--resamples 500] [--json OUT]

The main job's map figures (:func:`jiqa.evaluation.maps.map_report`) are
measured on a few hundred single-distortion pairs (96 per held-out photo, 4
photos), so each is an estimate. This script rebuilds exactly the report's
pairs of one split (same key, engine, crops; :func:`jiqa.evaluation.evaluate`
derives them as ``fold_in(key(eval.seed), 10 + split)``), runs the run's map
predictor on them, checks that the point figures equal the ones in the run's
``report.json``, and resamples the *pairs* with replacement
(``scipy.stats.bootstrap``, percentile intervals) for:

* type top-1 and top-3 (:func:`jiqa.evaluation.maps.type_identification`);
* sign accuracy on signed types at ``|level| >= 0.4`` and its majority-sign
  baseline (:func:`jiqa.evaluation.maps.sign_accuracy`);
* strength Spearman, signed and magnitude, the ``|B - A|`` baseline and the
  paired difference magnitude minus baseline
  (:func:`jiqa.evaluation.maps.strength_spearman`).

Measured on the 1400-step run of 2026-12-06 (seen types, 384 pairs, 500
resamples, 8.4 min on the 2-core machine): type top-1 0.672 [0.622, 0.715],
sign accuracy 0.990 [0.965, 1.000], strength Spearman signed 0.796 [0.743,
0.815], magnitude 0.808 [0.764, 0.826], its ``|B - A|`` baseline 0.692 [0.653,
0.708], magnitude minus baseline 0.115 [0.090, 0.138]. Resampling pairs puts
repeated pixels in a resample (ties), which pulls the rank correlations down a
little: the point figure sits in the upper part of its interval.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from experiments import run_args

import numpy as np

SPLITS = ("seen_types", "heldout_types")


def _tie_groups(v: np.ndarray) -> tuple[np.ndarray, int]:
  """Each value's group of equal values, groups numbered in increasing order of value."""
  order = np.argsort(v, kind="stable")
  sv = v[order]
  gid = np.cumsum(np.r_[True, sv[1:] != sv[:-1]]) - 1
  groups = np.empty(len(v), np.int64)
  groups[order] = gid
  return groups, int(gid[-1]) + 1 if len(v) else 0


def _weighted_ranks(groups: np.ndarray, num_groups: int, w: np.ndarray) -> np.ndarray:
  """Average ranks (1-based) of values repeated ``w`` times, from their tie groups."""
  gw = np.bincount(groups, weights=w, minlength=num_groups)
  return (np.cumsum(gw) - gw + (gw + 1.0) / 2.0)[groups]


def weighted_spearman(x_groups, y_groups, w: np.ndarray) -> float:
  """Spearman's rho of the data with each value repeated ``w`` times (``w`` >= 0 integers).

  ``x_groups`` / ``y_groups`` are :func:`_tie_groups` of ``x`` and ``y``: the
  sorting is done once, and each resample costs ``O(n)``, not a sort of the
  repeated data.

  Example:
    >>> x, y = np.array([1., 2., 3.]), np.array([1., 3., 2.])
    >>> w = np.array([2, 1, 1])
    >>> round(weighted_spearman(_tie_groups(x), _tie_groups(y), w), 6)  # spearman of [1,1,2,3], [1,1,3,2]
    0.777778
  """
  rx, ry = _weighted_ranks(*x_groups, w), _weighted_ranks(*y_groups, w)
  total = w.sum()
  if total < 2:
    return float("nan")
  dx, dy = rx - np.sum(w * rx) / total, ry - np.sum(w * ry) / total
  den = np.sqrt(np.sum(w * dx * dx) * np.sum(w * dy * dy))
  return float(np.sum(w * dx * dy) / den) if den > 0 else float("nan")


def support_pixels(pred_maps: np.ndarray, true_maps: np.ndarray, base: np.ndarray
                   ) -> dict[int, tuple]:
  """Per type ``k`` with support: its support pixels' pair ids and the tie groups of the
  predicted, true and base values, their magnitudes (``|pred|``, ``|true|``).

  ``base`` is ``(N, H, W)`` (the per-pixel ``|B - A|``). A resample of the
  pairs then only weighs these pixels by how often their pair was drawn.

  Example:
    >>> t = np.zeros((2, 1, 2, 1)); t[1, 0, 0, 0] = 0.5
    >>> support_pixels(t, t, np.ones((2, 1, 2)))[0][0]
    array([1])
  """
  out = {}
  for k in range(true_maps.shape[-1]):
    sup = np.abs(true_maps[..., k]) > 0
    if sup.any():
      x = pred_maps[..., k][sup].astype(np.float64)
      y = true_maps[..., k][sup].astype(np.float64)
      out[k] = (np.nonzero(sup)[0],) + tuple(
          _tie_groups(v) for v in (x, y, np.abs(x), np.abs(y), base[sup].astype(np.float64)))
  return out


def strength_from_support(support: dict, index: np.ndarray, *, num_pairs: int,
                          min_pixels: int = 10) -> dict:
  """:func:`jiqa.evaluation.maps.strength_spearman` of the pairs ``index`` (with repeats).

  Example:
    >>> t = np.linspace(-1, 1, 16).reshape(1, 4, 4, 1)
    >>> s = support_pixels(0.5 * t, t, np.abs(t)[..., 0])
    >>> strength_from_support(s, np.array([0]), num_pairs=1)["signed"]
    1.0
  """
  counts = np.bincount(index, minlength=num_pairs).astype(np.float64)
  out = {"signed": [], "magnitude": [], "magnitude_abs_diff": []}
  for ids, gx, gy, gax, gay, gb in support.values():
    w = counts[ids]
    if w.sum() < min_pixels:
      continue
    out["signed"].append(weighted_spearman(gx, gy, w))
    out["magnitude"].append(weighted_spearman(gax, gay, w))
    out["magnitude_abs_diff"].append(weighted_spearman(gb, gay, w))
  res = {k: float(np.nanmean(v)) if v and not np.all(np.isnan(v)) else float("nan")
         for k, v in out.items()}
  res["magnitude_minus_abs_diff"] = res["magnitude"] - res["magnitude_abs_diff"]
  return res


def figures(index: np.ndarray, pre: dict) -> dict[str, float]:
  """Every bootstrapped figure on the pairs ``index`` (``pre``: :func:`precompute`'s output).

  Example:
    >>> figs = figures(np.arange(n), pre)  # doctest: +SKIP
  """
  from jiqa.evaluation import maps as maps_lib

  tid = maps_lib.type_identification(pre["logits"][index], pre["true_small"][index])
  rows = pre["sign_rows"][index]
  ok, base = pre["sign_ok"][index][rows], pre["sign_major"][index][rows]
  out = {"top1": tid["top1"], "top3": tid["top3"],
         "sign": float(np.mean(ok)) if ok.size else float("nan"),
         "sign_majority": float(np.mean(base)) if base.size else float("nan")}
  strength = strength_from_support(pre["support"], index, num_pairs=len(pre["logits"]))
  out.update({f"strength_{k}": v for k, v in strength.items()})
  return out


def precompute(pairs: dict, preds: dict, signed) -> dict:
  """The per-pair pieces the figures are built from (so a resample only gathers rows).

  Example:
    >>> pre = precompute(pairs, preds, distortions.signed_types())  # doctest: +SKIP
  """
  from jiqa.evaluation import maps as maps_lib

  t, p = np.asarray(pairs["maps"]), np.asarray(preds["maps"])
  base = np.abs(np.asarray(pairs["distorted"], np.float64)
                - np.asarray(pairs["reference"], np.float64)).mean(-1)
  # The majority sign is that of the whole data (the report's baseline), held fixed.
  rows, ok, major = maps_lib.sign_pieces(p, t, signed)
  # One pixel per pair keeps type_identification's input small: it reads only which type.
  small = np.max(np.abs(t), axis=(1, 2), keepdims=True)
  return {"logits": np.asarray(preds["presence_logits"]), "true_small": small,
          "sign_rows": rows, "sign_ok": ok, "sign_major": major,
          "support": support_pixels(p, t, base)}


def bootstrap(pre: dict, n: int, *, resamples: int, seed: int = 0) -> dict[str, dict]:
  """Point figure and 95% percentile interval of each figure, pairs resampled by scipy.

  Example:
    >>> ci = bootstrap(pre, 384, resamples=1000)  # doctest: +SKIP
  """
  from scipy import stats

  point = figures(np.arange(n), pre)
  names = list(point)
  stat = lambda idx: np.array([figures(idx.astype(int), pre)[k] for k in names])  # noqa: E731
  res = stats.bootstrap((np.arange(n),), stat, n_resamples=resamples, vectorized=False,
                        method="percentile", random_state=np.random.default_rng(seed))
  return {k: {"point": point[k], "low": float(res.confidence_interval.low[i]),
              "high": float(res.confidence_interval.high[i]),
              "se": float(res.standard_error[i])} for i, k in enumerate(names)}


def main(argv: list[str] | None = None) -> dict:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--workdir", required=True, help="a training run's folder (jiqa run --out)")
  p.add_argument("--split", default="seen_types", choices=SPLITS)
  p.add_argument("--resamples", type=int, default=500)
  p.add_argument("--json", default=None, help="where to write the intervals")
  a = p.parse_args(argv)
  if a.resamples < 10:
    p.error(f"--resamples: expected >= 10; got {a.resamples}.")
  run_args.check_run_args(p, a)

  import jax

  from jiqa import distortions
  from jiqa.distortions import compose
  from jiqa.evaluation import map_pairs
  from jiqa.training import loop

  config, model = run_args.restore_map_predictor(p, a.workdir)
  e, i = config.eval, SPLITS.index(a.split)
  if i == 1 and not tuple(e.holdout_types):
    p.error("--split heldout_types: the run holds out no types.")
  pairs = map_pairs.make_single_pairs(
      jax.random.fold_in(jax.random.key(int(e.get("seed", 1))), 10 + i),
      np.asarray(loop.load_pool(config).heldout),
      engine=compose.run_engine_config(config, heldout=bool(i)),
      crop_size=int(e.get("map_crop_size", e.crop_size)),
      pairs_per_image=int(e.get("map_pairs_per_image", 8)))
  preds = map_pairs.predict_maps(model, pairs["reference"], pairs["distorted"])
  n = pairs["maps"].shape[0]
  pre = precompute(pairs, preds, distortions.signed_types())
  report_path = os.path.join(a.workdir, "report.json")
  if os.path.exists(report_path):  # the rebuilt pairs must be the report's
    with open(report_path) as f:
      got = json.load(f)["evaluation"][a.split]["maps"]["strength_spearman"]["signed"]
    again = figures(np.arange(n), pre)["strength_signed"]
    print(f"strength Spearman (signed) in report.json {got:.6f}, rebuilt pairs {again:.6f}")
    if abs(got - again) > 1e-6:
      raise ValueError(f"--workdir: the rebuilt pairs give strength Spearman {again:.6f}, the "
                       f"run's report.json {got:.6f}: the engine or the evaluation changed "
                       "since the run, so these are not the report's pairs.")
  out = bootstrap(pre, n, resamples=a.resamples)
  print(f"{a.split}: {n} pairs, {a.resamples} resamples of the pairs, 95% percentile intervals")
  for k, v in out.items():
    print(f"  {k:34s} {v['point']:.3f}  [{v['low']:.3f}, {v['high']:.3f}]  (se {v['se']:.3f})")
  if a.json:
    with open(a.json, "w") as f:
      json.dump({"split": a.split, "pairs": int(n), "resamples": a.resamples, "figures": out},
                f, indent=1)
  return out


if __name__ == "__main__":
  try:
    main()
  except ValueError as e:
    sys.exit(f"error: {e}")

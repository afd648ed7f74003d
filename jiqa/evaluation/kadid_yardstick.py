"""The KADID-10k cell yardstick of a training run's scorer, for the run's report.

:mod:`jiqa.evaluation.kadid_cells` makes KADID-10k's 125 (type, level) cells
with the engine and compares any predictors' cell means with KADID's MOS; this
module runs it for a trained :class:`~jiqa.models.RelationalScorer` on the run's
held-out photos, beside the built-in metrics that ``config.eval.kadid_metrics``
names (:func:`run_yardstick`, called by :mod:`jiqa.evaluation.report` when
``config.eval.kadid_cells`` is on), and prints it as a few summary lines. The
MOS is for evaluation only: nothing here is fitted to it.
"""

from __future__ import annotations

import numpy as np

from jiqa.evaluation.kadid_cells import (KADID_SIZE, Predictor, builtin_predictors,
                                        default_reference, evaluate)

__all__ = ["scorer_predictor", "run_yardstick", "summary_lines"]


def scorer_predictor(scorer, *, mesh=None) -> Predictor:
  """``fn(reference, distorted) -> (N,)`` of a :class:`~jiqa.models.RelationalScorer`, jitted.

  The weights are an argument of the jitted function (not constants folded into it).

  Example:
    >>> from flax import nnx
    >>> from jiqa.models import DeviationScorer
    >>> fn = scorer_predictor(DeviationScorer(num_scales=1, rngs=nnx.Rngs(0)))
    >>> x = np.full((2, 8, 8, 3), 0.5, np.float32)
    >>> fn(x, x).tolist()
    [0.0, 0.0]
  """
  import contextlib

  import jax
  from flax import nnx

  graphdef, state = nnx.split(scorer)
  fn = jax.jit(lambda st, r, d: nnx.merge(graphdef, st)(r, d))

  def predict(reference, distorted):
    with jax.set_mesh(mesh) if mesh is not None else contextlib.nullcontext():
      out = fn(state, np.asarray(reference, np.float32), np.asarray(distorted, np.float32))
    return np.asarray(out, np.float64)

  return predict


def run_yardstick(config, scorer, *, mesh=None, progress: bool = False,
                  untrained=None) -> dict:
  """The yardstick of a run's scorer on its held-out photos, beside the four metrics.

  With ``untrained`` (the same scorer at its initialisation,
  :func:`jiqa.training.initial_models`), that trivial baseline is measured too,
  as ``"untrained"``, and the scorer's paired differences include it: what
  training added, on the same cells.

  Reads ``config.eval``: ``kadid_size`` (``(H, W)``, default :data:`KADID_SIZE`),
  ``kadid_images`` (how many of the held-out photos, default all),
  ``kadid_gmc_samples`` (default 30), ``kadid_metrics`` (the built-in
  predictors beside the scorer, a comma-separated subset of
  :func:`builtin_predictors`, default all four; SSIM and MS-SSIM are about half
  of the time at 192x256 on a CPU). The photos are the run's
  ``data.holdout_images`` as loaded (the bundled photos, or those of
  ``data.folder``), before the pool's square crop. Per-image scores are left out.

  Returns:
    :func:`evaluate`'s result without ``"scores"``, or ``{"skipped": reason}``
    when the reference file is missing or no held-out photo is named.

  Example:
    >>> res = run_yardstick(config, models.scorer)  # doctest: +SKIP
  """
  from jiqa import images as images_lib

  e = config.eval
  names = tuple(config.data.get("holdout_images", ()))
  if not names or isinstance(names, int):
    return {"skipped": "config.data.holdout_images names no photo"}
  if not default_reference().is_file():
    return {"skipped": f"{default_reference()} not found (set JIQA_GMC_REFERENCE)"}
  folder = config.data.get("folder") or None
  if folder:
    photos = {k: v for k, v in images_lib.load_folder(folder).items() if k in names}
  else:
    photos = images_lib.bundled_images(names)
  count = int(e.get("kadid_images", 0) or len(photos))
  photos = dict(list(photos.items())[:count])
  size = tuple(int(v) for v in e.get("kadid_size", KADID_SIZE))
  builtins = builtin_predictors()
  wanted = [m for m in str(e.get("kadid_metrics", ",".join(builtins))).split(",") if m]
  if [m for m in wanted if m not in builtins]:
    raise ValueError(f"config.eval.kadid_metrics: expected names from {sorted(builtins)}; got "
                     f"{wanted}.")
  predictors = {"scorer": scorer_predictor(scorer, mesh=mesh),
                **{m: builtins[m] for m in wanted}}
  if untrained is not None:
    predictors["untrained"] = scorer_predictor(untrained, mesh=mesh)
  res = evaluate(photos, predictors, size=size, gmc_samples=int(e.get("kadid_gmc_samples", 30)),
                 progress=progress, compare_to=(*builtins, "untrained"))
  res.pop("scores", None)
  return res


def summary_lines(result: dict) -> list[str]:
  """Short lines for a report's summary: cell Spearman / Pearson / Kendall, strict level order.

  Example:
    >>> r = {"num_images": 1, "size": [8, 8], "num_cells": 125, "predictors": {"psnr": {
    ...     "spearman": .5, "pearson": .4, "kendall": .3,
    ...     "within_type": {"severity": {"strict_share": 1.0, "mean_spearman": 1.0}}}}}
    >>> print("\\n".join(summary_lines(r)))
    KADID-10k cells (human MOS, evaluation only) on 1 held-out photos at 8x8, 125 cells:
    predictor   Spearman Pearson Kendall  level-rho strict-levels
    psnr           0.500   0.400   0.300      1.000          1.00
    >>> r["differences"] = {"scorer": {"psnr": {"difference": .1, "low": .02, "high": .2}}}
    >>> summary_lines(r)[-1]
    'scorer minus each baseline, cell Spearman (95% paired bootstrap over cells): psnr +0.100 [+0.020, +0.200]'
  """
  if "skipped" in result:
    return [f"KADID-10k cells: skipped ({result['skipped']})"]
  lines = [f"KADID-10k cells (human MOS, evaluation only) on {result['num_images']} held-out "
           f"photos at {result['size'][0]}x{result['size'][1]}, {result['num_cells']} cells:",
           f"{'predictor':<10}{'Spearman':>10}{'Pearson':>8}{'Kendall':>8}"
           f"{'level-rho':>11}{'strict-levels':>14}"]
  f = lambda v: "       -" if v is None else f"{v:8.3f}"  # noqa: E731
  for n, p in result["predictors"].items():
    w = p["within_type"]["severity"]
    lines.append(f"{n:<10}{f(p['spearman']):>10}{f(p['pearson'])}{f(p['kendall'])}"
                 f"{f(w['mean_spearman']):>11}{w['strict_share']:>14.2f}")
  for n, diffs in result.get("differences", {}).items():
    if diffs:
      lines.append(f"{n} minus each baseline, cell Spearman (95% paired bootstrap over cells): "
                   + ", ".join(f"{o} {d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"
                               for o, d in diffs.items()))
  return lines

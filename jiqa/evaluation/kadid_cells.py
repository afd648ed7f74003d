"""The human yardstick: KADID-10k's 125 (type, level) cells, made by jiqa's engine.

KADID-10k's images are not available, but its MOS are (``predictions.csv`` of
the shared GMC reference data: 81 contents x 25 types x 5 levels, row
``125 content + 5 type + level``, types in KADID's numbering, which is the
order of :func:`jiqa.distortions.names`). So the comparison is made per
*cell*: :mod:`jiqa.evaluation.kadid_engine` applies each cell with jiqa's
engine at KADID's parameters to given KADID-like photos and scores each
distorted image against its pristine photo by each predictor (``fn(reference,
distorted) -> (N,)``, higher = better; PSNR, SSIM, MS-SSIM and negated GMSD
built in); this module averages the scores per cell and compares the 125 cell
means with KADID's cell-mean MOS.

Figures per predictor: Spearman, Pearson and Kendall (tau-b) of the cell means
against the cell-mean MOS (:mod:`jiqa.metrics.correlation`, which matches
scipy); a GMC surface over the 125 cells (cells as items, the cell mean of the
file's rater std as their std); and the within-type level order: per type, the
Spearman of its five cell means against the five cell-mean MOS (``"mos"``) and
against the nominal severity (``"severity"``: the level, ``|level|`` for the
signed types; higher severity must score lower), and the share of types whose
five cells are ordered strictly right. The engine's fidelity
(:func:`fidelity`) compares its per-cell PSNR with KADID's.

**The MOS is for evaluation only**: nothing here is fitted to it.

Example:
  >>> from jiqa.evaluation import kadid_cells
  >>> kadid_cells.cell_levels().shape
  (25, 5)
  >>> res = kadid_cells.evaluate(photos)  # doctest: +SKIP
  >>> res["predictors"]["gmsd"]["spearman"]  # doctest: +SKIP
"""

from __future__ import annotations

import os
import pathlib
import time
from collections.abc import Mapping, Sequence

import numpy as np

from jiqa.evaluation.kadid_engine import (  # noqa: F401 (API: the cells, without the MOS)
    KADID_SIZE, N_CELLS, N_LEVELS, N_TYPES, PSNR_CAP, SIGNED_LEVELS, Predictor, _kadid_specs,
    builtin_predictors, cell_levels, cell_scores, distort_cells, distort_image_cells, kadid_like)
from jiqa.evaluation.kadid_figures import (fidelity, spearman_difference,  # noqa: F401 (API)
                                           within_type)
from jiqa.metrics import correlation

N_CONTENTS = 81


def default_reference() -> pathlib.Path:
  """``$JIQA_GMC_REFERENCE/kadid10k/predictions.csv`` (default ``../shared/gmc-reference``).

  Example:
    >>> default_reference().name
    'predictions.csv'
  """
  root = pathlib.Path(os.environ.get("JIQA_GMC_REFERENCE", "../shared/gmc-reference"))
  return root / "kadid10k" / "predictions.csv"


def read_kadid(path: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
  """KADID-10k's per-image columns (MOS, std, psnr, ...) as ``(81, 25, 5)`` arrays.

  The row order is checked as ``experiments/kadid_severity_check`` does (rows 0
  and 10, type 1 and 3 at L1, are identities at PSNR 80 dB) and more strictly:
  the cells at 80 dB for most contents must be exactly those whose KADID
  parameter is jiqa's identity (motion blur L1, Lab saturation L1, mean shift
  L3) plus Gaussian blur L1 (sigma 0.1, an identity after 8-bit rounding).

  Raises:
    ValueError: if the file is missing or is not in KADID-10k's order.

  Example:
    >>> read_kadid()["mos"].shape  # doctest: +SKIP
    (81, 25, 5)
  """
  import pandas as pd

  path = pathlib.Path(default_reference() if path is None else path)
  if not path.is_file():
    raise ValueError(f"path: {path} not found (set JIQA_GMC_REFERENCE to the shared folder).")
  d = pd.read_csv(path)
  if len(d) != N_CONTENTS * N_CELLS or not {"mos", "std", "psnr"} <= set(d.columns):
    raise ValueError(f"path: {path} must have {N_CONTENTS * N_CELLS} rows and mos, std, psnr.")
  out = {c: d[c].to_numpy(np.float64).reshape(N_CONTENTS, N_TYPES, N_LEVELS) for c in d.columns}
  at80 = (out["psnr"] >= 79.9).mean(axis=0) >= 0.9
  want = np.zeros((N_TYPES, N_LEVELS), bool)
  want[0, 0] = True  # Gaussian blur L1
  for t, s in enumerate(_kadid_specs()):
    for lv in range(N_LEVELS):
      value = s.kadid_params[lv]
      want[t, lv] |= s.identity_param is not None and value == s.identity_param
  if not (d["psnr"].iloc[0] >= 79.9 and d["psnr"].iloc[10] >= 79.9) or not (at80 == want).all():
    raise ValueError(f"path: {path}'s rows are not in KADID-10k's order (identity cells "
                     f"at {np.argwhere(at80).tolist()}, expected {np.argwhere(want).tolist()}).")
  return out


def evaluate(images: Mapping[str, np.ndarray] | Sequence[np.ndarray],
             predictors: Mapping[str, Predictor] | None = None, *,
             size: tuple[int, int] = KADID_SIZE, seed: int = 0, quantize: bool = True,
             reference: str | os.PathLike | None = None, gmc_samples: int = 50,
             types: Sequence[str] | None = None, progress: bool = True,
             batch_cells: int = 25,
             compare_to: Sequence[str] = ("psnr", "ssim", "ms_ssim", "gmsd"),
             resamples: int = 2000) -> dict:
  """The KADID cell yardstick and the engine's fidelity on ``images`` (JSON-ready).

  Args:
    images: photos, float ``(H, W, 3)`` in ``[0, 1]`` (a dict name -> photo, or a list).
    predictors: ``{name: fn(reference, distorted) -> (N,) scores}``, higher = better;
      ``None``: :func:`builtin_predictors`. Engine PSNR is always computed (fidelity).
    size: the KADID-like ``(height, width)`` of :func:`kadid_like`.
    seed: the PRNG seed; image ``i``, type ``t``, level ``l`` use ``fold_in`` of it.
    quantize: round distorted images to 8 bits, as KADID's PNGs are.
    reference: KADID's ``predictions.csv`` (default :func:`default_reference`).
    gmc_samples: Latin-hypercube sample points of the GMC surface (125 items).
    types: a subset of KADID's type names to evaluate (default all 25: 125 cells).
    progress: show a tqdm bar over the images.
    batch_cells: distorted images per predictor call (rounded down to whole
      types; the cells of one image are made in one call).
    compare_to: the predictors every other one is compared with (those present):
      Spearman difference and its paired bootstrap interval over the cells
      (:func:`~jiqa.evaluation.kadid_figures.spearman_difference`).
    resamples: bootstrap resamples of those intervals.

  Returns:
    ``{"cells": {...}, "predictors": {name: {"cell_means", "spearman", "pearson",
    "kendall", "gmc", "within_type": {"mos", "severity"}}}, "differences": {name: {other:
    {"difference", "low", "high"}}}, "gmc": <jiqa.gmc.evaluate result>, "fidelity": {type:
    ...}, "scores": {name: (images, 25, 5) lists},
    "engine_psnr": (images, 25, 5) list, ...}``.

  Example:
    >>> res = evaluate({"chelsea": photo})  # doctest: +SKIP
  """
  from jiqa import gmc

  if isinstance(images, Mapping):
    names_img, photos = list(images), list(images.values())
  else:
    photos = list(images)
    names_img = [f"image_{i}" for i in range(len(photos))]
  if not photos:
    raise ValueError("images: expected at least one (H, W, 3) photo; got none.")
  if gmc_samples < 3:
    raise ValueError(f"gmc_samples: expected at least 3 sample points; got {gmc_samples}.")
  predictors = builtin_predictors() if predictors is None else dict(predictors)
  if not all(callable(f) for f in predictors.values()):
    raise ValueError("predictors: expected a dict of callables fn(reference, distorted).")
  all_types = [s.name for s in _kadid_specs()]
  types = all_types if types is None else list(types)
  bad = [t for t in types if t not in all_types]
  if bad or not types or len(set(types)) != len(types):
    raise ValueError(f"types: expected distinct names from {all_types}; got {types}.")
  sel = [all_types.index(t) for t in types]
  kadid = {k: v[:, sel] for k, v in read_kadid(reference).items()}
  t0 = time.perf_counter()
  # The engine's PSNR (fidelity) under a name no predictor can have.
  scores = cell_scores(photos, {**predictors, "\0engine psnr": builtin_predictors()["psnr"]},
                       size=size, seed=seed, quantize=quantize, types=sel,
                       batch_cells=batch_cells, progress=progress)
  psnr = scores.pop("\0engine psnr")
  t1 = time.perf_counter()
  mos = kadid["mos"].mean(axis=0)
  std = kadid["std"].mean(axis=0)
  levels = cell_levels()[sel]
  severity = np.abs(levels)
  means = {n: s.mean(axis=0) for n, s in scores.items()}
  shape = kadid_like(photos[0], size=size).shape[:2]  # (W, H) for a portrait photo
  result = {"images": names_img, "num_images": len(photos), "size": list(shape),
            "seed": seed, "quantize": quantize, "num_cells": int(mos.size), "types": types,
            "cells": {"levels": levels.tolist(), "mos": mos.tolist(), "mos_std": std.tolist()},
            "predictors": {}, "scores": {n: s.tolist() for n, s in scores.items()},
            "engine_psnr": psnr.tolist()}
  g = None
  if predictors:
    g = gmc.evaluate(mos.ravel(), {n: m.ravel() for n, m in means.items()}, std=std.ravel(),
                     num_samples=gmc_samples, seed=seed)
  for n, m in means.items():
    x, y = m.ravel(), mos.ravel()
    ok = np.ptp(x) > 0
    result["predictors"][n] = {
        "cell_means": m.tolist(),
        "spearman": correlation.srcc(x, y) if ok else None,
        "pearson": correlation.plcc(x, y) if ok else None,
        "kendall": correlation.krcc(x, y) if ok else None,
        "gmc": {k: g["models"][n][k]["gmc"] for k in g["methods"]},
        "within_type": {"mos": within_type(m, mos, types),
                        "severity": within_type(m, -severity, types)}}
  result["differences"] = {
      n: {o: spearman_difference(means[n], means[o], mos, resamples=resamples, seed=seed)
          for o in compare_to if o in means and o != n and np.ptp(means[o]) > 0}
      for n in means if n not in compare_to and np.ptp(means[n]) > 0}
  result["gmc"] = g
  result["fidelity"] = fidelity(psnr.mean(axis=0), np.minimum(kadid["psnr"], PSNR_CAP).mean(0),
                                types)
  result["seconds"] = {"cells": t1 - t0, "total": time.perf_counter() - t0}
  return result

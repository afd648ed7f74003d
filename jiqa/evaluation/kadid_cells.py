"""The human yardstick: KADID-10k's 125 (type, level) cells, made by jiqa's engine.

KADID-10k's images are not available, but its MOS are (``predictions.csv`` of
the shared GMC reference data: 81 contents x 25 types x 5 levels, row
``125 content + 5 type + level``, types in KADID's numbering, which is the
order of :func:`jiqa.distortions.names`). So the comparison is made per
*cell*: each cell is applied with jiqa's engine at KADID's parameters (levels
0.2 ... 1.0, the signed tables of ``mean_shift`` and ``contrast_change``) to
given photos, whole-image (no spatial mask); each distorted image is scored
against its pristine photo by each predictor; the scores are averaged per cell
and the 125 cell means compared with KADID's cell-mean MOS.

The photos are made KADID-like first (:func:`kadid_like`): centre-cropped to
KADID's 4:3 aspect, resized to 512 x 384 (landscape; 384 x 512 for portrait
photos) with PIL's antialiased bicubic from 8-bit pixels, as KADID's pristine
images are 8-bit 512 x 384 downscales. The distorted images are rounded to 8
bits too (KADID stores PNGs; this is what makes its Gaussian blur L1, sigma
0.1, an identity at PSNR 80 dB). PSNR is capped at 80 dB, the file's value
for identical images.

Every predictor is ``fn(reference, distorted) -> scores``: batches ``(N, H, W,
3)`` to ``(N,)``, **higher = better**. The built-ins (:func:`builtin_predictors`)
are PSNR, SSIM, MS-SSIM and negated GMSD of :mod:`jiqa.metrics`.

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

import functools
import os
import pathlib
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from jiqa.distortions import brightness, sharpness
from jiqa.distortions.spec import KADID_LEVELS
from jiqa.evaluation.kadid_figures import (fidelity, spearman_difference,  # noqa: F401 (API)
                                           within_type)
from jiqa.metrics import correlation

N_CONTENTS, N_TYPES, N_LEVELS = 81, 25, 5
N_CELLS = N_TYPES * N_LEVELS
KADID_SIZE = (384, 512)  # (H, W) of KADID-10k's images (landscape).
PSNR_CAP = 80.0          # predictions.csv's PSNR of identical images.
# The signed level of KADID's L1..L5 for the ops that take a signed level.
SIGNED_LEVELS = {**brightness.KADID_SIGNED_LEVELS, **sharpness.KADID_SIGNED_LEVELS}

Predictor = Callable[[np.ndarray, np.ndarray], np.ndarray]


def default_reference() -> pathlib.Path:
  """``$JIQA_GMC_REFERENCE/kadid10k/predictions.csv`` (default ``../shared/gmc-reference``).

  Example:
    >>> default_reference().name
    'predictions.csv'
  """
  root = pathlib.Path(os.environ.get("JIQA_GMC_REFERENCE", "../shared/gmc-reference"))
  return root / "kadid10k" / "predictions.csv"


def _kadid_specs():
  from jiqa import distortions

  specs = distortions.specs()[:N_TYPES]
  if [s.kadid_index for s in specs] != list(range(1, N_TYPES + 1)):
    raise ValueError("distortions.specs(): the first 25 types are not KADID's 1..25 in order.")
  return specs


def cell_levels() -> np.ndarray:
  """The engine level of each cell, ``(25, 5)``, types in KADID order.

  ``KADID_LEVELS`` (0.2 ... 1.0) for every type, except the signed ones, whose
  tables put KADID's L1..L5 parameters at signed levels.

  Example:
    >>> cell_levels()[17].tolist()   # mean_shift: +0.15, +0.08, 0, -0.08, -0.15
    [1.0, 0.5, 0.0, -0.5, -1.0]
  """
  rows = []
  for s in _kadid_specs():
    if s.signed_level and s.name not in SIGNED_LEVELS:
      raise ValueError(f"distortions: signed type {s.name!r} has no KADID level table.")
    rows.append(SIGNED_LEVELS.get(s.name, KADID_LEVELS))
  return np.asarray(rows, np.float32)


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


def kadid_like(image: np.ndarray, *, size: tuple[int, int] = KADID_SIZE) -> np.ndarray:
  """One photo as a KADID-like pristine: 4:3 centre crop, 8-bit bicubic resize.

  Args:
    image: float ``(H, W, 3)`` in ``[0, 1]``.
    size: ``(height, width)`` for a landscape photo; swapped for a portrait one.

  Example:
    >>> kadid_like(np.zeros((300, 451, 3), np.float32)).shape
    (384, 512, 3)
  """
  from PIL import Image

  image = np.asarray(image)
  if image.ndim != 3 or image.shape[-1] != 3:
    raise ValueError(f"image: expected one (H, W, 3) RGB image; got shape {image.shape}.")
  h, w = (size[1], size[0]) if image.shape[0] > image.shape[1] else size
  ih, iw = image.shape[:2]
  ch, cw = (ih, round(ih * w / h)) if iw * h > ih * w else (round(iw * h / w), iw)
  top, left = (ih - ch) // 2, (iw - cw) // 2
  crop = np.round(np.clip(image[top:top + ch, left:left + cw], 0, 1) * 255).astype(np.uint8)
  out = Image.fromarray(crop).resize((w, h), Image.Resampling.BICUBIC)
  return np.asarray(out, np.float32) / 255.0


@functools.cache
def builtin_predictors() -> dict[str, Predictor]:
  """PSNR (capped at 80 dB), SSIM, MS-SSIM and negated GMSD: higher = better.

  Example:
    >>> sorted(builtin_predictors())
    ['gmsd', 'ms_ssim', 'psnr', 'ssim']
  """
  import jax

  from jiqa import metrics

  psnr, ssim, ms_ssim, gmsd = (jax.jit(f) for f in (metrics.psnr, metrics.ssim,
                                                    metrics.ms_ssim, metrics.gmsd))
  return {"psnr": lambda r, d: np.minimum(np.nan_to_num(np.asarray(psnr(r, d)),
                                                        posinf=PSNR_CAP), PSNR_CAP),
          "ssim": lambda r, d: np.asarray(ssim(r, d)),
          "ms_ssim": lambda r, d: np.asarray(ms_ssim(r, d)),
          "gmsd": lambda r, d: -np.asarray(gmsd(r, d))}


def distort_cells(key, image: np.ndarray, type_index: int, *, quantize: bool = True,
                  types: Sequence[int] | None = None) -> np.ndarray:
  """The five cells of KADID type ``type_index`` (0-based) on one image, ``(5, H, W, 3)``.

  Level ``l`` uses ``jax.random.fold_in(key, l)``. One compiled program serves
  every type of ``types`` (default all 25; a ``lax.switch`` on the unbatched type
  runs only that op, inside a ``lax.map`` over the five levels), so the ops
  compile once per image size instead of once each.

  Example:
    >>> import jax
    >>> grey = np.full((8, 8, 3), .5, np.float32)
    >>> distort_cells(jax.random.key(0), grey, 17, types=[17])[2, 0, 0]  # mean shift L3
    array([0.5019608, 0.5019608, 0.5019608], dtype=float32)
  """
  types = tuple(range(N_TYPES)) if types is None else tuple(int(t) for t in types)
  if type_index not in types:
    raise ValueError(f"type_index: expected one of {types}; got {type_index}.")
  out = np.asarray(_cells_program(types)(key, np.asarray(image, np.float32),
                                         np.int32(types.index(type_index)),
                                         cell_levels()[type_index]))
  return np.round(out * 255) / np.float32(255) if quantize else out


def distort_image_cells(key, image: np.ndarray, *, quantize: bool = True,
                        types: Sequence[int] | None = None) -> np.ndarray:
  """Every cell of ``types`` (default all 25) on one image in one call, ``(T, 5, H, W, 3)``.

  The same images as :func:`distort_cells` with key ``jax.random.fold_in(key, t)``
  for type ``t`` (a ``lax.map`` over the types around its program), so
  :func:`evaluate` dispatches once per image instead of once per type.

  Example:
    >>> import jax
    >>> grey = np.full((8, 8, 3), .5, np.float32)
    >>> out = distort_image_cells(jax.random.key(0), grey, types=[0, 17])
    >>> out.shape, bool((out[1] == distort_cells(jax.random.fold_in(jax.random.key(0), 17),
    ...                                           grey, 17, types=[0, 17])).all())
    ((2, 5, 8, 8, 3), True)
  """
  types = tuple(range(N_TYPES)) if types is None else tuple(int(t) for t in types)
  out = np.asarray(_image_program(types)(key, np.asarray(image, np.float32),
                                         cell_levels()[list(types)]))
  return np.round(out * 255) / np.float32(255) if quantize else out


_PROGRAMS: dict = {}


def _image_program(types: tuple[int, ...]):
  if ("image", types) not in _PROGRAMS:
    import jax

    cells = _cells_fn(types)

    def image_cells(key, image, levels):
      return jax.lax.map(lambda a: cells(jax.random.fold_in(key, a[0]), image, a[1], a[2]),
                         (np.asarray(types, np.int32), np.arange(len(types), dtype=np.int32),
                          levels))

    _PROGRAMS[("image", types)] = jax.jit(image_cells)
  return _PROGRAMS[("image", types)]


def _cells_fn(types: tuple[int, ...]):
  """``cells(key, image, branch, levels) -> (5, H, W, 3)``: the five levels of ``types[branch]``."""
  import jax

  specs = _kadid_specs()
  ops = [specs[t].fn for t in types]

  def cells(key, image, branch, levels):
    return jax.lax.map(lambda a: jax.lax.switch(
        branch, ops, jax.random.fold_in(key, a[0]), image, a[1]),
        (np.arange(N_LEVELS), levels))

  return cells


def _cells_program(types: tuple[int, ...]):
  if types not in _PROGRAMS:
    import jax

    _PROGRAMS[types] = jax.jit(_cells_fn(types))
  return _PROGRAMS[types]


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
  import jax
  from tqdm.auto import tqdm

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
  photos = [kadid_like(p, size=size) for p in photos]
  engine_psnr = builtin_predictors()["psnr"]
  scores = {n: np.zeros((len(photos), len(sel), N_LEVELS)) for n in predictors}
  psnr = np.zeros((len(photos), len(sel), N_LEVELS))
  t0 = time.perf_counter()
  key = jax.random.key(seed)
  per_call = max(1, int(batch_cells) // N_LEVELS)  # types per predictor call
  for i in tqdm(range(len(photos)), desc="kadid cells", disable=not progress):
    # Type t of image i uses fold_in(fold_in(key, i), t), level l fold_in of that by l.
    dist = distort_image_cells(jax.random.fold_in(key, i), photos[i], quantize=quantize,
                               types=sel)
    for j0 in range(0, len(sel), per_call):
      d = dist[j0:j0 + per_call].reshape((-1,) + dist.shape[2:])
      ref = np.broadcast_to(photos[i], d.shape)
      m = d.shape[0] // N_LEVELS
      for n, fn in predictors.items():
        scores[n][i, j0:j0 + m] = np.asarray(fn(ref, d), np.float64).reshape(m, N_LEVELS)
      psnr[i, j0:j0 + m] = np.asarray(engine_psnr(ref, d)).reshape(m, N_LEVELS)
  t1 = time.perf_counter()
  for n, v in scores.items():
    if not np.all(np.isfinite(v)):
      raise ValueError(f"predictors: {n!r} returned non-finite scores (expected finite, "
                       "higher = better).")
  mos = kadid["mos"].mean(axis=0)
  std = kadid["std"].mean(axis=0)
  levels = cell_levels()[sel]
  severity = np.abs(levels)
  means = {n: s.mean(axis=0) for n, s in scores.items()}
  result = {"images": names_img, "num_images": len(photos), "size": list(photos[0].shape[:2]),
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

"""KADID-10k's 125 (type, level) cells made by jiqa's engine, and scored: no human data.

Each cell is applied with jiqa's engine at KADID's parameters (levels 0.2 ...
1.0, the signed tables of ``mean_shift`` and ``contrast_change``) to given
photos, whole-image (no spatial mask), and each distorted image is scored
against its pristine photo by each predictor (:func:`cell_scores`).

The photos are made KADID-like first (:func:`kadid_like`): centre-cropped to
KADID's 4:3 aspect, resized to 512 x 384 (landscape; 384 x 512 for portrait
photos) with PIL's antialiased bicubic from 8-bit pixels, as KADID's pristine
images are 8-bit 512 x 384 downscales. The distorted images are rounded to 8
bits too (KADID stores PNGs; this is what makes its Gaussian blur L1, sigma
0.1, an identity at PSNR 80 dB). PSNR is capped at 80 dB, the value of
KADID's ``predictions.csv`` for identical images.

Every predictor is ``fn(reference, distorted) -> scores``: batches ``(N, H, W,
3)`` to ``(N,)``, **higher = better**. The built-ins (:func:`builtin_predictors`)
are PSNR, SSIM, MS-SSIM and negated GMSD of :mod:`jiqa.metrics`.

Nothing here reads KADID's MOS: :mod:`jiqa.evaluation.kadid_cells` compares
these cell scores with it (the human yardstick), and
``experiments/level_order`` uses them alone (the within-type level order on
the engine's cells, on photos of one's choice) to choose between models
without touching human data.

Example:
  >>> from jiqa.evaluation import kadid_engine
  >>> kadid_engine.cell_levels().shape
  (25, 5)
  >>> s = kadid_engine.cell_scores([photo], size=(192, 256))  # doctest: +SKIP
  >>> s["gmsd"].shape  # doctest: +SKIP
  (1, 25, 5)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from jiqa.distortions import brightness, sharpness
from jiqa.distortions.spec import KADID_LEVELS

N_TYPES, N_LEVELS = 25, 5
N_CELLS = N_TYPES * N_LEVELS
KADID_SIZE = (384, 512)  # (H, W) of KADID-10k's images (landscape).
PSNR_CAP = 80.0          # predictions.csv's PSNR of identical images.
# The signed level of KADID's L1..L5 for the ops that take a signed level.
SIGNED_LEVELS = {**brightness.KADID_SIGNED_LEVELS, **sharpness.KADID_SIGNED_LEVELS}

Predictor = Callable[[np.ndarray, np.ndarray], np.ndarray]


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




def cell_scores(photos: Sequence[np.ndarray], predictors: Mapping[str, Predictor] | None = None,
                *, size: tuple[int, int] = KADID_SIZE, seed: int = 0, quantize: bool = True,
                types: Sequence[int] | None = None, batch_cells: int = 25,
                progress: bool = True, desc: str = "kadid cells") -> dict[str, np.ndarray]:
  """Each predictor's score of every cell on every photo, ``{name: (images, T, 5)}`` float64.

  Photo ``i`` is made KADID-like (:func:`kadid_like` at ``size``), its cells are
  made in one call (:func:`distort_image_cells`; type ``t`` uses ``fold_in(fold_in(key,
  i), t)``, level ``l`` ``fold_in`` of that by ``l``, ``key = jax.random.key(seed)``),
  and each predictor scores them against the photo, ``batch_cells`` images a call.

  Args:
    photos: float ``(H, W, 3)`` photos in ``[0, 1]``.
    predictors: ``{name: fn(reference, distorted) -> (N,)}``, higher = better;
      ``None``: :func:`builtin_predictors`.
    size: the KADID-like ``(height, width)``.
    seed: the PRNG seed.
    quantize: round distorted images to 8 bits, as KADID's PNGs are.
    types: KADID type indices (0-based), default all 25.
    batch_cells: distorted images per predictor call (rounded down to whole types).
    progress: show a tqdm bar over the photos.
    desc: the bar's label.

  Raises:
    ValueError: for no photos, a predictor that is not callable, or non-finite scores.

  Example:
    >>> grey = np.full((176, 176, 3), .5, np.float32)
    >>> s = cell_scores([grey], {"zero": lambda r, d: np.zeros(len(d))}, size=(176, 176),
    ...                 types=[17], progress=False)
    >>> s["zero"].shape
    (1, 1, 5)
  """
  import jax
  from tqdm.auto import tqdm

  photos = list(photos)
  if not photos:
    raise ValueError("photos: expected at least one (H, W, 3) photo; got none.")
  predictors = builtin_predictors() if predictors is None else dict(predictors)
  if not all(callable(f) for f in predictors.values()):
    raise ValueError("predictors: expected a dict of callables fn(reference, distorted).")
  sel = list(range(N_TYPES)) if types is None else [int(t) for t in types]
  if not sel or len(set(sel)) != len(sel) or not all(0 <= t < N_TYPES for t in sel):
    raise ValueError(f"types: expected distinct KADID type indices in [0, {N_TYPES}); "
                     f"got {sel}.")
  scores = {n: np.zeros((len(photos), len(sel), N_LEVELS)) for n in predictors}
  key = jax.random.key(seed)
  per_call = max(1, int(batch_cells) // N_LEVELS)  # types per predictor call
  for i in tqdm(range(len(photos)), desc=desc, disable=not progress):
    photo = kadid_like(photos[i], size=size)
    dist = distort_image_cells(jax.random.fold_in(key, i), photo, quantize=quantize, types=sel)
    for j0 in range(0, len(sel), per_call):
      d = dist[j0:j0 + per_call].reshape((-1,) + dist.shape[2:])
      ref = np.broadcast_to(photo, d.shape)
      m = d.shape[0] // N_LEVELS
      for n, fn in predictors.items():
        scores[n][i, j0:j0 + m] = np.asarray(fn(ref, d), np.float64).reshape(m, N_LEVELS)
  for n, v in scores.items():
    if not np.all(np.isfinite(v)):
      raise ValueError(f"predictors: {n!r} returned non-finite scores (expected finite, "
                       "higher = better).")
  return scores

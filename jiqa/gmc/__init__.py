"""Granularity-Modulated Correlation (GMC, arXiv 2601.21738) in JAX.

GMC asks how well an IQA model ranks images *at a given quality level Q and a
given granularity Qd* (the MOS difference between the images compared). Each
pair of images gets a weight from a distribution regulator (``weights``) and a
granularity modulator (``surface``); weighted PLCC/SRCC/KRCC at sample points
(``sampling``) form a surface, which a local-linear kernel regression fits
(``fit``); its average height is the model's GMC score.

Example:
  >>> import numpy as np, jiqa.gmc as gmc
  >>> rng = np.random.default_rng(0); mos = rng.uniform(1, 5, 200)
  >>> res = gmc.evaluate(mos, {"noisy": mos + rng.normal(0, .5, 200)},
  ...                    std=np.full(200, .6), num_samples=30, methods=("PLCC",))
  >>> 0 < res["models"]["noisy"]["PLCC"]["gmc"] < 1
  True
"""

from __future__ import annotations

import functools
import math
import operator
import time
import warnings
from collections.abc import Mapping, Sequence

import jax
import numpy as np

from jiqa.gmc import budget, fit, io, sampling, surface, weights
from jiqa.gmc.plots import save_html, save_png

_regulator = weights  # the module; evaluate's `weights` argument shadows the name

__all__ = ["evaluate", "save_png", "save_html", "budget", "fit", "io", "sampling", "surface", "weights"]


@functools.partial(jax.jit, static_argnums=(1, 2))
def _draw_points(seed, n, mos_range):
  """Latin-hypercube points as one compiled program (eagerly, each op would compile)."""
  return sampling.sample_points(jax.random.key(seed), n, mos_range)


def _integer(value, name: str, low: int, why: str) -> int:
  try:
    if isinstance(value, bool):
      raise TypeError
    value = operator.index(value)
  except TypeError:
    raise ValueError(f"{name} must be an integer >= {low} ({why}), got {value!r}.") from None
  if value < low:
    raise ValueError(f"{name} must be an integer >= {low} ({why}), got {value}.")
  return value


def evaluate(mos: jax.typing.ArrayLike, predictions: Mapping[str, jax.typing.ArrayLike], *,
             std: jax.typing.ArrayLike | None = None, weights: jax.typing.ArrayLike | None = None,
             samples: jax.typing.ArrayLike | None = None, num_samples: int = 100, seed: int = 0,
             methods: Sequence[str] = surface.METHODS, std_scale: float = 1.0, phi: float = 3.0,
             dtype: str = "float64", pair_dtype: str = "float32",
             mesh: jax.sharding.Mesh | None = None, progress: bool = False, block: int = 128) -> dict:
  """GMC surfaces and scores of several models (the structure the CLI writes as JSON).

  Args:
    mos: (N,) mean opinion scores.
    predictions: {model name: (N,) predicted scores}.
    std: (N,) per-image MOS std; if None it is estimated by the Beta model with ``phi``
      and the regulator uses LDS weights.
    weights: (N,) regulator weights overriding the computed ones.
    samples: (K, 2) (Q, Qd) points; if None, ``num_samples`` Latin-hypercube points
      drawn with ``seed``.
    methods: subset of ("PLCC", "SRCC", "KRCC").
    std_scale: factor on the std inside the pair weights (the granularity kernel width).
    phi: Beta-model precision for the std estimate.
    dtype: "float64" or "float32" for the pairwise sums.
    pair_dtype: "float32" (default) or "float64" for the pair weights' exponentials and
      the products within a block row (``surface`` docstring: float32 moves the
      correlations by ~1e-8 and is ~3x faster on CPU).
    mesh: optional ``jax.make_mesh`` mesh; the pair blocks are spread over its first axis.
    progress: show a tqdm bar over the pair blocks.
    block: pair-block size (memory O(K block^2)).

  Returns:
    ``{"models": {name: {"global": {"PLCC", "SRCC", "KRCC"}, METHOD: {"points":
    [[Q, Qd, value], ...], "gmc": score, "bandwidth": [hQ, hQd]}}}, "samples": ...,
    "mos_range": [lo, hi], "num_images": N, "std_source": ..., "weights_source": ...,
    "dtype": ..., "notes": [...], "seconds": {...}}``. Each method's entry also has
    ``"clipped"``: the share of the 100 x 100 grid where the fitted surface left
    [-1, 1] and was clipped (0 for every published reference surface); each such
    case is explained in ``"notes"`` and raised as a ``RuntimeWarning``.

  Raises:
    ValueError: before any work, for bad inputs or options, or when the run would
      need more memory than is available (``budget.check``).
  """
  methods = tuple(methods)
  unknown = [m for m in methods if m not in surface.METHODS]
  if unknown or not methods:
    raise ValueError(f"methods must be a non-empty subset of {surface.METHODS}, got {methods}.")
  for name, value in (("dtype", dtype), ("pair_dtype", pair_dtype)):
    if value not in ("float32", "float64"):
      raise ValueError(f"{name} must be 'float32' or 'float64', got {value!r}.")
  if not (math.isfinite(std_scale) and std_scale > 0):
    raise ValueError(f"std_scale must be a finite number > 0, got {std_scale}.")
  if not (math.isfinite(phi) and phi > -1):
    raise ValueError(f"phi must be a finite number > -1 (Beta-model precision), got {phi}.")
  block = _integer(block, "block", 1, "pairs per block side")
  mos, preds, std, w = io.validate_inputs(mos, predictions, std, weights)
  lo, hi = float(mos.min()), float(mos.max())
  if samples is None:
    num_samples = _integer(num_samples, "num_samples", 3, "the surface fit needs 3 points")
    num_points = num_samples
  else:
    pts = sampling.check_points(samples, (lo, hi))
    if pts.shape[0] < 3:
      raise ValueError(f"samples: the surface fit needs at least 3 sample points, got {pts.shape[0]}.")
    num_points = pts.shape[0]
  budget.check(mos.size, num_points, len(preds), block=block, dtype=dtype,
               devices=1 if mesh is None else mesh.devices.size)
  with jax.enable_x64(True):  # each a single compiled program (eager ops would compile one by one)
    if std is None:
      std_source = f"beta(phi={phi:g})"
      std = np.asarray(jax.jit(_regulator.beta_std, static_argnames="phi")(mos, phi=phi))
      weights_source = "lds"
      computed = np.asarray(jax.jit(_regulator.lds_weights)(mos))
    else:
      std_source = "given"
      weights_source = "gaussian"
      computed = np.asarray(jax.jit(_regulator.gaussian_weights)(mos, std))
  if w is None:
    w = computed
  else:
    weights_source = "given"
  if samples is None:
    pts = np.asarray(_draw_points(seed, num_samples, (lo, hi)), np.float64)
  t0 = time.perf_counter()
  values = surface.surface(mos, preds, pts, std=std * std_scale, weights=w, methods=methods,
                           dtype=dtype, pair_dtype=pair_dtype, mesh=mesh, progress=progress,
                           block=block)
  t1 = time.perf_counter()
  # Imported here, not at the top: scipy.stats takes ~0.5 s to import, which the CLI hides
  # behind the surface computation (``jiqa.gmc.cli.main`` imports it in a thread meanwhile).
  from jiqa.metrics import correlation

  models, notes = {}, []
  for name, p in preds.items():
    entry = {"global": {"PLCC": correlation.plcc(p, mos), "SRCC": correlation.srcc(p, mos),
                        "KRCC": correlation.krcc(p, mos)}}
    for m in methods:
      v = np.asarray(values[name][m], np.float64)
      z, bw = fit.fit_surface(pts, v, (lo, hi))
      outside = float(np.mean(np.abs(z) > 1.0))
      score = fit.average_height(np.clip(z, -1.0, 1.0), (lo, hi))
      if outside:
        notes.append(f"{name} {m}: the local-linear fit of {len(pts)} sample points overshoots "
                     f"[-1, 1] on {100 * outside:.1f}% of the grid (unclipped average "
                     f"{fit.average_height(z, (lo, hi)):.4f}); heights clipped to [-1, 1], GMC "
                     f"{score:.4f}. Use more sample points for a trustworthy surface.")
      entry[m] = {"points": np.column_stack([pts, v]).tolist(), "gmc": score,
                  "bandwidth": bw.tolist(), "clipped": outside}
    models[name] = entry
  for note in notes:
    warnings.warn(note, RuntimeWarning, stacklevel=2)
  t2 = time.perf_counter()
  return {"models": models, "methods": list(methods), "samples": pts.tolist(),
          "mos_range": [lo, hi], "num_images": int(mos.size), "std_source": std_source,
          "weights_source": weights_source, "std_scale": std_scale, "dtype": dtype,
          "pair_dtype": pair_dtype,
          "notes": notes, "seconds": {"surface": t1 - t0, "fit": t2 - t1}}


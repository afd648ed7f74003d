"""Evaluation of a trained run on held-out images, for seen and held-out types.

For each split of distortion types (the training types, ``"seen_types"``, and
``config.eval.holdout_types``, ``"heldout_types"``) the same engine config
family as training (:func:`jiqa.distortions.compose.run_engine_config`) makes, from
random crops of the held-out images, one triplet and one tier per crop (tiers
in ``config.eval.tier_mode``, ``"mixed"`` by default: each tier image carries
its own composition, see :mod:`jiqa.distortions.tiers`; with
``config.eval.scaled_tiers`` also one ``"scaled"`` tier per crop, one
composition at growing strength, reported as ``tiers_scaled``: there PSNR is
nearly perfect by construction). Then:

* map predictor on the triplets: map MAE, per-type presence accuracy, sign
  accuracy on signed types, anti-symmetry error ``mean |f(a,b) + f(b,a)|`` and
  ``mean |f(a,a)|`` (:func:`jiqa.evaluation.stats.map_figures`); and, under
  ``"maps"``, type identification, localisation, sign and strength on
  single-distortion pairs (``config.eval.map_pairs_per_image`` random crops of
  side ``config.eval.map_crop_size``, default ``crop_size``, per image) and
  presence AP on the triplets, each beside a trivial baseline
  (:mod:`jiqa.evaluation.maps`);
* scorer, the same scorer untrained (``"untrained"``: the run's models at
  initialisation, :func:`jiqa.training.initial_models`, a trivial baseline of
  what training added) and the full-reference metrics PSNR, SSIM, MS-SSIM and
  GMSD (negated, as it is a distortion) on the very same tiers, each image against
  the tier's pristine crop: within-tier Kendall tau and pairwise accuracy, and
  the GMC surface and score of each over all tier images with severity as the
  quality axis (``quality = 1 + 4 (1 - severity / max severity)``, a 1..5 MOS-like
  scale; GMC with ``std=None``: LDS weights and Beta standard deviations);
  with ``config.eval.nested_pairs``, ``"nested"``: the share of pairs
  ``(x, B(x))`` (a further engine composition on top of a tier image) that each
  predictor orders ``x`` first, an order that is certain, unlike the mixed
  tiers' nominal cross-type severity.

PSNR of an image identical to its reference is infinite; it is capped at
100 dB so the statistics stay finite.

Example:
  >>> report = evaluate(config, graphdef, state, pool.heldout, mesh=m)  # doctest: +SKIP
  >>> report["seen_types"]["tiers"]["scorer"]["pairwise_accuracy"]    # doctest: +SKIP
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import os
from typing import Any

import jax
import ml_collections
import numpy as np
from flax import nnx
from tqdm.auto import tqdm

from jiqa.evaluation import stats
from jiqa.training import data as data_lib
from jiqa.training import state as state_lib

PSNR_CAP = 100.0
FR_METRICS = ("psnr", "ssim", "ms_ssim", "gmsd")


def make_eval_data(key: jax.Array, images: np.ndarray, *, engine, crop_size: int,
                   crops_per_image: int, tier_size: int, tier_mode: str = "mixed",
                   scaled_tiers: bool = False, nested: bool = False) -> dict[str, np.ndarray]:
  """Crops of every image, and one triplet and one tier per crop (host arrays).

  With ``scaled_tiers`` also one scaled tier per crop; with ``nested`` also, for
  every tier image ``x``, ``"nested"``: ``B(x)``, a further composition of the
  engine on top of it (the distorted image of a triplet made from ``x``), which
  is certainly worse than ``x`` wherever it differs from it.

  Example:
    >>> d = make_eval_data(jax.random.key(1), imgs, engine=eng, crop_size=64,
    ...                    crops_per_image=4, tier_size=5)  # doctest: +SKIP
  """
  from jiqa import distortions

  images = np.asarray(images)
  if images.ndim != 4 or images.shape[0] < 1:
    raise ValueError(f"images must be a non-empty (N, S, S, 3) array; got {images.shape}.")

  @jax.jit
  def one_image(k, image):
    keys = data_lib.example_keys(k, crops_per_image)
    crops = jax.vmap(lambda kk: data_lib.random_crop(
        jax.random.fold_in(kk, 0), image[None], crop_size=crop_size, flip=False))(keys)
    trip = distortions.make_triplets(jax.random.fold_in(k, 1), crops, config=engine)
    tier = distortions.make_tiers(jax.random.fold_in(k, 2), crops, n=tier_size, config=engine,
                                  mode=tier_mode)
    scaled = (distortions.make_tiers(jax.random.fold_in(k, 3), crops, n=tier_size,
                                     config=engine, mode="scaled") if scaled_tiers else None)
    on_top = None
    if nested:
      flat = tier.images.reshape((-1,) + tier.images.shape[2:])
      on_top = distortions.make_triplets(jax.random.fold_in(k, 4), flat,
                                         config=engine)[1].reshape(tier.images.shape)
    return crops, trip, tier, scaled, on_top

  parts = [jax.device_get(one_image(jax.random.fold_in(key, i), images[i]))
           for i in range(images.shape[0])]
  cat = lambda f: np.concatenate([f(p) for p in parts])  # noqa: E731
  extra = {}
  if scaled_tiers:
    extra = {"scaled_tier_images": cat(lambda p: p[3][0]),
             "scaled_tier_severity": cat(lambda p: p[3][1])}
  if nested:
    extra["nested"] = cat(lambda p: p[4])
  return {**extra,
      "crops": cat(lambda p: p[0]),
      "reference": cat(lambda p: p[1][0]), "distorted": cat(lambda p: p[1][1]),
      "maps": cat(lambda p: p[1][2]),
      "tier_images": cat(lambda p: p[2][0]), "tier_severity": cat(lambda p: p[2][1]),
      "tier_maps": cat(lambda p: p[2][2]),
  }


def _chunked(fn, *arrays, chunk: int = 32, mesh=None):
  """``fn`` over row chunks of ``arrays``; under ``mesh`` each chunk is split along ``"data"``."""
  def put(x):
    if mesh is None or x.shape[0] % mesh.size:
      return x
    from jiqa.training import mesh as mesh_lib
    return jax.device_put(x, mesh_lib.batch_sharding(mesh))

  outs = [jax.device_get(fn(*(put(a[i:i + chunk]) for a in arrays)))
          for i in range(0, arrays[0].shape[0], chunk)]
  return jax.tree.map(lambda *xs: np.concatenate(xs), *outs)


def fr_scores(images: np.ndarray, reference: np.ndarray) -> dict[str, np.ndarray]:
  """PSNR (capped), SSIM, MS-SSIM and negated GMSD of ``images`` against ``reference``.

  Higher is better for all four outputs.

  Example:
    >>> fr_scores(imgs, refs)["psnr"].shape  # doctest: +SKIP
  """
  from jiqa import metrics

  fns = {name: jax.jit(getattr(metrics, name)) for name in FR_METRICS}
  out = {name: np.asarray(_chunked(fn, images, reference), np.float64)
         for name, fn in fns.items()}
  out["psnr"] = np.minimum(np.nan_to_num(out["psnr"], posinf=PSNR_CAP), PSNR_CAP)
  out["gmsd"] = -out["gmsd"]
  return out


# The exactness checks f(b, a) = -f(a, b) and f(a, a) = 0 run on the first quarter of each
# chunk (they hold by construction and are tested; on every triplet they were 2/3 of
# _map_outputs' time: 10.4 s of a split's 32 triplets at 176 px, 2026-12-06).
CHECK_FRACTION = 4
# Triplets per map-predictor call. 8, not 32 (one call per split of the CPU default): the two
# splits run side by side, and the 176 px forwards of 32 triplets took the evaluation's peak
# RSS to 14.3 GB against 10.3 GB with 8, in the same time (experiments.evaluate on the
# shipped run, 2026-12-06; every figure the same but the map MAE, which moved by 1e-8).
MAP_CHUNK = 8


@functools.partial(jax.jit, static_argnums=0)
def _map_outputs(graphdef, state, ref, dist):
  f = nnx.merge(graphdef, state).map_predictor  # MapPredictor(a, b): maps of b relative to a.
  fwd = f(ref, dist)
  k = max(1, ref.shape[0] // CHECK_FRACTION)
  # f(a, b) and f(b, a) of the checked triplets at one batch shape (XLA:CPU's convolutions
  # round differently at another, ~1e-7: the model is exact for calls of one shape).
  r, d = ref[:k], dist[:k]
  return fwd.maps, fwd.presence_logits, f(r, d).maps, f(d, r).maps, f(r, r).maps


@functools.partial(jax.jit, static_argnums=0)
def _tier_scores(graphdef, state, images, reference):
  from jiqa.models import scorer as scorer_lib

  return scorer_lib.tier_scores(nnx.merge(graphdef, state).scorer, reference, images)


def predict(models: state_lib.Models, data: dict[str, np.ndarray], *,
            mesh=None) -> dict[str, np.ndarray]:
  """Runs the models of a run on evaluation data (whichever models exist).

  The weights are arguments of the jitted functions (not constants folded
  into them); with ``mesh`` each chunk of examples is split along ``"data"``.

  Example:
    >>> preds = predict(models, data)  # doctest: +SKIP
  """
  graphdef, state = nnx.split(models)
  out = {}
  if models.map_predictor is not None:
    (out["maps"], out["presence_logits"], out["checked_maps"], out["swapped_maps"],
     out["self_maps"]) = _chunked(functools.partial(_map_outputs, graphdef, state),
                                  data["reference"], data["distorted"], mesh=mesh,
                                  chunk=MAP_CHUNK)
  if models.scorer is not None:
    score = functools.partial(_tier_scores, graphdef, state)
    out["tier_scores"] = np.asarray(_chunked(score, data["tier_images"], data["crops"],
                                             chunk=8, mesh=mesh), np.float64)
    if "scaled_tier_images" in data:
      out["scaled_tier_scores"] = np.asarray(_chunked(
          score, data["scaled_tier_images"], data["crops"], chunk=8, mesh=mesh), np.float64)
    if "nested" in data:
      out["nested_scores"] = np.asarray(_chunked(score, data["nested"], data["crops"], chunk=8,
                                                 mesh=mesh), np.float64)
  return out


def _tier_figures(predictors: dict[str, np.ndarray], severity: np.ndarray) -> dict:
  return {name: {"kendall_tau": stats.tier_kendall_tau(s, severity),
                 "pairwise_accuracy": stats.tier_pairwise_accuracy(s, severity)}
          for name, s in predictors.items()}


def evaluate_split(models: state_lib.Models, data: dict[str, np.ndarray], *, types,
                   gmc_samples: int, seed: int, mesh=None,
                   untrained_scorer=None) -> dict[str, Any]:
  """All figures of one split of types on its evaluation data.

  With ``untrained_scorer`` (the run's scorer at its initialisation), its tier
  figures stand beside the scorer's as ``"untrained"``: what training added.

  Example:
    >>> evaluate_split(models, data, types=("jpeg",), gmc_samples=10, seed=0)  # doctest: +SKIP
  """
  from jiqa import distortions, gmc

  preds = predict(models, data, mesh=mesh)
  names = tuple(distortions.names())
  result: dict[str, Any] = {"types": list(types), "num_triplets": int(data["maps"].shape[0]),
                            "num_tiers": int(data["tier_images"].shape[0]),
                            "tier_size": int(data["tier_images"].shape[1])}
  if "maps" in preds:
    result["map"] = stats.map_figures(
        preds["maps"], preds["presence_logits"], data["maps"], names=names, types=types,
        signed=np.asarray(distortions.signed_types()), swapped_maps=preds["swapped_maps"],
        self_maps=preds["self_maps"], checked_maps=preds["checked_maps"])
  b, n = data["tier_images"].shape[:2]
  flat = data["tier_images"].reshape((b * n,) + data["tier_images"].shape[2:])
  refs = np.repeat(data["crops"], n, axis=0)
  predictors = {k: v.reshape(b, n) for k, v in fr_scores(flat, refs).items()}
  base = {}
  if "tier_scores" in preds and untrained_scorer is not None:
    base = predict(state_lib.Models(None, untrained_scorer), data, mesh=mesh)
  if "tier_scores" in preds:
    predictors = {"scorer": preds["tier_scores"], **predictors}
    if base:
      predictors["untrained"] = base["tier_scores"]
  severity = np.asarray(data["tier_severity"], np.float64)
  result["tiers"] = _tier_figures(predictors, severity)
  if "scaled_tier_images" in data:
    sc = data["scaled_tier_images"]
    scaled = {k: v.reshape(b, n) for k, v in fr_scores(
        sc.reshape((b * n,) + sc.shape[2:]), refs).items()}
    if "scaled_tier_scores" in preds:
      scaled = {"scorer": preds["scaled_tier_scores"], **scaled}
      if base:
        scaled["untrained"] = base["scaled_tier_scores"]
    result["tiers_scaled"] = _tier_figures(
        scaled, np.asarray(data["scaled_tier_severity"], np.float64))
  if "nested" in data:
    nested = {k: v.reshape(b, n) for k, v in fr_scores(
        data["nested"].reshape((b * n,) + data["nested"].shape[2:]), refs).items()}
    if "nested_scores" in preds:
      nested = {"scorer": preds["nested_scores"], **nested}
      if base:
        nested["untrained"] = base["nested_scores"]
    changed = np.abs(data["nested"] - data["tier_images"]).reshape(b, n, -1).max(-1) > 0
    result["nested"] = {k: stats.nested_accuracy(predictors[k], v, changed)
                        for k, v in nested.items()}
    if "scorer" in nested and changed.any():  # paired over the tiers, as drawn together
      result["nested_differences"] = {
          k: stats.nested_difference(predictors["scorer"], nested["scorer"], predictors[k], v,
                                     changed, seed=seed)
          for k, v in nested.items() if k != "scorer"}
  top = max(float(severity.max()), 1e-12)
  quality = 1.0 + 4.0 * (1.0 - severity.reshape(-1) / top)
  gmc_result = gmc.evaluate(quality, {k: v.reshape(-1) for k, v in predictors.items()},
                            std=None, num_samples=gmc_samples, seed=seed)
  result["gmc"] = {name: {m: r[m]["gmc"] for m in ("PLCC", "SRCC", "KRCC") if m in r}
                   for name, r in gmc_result["models"].items()}
  result["global"] = {name: r.get("global") for name, r in gmc_result["models"].items()}
  result["_gmc_full"] = gmc_result
  result["_preds"] = preds
  return result


def evaluate(config: ml_collections.ConfigDict, graphdef, state: dict, images: np.ndarray, *,
             mesh=None, progress: bool = True) -> dict[str, Any]:
  """Evaluates a run's models on ``images`` for seen and held-out types.

  With ``mesh`` (the run's), the models' evaluation batches are split over
  its ``"data"`` axis. Returns a dict with ``"seen_types"`` and
  ``"heldout_types"`` (see the module docstring); keys starting with ``_`` hold arrays for pictures and are
  dropped from the JSON by :func:`to_json_ready`.

  Example:
    >>> report = evaluate(config, graphdef, state, pool.heldout)  # doctest: +SKIP
  """
  from jiqa import distortions
  from jiqa.distortions import compose

  e = config.eval
  models = state_lib.merge(graphdef, state)
  # The scorer at its initialisation (the run's seed): the trivial baseline of training.
  untrained = (state_lib.initial_models(config, num_types=len(distortions.names())).scorer
               if models.scorer is not None else None)
  key = jax.random.key(int(e.get("seed", 1)))
  splits = (("seen_types", False), ("heldout_types", True))
  if not tuple(e.holdout_types):
    splits = splits[:1]

  def one_split(i: int, name: str, held: bool) -> dict[str, Any]:
    engine = compose.run_engine_config(config, heldout=held)
    data = make_eval_data(jax.random.fold_in(key, i), images, engine=engine,
                          crop_size=e.crop_size, crops_per_image=e.crops_per_image,
                          tier_size=e.tier_size, tier_mode=e.get("tier_mode", "mixed"),
                          scaled_tiers=bool(e.get("scaled_tiers", False)),
                          nested=bool(e.get("nested_pairs", False)))
    with jax.set_mesh(mesh) if mesh is not None else contextlib.nullcontext():
      out = evaluate_split(models, data, types=tuple(engine.types), mesh=mesh,
                           gmc_samples=e.gmc_samples, seed=int(e.get("seed", 1)),
                           untrained_scorer=untrained)
    out["_data"] = data
    if models.map_predictor is not None:  # map figures beside baselines (evaluation.maps)
      from jiqa.evaluation import map_pairs
      out["maps"], out["_pairs"], out["_pair_preds"] = map_pairs.evaluate_maps(
          models.map_predictor, jax.random.fold_in(key, 10 + i), images, engine=engine,
          crop_size=int(e.get("map_crop_size", e.crop_size)),
          pairs_per_image=int(e.get("map_pairs_per_image", 8)),
          multi=data, multi_preds=out["_preds"], names=distortions.names(),
          signed=distortions.signed_types())
    return out

  # The splits run in threads of their own: most of a split's first minute is XLA compiling
  # its engine and models (one core each), which then overlaps with the other split's work.
  # Each split's figures are computed as alone (the same programs on the same data).
  with concurrent.futures.ThreadPoolExecutor(max_workers=len(splits)) as pool:
    futures = {pool.submit(one_split, i, name, held): name
               for i, (name, held) in enumerate(splits)}
    done = {}
    for f in tqdm(concurrent.futures.as_completed(futures), total=len(futures),
                  desc="evaluate", disable=not progress):
      done[futures[f]] = f.result()
  return {name: done[name] for name, _ in splits}


def to_json_ready(report: Any) -> Any:
  """Drops the ``_``-prefixed entries (arrays) so the report can go to JSON.

  Example:
    >>> to_json_ready({"a": 1, "_b": np.ones(2)})
    {'a': 1}
  """
  if isinstance(report, dict):
    return {k: to_json_ready(v) for k, v in report.items() if not str(k).startswith("_")}
  if isinstance(report, (list, tuple)):
    return [to_json_ready(v) for v in report]
  if isinstance(report, (np.floating, np.integer)):
    return report.item()
  return report


def save_surfaces(report: dict, out_dir: str | os.PathLike, *, prefix: str = "surfaces") -> list:
  """Writes the GMC surfaces of each split as PNG and HTML; returns the paths.

  The seen-type split is ``<prefix>.png/.html``; others get a suffix.

  Example:
    >>> save_surfaces(report, "report/")  # doctest: +SKIP
  """
  from jiqa import gmc

  paths = []
  for split, res in report.items():
    if "_gmc_full" not in res:
      continue
    stem = prefix if split == "seen_types" else f"{prefix}_{split}"
    png = os.path.join(os.fspath(out_dir), stem + ".png")
    html = os.path.join(os.fspath(out_dir), stem + ".html")
    gmc.save_png(res["_gmc_full"], png)
    gmc.save_html(res["_gmc_full"], html)
    paths += [png, html]
  return paths

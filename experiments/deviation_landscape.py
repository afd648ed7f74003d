"""How far the engine's certain orders decide the deviation scorer's weights, on two yardsticks.

  python -m experiments.deviation_landscape --out DIR [--samples 1500] [--eval_dir DIR]
      [--size full] [--kadid_size 384,512] [--fits NAME=variants_kadid.json ...]
      [--model NAME=PATH ...]

The shipped :class:`jiqa.models.DeviationScorer` scores ``-(d @ w)``: 16 fixed
deviations ``d`` (``feature_set="base"``, 4 scales) under positive weights
``w`` that sum to 1 (its ``log_scale`` sets no order). Training on tiers only
moves ``w``. This experiment asks how much the orders that training uses decide
``w``: it draws random weight vectors from symmetric Dirichlet distributions
(concentrations 0.1, 0.3 and 1: from nearly one deviation to an even blend),
adds named points (the prior ``w = 1/16``, the weights of the aligned scorer
shipped until 2026-12-06 (named ``shipped``), each deviation
alone, any fitted variants given with ``--fits`` and the deviation scorer of any
run or exported model given with ``--model``), and measures each on

* ``E``, the engine's certain-order criterion of ``experiments.scorer_variants``
  (scaled-tier and nested accuracy, seen and held-out types, on the held-out
  photos at the evaluation crops of the pipeline config ``--size``: 176 px crops of
  192 px photos by default, 256 px crops of 512 px photos with ``full``; its cached
  evaluation data is reused from ``--eval_dir``), and
* the Spearman correlation of its KADID-10k cell means with the cell MOS on
  the held-out photos (``jiqa.evaluation.kadid_cells``), beside PSNR, SSIM,
  MS-SSIM and GMSD on both yardsticks.

Evaluation only: no weight is chosen here, and nothing reads the MOS but the
reported correlations. Writes ``landscape.json``, ``landscape.png`` and
``landscape.html`` (E against the KADID Spearman, one point per weight vector).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

CONCENTRATIONS = (0.1, 0.3, 1.0)
NUM_SCALES = 4


def _parser():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--out", required=True)
  p.add_argument("--samples", type=int, default=1500, help="random weight vectors per "
                 "Dirichlet concentration")
  p.add_argument("--eval_dir", default=None, help="folder of scorer_variants' evaluation "
                 "data cache (eval_data_<split>_<crops>.npz; made there when missing)")
  p.add_argument("--eval_crops", type=int, default=32, help="crops per held-out photo")
  p.add_argument("--size", default="", choices=("", "full"),
                 help="pipeline config size of E's evaluation data ('' = the CPU default)")
  p.add_argument("--kadid_size", default="384,512", help="KADID-like cell size H,W")
  p.add_argument("--fits", action="append", default=[],
                 help="NAME=PATH of a scorer_variants JSON; its 16-weight fits are added")
  p.add_argument("--model", action="append", default=[],
                 help="NAME=PATH of a run or exported model whose scorer is the 16-deviation "
                      "DeviationScorer")
  p.add_argument("--seed", type=int, default=0)
  return p


def draw_weights(seed: int, samples: int,
                 concentrations: tuple[float, ...] = CONCENTRATIONS, dim: int = 16) -> np.ndarray:
  """``samples`` Dirichlet draws per concentration, ``(len(concentrations) * samples, dim)``.

  Example:
    >>> w = draw_weights(0, 3)
    >>> w.shape, bool(np.allclose(w.sum(1), 1.0)), bool((w >= 0).all())
    ((9, 16), True, True)
  """
  rng = np.random.default_rng(seed)
  return np.concatenate([rng.dirichlet(np.full(dim, a), samples) for a in concentrations])


def cell_spearman(cells: np.ndarray, weights: np.ndarray, mos: np.ndarray) -> np.ndarray:
  """Spearman of each weight vector's cell scores ``cells @ w`` with ``mos``, ``(M,)``.

  Args:
    cells: ``(C, K)`` per-cell means of each deviation's score (``-d_k``).
    weights: ``(M, K)``.
    mos: ``(C,)``.

  Example:
    >>> cells = np.array([[1.0, 0.0], [2.0, 3.0], [3.0, 1.0]])
    >>> cell_spearman(cells, np.eye(2), np.array([1.0, 2.0, 3.0])).round(3).tolist()
    [1.0, 0.5]
  """
  from jiqa.evaluation.kadid_figures import spearman_along

  scores = cells @ weights.T                                   # (C, M)
  return spearman_along(scores, np.broadcast_to(mos[:, None], scores.shape), axis=0)


def engine_criterion_many(splits: dict, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """``E`` and the mixed-tier accuracy (seen, held-out) of each weight vector.

  Args:
    splits: ``{split: {"scaled", "nested", "mixed"}: (B, n, K) deviations, "scaled_sev",
      "mixed_sev": (B, n), "changed": (B, n) bool}`` (see :func:`split_features`).
    weights: ``(M, K)``.

  Returns:
    ``E (M,)`` as ``scorer_variants.engine_criterion`` computes it, and ``(M, 2)``.
  """
  from experiments import scorer_variants as sv
  from jiqa.evaluation import stats

  parts, mixed = [], []
  for name in ("seen_types", "heldout_types"):
    f = splits[name]
    scaled = -np.einsum("bnk,mk->mbn", f["scaled"], weights)
    tier = -np.einsum("bnk,mk->mbn", f["mixed"], weights)
    nested = -np.einsum("bnk,mk->mbn", f["nested"], weights)
    parts.append(np.array([np.nanmean(sv.per_tier_accuracy(s, f["scaled_sev"]))
                           for s in scaled]))
    parts.append(np.nanmean(stats.nested_per_tier(tier, nested, f["changed"]), axis=1))
    mixed.append([sv._acc(t, f["mixed_sev"]) for t in tier])
  return np.mean(parts, axis=0), np.asarray(mixed).T


def split_features(data: dict, featurize) -> dict:
  """The deviations of one split's evaluation data (``scorer_variants.eval_data``)."""
  b, n = data["scaled_tier_images"].shape[:2]
  refs = np.repeat(data["crops"], n, axis=0)
  out = {}
  for key, name in (("scaled_tier_images", "scaled"), ("nested", "nested"),
                    ("tier_images", "mixed")):
    out[name] = featurize(refs, data[key].reshape((b * n,) + data[key].shape[2:])).reshape(
        b, n, -1)
  out["scaled_sev"], out["mixed_sev"] = data["scaled_tier_severity"], data["tier_severity"]
  out["changed"] = np.abs(data["nested"] - data["tier_images"]).reshape(b, n, -1).max(-1) > 0
  return out


# The weights of the pixel-aligned deviation scorer shipped until 2026-12-06 (the 2400-step
# main job; jiqa/weights/weights.npz at commit fabe469):
# the shipped scorer's deviations now forgive one-pixel displacements (tolerance 1), while
# this experiment and experiments/pixelate_order measure the pixel-aligned ones.
ALIGNED_SCORER_WEIGHTS = (
    0.2972618341445923, 0.21797914803028107, 0.13321629166603088, 0.024077553302049637,
    0.06643186509609222, 0.035878051072359085, 0.03392365574836731, 0.021184442564845085,
    0.0316723994910717, 0.01905701495707035, 0.020146694034337997, 0.01964550092816353,
    0.02262774482369423, 0.019886046648025513, 0.01778031885623932, 0.019231481477618217)


def scorer_weights(source, name: str) -> np.ndarray:
  """The deviation weights of a model's scorer (``source`` as :func:`jiqa.load` takes it).

  Only a scorer of pixel-aligned deviations (``tolerance`` 0): the deviations computed
  here are those. A tolerant one (the shipped scorer since 2026-12-06) is refused.
  """
  import jax
  from flax import nnx

  import jiqa
  from jiqa.models import deviations

  model = jiqa.load(source)
  scorer = nnx.merge(model._graphdef, model._state).scorer
  want = tuple(deviations.feature_names(NUM_SCALES, "base"))
  if tuple(getattr(scorer, "feature_names", ())) != want:
    raise SystemExit(f"--model: {name}'s scorer is not the {len(want)}-deviation "
                     f"DeviationScorer ({type(scorer).__name__}).")
  if getattr(scorer, "tolerance", 0):
    raise SystemExit(f"--model: {name}'s deviations forgive displacements (tolerance "
                     f"{scorer.tolerance}); this experiment measures the pixel-aligned ones: "
                     f"give a model trained with tolerance 0 (e.g. --config pipeline:aligned).")
  return np.asarray(jax.device_get(scorer.weights()), np.float64)


def named_weights(fits: list[str], models: list[str] = ()) -> dict[str, np.ndarray]:
  """The prior, the aligned scorer shipped until 2026-12-06 (:data:`ALIGNED_SCORER_WEIGHTS`,
  named ``"shipped"``), each deviation alone, ``--fits`` and ``--model``."""
  from jiqa.models import deviations

  names = deviations.feature_names(NUM_SCALES, "base")
  out = {"prior": np.full(len(names), 1.0 / len(names)),
         "shipped": np.asarray(ALIGNED_SCORER_WEIGHTS, np.float64)}
  for spec in models:
    name, _, path = spec.partition("=")
    out[name] = scorer_weights(path, name)
  for spec in fits:
    name, _, path = spec.partition("=")
    with open(path, encoding="utf-8") as f:
      for variant, fit in json.load(f)["fits"].items():
        if len(fit["weights"]) == len(names):
          out[f"{name}:{variant}"] = np.asarray(fit["weights"], np.float64)
  out.update({f"only:{n}": np.eye(len(names))[k] for k, n in enumerate(names)})
  return out


def _name_path(spec: str, flag: str, exists, what: str) -> str:
  """The PATH of ``NAME=PATH``, or a one-line ``SystemExit`` naming ``flag``."""
  name, sep, path = spec.partition("=")
  if not (sep and name and exists(path)):
    raise SystemExit(f"{flag}: expected NAME=PATH with PATH {what}; got {spec!r}.")
  return path


def _check_args(a):
  if a.samples < 1:
    raise SystemExit(f"--samples: expected a positive count; got {a.samples}.")
  for spec in a.fits:
    path = _name_path(spec, "--fits", os.path.isfile, "a scorer_variants JSON file")
    with open(path, encoding="utf-8") as f:
      try:
        ok = isinstance(json.load(f).get("fits"), dict)
      except (json.JSONDecodeError, AttributeError):
        ok = False
    if not ok:
      raise SystemExit(f"--fits: {path!r} has no 'fits' table (not a scorer_variants JSON).")
  for spec in a.model:
    _name_path(spec, "--model", os.path.isdir, "a run or exported-model folder")
  try:
    size = tuple(int(v) for v in a.kadid_size.split(","))
  except ValueError:
    size = ()
  if len(size) != 2 or min(size) < 16:
    raise SystemExit(f"--kadid_size: expected H,W (each >= 16); got {a.kadid_size!r}.")
  from jiqa import outputs

  try:
    for path, flag in ((a.out, "--out"), (a.eval_dir, "--eval_dir")):
      if path is not None:
        outputs.check_output_dir(path, flag=flag)
  except ValueError as e:
    raise SystemExit(str(e)) from None
  return size


def _plots(out: str, result: dict) -> None:
  """``landscape.png`` and ``landscape.html``: E against the KADID Spearman."""
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  import plotly.graph_objects as go

  r, named, metrics = result["random"], result["named"], result["metrics"]
  conc = np.asarray(r["concentration"])
  fig, ax = plt.subplots(figsize=(8, 6))
  fig_h = go.Figure()
  for a, colour in zip(CONCENTRATIONS, ("tab:blue", "tab:orange", "tab:green")):  # noqa: B905
    m = conc == a
    ax.scatter(np.asarray(r["E"])[m], np.asarray(r["kadid"])[m], s=4, alpha=0.35, c=colour,
               label=f"random w, Dirichlet {a}")
    fig_h.add_scatter(x=np.asarray(r["E"])[m], y=np.asarray(r["kadid"])[m], mode="markers",
                      marker=dict(size=3, opacity=0.4), name=f"random w, Dirichlet {a}")
  kinds = {"one deviation alone": ({n: v for n, v in named.items() if n.startswith("only:")},
                                    "o", "none", "grey"),
           "fitted variants and models (--fits, --model)": (
               {n: v for n, v in named.items()
                if n not in ("prior", "shipped") and not n.startswith("only:")},
               "s", "grey", "grey"),
           "prior and shipped": ({n: named[n] for n in ("prior", "shipped")}, "o", "black",
                                 "black"),
           "PSNR, SSIM, MS-SSIM, GMSD": (metrics, "*", "red", "red")}
  for label, (group, marker, face, edge) in kinds.items():
    xs, ys = [v["E"] for v in group.values()], [v["kadid"] for v in group.values()]
    ax.scatter(xs, ys, marker=marker, s=60, facecolors=face, edgecolors=edge, label=label)
    if label in ("prior and shipped", "PSNR, SSIM, MS-SSIM, GMSD"):
      for n, x, y in zip(group, xs, ys):
        ax.annotate(n, (x, y), fontsize=8, xytext=(4, 4), textcoords="offset points")
    fig_h.add_scatter(x=xs, y=ys, mode="markers", text=list(group), name=label,
                      marker=dict(size=9, color=edge, symbol={"o": "circle-open", "s": "square",
                                                              "*": "star"}[marker]))
  ax.set_xlabel(f"E: engine certain-order accuracy (held-out photos, "
                f"{result['eval_crop_size']} px crops)")
  ax.set_ylabel(f"KADID-10k cell Spearman ({result['kadid_size'][0]}x{result['kadid_size'][1]})")
  ax.set_title("Deviation-scorer weights: what the engine's certain orders decide")
  ax.legend(fontsize=7, loc="lower left")
  fig.tight_layout()
  fig.savefig(os.path.join(out, "landscape.png"), dpi=130)
  plt.close(fig)
  fig_h.update_layout(xaxis_title="E (engine certain orders)", yaxis_title="KADID cell Spearman",
                      title="Deviation-scorer weights: engine E against KADID Spearman")
  fig_h.write_html(os.path.join(out, "landscape.html"), include_plotlyjs="cdn")


def summary(result: dict) -> str:
  """The printed table: named points and metrics, and the random cloud by E band."""
  rows = ["| weights | E | mixed seen/held | KADID Spearman |", "|---|---|---|---|"]
  for group in (result["metrics"], result["named"]):
    for n, v in group.items():
      rows.append(f"| {n} | {v['E']:.4f} | {v['mixed'][0]:.3f}/{v['mixed'][1]:.3f} | "
                  f"{v['kadid']:.3f} |")
  e, k = np.asarray(result["random"]["E"]), np.asarray(result["random"]["kadid"])
  rows += ["", "| random w with E >= | count | KADID min | median | max |", "|---|---|---|---|---|"]
  for thr in result["bands"]:
    m = e >= thr
    if m.any():
      rows.append(f"| {thr:.3f} | {int(m.sum())} | {k[m].min():.3f} | {np.median(k[m]):.3f} | "
                  f"{k[m].max():.3f} |")
  rows.append(f"\nrandom weights: Spearman(E, KADID) = {result['random']['spearman_e_kadid']:.3f}"
              f" over {e.size}; E {e.min():.3f}-{e.max():.3f}, KADID {k.min():.3f}-{k.max():.3f}")
  return "\n".join(rows)


def main(argv=None) -> int:
  a = _parser().parse_args(argv)
  size = _check_args(a)
  os.makedirs(a.out, exist_ok=True)
  import jax
  from scipy import stats

  from experiments import engine_tiers
  from experiments import scorer_variants as sv
  from jiqa import images
  from jiqa.configs import pipeline
  from jiqa.evaluation import kadid_cells
  from jiqa.models import deviations
  from jiqa.training import loop

  t0 = time.perf_counter()
  fn = jax.jit(lambda r, x: deviations.deviation_features(r, x, num_scales=NUM_SCALES,
                                                          feature_set="base"))

  def featurize(r, x):
    return np.asarray(engine_tiers.chunks(fn, np.asarray(r), np.asarray(x)), np.float64)

  config = pipeline.get_config(a.size)
  pool = loop.load_pool(config)
  eval_dir = a.eval_dir or a.out
  os.makedirs(eval_dir, exist_ok=True)
  metric_fns = kadid_cells.builtin_predictors()
  splits, figures = {}, {}
  for i, name in enumerate(("seen_types", "heldout_types")):
    data = engine_tiers.eval_data(config, pool, i, a.eval_crops, eval_dir)
    splits[name] = split_features(data, featurize)
    figures[name] = {m: sv.heldout_figures(
        (lambda f: lambda r, x: np.asarray(engine_tiers.chunks(f, r, x), np.float64))(f), data)
        for m, f in metric_fns.items()}
  print(f"engine evaluation data featurised: {time.perf_counter() - t0:.0f} s", flush=True)

  cache = {}

  def one_deviation(k):
    def predict(r, x):
      key = (np.shape(r), float(np.asarray(r).ravel()[::997].sum()),
             float(np.asarray(x).ravel()[::991].sum()), float(np.asarray(x).ravel()[1::983].sum()))
      if key not in cache:
        cache.clear()  # one batch at a time: every deviation reads the same batch in turn
        cache[key] = featurize(r, x)
      return -cache[key][:, k]
    return predict

  k_dev = len(deviations.feature_names(NUM_SCALES, "base"))
  predictors = {**metric_fns, **{f"d{k}": one_deviation(k) for k in range(k_dev)}}
  res = kadid_cells.evaluate(images.bundled_images(tuple(config.data.holdout_images)),
                             predictors, size=size, seed=a.seed, progress=True, compare_to=(),
                             gmc_samples=3, resamples=1)
  mos = np.asarray(res["cells"]["mos"], np.float64).ravel()
  cells = np.stack([np.asarray(res["predictors"][f"d{k}"]["cell_means"]).ravel()
                    for k in range(k_dev)], -1)
  print(f"KADID cells featurised: {time.perf_counter() - t0:.0f} s", flush=True)

  rand = draw_weights(a.seed, a.samples)
  named = named_weights(a.fits, a.model)
  w_all = np.concatenate([rand, np.stack(list(named.values()))])
  e_all, mixed_all = engine_criterion_many(splits, w_all)
  k_all = cell_spearman(cells, w_all, mos)
  n = rand.shape[0]
  result = {
      "kadid_size": list(size), "samples": a.samples, "seed": a.seed, "size": a.size,
      "eval_crop_size": int(config.eval.crop_size), "eval_crops": a.eval_crops,
      "feature_names": deviations.feature_names(NUM_SCALES, "base"),
      "random": {"E": e_all[:n].tolist(), "kadid": k_all[:n].tolist(),
                 "mixed": mixed_all[:n].tolist(), "weights": rand.round(5).tolist(),
                 "concentration": np.repeat(CONCENTRATIONS, a.samples).tolist(),
                 "spearman_e_kadid": float(stats.spearmanr(e_all[:n], k_all[:n])[0])},
      "named": {nm: {"E": float(e_all[n + j]), "kadid": float(k_all[n + j]),
                     "mixed": mixed_all[n + j].tolist(), "weights": w.round(5).tolist()}
                for j, (nm, w) in enumerate(named.items())},
      "metrics": {m: {"E": sv.engine_criterion(figures, m)[0],
                      "kadid": float(res["predictors"][m]["spearman"]),
                      "mixed": [figures[s][m]["mixed_acc"] for s in figures]}
                  for m in metric_fns},
      "bands": [0.93, 0.94, 0.945, 0.95],
  }
  _plots(a.out, result)
  table = summary(result)
  print(table, flush=True)
  result["seconds"] = time.perf_counter() - t0
  with open(os.path.join(a.out, "landscape.json"), "w", encoding="utf-8") as f:
    json.dump(result, f)
  with open(os.path.join(a.out, "landscape.md"), "w", encoding="utf-8") as f:
    f.write(table + "\n")
  print(f"{result['seconds']:.0f} s; wrote landscape.json, .md, .png and .html in {a.out}")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())

"""KADID-10k's 125 cells made by jiqa's engine, scored and compared with KADID's MOS.

  python -m experiments.kadid_cells --json OUT.json [--images DIR] [--workdir W] [--metrics=...]

Without ``--images`` it uses the held-out photos of the shipped pipeline config
(``jiqa.configs.pipeline.HOLDOUT_IMAGES``). Predictors: PSNR, SSIM, MS-SSIM and
GMSD, and with ``--workdir`` a trained run's relational scorer. Writes the
figures as JSON (see ``jiqa.evaluation.kadid_cells.evaluate``), beside it a
scatter of each predictor's cell means against the cell-mean MOS
(``<stem>_scatter.png``) and the GMC surfaces (``<stem>_gmc.png``/``.html``),
and prints the tables (cell correlations, GMC, within-type order, engine
fidelity). The MOS is only compared with, never fitted to.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import time


def parse_args(argv=None) -> argparse.Namespace:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--json", required=True, help="Where to write the figures (JSON).")
  p.add_argument("--images", help="Use every image of this folder instead of the held-out photos.")
  p.add_argument("--workdir", help="A training run's folder: add its scorer as a predictor.")
  p.add_argument("--seed", type=int, default=0,
                 help="PRNG seed of the distortions (and the GMC sample points).")
  p.add_argument("--gmc_samples", type=int, default=50, help="GMC sample points over the cells.")
  p.add_argument("--metrics", default="psnr,ssim,ms_ssim,gmsd",
                 help="Comma-separated built-in predictors ('' for none: engine PSNR only).")
  p.add_argument("--types", default="", help="Comma-separated KADID types (default all 25).")
  p.add_argument("--size", default="384,512",
                 help="KADID-like H,W of the photos (KADID's own 384,512; smaller is faster).")
  return p.parse_args(argv)


def scorer_predictor(scorer, mesh=None):
  """``fn(reference, distorted) -> (N,)`` for a RelationalScorer of either call order.

  The scorer's ``__call__`` is reference-first when its first parameter is named
  ``reference`` (the order since the scorer's reference-first change) and
  ``scorer(images, reference)`` when it is ``images`` (before); anything else is refused.
  """
  import jax
  import numpy as np

  first = next(iter(inspect.signature(scorer.__call__).parameters), None)
  if first in ("reference", "ref", "r"):
    fn = jax.jit(lambda r, d: scorer(r, d))
  elif first in ("images", "image", "distorted", "x"):
    fn = jax.jit(lambda r, d: scorer(d, r))
  else:
    raise ValueError(f"scorer: cannot tell its call order from its first parameter {first!r} "
                     "(expected 'reference' or 'images').")

  def predict(reference, distorted):
    if mesh is not None:
      with jax.set_mesh(mesh):
        return np.asarray(fn(np.asarray(reference), np.asarray(distorted)), np.float64)
    return np.asarray(fn(np.asarray(reference), np.asarray(distorted)), np.float64)

  return predict


def _fmt(v, spec=".3f"):
  return "  n/a" if v is None else format(v, spec)


def tables(result: dict) -> str:
  """The printed tables: cell correlations and GMC, within-type order, engine fidelity."""
  lines = [f"KADID cells on {result['num_images']} photos ({', '.join(result['images'])}) at "
           f"{result['size'][0]}x{result['size'][1]}, {result['num_cells']} cells, "
           f"GMC over {len(result['gmc']['samples']) if result['gmc'] else 0} sample points",
           "| predictor | Spearman | Pearson | Kendall | GMC PLCC | GMC SRCC | GMC KRCC | "
           "within-type rho (MOS) | strict (MOS) | within-type rho (level) | strict (level) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
  for n, p in result["predictors"].items():
    wm, ws = p["within_type"]["mos"], p["within_type"]["severity"]
    lines.append(f"| {n} | {_fmt(p['spearman'])} | {_fmt(p['pearson'])} | {_fmt(p['kendall'])} | "
                 f"{_fmt(p['gmc']['PLCC'])} | {_fmt(p['gmc']['SRCC'])} | {_fmt(p['gmc']['KRCC'])} | "
                 f"{_fmt(wm['mean_spearman'])} | {wm['strict_share']:.2f} | "
                 f"{_fmt(ws['mean_spearman'])} | {ws['strict_share']:.2f} |")
  diffs = [(n, o, d) for n, ds in result.get("differences", {}).items() for o, d in ds.items()]
  if diffs:
    lines += ["", "Cell Spearman differences, 95% paired bootstrap over the cells",
              "| predictor | minus | difference | interval |", "|---|---|---|---|"]
    lines += [f"| {n} | {o} | {d['difference']:+.3f} | [{d['low']:+.3f}, {d['high']:+.3f}] |"
              for n, o, d in diffs]
  lines += ["", "Engine fidelity: cell-mean PSNR (dB), engine on these photos vs KADID (81 contents)",
            "| type | mean abs gap | gaps L1..L5 (engine - KADID) |", "|---|---|---|"]
  for n, f in result["fidelity"].items():
    lines.append(f"| {n} | {f['mean_abs_gap']:.2f} | "
                 + " ".join(f"{g:+.2f}" for g in f["gap"]) + " |")
  return "\n".join(lines)


def save_scatter(result: dict, path: str) -> None:
  """One panel per predictor: cell means (x) against cell-mean MOS (y), coloured by type."""
  import matplotlib

  matplotlib.use("Agg", force=False)
  import matplotlib.pyplot as plt
  import numpy as np

  names = list(result["predictors"])
  mos = np.asarray(result["cells"]["mos"])
  fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 4.0), dpi=110, squeeze=False)
  colors = plt.get_cmap("tab20", 25)(np.arange(25))
  for ax, n in zip(axes[0], names):
    x = np.asarray(result["predictors"][n]["cell_means"])
    for t in range(x.shape[0]):
      ax.plot(x[t], mos[t], "-o", color=colors[t], ms=3, lw=0.8)
    ax.set_xlabel(f"{n} (cell mean)")
    ax.set_ylabel("KADID MOS (cell mean)")
    ax.set_title(f"{n}: SRCC {_fmt(result['predictors'][n]['spearman'])}")
  fig.tight_layout()
  fig.savefig(path, bbox_inches="tight")
  plt.close(fig)


def main(argv=None) -> int:
  a = parse_args(argv)
  from jiqa import gmc, images
  from jiqa.configs import pipeline as pipeline_config
  from jiqa.evaluation import kadid_cells

  t0 = time.perf_counter()
  builtins = kadid_cells.builtin_predictors()
  metrics = [m for m in a.metrics.split(",") if m]
  unknown = [m for m in metrics if m not in builtins]
  if unknown:
    raise SystemExit(f"--metrics: unknown {unknown}; choose from {sorted(builtins)}.")
  if a.images:
    photos = images.load_folder(a.images)
  else:
    photos = images.bundled_images(pipeline_config.HOLDOUT_IMAGES)
  predictors = {}
  if a.workdir:
    from jiqa.training import loop
    from jiqa.training import state as state_lib

    _, graphdef, state, mesh = loop.restore(a.workdir)
    predictors["scorer"] = scorer_predictor(state_lib.merge(graphdef, state).scorer, mesh)
  predictors.update({m: builtins[m] for m in metrics})
  size = tuple(int(v) for v in a.size.split(","))
  result = kadid_cells.evaluate(photos, predictors, seed=a.seed, gmc_samples=a.gmc_samples,
                                size=size,
                                types=[t for t in a.types.split(",") if t] or None)
  result["seconds"]["wall"] = time.perf_counter() - t0
  if a.workdir:
    result["workdir"] = os.path.abspath(a.workdir)
  with open(a.json, "w", encoding="utf-8") as f:
    json.dump(result, f, indent=1)
  stem = os.path.splitext(a.json)[0]
  if result["predictors"]:
    save_scatter(result, stem + "_scatter.png")
    gmc.save_png(result["gmc"], stem + "_gmc.png",
                 title=f"GMC over KADID's {result['num_cells']} cells "
                       f"({len(result['gmc']['samples'])} sample points)")
    gmc.save_html(result["gmc"], stem + "_gmc.html")
  print(tables(result))
  print(f"\n{result['seconds']['wall']:.0f} s wall ({result['seconds']['cells']:.0f} s cells)")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())

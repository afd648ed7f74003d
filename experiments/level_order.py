"""Within-type level order of models and metrics at KADID's five levels, on the engine alone.

  python -m experiments.level_order --out DIR [--model NAME=PATH ...] [--sizes 192,256 384,512]
      [--folder DIR] [--no_metrics]

Item 1 of issue 10 asks the scorer to order the five levels of every KADID
type strictly. The KADID cell yardstick (``experiments.kadid_cells``) measures
it on the held-out photos beside the human MOS; this experiment measures the
same order on other photos (by default the 16 *training* photos bundled with
scikit-image) without reading any human judgement, so a choice between models
can be made on it: each of KADID's 125 (type, level) cells is applied by the
engine (:func:`jiqa.evaluation.kadid_engine.cell_scores`, the yardstick's
cells and keys, KADID's parameters, 8-bit quantised) to each photo at each
size, every predictor scores each distorted image against its pristine photo,
and the cell means of each type
are compared with its nominal severity (``|level|``, so the signed tables of
mean shift and contrast change count by magnitude; pairs of equal magnitude
are not compared): the Spearman correlation per type, and whether every pair
is ordered strictly (:func:`jiqa.evaluation.kadid_figures.within_type`).

Predictors: the shipped model (``jiqa.load()``), each ``--model`` (a run or
exported-model folder) and, unless ``--no_metrics``, PSNR, SSIM, MS-SSIM and
GMSD. Writes ``level_order.json`` (per size and predictor: the strict types,
the mean Spearman and the ``(25, 5)`` cell means), ``level_order.md``, and per
size ``level_order_HxW.png`` and ``.html``: each type's five cell means of each
predictor, scaled to 0 at the mildest level and -1 at the strongest.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def _parser():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--out", required=True)
  p.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                 help="also a run or exported-model folder under NAME; repeatable")
  p.add_argument("--sizes", nargs="+", default=["192,256", "384,512"],
                 help="KADID-like H,W sizes of the photos")
  p.add_argument("--folder", default="", help="a folder of photos ('' = the training photos "
                 "bundled with scikit-image, the pipeline's held-out photos excluded)")
  p.add_argument("--no_metrics", action="store_true", help="the models only")
  p.add_argument("--seed", type=int, default=0)
  return p


def parse_sizes(specs) -> list[tuple[int, int]]:
  """``--sizes`` as ``(H, W)`` pairs, multiples of 16 and at least 176 (MS-SSIM's five scales).

  Example:
    >>> parse_sizes(["192,256", "384,512"])
    [(192, 256), (384, 512)]
  """
  sizes = []
  for spec in specs:
    try:
      hw = tuple(int(v) for v in spec.split(","))
    except ValueError:
      hw = ()
    if len(hw) != 2 or min(hw) < 176 or hw[0] % 16 or hw[1] % 16:
      raise SystemExit(f"--sizes: expected H,W multiples of 16, each >= 176 (MS-SSIM's "
                       f"five scales); got {spec!r}.")
    sizes.append(hw)
  return sizes


def engine_photos(folder: str = "") -> dict:
  """The photos of ``folder``, or by default the bundled training photos (held-out ones out)."""
  from jiqa import images
  from jiqa.configs import pipeline

  if folder:
    return images.load_folder(folder)
  return {n: p for n, p in images.bundled_images().items() if n not in pipeline.HOLDOUT_IMAGES}


def _check_args(a) -> tuple[list[tuple[int, int]], dict[str, str]]:
  sizes = parse_sizes(a.sizes)
  models = {}
  for spec in a.model:
    name, sep, path = spec.partition("=")
    if not (sep and name and path) or not os.path.isdir(path) or name in models:
      raise SystemExit(f"--model: expected NAME=PATH with a new NAME and PATH a folder; "
                       f"got {spec!r}.")
    models[name] = path
  if a.folder and not os.path.isdir(a.folder):
    raise SystemExit(f"--folder: {a.folder!r} is not a folder.")
  from jiqa import outputs

  try:
    outputs.check_output_dir(a.out, flag="--out")
  except ValueError as e:
    raise SystemExit(str(e)) from None
  return sizes, models


def cell_means(photos: dict, predictors: dict, size: tuple[int, int], *, seed: int = 0
               ) -> dict[str, np.ndarray]:
  """Each predictor's ``(25, 5)`` mean score (higher = better) over ``photos`` at ``size``.

  ``predictors``: ``{name: f(references, images) -> (N,)}``, both ``(N, H, W, 3)``. The
  cells and their keys are the KADID cell yardstick's
  (:func:`jiqa.evaluation.kadid_engine.cell_scores`), without its MOS.
  """
  from jiqa.evaluation import kadid_engine

  scores = kadid_engine.cell_scores(list(photos.values()), predictors, size=size, seed=seed,
                                    desc=f"{size[0]}x{size[1]}")
  return {n: s.mean(axis=0) for n, s in scores.items()}


def order_table(means: dict[str, np.ndarray]) -> dict[str, dict]:
  """Per predictor: Spearman per type against ``-|level|``, its mean, the strict types.

  Example:
    >>> from jiqa.evaluation import kadid_engine
    >>> good = -np.abs(kadid_engine.cell_levels()).astype(np.float64)
    >>> r = order_table({"good": good})["good"]
    >>> r["strict_share"], r["failing"]
    (1.0, [])
  """
  from jiqa.distortions import names
  from jiqa.evaluation import kadid_engine
  from jiqa.evaluation.kadid_figures import within_type

  types = list(names()[:kadid_engine.N_TYPES])
  severity = np.abs(kadid_engine.cell_levels()).astype(np.float64)
  out = {}
  for n, m in means.items():
    w = within_type(m, -severity, types)
    out[n] = {"mean_spearman": w["mean_spearman"], "strict_share": w["strict_share"],
              "failing": [t for t in types if t not in w["strict_types"]],
              "cell_means": np.asarray(m).tolist()}
  return out


def plot(out: str, size: str, table: dict[str, dict]) -> None:
  """``level_order_{size}.png`` and ``.html``: per type, each predictor's scaled cell means."""
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  from plotly.subplots import make_subplots

  from jiqa.distortions import names
  from jiqa.evaluation import kadid_engine

  types = names()[:kadid_engine.N_TYPES]
  levels = kadid_engine.cell_levels()
  fig, axes = plt.subplots(5, 5, figsize=(17, 15))
  fig_h = make_subplots(rows=5, cols=5, subplot_titles=types)
  for t, name in enumerate(types):
    ax = axes[t // 5, t % 5]
    mild, strong = np.argmin(np.abs(levels[t])), np.argmax(np.abs(levels[t]))
    for k, (n, r) in enumerate(table.items()):
      m = np.asarray(r["cell_means"][t])
      span = m[mild] - m[strong]
      y = (m - m[mild]) / span if span != 0 else 0 * m
      mark = "" if name in r["failing"] else " (strict)"
      ax.plot(range(1, 6), y, marker="o", lw=2.5 if k == 0 else 1, label=n + mark)
      fig_h.add_scatter(x=list(range(1, 6)), y=y, mode="lines+markers", name=n,
                        legendgroup=n, showlegend=t == 0, row=t // 5 + 1, col=t % 5 + 1)
    ax.set_title(name, fontsize=9)
    ax.set_xticks(range(1, 6), [f"{v:g}" for v in levels[t]], fontsize=7)
    ax.legend(fontsize=5, loc="lower left")
  fig.suptitle(f"Cell means at KADID's five levels, {size} (0 at the mildest level, -1 at the "
               f"strongest; down = worse)")
  fig.tight_layout()
  fig.savefig(os.path.join(out, f"level_order_{size}.png"), dpi=90)
  plt.close(fig)
  fig_h.update_layout(title=f"Within-type level order at {size}", height=1400)
  fig_h.write_html(os.path.join(out, f"level_order_{size}.html"), include_plotlyjs="cdn")


def main(argv=None) -> int:
  a = _parser().parse_args(argv)
  sizes, paths = _check_args(a)
  os.makedirs(a.out, exist_ok=True)
  import jiqa
  from jiqa.evaluation import kadid_engine

  t0 = time.perf_counter()
  photos = engine_photos(a.folder)
  models = {"shipped": jiqa.load(), **{n: jiqa.load(p) for n, p in paths.items()}}
  predictors = {n: (lambda m: lambda r, x: np.asarray(m.score(x, r), np.float64))(m)
                for n, m in models.items()}
  if not a.no_metrics:
    predictors |= kadid_engine.builtin_predictors()
  result = {"photos": list(photos), "models": {"shipped": "jiqa.load()", **paths},
            "seed": a.seed, "sizes": {}}
  lines = ["| size | predictor | strict types | mean Spearman | failing |", "|---|---|---|---|---|"]
  for size in sizes:
    table = order_table(cell_means(photos, predictors, size, seed=a.seed))
    result["sizes"][f"{size[0]}x{size[1]}"] = table
    plot(a.out, f"{size[0]}x{size[1]}", table)
    for n, r in table.items():
      lines.append(f"| {size[0]}x{size[1]} | {n} | {round(25 * r['strict_share'])}/25 | "
                   f"{r['mean_spearman']:.3f} | {', '.join(r['failing']) or '-'} |")
  text = "\n".join(lines)
  print(text, flush=True)
  result["seconds"] = time.perf_counter() - t0
  with open(os.path.join(a.out, "level_order.json"), "w", encoding="utf-8") as f:
    json.dump(result, f, indent=1)
  with open(os.path.join(a.out, "level_order.md"), "w", encoding="utf-8") as f:
    f.write(text + "\n")
  print(f"{result['seconds']:.0f} s; wrote level_order.json, .md and the pictures in {a.out}")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())

"""Why no pixel-aligned score orders KADID's five pixelate levels, measured on the engine alone.

  python -m experiments.pixelate_order --out DIR [--sizes 192,256 384,512] [--folder DIR]
      [--model PATH] [--fit_dir DIR [--tiers 256] [--steps 300] [--eval_crops 32]]

KADID-10k's pixelate (MATLAB's nearest-neighbour ``imresize`` by ``z = 0.95 -
s^0.6`` and back, ``s`` = 0.01, 0.05, 0.1, 0.2, 0.5) is the one type the
shipped scorer does not order strictly at KADID's levels; PSNR, SSIM, MS-SSIM
and GMSD do not either, and KADID's own published PSNR, SSIM and MS-SSIM of
the real images dip at the same step. This experiment measures why, and
whether a deviation built on a perceptual principle repairs it:

* **resampling**: from the engine's pixelate applied to a coordinate image,
  per level, the share of pixels whose content moved and the share of source
  rows and columns that are gone. MATLAB's half-pixel phase moves *more*
  pixels at a mild level than at the next one, while the content lost grows
  with every level;
* **cell means** of every predictor at the five levels on the photos (the
  training photos by default: nothing here reads a human judgement): PSNR,
  SSIM, MS-SSIM, GMSD, the 16 deviations of :mod:`jiqa.models.deviations`,
  their prior mean, the model's scorer, and
  :func:`jiqa.models.deviations.lost_content`: a shift-tolerant luma deviation
  at full resolution (small translations are not seen as structural change,
  the principle of CW-SSIM), which forgives moved content and charges lost
  content;
* **repair**: the smallest ``c`` for which the scorer's deviation sum plus
  ``c * lost_content`` orders the five cell means strictly, and the share of
  that sum ``lost_content`` would then carry at pixelate's cells;
* KADID's published PSNR, SSIM and MS-SSIM of its own pixelate images (the
  metric columns of ``predictions.csv``; its MOS is not read);
* with ``--fit_dir``, whether training would get there: the 16 deviations are
  fitted with and without ``lost_content`` on the engine's scaled training tiers
  (:func:`fit_on_engine_tiers`), and both fits join the tables and carry the
  certain-order criterion ``E`` of ``experiments.scorer_variants``.

Writes ``pixelate_order.json``, ``.md``, ``.png`` and ``.html``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import time

import numpy as np

PIXELATE = "pixelate"


def _parser():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--out", required=True)
  p.add_argument("--sizes", nargs="+", default=["192,256", "384,512"],
                 help="KADID-like H,W sizes of the photos")
  p.add_argument("--folder", default="", help="a folder of photos ('' = the training photos "
                 "bundled with scikit-image, the pipeline's held-out photos excluded)")
  p.add_argument("--model", default=None, help="a run or exported-model folder whose scorer is "
                 "the 16-deviation DeviationScorer with pixel-aligned deviations (default: "
                 "the aligned scorer shipped until 2026-12-06)")
  p.add_argument("--fit_dir", default="", help="fit with and without lost_content on the "
                 "engine's tiers, cached in this folder (scorer_variants' cache files)")
  p.add_argument("--tiers", type=int, default=256, help="training tiers of the fits "
                 "(a multiple of 64)")
  p.add_argument("--steps", type=int, default=300, help="Adam steps of the fits")
  p.add_argument("--eval_crops", type=int, default=32, help="crops per held-out photo for E")
  p.add_argument("--seed", type=int, default=0)
  return p


def _check_args(a) -> list[tuple[int, int]]:
  from experiments.level_order import parse_sizes

  sizes = parse_sizes(a.sizes)
  if a.folder and not os.path.isdir(a.folder):
    raise SystemExit(f"--folder: {a.folder!r} is not a folder.")
  if a.model is not None and not os.path.isdir(a.model):
    raise SystemExit(f"--model: {a.model!r} is not a run or exported-model folder.")
  from jiqa import outputs

  try:
    for path, flag in ((a.out, "--out"), (a.fit_dir, "--fit_dir")):
      if path:
        outputs.check_output_dir(path, flag=flag)
  except ValueError as e:
    raise SystemExit(str(e)) from None
  if a.tiers < 64 or a.tiers % 64:
    raise SystemExit(f"--tiers: expected a positive multiple of 64; got {a.tiers}.")
  if min(a.steps, a.eval_crops) < 1:
    raise SystemExit(f"--steps, --eval_crops: expected positive counts; got {a.steps}, "
                     f"{a.eval_crops}.")
  return sizes


def resampling(height: int, width: int, levels) -> dict[str, list[float]]:
  """Per level, where the engine's pixelate takes each output pixel from.

  Returns ``{"moved": share of pixels whose source pixel is not themselves,
  "rows_lost", "cols_lost": share of source rows / columns that no output pixel
  shows}``, each a list over ``levels``.

  Example:
    >>> r = resampling(384, 512, [0.4, 0.6])   # KADID levels 2 and 3
    >>> [round(v, 3) for v in r["moved"]], [round(v, 3) for v in r["rows_lost"]]
    ([0.695, 0.654], [0.216, 0.299])
  """
  import jax

  from jiqa.distortions import spatial

  rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
  coords = np.stack([rows / height, cols / width, np.zeros_like(rows, float)], -1)
  out = {"moved": [], "rows_lost": [], "cols_lost": []}
  for level in levels:
    moved = np.asarray(spatial.pixelate(jax.random.key(0), coords.astype(np.float32),
                                        float(level)), np.float64)
    src_r = np.rint(moved[..., 0] * height).astype(int)
    src_c = np.rint(moved[..., 1] * width).astype(int)
    out["moved"].append(float(np.mean((src_r != rows) | (src_c != cols))))
    out["rows_lost"].append(1.0 - np.unique(src_r).size / height)
    out["cols_lost"].append(1.0 - np.unique(src_c).size / width)
  return out


def order_figures(scores: np.ndarray) -> dict:
  """Strict order of ``(photos, 5)`` scores (higher = better) along the levels.

  Example:
    >>> order_figures(np.array([[5.0, 4, 3, 2, 1], [5, 3, 4, 2, 1]]))["per_photo"]
    0.5
  """
  means = scores.mean(axis=0)
  steps = np.diff(means)
  return {"means": means.tolist(), "strict": bool(np.all(steps < 0)),
          "wrong_steps": [f"L{k + 1}->L{k + 2}" for k in np.flatnonzero(steps >= 0)],
          "per_photo": float(np.mean(np.all(np.diff(scores, axis=1) < 0, axis=1)))}


def repair(deviation_sum: np.ndarray, lost: np.ndarray) -> dict:
  """The smallest ``c`` with ``deviation_sum + c * lost`` strictly increasing in its means.

  Both ``(photos, 5)`` (larger = worse). Returns ``{"c": c or None, "share":
  the mean share of the sum that ``c * lost`` carries}``; ``None`` when no ``c``
  (``lost`` does not grow where the sum falls).

  Example:
    >>> r = repair(np.array([[1.0, 0.8, 1.2, 1.4, 2.0]]), np.array([[0.0, 0.1, 0.2, 0.3, 0.4]]))
    >>> round(r["c"], 6), round(r["share"], 3)
    (2.0, 0.207)
  """
  s, t = deviation_sum.mean(axis=0), lost.mean(axis=0)
  ds, dt = np.diff(s), np.diff(t)
  need = ds <= 0
  if np.any(need & (dt <= 0)):
    return {"c": None, "share": None}
  c = float(np.max(-ds[need] / dt[need])) if need.any() else 0.0
  c *= 1.0 + 1e-9
  return {"c": c, "share": float(np.mean(c * t / (s + c * t)))}


def _pixelate_index() -> int:
  """Pixelate's 0-based KADID type index (the engine's first 25 types are KADID's, in order)."""
  from jiqa import distortions

  return distortions.names().index(PIXELATE)


@functools.cache
def _bank_fn():
  """Jitted ``(N, 17)``: the 16 pixel-aligned deviations, then ``lost_content``."""
  import jax
  import jax.numpy as jnp

  from jiqa.models import deviations

  return jax.jit(lambda r, x: jnp.concatenate(
      [deviations.deviation_features(r, x, num_scales=4), deviations.lost_content(r, x)[:, None]],
      axis=-1))


def measure(photos: dict, size: tuple[int, int], weights: np.ndarray, *, seed: int = 0,
            fits: dict | None = None) -> dict:
  """Every predictor's order at the five pixelate cells of ``photos`` at ``size`` (see above).

  ``fits``: ``{name: 17 weights}`` on the 16 deviations and ``lost_content``, scored too.
  """
  import jax
  from tqdm.auto import tqdm

  from jiqa.evaluation import kadid_cells
  from jiqa.models import deviations

  t = _pixelate_index()
  levels = kadid_cells.cell_levels()[t]
  metrics = kadid_cells.builtin_predictors()
  names = deviations.feature_names(4)
  raw = {m: [] for m in metrics} | {"bank": []}
  for i, photo in enumerate(tqdm(photos.values(), desc=f"{size[0]}x{size[1]}", leave=False)):
    ref = kadid_cells.kadid_like(photo, size=size)
    cells = kadid_cells.distort_cells(jax.random.fold_in(jax.random.key(seed), i), ref, t,
                                      types=[t])
    refs = np.broadcast_to(ref, cells.shape)
    for m, fn in metrics.items():
      raw[m].append(np.asarray(fn(refs, cells), np.float64))
    raw["bank"].append(np.asarray(_bank_fn()(refs, cells), np.float64))
  both = np.stack(raw.pop("bank"))                          # (photos, 5, 17)
  dev, lost = both[..., :16], both[..., 16]
  shipped = dev @ weights
  scores = {m: np.stack(v) for m, v in raw.items()}         # higher = better
  scores |= {"prior (16 deviations, w = 1/16)": -dev.mean(-1), "scorer": -shipped,
             "lost_content": -lost}
  scores |= {f"fit:{n}": -(both @ np.asarray(w)) for n, w in (fits or {}).items()}
  out = {"size": list(size), "levels": levels.tolist(), "photos": len(photos),
         "resampling": resampling(*size, levels),
         "predictors": {n: order_figures(s) for n, s in scores.items()},
         "deviations_strict": [n for k, n in enumerate(names)
                               if order_figures(-dev[..., k])["strict"]],
         "repair": repair(shipped, lost)}
  out["repair_prior"] = repair(dev.mean(-1), lost)
  return out


def fit_on_engine_tiers(config, pool, out: str, *, tiers: int, steps: int,
                        eval_crops: int) -> dict:
  """Fits the 16 deviations with and without ``lost_content`` on the engine's tiers.

  The signal of the shipped scorer (``experiments.scorer_variants``' ``scaled``: the
  levels of one composition, ranked per tier) on the same training tiers of the
  training photos, and both fits' certain-order criterion ``E`` on the held-out
  photos' engine tiers (data cached in ``out``, shared with ``scorer_variants``).
  Engine data only.
  """
  import jax

  from experiments import engine_tiers
  from experiments import scorer_variants as sv

  def bank(refs, images):  # (N, 17): the 16 deviations, then lost_content
    return np.asarray(engine_tiers.chunks(_bank_fn(), refs, images), np.float64)

  refs, images, severity, _ = engine_tiers.training_tiers(config, pool, tiers, out)["scaled"]
  b, n = images.shape[:2]
  d = bank(np.repeat(refs, n, 0), images.reshape((b * n,) + images.shape[2:])).reshape(b, n, -1)
  fits, figures = {}, {"seen_types": {}, "heldout_types": {}}
  for name, cols in (("base", np.arange(16)), ("base+lost_content", np.arange(17))):
    params, loss = sv.fit(d[..., cols], severity, scope="tier", steps=steps)
    w = np.zeros(17)
    w[cols] = np.asarray(jax.nn.softmax(params["theta"]))
    fits[name] = {"weights": w.round(5).tolist(), "final_loss": loss}
  for i, split in enumerate(figures):
    data = engine_tiers.eval_data(config, pool, i, eval_crops, out)
    cache = {}

    def predict(r, x, w):
      key = (r.shape, float(r.ravel()[::997].sum()), float(x.ravel()[::991].sum()))
      if key not in cache:
        cache.clear()
        cache[key] = bank(r, x)
      return -(cache[key] @ w)

    for name, f in fits.items():
      w = np.asarray(f["weights"])
      figures[split][name] = sv.heldout_figures(lambda r, x, w=w: predict(r, x, w), data)
  for name, f in fits.items():
    f["E"], f["E_se"] = sv.engine_criterion(figures, name)
    f["E_minus_base"], f["E_minus_base_se"] = sv.engine_criterion(figures, name, "base")
  return fits


def kadid_published(path=None) -> dict:
  """KADID's own PSNR, SSIM and MS-SSIM of its pixelate images (never the MOS)."""
  from jiqa.evaluation import kadid_cells

  cols = kadid_cells.read_kadid(path)
  t = _pixelate_index()
  return {c: order_figures(cols[c][:, t]) for c in ("psnr", "ssim", "ms_ssim") if c in cols}


def summary(result: dict) -> str:
  rows = []
  for r in result["sizes"]:
    h, w = r["size"]
    rs = r["resampling"]
    rows += [f"## {h}x{w}, {r['photos']} photos", "",
             "| level | " + " | ".join(f"L{k + 1}" for k in range(5)) + " |",
             "|---|" + "---|" * 5]
    for key in ("moved", "rows_lost", "cols_lost"):
      rows.append(f"| pixels {key.replace('_', ' ')} | " + " | ".join(f"{v:.3f}" for v in rs[key])
                  + " |")
    rows += ["", "| predictor (cell means, higher = better) | strict | wrong steps | photos "
             "strictly ordered |", "|---|---|---|---|"]
    for n, f in r["predictors"].items():
      rows.append(f"| {n} | {'yes' if f['strict'] else 'no'} | {', '.join(f['wrong_steps']) or '-'}"
                  f" | {f['per_photo']:.2f} |")
    rows.append(f"\ndeviations strictly ordered: {len(r['deviations_strict'])} of 16 "
                f"({', '.join(r['deviations_strict']) or 'none'})")
    for key, label in (("repair", "scorer"), ("repair_prior", "prior")):
      c = r[key]
      rows.append(f"{label} + c * lost_content strictly ordered from c = "
                  + (f"{c['c']:.3g}, where lost_content carries {100 * c['share']:.0f}% of the "
                     "score at pixelate's cells" if c["c"] is not None else "never")
                  )
    rows.append("")
  for n, f in result.get("fits", {}).items():
    rows.append(f"fit {n}: E {f['E']:.4f} +- {f['E_se']:.4f}, minus base {f['E_minus_base']:+.4f}"
                f" +- {f['E_minus_base_se']:.4f}; lost_content weight {f['weights'][16]:.3f}")
  rows += ["", "## KADID-10k's own pixelate images (published metric columns, 81 contents)", "",
           "| metric | L1..L5 means | strict | photos strictly ordered |", "|---|---|---|---|"]
  for c, f in result["kadid"].items():
    rows.append(f"| {c} | {', '.join(f'{v:.4g}' for v in f['means'])} | "
                f"{'yes' if f['strict'] else 'no'} | {f['per_photo']:.2f} |")
  return "\n".join(rows)


def _plots(out: str, result: dict) -> None:
  """Each predictor's five cell means, scaled to 0 at L1 and -1 at L5, per size."""
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  from plotly.subplots import make_subplots

  sizes = result["sizes"]
  fig, axes = plt.subplots(1, len(sizes), figsize=(6 * len(sizes), 4.5), squeeze=False)
  fig_h = make_subplots(rows=1, cols=len(sizes),
                        subplot_titles=[f"{r['size'][0]}x{r['size'][1]}" for r in sizes])
  for j, r in enumerate(sizes):
    ax = axes[0, j]
    for n, f in r["predictors"].items():
      m = np.asarray(f["means"])
      y = (m - m[0]) / (m[0] - m[-1]) if m[0] != m[-1] else m * 0
      style = dict(lw=2.5) if n in ("scorer", "lost_content") else dict(lw=1, alpha=0.7)
      ax.plot(range(1, 6), y, marker="o", label=n, **style)
      fig_h.add_scatter(x=list(range(1, 6)), y=y, mode="lines+markers", name=n,
                        legendgroup=n, showlegend=j == 0, row=1, col=j + 1)
    ax.plot(range(1, 6), -np.asarray(r["resampling"]["moved"]), "k--", label="- pixels moved")
    ax.set_title(f"pixelate cells at {r['size'][0]}x{r['size'][1]} ({r['photos']} photos)")
    ax.set_xlabel("KADID level")
    ax.set_ylabel("cell mean, 0 at L1, -1 at L5 (down = worse)")
  axes[0, 0].legend(fontsize=7, loc="lower left")
  fig.tight_layout()
  fig.savefig(os.path.join(out, "pixelate_order.png"), dpi=120)
  plt.close(fig)
  fig_h.update_layout(title="Pixelate's five KADID levels: each predictor's cell means")
  fig_h.write_html(os.path.join(out, "pixelate_order.html"), include_plotlyjs="cdn")


def main(argv=None) -> int:
  a = _parser().parse_args(argv)
  sizes = _check_args(a)
  os.makedirs(a.out, exist_ok=True)
  from experiments import deviation_landscape
  from experiments.level_order import engine_photos
  from jiqa.configs import pipeline

  t0 = time.perf_counter()
  photos = engine_photos(a.folder)

  weights = (deviation_landscape.scorer_weights(a.model, "--model") if a.model else
             np.asarray(deviation_landscape.ALIGNED_SCORER_WEIGHTS, np.float64))
  fits = {}
  if a.fit_dir:
    from jiqa.training import loop

    config = pipeline.get_config("")
    fits = fit_on_engine_tiers(config, loop.load_pool(config), a.fit_dir, tiers=a.tiers,
                               steps=a.steps, eval_crops=a.eval_crops)
  model = a.model or "aligned scorer shipped until 2026-12-06"
  result = {"photos": list(photos), "model": model, "seed": a.seed, "fits": fits,
            "sizes": [measure(photos, s, weights, seed=a.seed,
                              fits={n: f["weights"] for n, f in fits.items()}) for s in sizes],
            "kadid": kadid_published()}
  table = summary(result)
  print(table, flush=True)
  _plots(a.out, result)
  result["seconds"] = time.perf_counter() - t0
  for ext, text in (("json", json.dumps(result, indent=1)), ("md", table + "\n")):
    with open(os.path.join(a.out, f"pixelate_order.{ext}"), "w", encoding="utf-8") as f:
      f.write(text)
  print(f"{result['seconds']:.0f} s; wrote pixelate_order.json, .md, .png and .html in {a.out}")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())

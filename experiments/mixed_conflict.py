"""Mixed tiers against certain orders: can one weighting of fixed deviations serve both?

  python -m experiments.mixed_conflict --out DIR [--tiers 256] [--steps 300] [--eval_crops 32]

The shipped scorer orders the engine's certain orders (the levels of one
composition, a further distortion on top) above every metric, but the mixed
tiers (ordered by the engine's nominal cross-type severity) below PSNR, SSIM
and MS-SSIM. This asks whether that is the training signal or the features.
The deviation scorer's weights are fitted (:func:`experiments.scorer_variants.fit`,
on the same cached training tiers) to three signals:

* ``mixed``: the mixed tiers ranked across the batch (the nominal severity);
* ``certain``: the scaled tiers within each tier, plus nested pairs;
* ``mixed+nested``: the mixed tiers plus the nested pairs;

for two feature sets: ``base`` (the 16 deviations of the shipped scorer,
pixel-aligned) and ``base+metric`` (also the metrics' own deviations, still
zero on identical pairs and non-negative, :func:`metric_deviations`: one minus
SSIM at full and half resolution, and ten times the MSE, PSNR's). Each fit is
measured, beside the shipped scorer and PSNR, SSIM, MS-SSIM and GMSD, on the
same held-out crops (:func:`experiments.scorer_variants.heldout_figures`): the
certain-order criterion E, and the mixed-tier accuracy. Writes
``mixed_conflict.json`` and ``mixed_conflict.md``. Engine data only: no MOS is
read, and nothing here chooses a shipped model.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

SIGNALS = ("mixed", "certain", "mixed+nested")
FEATURE_SETS = ("base", "base+metric")
METRIC_DEVIATIONS = ("1-ssim", "1-ssim_half", "10*mse")


@jax.jit
def metric_deviations(refs: jax.Array, images: jax.Array) -> jax.Array:
  """``(N, 3)``: one minus SSIM (dm-pix) at full and at half resolution, ten times the MSE.

  Zero on identical pairs and never negative (float rounding can put SSIM a hair
  above 1: clipped). SSIM is :func:`jiqa.metrics.ssim` (dm-pix's), the half
  resolution MS-SSIM's 2x2 mean.

  Example:
    >>> x = jnp.full((1, 32, 32, 3), 0.5)   # (SSIM needs 11 px at half resolution too)
    >>> metric_deviations(x, x).tolist()
    [[0.0, 0.0, 0.0]]
  """
  from jiqa import metrics
  from jiqa.metrics.full_reference import _downsample2 as half

  out = [1.0 - metrics.ssim(refs, images),
         1.0 - metrics.ssim(half(refs), half(images)),
         10.0 * jnp.mean((refs - images)**2, axis=(1, 2, 3))]
  return jnp.maximum(jnp.stack(out, axis=-1), 0.0)


def _parser():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--out", required=True, help="folder of the caches and the tables")
  p.add_argument("--tiers", type=int, default=256, help="training tiers per mode (x64)")
  p.add_argument("--steps", type=int, default=300, help="Adam steps per fit")
  p.add_argument("--eval_crops", type=int, default=32, help="held-out crops per photo")
  return p


def _check(a) -> None:
  if a.tiers < 64 or a.tiers % 64:
    raise SystemExit(f"--tiers: expected a positive multiple of 64; got {a.tiers}.")
  if a.steps < 1:
    raise SystemExit(f"--steps: expected >= 1; got {a.steps}.")
  if a.eval_crops < 1:
    raise SystemExit(f"--eval_crops: expected >= 1; got {a.eval_crops}.")
  from jiqa import outputs

  try:
    outputs.check_output_dir(a.out, flag="--out")
  except ValueError as e:
    raise SystemExit(str(e)) from None


def _features(refs, images):
  """``(N, 19)``: the 16 base deviations (pixel-aligned), then :func:`metric_deviations`."""
  from experiments import scorer_variants as sv
  from experiments.engine_tiers import chunks

  base = [7 * k + j for k in range(4) for j in range(4)]  # "pooled" has 7 a scale
  dev = np.asarray(chunks(sv._features_fn(4, "pooled"), refs, images), np.float64)[:, base]
  extra = np.asarray(chunks(metric_deviations, refs, images), np.float64)
  return np.concatenate([dev, extra], axis=-1)


def _tier_features(refs, images):
  b, n = images.shape[:2]
  return _features(np.repeat(refs, n, axis=0),
                   images.reshape((b * n,) + images.shape[2:])).reshape(b, n, -1)


def fit_all(train: dict, *, steps: int) -> dict:
  """Per ``"<feature set>:<signal>"``: the column indices and the fitted positive weights."""
  from experiments import scorer_variants as sv

  s, m = train["scaled"], train["mixed"]
  out = {}
  for fs in FEATURE_SETS:
    c = np.arange(16 if fs == "base" else 16 + len(METRIC_DEVIATIONS))
    nested = dict(d_nested=np.concatenate([s["d_nested"], m["d_nested"]])[..., c],
                  d_base=np.concatenate([s["d"], m["d"]])[..., c])
    specs = {"mixed": dict(d_tier=m["d"][..., c], severity=m["sev"], scope="batch"),
             "certain": dict(d_tier=s["d"][..., c], severity=s["sev"], scope="tier", **nested),
             "mixed+nested": dict(d_tier=m["d"][..., c], severity=m["sev"], scope="batch",
                                  **nested)}
    for signal in SIGNALS:
      params, _ = sv.fit(steps=steps, **specs[signal])
      out[f"{fs}:{signal}"] = (c, np.asarray(jax.nn.softmax(params["theta"]), np.float64))
  return out


def main(argv=None) -> int:
  a = _parser().parse_args(argv)
  _check(a)
  os.makedirs(a.out, exist_ok=True)
  from experiments import scorer_variants as sv
  from experiments.engine_tiers import eval_data, training_tiers
  from jiqa.configs import pipeline
  from jiqa.models import deviations
  from jiqa.training import loop

  t0 = time.perf_counter()
  config = pipeline.get_config("")
  pool = loop.load_pool(config)
  train = {mode: {"sev": sev, "d": _tier_features(refs, imgs),
                  "d_nested": _tier_features(refs, nested)}
           for mode, (refs, imgs, sev, nested) in
           training_tiers(config, pool, a.tiers, a.out).items()}
  fits = fit_all(train, steps=a.steps)
  bank = {}

  def fitted(c, w):
    def predict(refs, images):
      key = (refs.shape, float(refs.ravel()[::997].sum()), float(images.ravel()[::997].sum()),
             float(images.ravel()[1::991].sum()))
      if key not in bank:  # every fit scores the same images: featurise them once
        bank[key] = _features(np.asarray(refs, np.float32), np.asarray(images, np.float32))
      return -(bank[key][:, c] @ w)
    return predict

  predictors = {n: fitted(c, w) for n, (c, w) in fits.items()}
  predictors.update(sv.model_predictors({}))
  figures = {}
  for i, split in enumerate(("seen_types", "heldout_types")):
    data = eval_data(config, pool, i, a.eval_crops, a.out)
    figures[split] = {n: sv.heldout_figures(p, data) for n, p in predictors.items()}
  lines = ["| predictor | E (certain) | nested acc seen/held | mixed acc seen/held |",
           "|---|---|---|---|"]
  for n in predictors:
    e, se = sv.engine_criterion(figures, n)
    f2 = lambda k: "/".join(f"{figures[s][n][k]:.3f}" for s in figures)  # noqa: E731
    lines.append(f"| {n} | {e:.3f} ± {se:.3f} | {f2('nested_acc')} | {f2('mixed_acc')} |")
  table = "\n".join(lines)
  print(table, flush=True)
  names = [*deviations.feature_names(4, "base"), *METRIC_DEVIATIONS]
  result = {"weights": {n: dict(zip(names, w.round(4).tolist())) for n, (_, w) in fits.items()},
            "figures": figures, "seconds": time.perf_counter() - t0}
  with open(os.path.join(a.out, "mixed_conflict.json"), "w", encoding="utf-8") as f:
    json.dump(result, f, indent=1)
  with open(os.path.join(a.out, "mixed_conflict.md"), "w", encoding="utf-8") as f:
    f.write(table + "\n")
  print(f"{result['seconds']:.0f} s")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())

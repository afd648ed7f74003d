"""Scaled tiers beside the mixed ones for the scorer (issue 10): train variants, apply the rule.

  python -m experiments.certain_orders --out DIR [VARIANT ...] [--baselines] [--table]

Each variant trains the stats scorer alone (config ``scorer``, the pipeline's
sizes, seed 0) with or without scaled tiers (the levels of one composition,
pristine first: orders that are certain), then scores the held-out photos'
tiers of :func:`experiments.engine_tiers.eval_data` (16 crops a photo, seen
and held-out types; engine data only) with
:func:`experiments.scorer_variants.heldout_figures`: scaled-tier, nested and
mixed-tier pairwise accuracy and the share of tier images below their pristine.
``--baselines`` does the same for PSNR, SSIM, MS-SSIM, GMSD and the shipped
scorer. ``--table`` prints every figure in ``DIR`` and what the decision rule
below picks. Human data is not read.

The decision rule (fixed in commit 67356aa before any variant was measured):

1. Eligible: scaled-tier accuracy >= 0.98 and below-pristine share >= 0.99 on
   both type splits, and mixed-tier accuracy above SSIM's on both.
2. Among the eligible, criterion E (:func:`experiments.scorer_variants.engine_criterion`:
   the mean of scaled and nested accuracy over both splits); variants within 2
   paired standard errors of the best are tied.
3. Among the tied: the highest mean mixed-tier accuracy.
4. None eligible: the highest E among those beating SSIM on mixed tiers,
   reported as failing.

Run of 2026-12-06 (1400 steps each): weight 4 was picked (scaled 0.984 /
0.996, mixed 0.855 / 0.900); it is the stats scorer's setting
(:func:`jiqa.configs.pipeline.certain_orders`, ``pipeline:stats``; the pipeline's
default scorer since 2026-12-06 is the deviation scorer, on scaled tiers only).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

SCALED = dict(scaled_tier_batch_size=16, scaled_pristine=True)
NONE = dict(scaled_tier_batch_size=0, scaled_pristine=False)
# name: (steps, data updates, train updates)
VARIANTS = {
    "mixed_1400": (1400, NONE, {}),
    "mixed+scaled_1400": (1400, dict(SCALED, scaled_pristine=False), dict(scaled_weight=1.0)),
    "mixed+scaledP_700": (700, SCALED, dict(scaled_weight=1.0)),
    "mixed+scaledP_1400": (1400, SCALED, dict(scaled_weight=1.0)),
    "mixed+scaledP_w2_1400": (1400, SCALED, dict(scaled_weight=2.0)),
    "mixed+scaledP_w4_1400": (1400, SCALED, dict(scaled_weight=4.0)),
}


def _eval_sets(out: str) -> dict:
  from experiments import engine_tiers
  from jiqa.configs import pipeline
  from jiqa.training import loop

  cfg = pipeline.get_config("")
  pool = loop.load_pool(cfg)
  return {s: engine_tiers.eval_data(cfg, pool, i, 16, os.path.join(out, "data"))
          for i, s in enumerate(("seen_types", "heldout_types"))}


def _chunked(predict, chunk: int = 32):
  """``predict(reference, images)`` applied ``chunk`` images at a time (bounded memory)."""
  import numpy as np

  return lambda r, x: np.concatenate([np.asarray(predict(r[i:i + chunk], x[i:i + chunk]),
                                                 np.float64)
                                      for i in range(0, r.shape[0], chunk)])


def _save(out: str, name: str, figs: dict, **extra) -> None:
  with open(os.path.join(out, f"fig_{name}.json"), "w") as f:
    json.dump(dict(name=name, figures=figs, **extra), f)
  print(name, {s: {k: round(v, 4) for k, v in f.items() if k != "per_tier"}
               for s, f in figs.items()}, flush=True)


def train_variant(out: str, name: str) -> None:
  """Trains ``VARIANTS[name]`` in ``out/w_<name>`` and writes ``out/fig_<name>.json``."""
  from experiments import scorer_variants as sv
  from jiqa import configs
  from jiqa.evaluation.kadid_yardstick import scorer_predictor
  from jiqa.training import loop
  from jiqa.training import state as state_lib

  steps, data, train = VARIANTS[name]
  c = configs.load_config_file("scorer")
  c.train.update(steps=steps, eval_every=0, checkpoint_every=100_000, **train)
  c.data.update(data)
  res = loop.train_and_evaluate(c, os.path.join(out, f"w_{name}"), progress=True)
  pred = _chunked(scorer_predictor(state_lib.merge(res.graphdef, res.state).scorer))
  figs = {s: sv.heldout_figures(pred, d) for s, d in _eval_sets(out).items()}
  _save(out, name, figs, steps=steps, train_seconds=res.seconds)


def baselines(out: str) -> None:
  """The four metrics and the shipped scorer on the same tiers."""
  import numpy as np

  import jiqa
  from experiments import scorer_variants as sv
  from jiqa.evaluation import kadid_cells

  shipped = jiqa.load()
  preds = dict(kadid_cells.builtin_predictors(),
               shipped=lambda r, x: np.asarray(shipped.score(x, r), np.float64))
  sets = _eval_sets(out)
  for n, p in preds.items():
    _save(out, n, {s: sv.heldout_figures(_chunked(p), d) for s, d in sets.items()})


def table(out: str) -> str | None:
  """Prints every figure in ``out`` and returns the rule's pick (``None``: no variant)."""
  from experiments import scorer_variants as sv

  runs = {}
  for path in sorted(glob.glob(os.path.join(out, "fig_*.json"))):
    with open(path) as f:
      d = json.load(f)
    runs[d["name"]] = d
  figs = {s: {n: d["figures"][s] for n, d in runs.items()} for s in ("seen_types", "heldout_types")}
  print("| variant | steps | E | scaled acc seen/held | nested acc | mixed acc | below pristine |")
  print("|---|---|---|---|---|---|---|")
  for n, d in runs.items():
    e, se = sv.engine_criterion(figs, n)
    g = lambda k: "%.3f/%.3f" % tuple(figs[s][n][k] for s in figs)  # noqa: E731
    print(f"| {n} | {d.get('steps', '-')} | {e:.3f} ± {se:.3f} | {g('scaled_acc')} | "
          f"{g('nested_acc')} | {g('mixed_acc')} | {g('below_pristine')} |")
  if "ssim" not in runs:
    print("no SSIM figures: run --baselines first")
    return None
  trained = [n for n, d in runs.items() if "steps" in d]
  beat = [n for n in trained
          if all(figs[s][n]["mixed_acc"] > figs[s]["ssim"]["mixed_acc"] for s in figs)]
  eligible = [n for n in beat if all(figs[s][n]["scaled_acc"] >= 0.98
                                     and figs[s][n]["below_pristine"] >= 0.99 for s in figs)]
  pool = eligible or beat
  if not pool:
    print("no variant beats SSIM on mixed tiers")
    return None
  e = {n: sv.engine_criterion(figs, n)[0] for n in pool}
  best = max(pool, key=e.get)
  tied = [n for n in pool
          if n == best or e[n] - e[best] > -2 * sv.engine_criterion(figs, n, best)[1]]
  pick = max(tied, key=lambda n: sum(figs[s][n]["mixed_acc"] for s in figs))
  print(f"eligible {eligible}; tied {tied}; picked {pick}"
        + ("" if eligible else " (FAILS the target: rule step 4)"))
  return pick


def main(argv: list[str] | None = None) -> None:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("variants", nargs="*", help=f"any of {sorted(VARIANTS)}")
  p.add_argument("--out", required=True, help="folder for the runs and figures")
  p.add_argument("--baselines", action="store_true")
  p.add_argument("--table", action="store_true")
  a = p.parse_args(argv)
  unknown = [v for v in a.variants if v not in VARIANTS]
  if unknown:
    p.error(f"variants: unknown {unknown}; expected any of {sorted(VARIANTS)}.")
  if not (a.variants or a.baselines or a.table):
    p.error("nothing to do: name variants, or --baselines, or --table.")
  if not os.path.isdir(a.out):
    p.error(f"--out: {a.out} is not a folder.")
  for v in a.variants:
    train_variant(a.out, v)
  if a.baselines:
    baselines(a.out)
  if a.table:
    table(a.out)


if __name__ == "__main__":
  try:
    main()
  except ValueError as e:
    sys.exit(f"error: {e}")

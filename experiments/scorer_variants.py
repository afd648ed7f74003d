"""Scorer variants side by side: which ordering signal, on certain orderings of held-out photos.

  python -m experiments.scorer_variants --out DIR [--tiers 256] [--steps 300] [--kadid]
      [--model NAME=PATH ...]

The :class:`jiqa.models.DeviationScorer` has no stem to learn (its deviations
are fixed functions of the pair), so its training on tiers reduces to fitting
the 16 weights and the temperature on the tiers' deviation vectors: this
script draws a fixed set of training tiers from the training photos of the
pipeline config (crops of ``data.crop_size``, the training types), computes
their deviations once and fits each variant with Adam (the loss, optimizer
and weight decay of ``jiqa/configs/pipeline.py``), in seconds, so several
ordering signals can be compared on the same data:

* ``prior``: no training (``theta = 0``: the plain mean of the deviations);
* ``scaled``: the levels of one composition (``make_tiers(mode="scaled")``),
  ranked within each tier (``ranking_scope="tier"``): an order that is certain
  for monotone ops;
* ``scaled+nested``: also pairs ``x`` vs ``B(x)`` (a further composition
  ``B`` on top of a tier image ``x``), within each content;
* ``mixed``: today's signal, ``make_tiers(mode="mixed")`` ranked across the
  batch by the engine's nominal severity (``ranking_scope="batch"``).

Figures on the held-out photos (``data.holdout_images``), seen and held-out
types, beside the shipped scorer (``jiqa.load()``) and PSNR, SSIM, MS-SSIM,
GMSD: pairwise accuracy on scaled tiers and on nested pairs (certain
orderings), the share of distorted images scored strictly below their
pristine, and the pairwise accuracy on mixed tiers (the nominal cross-type
severity: reported, not a criterion). ``--kadid`` then adds the KADID-10k
cell yardstick of every variant (evaluation only: nothing is chosen by it).

Each ordering signal is fitted on two sets of deviations
(:func:`jiqa.models.deviations.deviation_features`): ``base`` (16: GMS std and
mean, chroma, luminance at 4 scales) and ``pooled`` (28: also the standard
deviation pooling of the chroma, luminance and joint gradient-chroma maps), and
for ``scaled`` also with ListMLE instead of the pairwise loss.

**Decision rule** (fixed on 2026-12-05 at 21:53 UTC, commit e341c1d, before any KADID figure
of the ``pooled`` or ListMLE variants was seen; applied by :func:`decide`,
printed before the KADID yardstick runs):

1. Eligible: the deviation variants that score every held-out tier image
   that differs from its pristine strictly below it, on both type splits.
2. Criterion ``E``: the mean of the scaled-tier and nested accuracies (the
   orderings that are certain) over seen and held-out types, on the held-out
   photos (``--eval_crops`` crops per photo).
3. The variant of highest ``E`` is the best; every eligible variant whose
   ``E`` is within two standard errors of it (paired by tier) is tied with it.
4. Among tied variants the simplest wins, in an order fixed a priori: untrained
   before trained, ``base`` before ``pooled``, then the training signal
   ``scaled``, ``scaled-listmle``, ``scaled+nested``, ``mixed`` (certain
   orderings before the nominal cross-type severity).

The mixed-tier accuracy is not part of the rule: its order is the engine's
nominal cross-type severity, which is not certain (it orders KADID-10k about as
well as PSNR does, ``experiments/kadid_severity_check``).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments.engine_tiers import chunks as _chunks
from experiments.engine_tiers import eval_data, training_tiers


def _parser():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--out", required=True)
  p.add_argument("--tiers", type=int, default=256, help="training tiers per mode")
  p.add_argument("--steps", type=int, default=300, help="Adam steps per variant")
  p.add_argument("--num_scales", type=int, default=4)
  p.add_argument("--kadid", action="store_true", help="also the KADID cell yardstick")
  p.add_argument("--data_only", type=int, default=-1,
                 help="only make (cache) the held-out data of split 0 or 1, then exit "
                      "(a process of its own: the engine's peak memory is not kept)")
  p.add_argument("--size", default="", choices=["", "full"],
                 help="the pipeline config size whose data (pool, crops, tier size) the "
                      "training tiers use: '' (the CPU default, 64 px crops) or 'full' (256 px)")
  p.add_argument("--kadid_only", action="store_true",
                 help="fit, then only the KADID yardstick (no engine figures; implies --kadid; "
                      "writes variants_kadid.json)")
  p.add_argument("--kadid_size", default="384,512", help="KADID-like H,W")
  p.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                 help="also score with the model at PATH (jiqa.load: exported weights or a run "
                      "folder) under NAME; repeatable")
  p.add_argument("--eval_crops", type=int, default=0,
                 help="held-out crops per photo (0: the config's eval.crops_per_image)")
  return p


@functools.cache
def _features_fn(num_scales: int, feature_set: str):
  """The jitted deviations, one per ``(num_scales, feature_set)``: compiled once, not per call."""
  from jiqa.models import deviations

  return jax.jit(lambda r, x: deviations.deviation_features(r, x, num_scales=num_scales,
                                                            feature_set=feature_set))


def features(refs, images, num_scales, feature_set="pooled"):
  """Deviations ``(B, n, K)`` of tier images ``(B, n, ...)`` from their references."""
  b, n = images.shape[:2]
  flat = images.reshape((b * n,) + images.shape[2:])
  return _chunks(_features_fn(num_scales, feature_set), np.repeat(refs, n, axis=0),
                 flat).reshape(b, n, -1)


def fit(d_tier, severity, *, scope, steps, d_nested=None, d_base=None, kind="pairwise",
        lr=0.05, wd=1e-4):
  """Adam on ``theta``, ``log_scale`` of ``score = -exp(ls) * d @ softmax(theta)``."""
  from jiqa.losses import ranking

  params = {"theta": jnp.zeros(d_tier.shape[-1]), "log_scale": jnp.log(50.0)}
  tx = optax.adamw(lr, weight_decay=wd)
  opt = tx.init(params)

  def score(p, d):
    return -jnp.exp(p["log_scale"]) * (d @ jax.nn.softmax(p["theta"]))

  def loss_fn(p):
    loss = ranking.ranking_loss(score(p, d_tier), severity, kind=kind, scope=scope)
    if d_nested is not None:  # pairs (x, B(x)): x ranked above
      pair = jnp.stack([score(p, d_base), score(p, d_nested)], -1).reshape(-1, 2)
      keep = (jnp.abs(d_nested - d_base).sum(-1) > 0).reshape(-1)  # B = identity: no pair
      sev = jnp.broadcast_to(jnp.array([0.0, 1.0]), pair.shape)
      pair = jnp.where(keep[:, None], pair, 0.0)
      loss = loss + ranking.ranking_loss(pair, jnp.where(keep[:, None], sev, 0.0),
                                         kind="pairwise")
    return loss

  @jax.jit
  def step(p, o):
    loss, g = jax.value_and_grad(loss_fn)(p)
    u, o = tx.update(g, o, p)
    return optax.apply_updates(p, u), o, loss

  for _ in range(steps):
    params, opt, loss = step(params, opt)
  return jax.device_get(params), float(loss)


def _acc(scores, severity):
  from jiqa.evaluation import stats

  return float(stats.tier_pairwise_accuracy(np.asarray(scores, np.float64),
                                            np.asarray(severity, np.float64)))


def per_tier_accuracy(scores, severity):
  """Per tier: the share of pairs of different severity ordered right (ties half), ``(B,)``.

  NaN for a tier without such a pair. Its mean over pairs is ``stats.tier_pairwise_accuracy``.
  """
  s, v = np.asarray(scores, np.float64), np.asarray(severity, np.float64)
  i, j = np.triu_indices(s.shape[1], 1)
  valid = v[:, i] != v[:, j]
  right = np.sign(s[:, i] - s[:, j]) == -np.sign(v[:, i] - v[:, j])
  tie = s[:, i] == s[:, j]
  val = np.where(right, 1.0, np.where(tie, 0.5, 0.0))
  with np.errstate(invalid="ignore"):
    return np.where(valid.any(1), (val * valid).sum(1) / valid.sum(1), np.nan)


def engine_criterion(figures, name, best=None):
  """E: the mean of scaled and nested accuracy over both splits, and the SE of E (or of E -
  E(best), paired by tier) from the per-tier accuracies."""
  parts, var = [], 0.0
  for split in ("seen_types", "heldout_types"):
    for k in ("scaled", "nested"):
      x = np.asarray(figures[split][name]["per_tier"][k])
      if best is not None:
        x = x - np.asarray(figures[split][best]["per_tier"][k])
      x = x[np.isfinite(x)]
      parts.append(x.mean())
      var += x.var(ddof=1) / len(x)
  return float(np.mean(parts)), float(np.sqrt(var) / len(parts))


SIMPLICITY = ("prior", "scaled", "scaled-listmle", "scaled+nested", "mixed")


def decide(figures, names):
  """The decision rule (module docstring), on engine data only: returns the chosen variant."""
  eligible = [n for n in names
              if all(figures[s][n]["below_pristine"] == 1.0 for s in figures)]
  if not eligible:
    return {"chosen": None, "eligible": [], "reason": "no variant keeps the pristine best"}
  crit = {n: engine_criterion(figures, n)[0] for n in eligible}
  best = max(eligible, key=crit.get)
  tied = [n for n in eligible
          if n == best or crit[n] - crit[best] > -2 * engine_criterion(figures, n, best)[1]]

  def order(n):  # "deviation:<feature_set>:<training>"
    _, fs, training = n.split(":")
    return (training != "prior", fs != "base", SIMPLICITY.index(training))

  return {"chosen": min(tied, key=order), "best_E": best, "tied": sorted(tied, key=order),
          "eligible": eligible, "E": crit}


def heldout_figures(predict, data):
  """Certain-order figures (and the mixed-tier one) of ``predict(refs, images) -> (N,)``."""
  from jiqa.evaluation import stats

  out = {"per_tier": {}}
  for name in ("tier", "scaled_tier"):
    imgs = data[f"{name}_images"]
    b, n = imgs.shape[:2]
    refs = np.repeat(data["crops"], n, axis=0)
    s = predict(refs, imgs.reshape((b * n,) + imgs.shape[2:])).reshape(b, n)
    out["mixed_acc" if name == "tier" else "scaled_acc"] = _acc(s, data[f"{name}_severity"])
    out["per_tier"]["mixed" if name == "tier" else "scaled"] = per_tier_accuracy(
        s, data[f"{name}_severity"]).tolist()
    if name == "tier":
      s0 = predict(data["crops"], data["crops"])
      distorted = np.abs(imgs - data["crops"][:, None]).reshape(b, n, -1).max(-1) > 0
      out["below_pristine"] = float(np.mean(s[distorted] < np.broadcast_to(
          s0[:, None], s.shape)[distorted]))  # over the images that differ from the pristine
      nested = data["nested"]
      sn = predict(refs, nested.reshape(s.size, *nested.shape[2:])).reshape(b, n)
      changed = np.abs(nested - imgs).reshape(b, n, -1).max(-1) > 0
      out["nested_acc"] = stats.nested_accuracy(s, sn, changed)["accuracy"]
      out["per_tier"]["nested"] = stats.nested_per_tier(s, sn, changed).tolist()
  return out


def model_predictors(paths: dict[str, str]) -> dict:
  """``predict(refs, images) -> (N,)`` scores, higher better: the shipped model
  (``"shipped"``), the model of each ``paths`` folder under its name, then PSNR, SSIM,
  MS-SSIM and GMSD (negated; infinite PSNR capped at 100)."""
  import jiqa
  from jiqa import metrics

  fr_names = importlib.import_module("jiqa.evaluation.evaluate").FR_METRICS
  # Loaded models score each image on its own (jiqa.Model.score), so no chunking is needed.
  models = {"shipped": jiqa.load(), **{n: jiqa.load(path) for n, path in paths.items()}}
  predictors = {n: (lambda m: lambda r, x: np.asarray(m.score(x, r), np.float64))(m)
                for n, m in models.items()}
  for n in fr_names:
    f = jax.jit(getattr(metrics, n))
    sign = -1.0 if n == "gmsd" else 1.0
    predictors[n] = (lambda f, sign: lambda r, x: sign * np.minimum(np.nan_to_num(
        np.asarray(_chunks(f, r, x), np.float64), posinf=100.0), 100.0))(f, sign)
  return predictors


def main(argv=None) -> int:
  a = _parser().parse_args(argv)
  if a.tiers < 64 or a.tiers % 64:
    raise SystemExit(f"--tiers: expected a positive multiple of 64; got {a.tiers}.")
  extra = {}
  for spec in a.model:
    name, sep, path = spec.partition("=")
    if not (sep and name and path) or not os.path.isdir(path):
      raise SystemExit(f"--model: expected NAME=PATH with PATH a folder; got {spec!r}.")
    extra[name] = path
  os.makedirs(a.out, exist_ok=True)
  from flax import nnx

  from jiqa.configs import pipeline
  from jiqa.models import DeviationScorer
  from jiqa.training import loop

  eval_lib = importlib.import_module("jiqa.evaluation.evaluate")  # the package's name is a function
  t0 = time.perf_counter()
  config = pipeline.get_config(a.size)
  pool = loop.load_pool(config)
  if a.data_only >= 0:
    eval_data(config, pool, a.data_only, a.eval_crops, a.out)
    return 0
  drawn = training_tiers(config, pool, a.tiers, a.out, size=a.size)
  train = {}
  for mode, (refs, imgs, sev, nested) in drawn.items():
    train[mode] = {"sev": sev, "d": features(refs, imgs, a.num_scales),
                   "d_nested": features(refs, nested, a.num_scales)}
  print(f"training tiers drawn and featurised: {time.perf_counter() - t0:.0f} s", flush=True)
  # "pooled" has 7 deviations per scale; "base" is its first 4 of each scale.
  cols = {"pooled": np.arange(7 * a.num_scales),
          "base": np.asarray([7 * k + j for k in range(a.num_scales) for j in range(4)])}
  variants = {f"{fs}:prior": (fs, None) for fs in cols}
  fits = {}
  for fs, c in cols.items():
    s, m = ({k: (v[..., c] if k != "sev" else v) for k, v in train[t].items()}
            for t in ("scaled", "mixed"))
    specs = {"scaled": dict(d_tier=s["d"], severity=s["sev"], scope="tier"),
             "scaled-listmle": dict(d_tier=s["d"], severity=s["sev"], scope="tier",
                                    kind="listmle"),
             "scaled+nested": dict(d_tier=s["d"], severity=s["sev"], scope="tier",
                                   d_nested=np.concatenate([s["d_nested"], m["d_nested"]]),
                                   d_base=np.concatenate([s["d"], m["d"]])),
             "mixed": dict(d_tier=m["d"], severity=m["sev"], scope="batch")}
    for name, kw in specs.items():
      params, loss = fit(steps=a.steps, **kw)
      variants[f"{fs}:{name}"] = (fs, params)
      fits[f"{fs}:{name}"] = {"final_loss": loss, "weights": np.asarray(
          jax.nn.softmax(params["theta"])).round(4).tolist(),
          "scale": float(np.exp(params["log_scale"]))}
  print(json.dumps(fits, indent=1), flush=True)

  # The pooled deviations of a batch are computed once and shared by every variant (the
  # DeviationScorer's score is -exp(log_scale) * d @ softmax(theta) on these columns).
  pooled_fn = _features_fn(a.num_scales, "pooled")
  bank = {}

  def pooled(r, x):
    key_ = (r.shape, float(np.asarray(r).ravel()[::997].sum()),
            float(np.asarray(x).ravel()[::997].sum()), float(np.asarray(x).ravel()[1::991].sum()))
    if key_ not in bank:  # features are small: (N, 28) a batch
      bank[key_] = np.asarray(_chunks(pooled_fn, r, x), np.float32)
    return bank[key_]

  def deviation_model(spec):
    feature_set, params = spec
    sc = DeviationScorer(num_scales=a.num_scales, feature_set=feature_set, rngs=nnx.Rngs(0))
    if params is not None:
      sc.theta[...] = jnp.asarray(params["theta"])
      sc.log_scale[...] = jnp.asarray(params["log_scale"])
    w = np.asarray(sc.weights(), np.float32)
    scale = np.float32(np.exp(np.asarray(sc.log_scale[...])))
    c = cols[feature_set]
    return lambda r, x: (np.float32(0.0) - scale * (pooled(r, x)[:, c] @ w)).astype(np.float64)

  predictors = model_predictors(extra)
  fr = {n: predictors.pop(n) for n in eval_lib.FR_METRICS}
  predictors.update({f"deviation:{n}": deviation_model(p) for n, p in variants.items()})
  predictors.update(fr)

  result, table = {"fits": fits}, ""
  if not a.kadid_only:
    figures = {}
    for i, held in enumerate((False, True)):
      data = eval_data(config, pool, i, a.eval_crops, a.out)
      split = "heldout_types" if held else "seen_types"
      figures[split] = {n: heldout_figures(p, data) for n, p in predictors.items()}
    lines = ["| predictor | E (certain) | scaled acc seen/held | nested acc seen/held | "
             "below pristine seen/held | mixed acc seen/held |", "|---|---|---|---|---|---|"]
    crit = {n: engine_criterion(figures, n) for n in predictors}
    sh, ho = figures["seen_types"], figures["heldout_types"]
    for n in predictors:
      f2 = lambda k: f"{sh[n][k]:.3f}/{ho[n][k]:.3f}"  # noqa: E731
      lines.append(f"| {n} | {crit[n][0]:.3f} ± {crit[n][1]:.3f} | {f2('scaled_acc')} | "
                   f"{f2('nested_acc')} | {f2('below_pristine')} | {f2('mixed_acc')} |")
    table = "\n".join(lines)
    print(table, flush=True)
    choice = decide(figures, [n for n in predictors if n.startswith("deviation:")])
    print("decision rule (engine data only):", json.dumps(choice, indent=1), flush=True)
    result = {"fits": fits, "figures": figures, "criterion": crit, "decision": choice,
              "seconds": time.perf_counter() - t0}
  if a.kadid or a.kadid_only:
    from experiments import kadid_cells as kadid_cli
    from jiqa import images
    from jiqa.evaluation import kadid_cells

    size = tuple(int(v) for v in a.kadid_size.split(","))
    kpred = {n: (lambda p: lambda r, x: p(np.asarray(r), np.asarray(x)))(p)
             for n, p in predictors.items()}
    res = kadid_cells.evaluate(images.bundled_images(tuple(config.data.holdout_images)),
                               kpred, size=size, progress=False)
    result["kadid"] = {k: v for k, v in res.items() if k != "scores"}
    print(kadid_cli.tables(res), flush=True)
  result["seconds"] = time.perf_counter() - t0
  stem = "variants_kadid" if a.kadid_only else "variants"
  with open(os.path.join(a.out, stem + ".json"), "w", encoding="utf-8") as f:
    json.dump(result, f, indent=1)
  if table:
    with open(os.path.join(a.out, "variants.md"), "w", encoding="utf-8") as f:
      f.write(table + "\n")
  print(f"{result['seconds']:.0f} s")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())

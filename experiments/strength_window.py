"""Chooses the map predictor's inference-time strength window on validation pairs.

  python -m experiments.strength_window --workdir W [--windows 0,5,9,13,17,25]
                                        [--pairs-per-image 24] [--json OUT]

The validation pairs are single-distortion pairs (seen types) on fresh 96 px
crops of the run's *training* photos, with a key of their own: never the
held-out photos of the report, never human data. For each window ``k`` the
trained :class:`jiqa.models.MapPredictor` runs with ``strength_smooth = k`` (a
box mean of the strength's odd part; parameter-free, so no retraining) and the
script prints the signed and magnitude strength Spearman
(:func:`jiqa.evaluation.maps.strength_spearman`, with its per-pixel
``|B - A|`` baseline), the localisation AUC and the sign accuracy, then each
type's signed Spearman at every window and the window each type does best
with (``MapPredictor``'s ``strength_smooth`` takes one window per type). The
pipeline config's windows are the per-type choice printed here.

Measured after the 1400-step main job of 2026-12-06 (384 pairs, 16 training photos):
signed Spearman 0.675 / 0.685 / 0.690 / 0.693 / 0.695 / 0.693 for windows
0 / 5 / 9 / 13 / 17 / 25 (``|B - A|`` magnitude baseline 0.557). After the
1300-step one, with ``--windows 0,9,17,25,33,49,65 --pairs-per-image 64`` (1024
pairs): 0.674 / 0.690 / 0.695 / 0.694 / 0.689 / 0.674 / 0.657 with one window for
every type, 0.701 with each type's own (the pipeline config's
``STRENGTH_WINDOWS``); on the held-out photos of that run's report, not used for
the choice, 0.784 -> 0.787.
"""

from __future__ import annotations

import argparse
import json
import sys

from experiments import run_args


def parse_windows(text: str) -> list[int]:
  """``"0,5,9"`` -> ``[0, 5, 9]``; each window 0 or odd.

  Example:
    >>> parse_windows("0,9,17")
    [0, 9, 17]
  """
  try:
    windows = [int(w) for w in text.split(",") if w.strip()]
  except ValueError:
    raise ValueError(f"--windows: expected comma-separated integers; got {text!r}.") from None
  bad = [w for w in windows if w < 0 or (w and w % 2 == 0)]
  if not windows or bad:
    raise ValueError(f"--windows: expected 0 or odd windows; got {text!r}.")
  return windows


def main(argv: list[str] | None = None) -> dict:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--workdir", required=True, help="a training run's folder (jiqa run --out)")
  p.add_argument("--windows", default="0,5,9,13,17,25")
  p.add_argument("--pairs-per-image", type=int, default=24)
  p.add_argument("--json", default=None, help="where to write the figures")
  a = p.parse_args(argv)
  windows = parse_windows(a.windows)
  if a.pairs_per_image < 1:
    p.error(f"--pairs-per-image: expected >= 1; got {a.pairs_per_image}.")
  run_args.check_run_args(p, a)

  import jax
  import numpy as np

  from jiqa import distortions
  from jiqa.distortions import compose
  from jiqa.evaluation import map_pairs
  from jiqa.evaluation import maps as maps_lib
  from jiqa.training import data as data_lib

  config, model = run_args.restore_map_predictor(p, a.workdir)
  pool = data_lib.load_pool(pool_size=int(config.data.pool_size),
                            holdout=tuple(config.data.holdout_images),
                            folder=config.data.get("folder") or None,
                            names=tuple(config.data.names) or None)
  pairs = map_pairs.make_single_pairs(
      jax.random.key(1234), np.asarray(pool.train), crop_size=96,
      engine=compose.run_engine_config(config, heldout=False), pairs_per_image=a.pairs_per_image)
  print(f"{pairs['reference'].shape[0]} validation pairs from {len(pool.train_names)} training "
        "photos", flush=True)
  names = distortions.names()
  supports = {t: np.abs(pairs["maps"][..., t]) > 0 for t in range(pairs["maps"].shape[-1])}
  supports = {t: sup for t, sup in supports.items() if sup.sum() >= 10}  # as strength_spearman
  out = {}
  for k in windows:
    model.strength_smooth = k
    pred = map_pairs.predict_maps(model, pairs["reference"], pairs["distorted"])
    args = (pred["maps"], pairs["maps"], pairs["reference"], pairs["distorted"])
    out[k] = {"strength": maps_lib.strength_spearman(*args),
              "localisation": maps_lib.localisation_auc(*args),
              "sign": maps_lib.sign_accuracy(pred["maps"], pairs["maps"],
                                             distortions.signed_types())}
    out[k]["per_type"] = {names[t]: maps_lib.spearman(pred["maps"][..., t][sup],
                                                      pairs["maps"][..., t][sup])
                          for t, sup in supports.items()}
    s = out[k]["strength"]
    print(f"window {k:3d}: strength Spearman {s['signed']:.4f} signed, {s['magnitude']:.4f} "
          f"magnitude (abs(B - A) {s['magnitude_abs_diff']:.4f}); localisation AUC "
          f"{out[k]['localisation']['auc']:.4f}; sign {out[k]['sign']['accuracy']:.4f}",
          flush=True)
  best = max(windows, key=lambda k: out[k]["strength"]["signed"])
  print(f"highest signed Spearman: window {best}")
  chosen = per_type_choice({k: out[k]["per_type"] for k in windows})
  print("per type, signed Spearman at each window (" + " / ".join(map(str, windows)) + "):")
  for name, k in chosen.items():
    print(f"  {name:24s} " + " ".join(f"{out[w]['per_type'][name]:.3f}" for w in windows)
          + f"  -> {k}")
  mean = float(np.mean([out[k]["per_type"][name] for name, k in chosen.items()]))
  print(f"per-type windows (highest per type): {chosen}\n  their mean signed Spearman here "
        f"{mean:.4f} (chosen on these pairs: optimistic)")
  if a.json:
    with open(a.json, "w") as f:
      json.dump({"windows": {str(k): v for k, v in out.items()}, "per_type_windows": chosen},
                f, indent=1, default=str)
  return out


def per_type_choice(per_window: dict[int, dict[str, float]]) -> dict[str, int]:
  """Each type's window with the highest value (the smallest window on a tie).

  Example:
    >>> per_type_choice({0: {"jpeg": 0.8, "jitter": 0.4}, 17: {"jpeg": 0.8, "jitter": 0.5}})
    {'jpeg': 0, 'jitter': 17}
  """
  windows = sorted(per_window)
  names = list(per_window[windows[0]])
  return {n: max(windows, key=lambda k: (per_window[k][n], -k)) for n in names}


if __name__ == "__main__":
  try:
    main()
  except ValueError as e:
    sys.exit(f"error: {e}")

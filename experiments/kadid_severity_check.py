"""How human-relevant is the engine's severity scale? A check on KADID-10k's MOS.

The mixed tiers (:mod:`jiqa.distortions.tiers`) rank images of one content by
distortion mass, with KADID's level as the unit that makes types comparable.
KADID-10k's published MOS tell how well that unit agrees with people: for each
of the 81 reference images, over every pair of its 125 distorted versions of
*different* types whose MOS differ by more than ``--min-mos-gap``, the share of
pairs that the nominal level (L1..L5) orders like the MOS, next to the same
share for the full-reference metrics in the file.

Reads ``predictions.csv`` of the shared GMC reference data
(``$JIQA_GMC_REFERENCE``, default ``../shared/gmc-reference``), whose rows are
in KADID-10k's order (reference, type, level: ``I01_01_01 ... I81_25_05``;
checked here by the identity rows, PSNR 80 dB, at type 1 and 3 level 1).

  python -m experiments.kadid_severity_check [--min-mos-gap 0.5]
"""

from __future__ import annotations

import argparse
import os
import pathlib

import numpy as np
import pandas as pd

N_REF, N_TYPES, N_LEVELS = 81, 25, 5


def cross_type_agreement(score: np.ndarray, mos: np.ndarray, *, min_gap: float) -> float:
  """Share of within-content, cross-type pairs ordered like the MOS (ties count 1/2)."""
  types = np.repeat(np.arange(N_TYPES), N_LEVELS)
  i, j = np.triu_indices(N_TYPES * N_LEVELS, 1)
  hits = total = 0.0
  for r in range(N_REF):
    y = mos[r * 125:(r + 1) * 125]
    s = score[r * 125:(r + 1) * 125]
    keep = (types[i] != types[j]) & (np.abs(y[i] - y[j]) > min_gap)
    ds, dy = np.sign(s[i] - s[j])[keep], np.sign(y[i] - y[j])[keep]
    hits += np.sum(ds == dy) + 0.5 * np.sum(ds == 0)
    total += keep.sum()
  return float(hits / total)


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--min-mos-gap", type=float, default=0.0)
  a = p.parse_args(argv)
  root = pathlib.Path(os.environ.get("JIQA_GMC_REFERENCE", "../shared/gmc-reference"))
  path = root / "kadid10k" / "predictions.csv"
  if not path.is_file():
    raise SystemExit(f"{path} not found: set JIQA_GMC_REFERENCE to the shared reference folder.")
  d = pd.read_csv(path)
  if len(d) != N_REF * N_TYPES * N_LEVELS or "mos" not in d:
    raise SystemExit(f"{path}: expected {N_REF * N_TYPES * N_LEVELS} rows with a 'mos' column.")
  if not (d["psnr"].iloc[0] >= 79.9 and d["psnr"].iloc[10] >= 79.9):
    raise SystemExit(f"{path}: rows do not look like KADID-10k's order (identity rows missing).")
  mos = d["mos"].to_numpy(float)
  level = np.tile(np.arange(1, N_LEVELS + 1), N_REF * N_TYPES).astype(float)
  print(f"KADID-10k, within-content cross-type pairs with |MOS gap| > {a.min_mos_gap}: "
        "share ordered like the MOS")
  agree = cross_type_agreement(-level, mos, min_gap=a.min_mos_gap)
  print(f"  {'nominal level (the engine unit)':34s} {agree:.3f}")
  for col in d.columns:
    if col in ("mos", "std"):
      continue
    # Every model column is "higher is better" (the distances lpips, dists and DeepWSD are
    # stored negated: 0 for an identical image, negative otherwise).
    v = d[col].to_numpy(float)
    print(f"  {col:34s} {cross_type_agreement(v, mos, min_gap=a.min_mos_gap):.3f}")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())

"""The engine's fidelity to KADID-10k, type by type: its PSNR at KADID's five levels.

  python -m experiments.engine_fidelity --out OUT.json [--cells CELLS.json] [--images DIR]

Reads the per-image engine PSNR of a ``python -m experiments.kadid_cells`` run
(``--cells``), or computes it (PSNR only) on the held-out photos or ``--images``.
Two comparisons with KADID's per-cell PSNR (the ``psnr`` column of
``predictions.csv``, capped at 80 dB):

* ``plain``: the engine's cell mean over the photos against KADID's over its 81
  contents; the mean absolute gap over the five levels per type.
* ``matched``: PSNR of most types depends on the content as much as on the op
  (a smooth photo loses less to blur, JPEG or jitter). Each photo is compared with
  the ``--k`` KADID contents whose PSNR at the ``--anchors`` types (the three blurs:
  linear filters with KADID's exact kernels, so they measure the content's detail)
  is nearest (RMS over the anchor cells); the gap is then averaged over the photos.
  The anchors' own matched gaps are small by construction (marked).

Only PSNR is compared, never the MOS.
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def parse_args(argv=None) -> argparse.Namespace:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--out", required=True, help="Where to write the fidelity tables (JSON).")
  p.add_argument("--cells", help="JSON of an experiments.kadid_cells run (has engine_psnr).")
  p.add_argument("--images", help="Compute on every image of this folder instead.")
  p.add_argument("--anchors", default="gaussian_blur,lens_blur,motion_blur",
                 help="Comma-separated types whose PSNR matches each photo to KADID contents.")
  p.add_argument("--k", type=int, default=8, help="KADID contents matched to each photo.")
  return p.parse_args(argv)


def matched_gaps(engine: np.ndarray, kadid: np.ndarray, anchor_index, *, k: int) -> dict:
  """Per-type gaps of ``engine`` (photos, T, 5) against each photo's ``k`` nearest
  KADID contents of ``kadid`` (81, T, 5) in the anchor types' PSNR.

  Returns ``{"gap": (T, 5) mean over photos of engine - matched KADID, "mean_abs_gap":
  (T,), "neighbours": [[content, ...] per photo]}``.
  """
  if not 1 <= k <= kadid.shape[0]:
    raise ValueError(f"k: expected 1..{kadid.shape[0]}; got {k}.")
  a = list(anchor_index)
  gaps, neigh = [], []
  for e in engine:
    dist = np.sqrt(np.mean((kadid[:, a] - e[a]) ** 2, axis=(1, 2)))
    near = np.argsort(dist, kind="stable")[:k]
    neigh.append(near.tolist())
    gaps.append(e - kadid[near].mean(axis=0))
  gap = np.mean(gaps, axis=0)
  return {"gap": gap, "mean_abs_gap": np.mean(np.abs(gap), axis=1), "neighbours": neigh}


def main(argv=None) -> int:
  a = parse_args(argv)
  from jiqa import distortions, images
  from jiqa.configs import pipeline as pipeline_config
  from jiqa.evaluation import kadid_cells

  anchors = [t for t in a.anchors.split(",") if t]
  if a.cells:
    with open(a.cells, encoding="utf-8") as f:
      cells = json.load(f)
  else:
    photos = (images.load_folder(a.images) if a.images
              else images.bundled_images(pipeline_config.HOLDOUT_IMAGES))
    cells = kadid_cells.evaluate(photos, {})
  types = cells["types"]
  bad = [t for t in anchors if t not in types]
  if bad or not anchors:
    raise SystemExit(f"--anchors: {bad or anchors} are not among the run's types {types}.")
  engine = np.asarray(cells.get("engine_psnr") or cells["scores"]["psnr"], np.float64)
  kadid = np.minimum(kadid_cells.read_kadid()["psnr"], kadid_cells.PSNR_CAP)
  names = list(distortions.names())
  kadid = kadid[:, [names.index(t) for t in types]]
  plain = kadid_cells.fidelity(engine.mean(axis=0), kadid.mean(axis=0), types)
  m = matched_gaps(engine, kadid, [types.index(t) for t in anchors], k=a.k)
  out = {"images": cells["images"], "size": cells["size"], "anchors": anchors, "k": a.k,
         "plain": plain, "matched": {t: {"gap": g.tolist(), "mean_abs_gap": float(v)}
                                     for t, g, v in zip(types, m["gap"], m["mean_abs_gap"])},
         "neighbours": m["neighbours"]}
  with open(a.out, "w", encoding="utf-8") as f:
    json.dump(out, f, indent=1)
  print(f"Engine PSNR vs KADID per type on {len(cells['images'])} photos "
        f"({', '.join(cells['images'])}) at {cells['size'][0]}x{cells['size'][1]}; "
        f"matched: {a.k} KADID contents per photo by {', '.join(anchors)}")
  print("| type | plain gap | matched gap | matched gaps L1..L5 (engine - KADID, dB) |")
  print("|---|---|---|---|")
  for t in types:
    mark = " (anchor)" if t in anchors else ""
    print(f"| {t}{mark} | {plain[t]['mean_abs_gap']:.2f} | {out['matched'][t]['mean_abs_gap']:.2f} | "
          + " ".join(f"{g:+.2f}" for g in out["matched"][t]["gap"]) + " |")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())

"""The engine's fidelity to KADID-10k, type by type: its PSNR at KADID's five levels.

  python -m experiments.engine_fidelity --out OUT.json [--cells CELLS.json] [--images DIR] [--probes]

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

With ``--probes``, alternative readings of the far-off ops (written here in
numpy, from the project's KADID notes and ARNIQA's port of KADID's MATLAB code)
are measured the same way, to say what change would close each gap. They are
what-if measurements for the lead's decision, not replacements of the ops.

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
  p.add_argument("--probes", action="store_true", help="Also measure the what-if variants.")
  return p.parse_args(argv)


def _probes():
  """{type: [(label, fn(image, kadid_param, rng) -> image)]}: today's op and alternatives."""
  from PIL import Image
  from scipy import ndimage
  from skimage import color as skcolor

  from jiqa.distortions import colorspace

  def nlm(img, sigma, rng):
    import jax

    from jiqa.distortions import noise
    noisy = np.clip(img + sigma * rng.standard_normal(img.shape), 0, 1).astype(np.float32)
    return np.asarray(jax.jit(noise.nl_means)(noisy, np.float32(sigma), np.float32(sigma)))

  def kadid_quant(img, n, rng):  # index of uniform gray-histogram bins, min-max to [0, 1]
    idx = np.digitize(img * 255, np.r_[0, np.linspace(0, 255, int(n) + 1)[1:-1], 256]).astype(float)
    return (idx - idx.min()) / max(idx.max() - idx.min(), 1)

  def jitter(m):
    def fn(img, a, rng):
      rr, cc = np.mgrid[0:img.shape[0], 0:img.shape[1]].astype(float)
      for _ in range(5):
        s = rng.standard_normal((2,) + img.shape[:2]) * a * m
        img = np.stack([ndimage.map_coordinates(img[..., c], [rr - s[0], cc - s[1]], order=1,
                                                mode="nearest") for c in range(3)], -1)
      return img
    return fn

  def palette(dither):
    def fn(img, n, rng):
      im = Image.fromarray(np.uint8(np.round(img * 255)))
      pal = im.quantize(colors=int(n), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
      d = Image.Dither.FLOYDSTEINBERG if dither else Image.Dither.NONE
      return np.asarray(im.quantize(palette=pal, dither=d).convert("RGB"), float) / 255
    return fn

  def sharpen(taps):
    def fn(img, amount, rng):
      x = np.arange(taps) - (taps - 1) / 2
      g = np.exp(-x ** 2 / 72.0)
      lab = skcolor.rgb2lab(img)
      blur = ndimage.correlate(lab[..., 0], np.outer(g, g) / np.outer(g, g).sum(), mode="nearest")
      lab[..., 0] = np.clip(lab[..., 0] + amount * (lab[..., 0] - blur), 0, 100)
      return np.clip(skcolor.lab2rgb(lab), 0, 1)
    return fn

  def ycc_noise(scale):
    a = np.asarray(colorspace.YCBCR_TO_RGB) @ np.diag(scale)
    return lambda img, v, rng: np.clip(
        img + np.einsum("oc,hwc->hwo", a, np.sqrt(v) * rng.standard_normal(img.shape)), 0, 1)

  return {
      "denoise": [("NLM, noise sigma = p (today)", lambda x, p, r: nlm(x, p, r)),
                  ("NLM, noise variance = p", lambda x, p, r: nlm(x, np.sqrt(p), r))],
      "quantization": [("uniform bins, centres (today)",
                        lambda x, n, r: (np.minimum(np.floor(x * n), n - 1) + 0.5) / n),
                       ("bin index, min-max (ARNIQA's port of KADID)", kadid_quant)],
      "jitter": [(f"bilinear, 5 passes, sd x{m}{' (today)' if m == 1 else ''}", jitter(m))
                 for m in (1, 2, 3, 4)],
      "color_quantization": [("median cut, no dither", palette(False)),
                             ("median cut, Floyd-Steinberg (rgb2ind's default)", palette(True))],
      "mean_shift": [("clip(x + a) (today; KADID's immeanshift.m)", lambda x, a, r: np.clip(x + a, 0, 1)),
                     ("clip(x + a / 2)", lambda x, a, r: np.clip(x + a / 2, 0, 1))],
      "high_sharpen": [("Gaussian sigma 6, 25 taps (today)", sharpen(25)),
                       ("Gaussian sigma 6, 13 taps (fspecial(13, 6))", sharpen(13))],
      "white_noise_color": [("full-range JFIF YCbCr (today)", ycc_noise([1, 1, 1])),
                            ("studio-range YCbCr (MATLAB ycbcr2rgb)",
                             ycc_noise([255 / 219, 255 / 224, 255 / 224]))],
  }


def run_probes(photos, kadid: np.ndarray, neighbours, *, seed: int = 0) -> dict:
  """PSNR gaps (plain and matched) of every probe on ``photos`` (KADID-like pristines)."""
  from jiqa import distortions

  q8 = lambda x: np.round(np.clip(x, 0, 1) * 255) / 255  # noqa: E731
  out = {}
  for t, variants in _probes().items():
    ti = distortions.index(t)
    for label, fn in variants:
      rng = np.random.default_rng(seed)
      e = np.array([[min(80.0, -10 * np.log10(np.mean((q8(fn(p, v, rng)) - p) ** 2)))
                     for v in distortions.get(t).kadid_params] for p in photos])
      matched = np.mean([e[i] - kadid[nb, ti].mean(0) for i, nb in enumerate(neighbours)], 0)
      out.setdefault(t, []).append({
          "variant": label, "engine_psnr": e.mean(0).tolist(),
          "plain_gap": float(np.mean(np.abs(e.mean(0) - kadid[:, ti].mean(0)))),
          "matched_gap": float(np.mean(np.abs(matched))), "matched": matched.tolist()})
  return out


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
  photos = (images.load_folder(a.images) if a.images
            else images.bundled_images(pipeline_config.HOLDOUT_IMAGES))
  if a.cells:
    with open(a.cells, encoding="utf-8") as f:
      cells = json.load(f)
    if a.probes and cells["images"] != list(photos):
      raise SystemExit(f"--probes: --cells was run on {cells['images']}, not on {list(photos)}.")
  else:
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
  if a.probes:
    out["probes"] = run_probes([kadid_cells.kadid_like(p, size=tuple(cells["size"]))
                                for p in photos.values()],
                               np.minimum(kadid_cells.read_kadid()["psnr"], kadid_cells.PSNR_CAP),
                               m["neighbours"])
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
  if a.probes:
    print("\n| type | variant | plain gap | matched gap | matched gaps L1..L5 (dB) |")
    print("|---|---|---|---|---|")
    for t, rows in out["probes"].items():
      for r in rows:
        print(f"| {t} | {r['variant']} | {r['plain_gap']:.2f} | {r['matched_gap']:.2f} | "
              + " ".join(f"{g:+.2f}" for g in r["matched"]) + " |")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())

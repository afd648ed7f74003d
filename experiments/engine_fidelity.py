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

With ``--probes``, today's reading of the ops that were far off and the
alternatives (before, or another reading of KADID's MATLAB code) are written
here in numpy and measured the same way: what-if measurements of how much of a
gap each reading explains, not replacements of the ops. The "(today)" rows
are numpy re-implementations of the engine's op, independent of its code.

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


def _restretch(y, x):
  """KADID's final mapmm, to the input's range (jiqa.distortions.spec.restretch)."""
  return x.min() + (y - y.min()) * (x.max() - x.min()) / max(y.max() - y.min(), 1e-12)


def _otsu_thresholds(image, n):
  """MATLAB multithresh(image, n): the n thresholds of the exact multi-level Otsu
  partition of the 256-bin histogram (dynamic programming over class boundaries)."""
  hist = np.bincount(np.round(image * 255).astype(int).ravel(), minlength=256) / image.size
  v = np.arange(256)
  w, m = np.r_[0, np.cumsum(hist)], np.r_[0, np.cumsum(hist * v)]
  idx = np.arange(257)
  cost = lambda i, j: np.where(w[j] > w[i], -(m[j] - m[i]) ** 2 / np.maximum(w[j] - w[i], 1e-300), 0)  # noqa: E731
  best, back = cost(np.zeros(257, int), idx), []
  for _ in range(n):
    total = best[:, None] + cost(idx[:, None], idx[None, :])
    total[idx[:, None] > idx[None, :]] = np.inf
    arg = np.argmin(total, 0)
    back.append(arg)
    best = total[arg, idx]
  ends = [256]
  for arg in reversed(back):
    ends.append(arg[ends[-1]])
  return (np.sort(ends[1:]) - 0.5) / 255   # between the last bin of a class and the next


def _probes():
  """{type: [(label, fn(image, kadid_param, rng) -> image)]}: today's op and alternatives."""
  import math

  from PIL import Image
  from scipy import ndimage
  from skimage import color as skcolor

  from jiqa.distortions import colorspace

  def nlm(img, sigma, rng):
    import jax

    from jiqa.distortions import noise
    noisy = np.clip(img + sigma * rng.standard_normal(img.shape), 0, 1).astype(np.float32)
    return np.asarray(jax.jit(noise.nl_means)(noisy, np.float32(sigma), np.float32(sigma)))

  def imquantize(otsu):
    def fn(img, n, rng):
      n, img = int(n), np.round(img * 255) / 255.0   # MATLAB's im2double of the 8-bit image
      t = _otsu_thresholds(img, n) if otsu else np.arange(1, n + 1) / (n + 1)
      return np.r_[0.0, t[1:], 1.0][np.digitize(img, t, right=True)]
    return fn

  def keys(d, a=-0.5):
    d = np.abs(d)
    return np.where(d <= 1, ((a + 2) * d - (a + 3)) * d * d + 1,
                    np.where(d < 2, ((a * d - 5 * a) * d + 8 * a) * d - 4 * a, 0.0))

  def jitter(cubic):
    def fn(img, a, rng):
      h, w = img.shape[:2]
      y = img
      for _ in range(5):
        s = rng.standard_normal((2, h, w)) * a
        r, c = np.arange(h)[:, None] + s[0], np.arange(w)[None, :] + s[1]
        if cubic:
          r0, c0 = np.floor(r).astype(int), np.floor(c).astype(int)
          y = sum((keys(r - r0 - i) * keys(c - c0 - j))[..., None]
                  * y[np.clip(r0 + i, 0, h - 1), np.clip(c0 + j, 0, w - 1)]
                  for i in range(-1, 3) for j in range(-1, 3))
        else:
          y = np.stack([ndimage.map_coordinates(y[..., k], [r, c], order=1, mode="nearest")
                        for k in range(3)], -1)
      return _restretch(y, img) if cubic else np.clip(y, 0, 1)
    return fn

  def palette(dither):
    def fn(img, n, rng):
      im = Image.fromarray(np.uint8(np.round(img * 255)))
      pal = im.quantize(colors=int(n), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
      d = Image.Dither.FLOYDSTEINBERG if dither else Image.Dither.NONE
      return _restretch(np.asarray(im.quantize(palette=pal, dither=d).convert("RGB"), float) / 255,
                        img)
    return fn

  def sharpen(sigma):
    def fn(img, amount, rng):
      lab = skcolor.rgb2lab(img)
      blur = ndimage.gaussian_filter(lab[..., 0], sigma, mode="nearest",
                                     truncate=math.ceil(2 * sigma) / sigma)
      lab[..., 0] = np.clip(lab[..., 0] + amount * (lab[..., 0] - blur), 0, 100)
      return np.clip(skcolor.lab2rgb(lab), 0, 1)
    return fn

  def ycc_noise(scale):
    a = np.asarray(colorspace.YCBCR_TO_RGB) @ np.diag(scale)
    return lambda img, v, rng: np.clip(
        img + np.einsum("oc,hwc->hwo", a, np.sqrt(v) * rng.standard_normal(img.shape)), 0, 1)

  def matlab_nearest(n_in, n_out, scale):
    u = np.arange(1, n_out + 1) / scale + 0.5 * (1 - 1 / scale)
    return np.clip(np.floor(u + 0.5).astype(int), 1, n_in) - 1

  def pixelate(matlab):
    def fn(img, s, rng):
      z, (h, w) = 0.95 - s ** 0.6, img.shape[:2]
      if matlab:
        sh, sw = math.ceil(z * h), math.ceil(z * w)
        small = img[matlab_nearest(h, sh, z)][:, matlab_nearest(w, sw, z)]
        return small[matlab_nearest(sh, h, h / sh)][:, matlab_nearest(sw, w, w / sw)]
      sh, sw = math.floor(z * h), math.floor(z * w)
      centre = lambda n, m: ((2 * np.arange(m) + 1) * n) // (2 * m)  # noqa: E731
      return img[centre(h, sh)][:, centre(w, sw)][centre(sh, h)][:, centre(sw, w)]
    return fn

  def mean_shift(stretch):
    def fn(img, a, rng):
      lo, hi = img.min(), img.max()
      if not stretch:
        return np.clip(img + a, 0, 1)
      return lo + (hi - lo) * _restretch(np.clip((img - lo) / (hi - lo) + a, 0, 1), np.r_[0.0, 1.0])
    return fn

  return {
      "denoise": [("NLM, noise variance = p (today; KADID's imnoise(I, 'gaussian', 0, p))",
                   lambda x, p, r: nlm(x, np.sqrt(p), r)),
                  ("NLM, noise sigma = p (before)", lambda x, p, r: nlm(x, p, r))],
      "quantization": [("uniform thresholds, imquantize values (today)", imquantize(False)),
                       ("Otsu thresholds (MATLAB multithresh), imquantize values", imquantize(True)),
                       ("uniform bins, centres (before)",
                        lambda x, n, r: (np.minimum(np.floor(x * n), n - 1) + 0.5) / n)],
      "jitter": [("bicubic, 5 passes, stretched back (today; KADID's interp2 + mapmm)", jitter(True)),
                 ("bilinear, 5 passes, clipped (before)", jitter(False))],
      "color_quantization": [("median cut, stretched back (today's reading, Pillow palette)",
                              palette(False)),
                             ("median cut, Floyd-Steinberg (rgb2ind's default), stretched back",
                              palette(True))],
      "mean_shift": [("shift, clip, stretched back (today; KADID's immeanshift + mapmm)",
                      mean_shift(True)),
                     ("clip(x + a) (before)", mean_shift(False))],
      "high_sharpen": [("Gaussian sigma 3, 13 taps (today; imsharpenHi's radius 3)", sharpen(3.0)),
                       ("Gaussian sigma 6, 25 taps (before)", sharpen(6.0))],
      "white_noise_color": [("studio-range YCbCr (today; MATLAB rgb2ycbcr)",
                             ycc_noise([255 / 219, 255 / 224, 255 / 224])),
                            ("full-range JFIF YCbCr (before)", ycc_noise([1, 1, 1]))],
      "pixelate": [("MATLAB imresize nearest at scale z, ceil size (today)", pixelate(True)),
                   ("nearest at pixel centres, floor size (before)", pixelate(False))],
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

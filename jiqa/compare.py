"""``jiqa compare``: score one image pair and say which distortions it holds.

  jiqa compare REFERENCE DISTORTED [--json OUT.json] [--png OUT.png] [--model DIR]

prints the relational score of DISTORTED given REFERENCE (higher is better,
0 = identical) beside PSNR and SSIM, and the strongest distortion types the
map predictor finds, with how strong they are, their direction and where they
are. ``--png`` draws the maps over the image; ``--json`` writes every figure.
``--model`` loads a run folder or exported weights instead of the shipped ones.

Example:
  $ jiqa compare photo.png photo_blurred.jpg --png maps.png
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from jiqa import outputs


def draw(reference: np.ndarray, distorted: np.ndarray, pair_maps, path: str, *,
         title: str = "", max_types: int = 3) -> str:
  """Saves reference, distorted and the maps of the types found over the image.

  Each found type is shown as its signed strength map (blue: the axis' negative
  direction, e.g. less sharp or darker; red: positive or unsigned) over the
  distorted image in grey, titled with the model's words for it.

  Example:
    >>> draw(ref, dist, model.maps(ref, dist), "maps.png")  # doctest: +SKIP
  """
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  found = pair_maps.findings[:max_types]
  names = [s["type"] for s in found] or [max(pair_maps.presence, key=pair_maps.presence.get)]
  cols = 2 + len(names)
  fig, axes = plt.subplots(1, cols, figsize=(3.2 * cols, 3.6), squeeze=False)
  axes = axes[0]
  axes[0].imshow(reference)
  axes[0].set_title("reference")
  axes[1].imshow(distorted)
  axes[1].set_title("distorted")
  grey = distorted.mean(axis=-1)
  words = {s["type"]: s for s in found}
  for ax, name in zip(axes[2:], names):
    ax.imshow(grey, cmap="gray", vmin=0, vmax=1)
    im = ax.imshow(pair_maps.maps[name], cmap="RdBu_r", vmin=-1, vmax=1, alpha=0.6)
    s = words.get(name)
    label = (f"{name} (p={s['probability']:.2f})\n{s['strength_word']}, {s['direction']}"
             f"\n{s['where']}" if s else f"{name}\n(not found)")
    ax.set_title(label, fontsize=9)
  for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
  if names:
    fig.colorbar(im, ax=list(axes[2:]), shrink=0.7, label="signed strength")
  if title:
    fig.suptitle(title, fontsize=10)
  fig.savefig(path, dpi=110, bbox_inches="tight")
  plt.close(fig)
  return path


def compare(model, reference: np.ndarray, distorted: np.ndarray) -> dict:
  """Every figure ``jiqa compare`` prints, as a JSON-ready dict.

  Example:
    >>> compare(jiqa.load(), ref, dist)["score"]  # doctest: +SKIP
    -1.73
  """
  from jiqa import metrics

  out = {"score": model.score(distorted, reference) if model.has_scorer else None,
         "psnr": float(metrics.psnr(distorted, reference)),
         "ssim": float(metrics.ssim(distorted, reference))}
  if model.has_maps:
    pm = model.maps(reference, distorted)
    out.update(pm.to_json(), found=pm.describe())
    out["_maps"] = pm
  return out


def main(argv: list[str] | None = None) -> int:
  """Entry point of ``jiqa compare``; returns the exit status."""
  parser = argparse.ArgumentParser(
      prog="jiqa compare", description=__doc__.split("\n\n")[0],
      epilog="Score direction: higher is better; 0 means identical to the reference.")
  parser.add_argument("reference", help="the pristine image (PNG, JPEG, TIFF, ...)")
  parser.add_argument("distorted", help="the image to judge, same size as the reference")
  parser.add_argument("--json", default=None, help="write every figure to this JSON file")
  parser.add_argument("--png", default=None, help="draw the maps over the image to this PNG")
  parser.add_argument("--model", default=None,
                      help="a run folder or exported weights (default: the shipped weights)")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  try:
    for flag, path, suffix in (("--json", args.json, ".json"), ("--png", args.png, ".png")):
      if path is not None:
        outputs.check_output_file(path, flag=flag, suffix=suffix)
    from jiqa import api, images

    ref = images.load_image(args.reference)
    dist = images.load_image(args.distorted)
    if ref.shape != dist.shape:
      raise ValueError(f"distorted: {args.distorted!r} is {dist.shape[0]}x{dist.shape[1]}, the "
                       f"reference {args.reference!r} is {ref.shape[0]}x{ref.shape[1]}; "
                       "expected the same size.")
    model = api.load(args.model)
    result = compare(model, ref, dist)
  except (ValueError, OSError) as e:
    print(f"jiqa compare: error: {e}", file=sys.stderr)
    return 2
  pm = result.pop("_maps", None)
  score = result["score"]
  print(f"score {score:+.4f}  (higher is better, 0 = identical)" if score is not None
        else "score -  (this model has no scorer)")
  print(f"PSNR {result['psnr']:.2f} dB, SSIM {result['ssim']:.4f}")
  if pm is not None:
    print("found: " + "; ".join(result["found"]))
  if args.png and pm is not None:
    draw(ref, dist, pm, args.png, title=f"{os.path.basename(args.distorted)} vs "
         f"{os.path.basename(args.reference)}: score {score:+.3f}" if score is not None else "")
    print(f"wrote {args.png}")
  if args.json:
    result.update(reference=os.path.abspath(args.reference),
                  distorted=os.path.abspath(args.distorted), model=model.source)
    with open(args.json, "w", encoding="utf-8") as f:
      json.dump(result, f, indent=2)
    print(f"wrote {args.json}")
  return 0


if __name__ == "__main__":
  sys.exit(main())

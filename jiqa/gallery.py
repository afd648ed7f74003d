"""``jiqa gallery``: a picture of every distortion type at its five levels.

  jiqa gallery --out gallery.png [--image NAME | --image-file PATH] [--html]
               [--size 160] [--seed 0] [--types a,b,...]

One row per type (table order): the reference crop, then the type at levels
0.2, 0.4, 0.6, 0.8, 1.0 (KADID's L1..L5; signed-level types at -1, -0.6,
+0.2, +0.6, +1). Below, a composed triplet (reference, distorted, then each
non-zero map channel as a colour overlay on the grey reference: red = the
distorted image has more of the type / is brighter / sharper / more saturated,
blue = less; RdBu colormap on [-1, 1]). --html also writes an interactive
plotly page (works offline) next to the PNG, with the same name and .html.

--out names a PNG file: a name without a suffix gets ".png" (the file written
is the one printed); any other suffix is refused. Every option, the image and
the output paths (jiqa.outputs: the folder must exist and be writable) are
checked before any work starts; a bad one is a one-line error with exit
status 2.

This module is the command and its plotting; the distortions themselves are
:mod:`jiqa.distortions`.

Example:
  >>> main(["--out", "gallery.png", "--image", "chelsea"])  # doctest: +SKIP
  0
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import sys
from typing import NamedTuple

import numpy as np

GALLERY_LEVELS = (0.2, 0.4, 0.6, 0.8, 1.0)
SIGNED_LEVELS = (-1.0, -0.6, 0.2, 0.6, 1.0)


MIN_SIZE = 32  # every op is checked down to 33x47 (tests/distortions/test_ops_generic.py)


def _parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(prog="jiqa gallery", description=__doc__.split("\n\nThis module")[0].replace("``", ""),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--out", required=True, help="output PNG path (.png is added when there is no suffix)")
  src = p.add_mutually_exclusive_group()
  src.add_argument("--image", default="astronaut", help="a bundled photo (jiqa.images.BUNDLED_NAMES; default: %(default)s)")
  src.add_argument("--image-file", default=None, help="an image file of yours")
  p.add_argument("--html", action="store_true", help="also write an interactive HTML page")
  p.add_argument("--size", type=int, default=160, help=f"side of the centre crop (pixels, >= {MIN_SIZE}; default: %(default)s)")
  p.add_argument("--seed", type=int, default=0, help="PRNG seed (default: %(default)s)")
  p.add_argument("--types", default="", help="comma-separated subset of types (default: all)")
  return p


class Job(NamedTuple):
  """What ``jiqa gallery`` will do, every part checked (see :func:`parse_job`)."""

  image: np.ndarray
  names: tuple[str, ...]
  png: str
  html: str | None
  seed: int


def output_path(out: str) -> str:
  """The PNG file ``--out`` names: ``.png`` added when there is no suffix.

  Raises:
    ValueError: if the suffix is not ``.png``.

  Example:
    >>> output_path("gallery"), output_path("figs/g.PNG")
    ('gallery.png', 'figs/g.PNG')
  """
  stem, ext = os.path.splitext(out)
  if not ext:
    return out + ".png"
  if ext.lower() != ".png":
    raise ValueError(f"--out: the gallery is a PNG picture; expected a .png path, got {out!r}.")
  return out


def parse_job(argv: list[str] | None = None) -> Job:
  """Parses and checks the options of ``jiqa gallery`` before any work.

  Raises:
    SystemExit: for options argparse rejects (exit status 2).
    ValueError: for an unknown type or image, a missing or unreadable image
      file, a size out of range, or an output path that cannot be written.
  """
  args = _parser().parse_args(argv)
  from jiqa import distortions, images, outputs

  png = outputs.check_output_file(output_path(args.out), flag="--out")
  html = None
  if args.html:
    html = outputs.check_output_file(os.path.splitext(png)[0] + ".html", flag="--html")
  if args.size < MIN_SIZE:
    raise ValueError(f"--size: expected an integer >= {MIN_SIZE} (pixels); got {args.size}.")
  names = tuple(n.strip() for n in args.types.split(",") if n.strip()) or distortions.names()
  unknown = [n for n in names if n not in distortions.names()]
  if unknown:
    raise ValueError(f"--types: unknown distortion types {unknown}; choose from "
                     f"{', '.join(distortions.names())}.")
  if args.image_file:
    if not os.path.isfile(args.image_file):
      raise ValueError(f"--image-file: no such file {args.image_file!r}.")
    try:
      image = images.load_image(args.image_file)
    except ValueError as e:  # jiqa.images names the file and says what is wrong
      raise ValueError(f"--image-file: {e}") from None
    except OSError as e:
      raise ValueError(f"--image-file: cannot read {args.image_file!r} as an image ({e}).") from None
  else:
    if args.image not in images.BUNDLED_NAMES:
      raise ValueError(f"--image: unknown bundled photo {args.image!r}; choose from "
                       f"{', '.join(images.BUNDLED_NAMES)} (or pass --image-file).")
    image = images.bundled_images([args.image])[args.image]
  image = _crop(image, args.size)
  return Job(image, names, png, html, int(args.seed))


def _crop(img: np.ndarray, size: int) -> np.ndarray:
  h, w = img.shape[:2]
  factor = max(1, min(h, w) // size)  # keep most of the scene in view
  if factor > 1:
    hh, ww = h // factor * factor, w // factor * factor
    img = img[:hh, :ww].reshape(hh // factor, factor, ww // factor, factor, 3).mean((1, 3))
  h, w = img.shape[:2]
  if min(h, w) < size:
    raise ValueError(f"--size: the image is {h}x{w}, smaller than --size {size}.")
  top, left = (h - size) // 2, (w - size) // 2
  return np.ascontiguousarray(img[top:top + size, left:left + size], np.float32)


def render_rows(key, image, names):
  """``{name: (levels, images (5, H, W, 3))}`` for the given types (jitted per type)."""
  import jax
  import jax.numpy as jnp
  from tqdm import tqdm

  from jiqa import distortions

  rows = {}
  for i, name in enumerate(tqdm(names, desc="gallery", unit="type")):
    spec = distortions.get(name)
    levels = SIGNED_LEVELS if spec.signed_level else GALLERY_LEVELS
    keys = jnp.stack([jax.random.fold_in(key, i)] * len(levels))  # one pattern per row
    out = jax.jit(jax.vmap(spec.fn, in_axes=(0, None, 0)))(
        keys, jnp.asarray(image), jnp.asarray(levels, jnp.float32))
    rows[name] = (levels, np.asarray(out))
  return rows


def composed_triplet(key, image, names):
  """A triplet of 2-3 distortions under partial masks, for the picture."""
  from jiqa import distortions

  groups = {distortions.get(n).group for n in names}
  cfg = distortions.EngineConfig(
      types=tuple(names), min_distortions=min(2, len(groups)), max_distortions=min(3, len(groups)),
      pristine_prob=0.0, mask_kinds=("smooth", "blobs", "rectangle", "gradient"),
      mask_probs=(0.3, 0.3, 0.2, 0.2))
  return distortions.make_triplet(key, image, config=cfg)


def _overlay(reference: np.ndarray, channel: np.ndarray):
  import matplotlib

  grey = reference.mean(-1, keepdims=True) * np.ones(3)
  rgba = matplotlib.colormaps["RdBu_r"]((channel + 1) / 2)[..., :3]
  alpha = np.clip(np.abs(channel) * 1.5, 0, 0.85)[..., None]
  return np.clip(0.6 * grey * (1 - alpha) + rgba * alpha, 0, 1)


def save_png(path, image, rows, triplet) -> None:
  """Writes the gallery figure (matplotlib)."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  from jiqa import distortions

  ref, dist, maps = (np.asarray(a) for a in triplet)
  present = [t for t in range(maps.shape[-1]) if np.abs(maps[..., t]).max() > 0]
  n_rows = len(rows) + 1
  fig, axes = plt.subplots(n_rows, 6, figsize=(6 * 1.6, n_rows * 1.75), squeeze=False)
  for r, (name, (levels, outs)) in enumerate(rows.items()):
    tiles = [image] + list(outs)
    titles = ["reference"] + [f"{lv:+.1f}" if distortions.get(name).signed_level else f"L{j + 1} ({lv:.1f})"
                              for j, lv in enumerate(levels)]
    for c, (tile, title) in enumerate(zip(tiles, titles)):
      ax = axes[r, c]
      ax.imshow(np.clip(tile, 0, 1), interpolation="nearest")
      ax.set_xticks([]), ax.set_yticks([])
      ax.set_title(title, fontsize=7, pad=2)
    axes[r, 0].set_ylabel(f"{distortions.index(name) + 1}. {name}", fontsize=7)
  last = axes[-1]
  panels = [(ref, "triplet: reference"), (dist, "distorted")]
  for t in present[:4]:
    panels.append((_overlay(ref, maps[..., t]),
                   f"map: {distortions.names()[t]}\n[{maps[..., t].min():+.2f}, {maps[..., t].max():+.2f}]"))
  for c in range(6):
    ax = last[c]
    ax.set_xticks([]), ax.set_yticks([])
    if c < len(panels):
      ax.imshow(panels[c][0], interpolation="nearest")
      ax.set_title(panels[c][1], fontsize=7, pad=2)
    else:
      ax.axis("off")
  last[0].set_ylabel("composed", fontsize=7)
  fig.suptitle("jiqa distortions: each type at KADID's levels L1..L5; a composed triplet and its "
               "signed maps (red +, blue -)", fontsize=9, y=1 - 0.1 / (n_rows * 1.75))
  fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / (n_rows * 1.75)))
  fig.savefig(path, dpi=100, format="png")
  plt.close(fig)


def _data_uri(img: np.ndarray) -> str:
  from PIL import Image

  buf = io.BytesIO()
  Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)).save(buf, format="PNG")
  return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def save_html(path, image, rows, triplet) -> None:
  """Writes the same gallery as an interactive plotly page (works offline)."""
  import plotly.graph_objects as go
  from plotly.subplots import make_subplots

  from jiqa import distortions

  ref, dist, maps = (np.asarray(a) for a in triplet)
  grid = [[(image, "reference")] + [(o, f"{name} {lv:+.1f}") for lv, o in zip(levels, outs)]
          for name, (levels, outs) in rows.items()]
  present = [t for t in range(maps.shape[-1]) if np.abs(maps[..., t]).max() > 0][:4]
  grid.append([(ref, "reference"), (dist, "distorted")] + [
      (_overlay(ref, maps[..., t]), f"map {distortions.names()[t]}") for t in present])
  fig = make_subplots(rows=len(grid), cols=6, subplot_titles=[
      title for row in grid for _, title in row + [(None, "")] * (6 - len(row))],
      horizontal_spacing=0.01, vertical_spacing=0.5 / len(grid))
  for r, row in enumerate(grid):
    for c, (img, title) in enumerate(row):
      fig.add_trace(go.Image(source=_data_uri(img), name=title), row=r + 1, col=c + 1)
  fig.update_xaxes(visible=False)
  fig.update_yaxes(visible=False)
  fig.update_layout(height=170 * len(grid), width=1050, title="jiqa distortion gallery",
                    margin=dict(l=10, r=10, t=60, b=10))
  for ann in fig.layout.annotations:
    ann.font.size = 9
  fig.write_html(path, include_plotlyjs=True)


def run(job: Job) -> list[str]:
  """Renders the gallery of a checked :class:`Job`; returns the files written."""
  import jax

  key = jax.random.key(job.seed)
  k_rows, k_trip = jax.random.split(key)
  rows = render_rows(k_rows, job.image, job.names)
  triplet = composed_triplet(k_trip, job.image, job.names)
  save_png(job.png, job.image, rows, triplet)
  written = [job.png]
  if job.html:
    save_html(job.html, job.image, rows, triplet)
    written.append(job.html)
  return written


def main(argv: list[str] | None = None) -> int:
  """Entry point of ``jiqa gallery`` (see the module docstring); returns the exit status.

  Bad options, images or output paths end in one line on stderr and status 2,
  before any work.

  Example:
    >>> main(["--out", "/tmp/g.png", "--size", "0"])
    2
    >>> main(["--out", "/tmp/g.png", "--types", "jpeg,darken"])  # doctest: +SKIP
    0
  """
  try:
    job = parse_job(argv)
    for path in run(job):
      print(f"wrote {path}")
  except (ValueError, OSError) as e:
    print(f"jiqa gallery: error: {e}", file=sys.stderr)
    return 2
  return 0

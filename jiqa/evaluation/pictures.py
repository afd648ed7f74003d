"""Pictures of predicted distortion maps beside the true maps (matplotlib PNG).

One row per triplet: the reference; the distorted image with an overlay of
what the model found, in words and colour (each finding of
:func:`jiqa.models.map_summary.summarize` — e.g. "gaussian_blur, strong,
blurrier, left half" — outlined in its colour on the image and written below
it, with the true types and levels underneath in grey); then for the (up to)
two types with the most true map mass, the true and the predicted signed map of
that type on a diverging scale (blue negative, red positive, ``[-1, 1]``).

Example:
  >>> save_maps_png(data, preds, names, "report/maps.png", num=4)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np


def save_maps_png(data: dict, preds: dict, names: Sequence[str], path: str | os.PathLike, *,
                  num: int = 4, types_per_row: int = 2, title: str = "") -> str:
  """Writes the picture of ``num`` triplets' true and predicted maps to ``path``.

  Args:
    data: evaluation data with ``reference, distorted, maps`` (N, H, W, .).
    preds: predictions with ``maps`` (N, H, W, T).
    names: type names (channel order).
    path: the PNG to write.
    num: how many triplets (rows); the triplets with the most distortion first.
    types_per_row: how many types to show per triplet.
    title: a figure title.

  Returns:
    ``path``.

  Raises:
    ValueError: if there are no maps to draw.

  Example:
    >>> save_maps_png(d, p, names, "maps.png")  # doctest: +SKIP
  """
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  true = np.asarray(data["maps"])
  pred = np.asarray(preds.get("maps")) if "maps" in preds else None
  if pred is None or true.shape[0] == 0:
    raise ValueError("preds must hold 'maps' and data at least one triplet to draw.")
  from jiqa import distortions
  from jiqa.models import map_summary

  names = list(names)
  by_name = {s.name: s for s in distortions.specs()}
  signed = [by_name[n].axis is not None if n in by_name else False for n in names]
  axes_of = [by_name[n].axis if n in by_name else None for n in names]
  logits = np.asarray(preds["presence_logits"], np.float64) if "presence_logits" in preds else None
  pix = preds.get("pixel_presence_logits")
  mass = np.abs(true).sum(axis=(1, 2))  # (N, T)
  rows = np.argsort(-mass.sum(axis=1), kind="stable")[:num]
  cols = 2 + 2 * types_per_row
  fig, axes = plt.subplots(len(rows), cols, figsize=(2.1 * cols, 2.9 * len(rows) + 0.5),
                           squeeze=False)
  colours = ("#ffd400", "#00e5ff", "#ff4fd8")
  im = None
  for r, i in enumerate(rows):
    axes[r, 0].imshow(np.clip(data["reference"][i], 0, 1))
    axes[r, 1].imshow(np.clip(data["distorted"][i], 0, 1))
    if r == 0:
      axes[r, 0].set_title("reference", fontsize=8)
      axes[r, 1].set_title("distorted + what the model found", fontsize=8)
    lines = []
    if logits is not None:
      found = map_summary.summarize(
          pred[i], 1.0 / (1.0 + np.exp(-logits[i])), names=names, signed=signed, axes=axes_of,
          pixel_presence=None if pix is None else 1.0 / (1.0 + np.exp(-np.asarray(pix[i]))))
      for f, c in zip(found, colours):
        k = names.index(f["type"])
        region = (1.0 / (1.0 + np.exp(-np.asarray(pix[i][..., k]))) >= 0.5 if pix is not None
                  else np.abs(pred[i][..., k]) >= 0.5 * np.abs(pred[i][..., k]).max())
        if 0 < region.mean() < 1:
          axes[r, 1].contour(region.astype(float), levels=[0.5], colors=[c], linewidths=1.2)
        lines.append((f"{f['text']} (p={f['probability']:.2f})", c))
      if not found:
        lines.append(("found: nothing above p=0.5", "black"))
    truth = [f"{names[t]} {np.abs(true[i, ..., t]).max():.2f}"
             for t in np.argsort(-mass[i], kind="stable") if mass[i, t] > 0][:3]
    lines.append(("true: " + (", ".join(truth) if truth else "pristine"), "dimgray"))
    for j, (text, c) in enumerate(lines):
      axes[r, 1].text(0.0, -0.06 - 0.11 * j, text, transform=axes[r, 1].transAxes,
                      fontsize=6, color="black" if c not in ("dimgray",) else c, va="top",
                      bbox=None if c in ("black", "dimgray") else dict(
                          facecolor=c, alpha=0.35, edgecolor="none", pad=0.6))
    order = [t for t in np.argsort(-mass[i], kind="stable") if mass[i, t] > 0][:types_per_row]
    for j in range(types_per_row):
      a_true, a_pred = axes[r, 2 + 2 * j], axes[r, 3 + 2 * j]
      if j < len(order):
        t = order[j]
        im = a_true.imshow(true[i, ..., t], cmap="RdBu_r", vmin=-1, vmax=1)
        a_pred.imshow(pred[i, ..., t], cmap="RdBu_r", vmin=-1, vmax=1)
        a_true.set_title(f"true\n{names[t]}", fontsize=7)
        a_pred.set_title(f"predicted\n{names[t]}", fontsize=7)
      else:
        a_true.set_axis_off()
        a_pred.set_axis_off()
    for a in axes[r]:
      a.set_xticks([])
      a.set_yticks([])
  if im is not None:
    fig.colorbar(im, cax=fig.add_axes([0.93, 0.3, 0.012, 0.4]),
                 label="signed map (distorted vs reference)")
  if title:
    fig.suptitle(title, fontsize=10)
  fig.subplots_adjust(hspace=0.75, wspace=0.08, left=0.02, right=0.91)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return os.fspath(path)

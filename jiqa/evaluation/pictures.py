"""Pictures of predicted distortion maps beside the true maps (matplotlib PNG).

One row per triplet: the reference, the distorted image, then for the (up to)
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
  mass = np.abs(true).sum(axis=(1, 2))  # (N, T)
  rows = np.argsort(-mass.sum(axis=1), kind="stable")[:num]
  cols = 2 + 2 * types_per_row
  fig, axes = plt.subplots(len(rows), cols, figsize=(1.9 * cols, 2.0 * len(rows) + 0.4),
                           squeeze=False)
  im = None
  for r, i in enumerate(rows):
    axes[r, 0].imshow(np.clip(data["reference"][i], 0, 1))
    axes[r, 1].imshow(np.clip(data["distorted"][i], 0, 1))
    if r == 0:
      axes[r, 0].set_title("reference", fontsize=8)
      axes[r, 1].set_title("distorted", fontsize=8)
    order = [t for t in np.argsort(-mass[i], kind="stable") if mass[i, t] > 0][:types_per_row]
    for j in range(types_per_row):
      a_true, a_pred = axes[r, 2 + 2 * j], axes[r, 3 + 2 * j]
      if j < len(order):
        t = order[j]
        im = a_true.imshow(true[i, ..., t], cmap="RdBu_r", vmin=-1, vmax=1)
        a_pred.imshow(pred[i, ..., t], cmap="RdBu_r", vmin=-1, vmax=1)
        a_true.set_title(f"true\n{names[t]}", fontsize=7)
        a_pred.set_title(f"predicted\n{names[t]}", fontsize=7)
    for a in axes[r]:
      a.set_xticks([])
      a.set_yticks([])
  if im is not None:
    fig.colorbar(im, ax=axes, shrink=0.6, label="signed map (distorted vs reference)")
  if title:
    fig.suptitle(title, fontsize=10)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return os.fspath(path)

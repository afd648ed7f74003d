"""Per-type distortion maps of one image pair, named, and summarised in words.

:class:`PairMaps` is what :meth:`jiqa.Model.maps` returns for a pair
``(reference, distorted)``: the signed strength map of every type (``(H, W)``,
in ``[-1, 1]``; for a signed axis the sign says which way, e.g. ``brightness``
> 0 is brighter), the probability that each type is present, and a summary of
the types found — how strong, which direction and where — as data
(:attr:`PairMaps.summary`) and as sentences (:meth:`PairMaps.describe`).

Example:
  >>> m = np.zeros((8, 8, 2), np.float32); m[:, :4, 0] = -0.9  # left half
  >>> pm = pair_maps(m, np.array([4.0, -4.0]), ("gaussian_blur", "jpeg"),
  ...                axes=("sharpness", None))
  >>> pm.describe()[0]
  'gaussian_blur: strong, less sharp, left half (p=0.98)'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

# Words for the two ends of each signed axis (the sign of the map).
AXIS_WORDS = {
    "sharpness": ("sharper", "less sharp"),
    "brightness": ("brighter", "darker"),
    "saturation": ("more saturated", "less saturated"),
    "contrast": ("more contrast", "less contrast"),
}


def strength_word(s: float) -> str:
  """``"mild"`` / ``"moderate"`` / ``"strong"`` for a strength in ``[0, 1]`` (KADID level units).

  Example:
    >>> strength_word(0.2), strength_word(0.5), strength_word(0.9)
    ('mild', 'moderate', 'strong')
  """
  return "mild" if s < 0.35 else "moderate" if s < 0.65 else "strong"


def where_words(support: np.ndarray) -> str:
  """Where a boolean ``(H, W)`` support lies, in words ("whole image", "left half", ...).

  Example:
    >>> s = np.zeros((10, 10), bool); s[:5] = True
    >>> where_words(s)
    'top half'
  """
  support = np.asarray(support, bool)
  cover = support.mean()
  if cover == 0:
    return "nowhere"
  if cover >= 0.85:
    return "whole image"
  h, w = support.shape
  halves = {"top half": support[: h // 2], "bottom half": support[h - h // 2:],
            "left half": support[:, : w // 2], "right half": support[:, w - w // 2:]}
  total = support.sum()
  for name, part in halves.items():
    if part.sum() >= 0.85 * total and part.mean() >= 0.6:
      return name
  ys, xs = np.nonzero(support)
  cy, cx = ys.mean() / h, xs.mean() / w
  vert = "top" if cy < 1 / 3 else "bottom" if cy > 2 / 3 else ""
  horiz = "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else ""
  spot = " ".join(p for p in (vert, horiz) if p) or "centre"
  return f"{spot} ({cover:.0%} of the image)"


@dataclasses.dataclass(frozen=True)
class PairMaps:
  """Named maps of one pair and their summary.

  Attributes:
    strength: type name -> ``(H, W)`` signed strength in ``[-1, 1]``.
    presence: type name -> probability that the type is present.
    summary: the types judged present, strongest first; each a dict with
      ``type``, ``presence``, ``strength`` (mean ``|map|`` over its support),
      ``strength_word``, ``direction`` (words, ``""`` for unsigned types),
      ``sign`` (+1/-1/0), ``where`` (words) and ``coverage`` (support share).
  """
  strength: dict[str, np.ndarray]
  presence: dict[str, float]
  summary: list[dict]

  def describe(self) -> list[str]:
    """One sentence per type found, e.g. ``"gaussian_blur: strong, less sharp, left half"``."""
    out = []
    for s in self.summary:
      words = [s["strength_word"]] + ([s["direction"]] if s["direction"] else []) + [s["where"]]
      out.append(f"{s['type']}: {', '.join(words)} (p={s['presence']:.2f})")
    return out or ["no distortion found"]

  def to_json(self) -> dict:
    """The presence and summary as plain JSON types (the maps are left out)."""
    return {"presence": {k: float(v) for k, v in self.presence.items()},
            "summary": [{k: (float(v) if isinstance(v, (np.floating, float)) else v)
                         for k, v in s.items()} for s in self.summary]}


def pair_maps(maps: np.ndarray, presence_logits: np.ndarray, names: Sequence[str], *,
              axes: Sequence[str | None] | None = None, threshold: float = 0.5,
              support_level: float = 0.1, max_types: int = 5) -> PairMaps:
  """Names the maps of one pair and summarises the types present.

  Args:
    maps: ``(H, W, T)`` signed strengths.
    presence_logits: ``(T,)`` presence logits.
    names: the ``T`` type names.
    axes: each type's signed axis or ``None`` (default: the engine's table).
    threshold: presence probability above which a type is reported.
    support_level: ``|map|`` above which a pixel counts as affected.
    max_types: report at most this many types.

  Example:
    >>> pm = pair_maps(np.zeros((4, 4, 1)), np.array([-3.0]), ("jpeg",), axes=(None,))
    >>> pm.summary, pm.describe()
    ([], ['no distortion found'])
  """
  maps = np.asarray(maps, np.float32)
  logits = np.asarray(presence_logits, np.float64)
  if maps.ndim != 3 or maps.shape[-1] != len(names) or logits.shape != (len(names),):
    raise ValueError(f"maps must be (H, W, {len(names)}) and presence_logits ({len(names)},); "
                     f"got {maps.shape} and {logits.shape}.")
  if axes is None:
    from jiqa.distortions import table

    axes = [table.get(n).axis for n in names]
  prob = 1.0 / (1.0 + np.exp(-logits))
  found = []
  for t in np.argsort(-prob):
    if prob[t] < threshold or len(found) >= max_types:
      break
    m = maps[..., t]
    support = np.abs(m) > support_level
    if not support.any():
      continue
    mean_signed = float(m[support].mean())
    strength = float(np.abs(m[support]).mean())
    sign = int(np.sign(mean_signed))
    direction = AXIS_WORDS[axes[t]][0 if sign > 0 else 1] if axes[t] and sign else ""
    found.append({"type": names[t], "presence": float(prob[t]), "strength": strength,
                  "strength_word": strength_word(strength), "direction": direction,
                  "sign": sign, "where": where_words(support),
                  "coverage": float(support.mean())})
  found.sort(key=lambda s: -s["strength"] * s["coverage"])
  return PairMaps({n: maps[..., i] for i, n in enumerate(names)},
                  {n: float(p) for n, p in zip(names, prob)}, found)

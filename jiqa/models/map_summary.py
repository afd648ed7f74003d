"""Per-image summaries of predicted distortion maps: which types, how strong, which way, where.

:func:`summarize` turns the outputs of :class:`jiqa.models.MapPredictor` for
one pair ``(reference, distorted)`` into a short list of findings, one per
type whose image-level presence probability passes ``threshold``, strongest
first. Each finding says

* ``type``: the distortion's name;
* ``strength``: the mean ``|map|`` over the type's region (the pixels where
  its predicted presence probability is at least 1/2, or its top 10% when
  none is), in ``[0, 1]``, and a word for it (``weak`` below 0.3, ``medium``
  below 0.6, ``strong`` above);
* ``direction``: for signed types (:func:`jiqa.distortions.signed_types`)
  the sign of the mean map over the region, in words of the type's axis
  (``brighter`` / ``darker``, ``sharper`` / ``blurrier``, ``more contrast`` /
  ``less contrast``, ``more saturated`` / ``less saturated``); for unsigned
  types which image carries the distortion (a positive map means the distorted
  one, as in the engine's maps);
* ``where``: ``everywhere`` when the region covers at least 80% of the image,
  else the half or quarter of the image holding most of the region (``left
  half``, ``top right``, ``centre``) and its area.

Pure numpy on host arrays; no JAX work.

Example:
  >>> maps = np.zeros((1, 8, 8, 3)); maps[0, :, :4, 0] = -0.8     # blur, left half
  >>> probs = np.array([[0.9, 0.1, 0.05]])
  >>> f = summarize(maps, probs, names=("gaussian_blur", "jpeg", "darken"),
  ...               signed=(True, False, True), axes=("sharpness", None, "brightness"))
  >>> f[0]["text"]
  'gaussian_blur, strong, blurrier, left half'
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

AXIS_WORDS = {
    "brightness": ("brighter", "darker"),
    "contrast": ("more contrast", "less contrast"),
    "saturation": ("more saturated", "less saturated"),
    "sharpness": ("sharper", "blurrier"),
    None: ("in the distorted image", "in the reference"),
}


def strength_word(s: float) -> str:
  """``weak`` (< 0.3), ``medium`` (< 0.6) or ``strong``.

  Example:
    >>> strength_word(0.45)
    'medium'
  """
  return "weak" if s < 0.3 else ("medium" if s < 0.6 else "strong")


def _share(area: float) -> str:
  """An area share in words: ``"24%"``, or ``"under 1%"`` where rounding would say 0%.

  Example:
    >>> _share(0.237), _share(0.003)
    ('24%', 'under 1%')
  """
  return f"{area:.0%}" if area >= 0.005 else "under 1%"


def where_words(region: np.ndarray) -> str:
  """Where a boolean ``(H, W)`` region lies, in words (see the module docstring).

  Example:
    >>> r = np.zeros((4, 4), bool); r[:2] = True
    >>> where_words(r)
    'top half'
  """
  region = np.asarray(region, bool)
  if region.ndim != 2:
    raise ValueError(f"region must be a boolean (H, W) array; got shape {region.shape}.")
  area = region.mean()
  if area >= 0.8:
    return "everywhere"
  if area == 0:
    return "nowhere"
  h, w = region.shape
  ys, xs = np.nonzero(region)
  cy, cx = ys.mean() / max(h - 1, 1), xs.mean() / max(w - 1, 1)
  # Halves when the region fills one half well; else the quarter / centre of its centroid.
  halves = {"left half": region[:, :w // 2], "right half": region[:, (w + 1) // 2:],
            "top half": region[:h // 2], "bottom half": region[(h + 1) // 2:]}
  best = max(halves, key=lambda k: halves[k].sum())
  inside = halves[best].sum() / region.sum()
  if inside >= 0.8 and halves[best].mean() >= 0.5:
    return best
  if abs(cy - 0.5) < 0.17 and abs(cx - 0.5) < 0.17:
    return f"centre ({_share(area)} of the image)"
  vert = "top" if cy < 0.5 else "bottom"
  horiz = "left" if cx < 0.5 else "right"
  return f"{vert} {horiz} ({_share(area)} of the image)"


def summarize(maps: np.ndarray, presence_probs: np.ndarray, *, names: Sequence[str],
              signed: Sequence[bool], axes: Sequence[str | None],
              pixel_presence: np.ndarray | None = None, threshold: float = 0.5,
              max_findings: int = 3) -> list[dict]:
  """The findings of one image (see the module docstring), strongest first.

  Args:
    maps: ``(H, W, T)`` or ``(1, H, W, T)`` predicted signed maps of the
      distorted image relative to the reference.
    presence_probs: ``(T,)`` or ``(1, T)`` image-level presence probabilities.
    names: the ``T`` type names.
    signed: ``(T,)`` which types are signed.
    axes: ``(T,)`` each signed type's axis (:data:`jiqa.distortions.AXES`),
      ``None`` for unsigned types.
    pixel_presence: optional ``(H, W, T)`` per-pixel presence probabilities
      that define each type's region (default: ``|maps|`` at least half its
      maximum).
    threshold: image-level probability above which a type is reported.
    max_findings: at most this many findings.

  Returns:
    A list of dicts with ``type, probability, strength, strength_word,
    direction, where, area, text``.

  Example:
    >>> summarize(np.zeros((4, 4, 1)), np.array([0.1]), names=("jpeg",),
    ...           signed=(False,), axes=(None,))
    []
  """
  maps = np.asarray(maps, np.float64)
  probs = np.asarray(presence_probs, np.float64)
  if maps.ndim == 4 and maps.shape[0] == 1:
    maps = maps[0]
  if probs.ndim == 2 and probs.shape[0] == 1:
    probs = probs[0]
  if maps.ndim != 3:
    raise ValueError(f"maps must have shape (H, W, T) for one image; got {maps.shape}.")
  t = maps.shape[-1]
  if probs.shape != (t,) or len(names) != t or len(signed) != t or len(axes) != t:
    raise ValueError(f"presence_probs, names, signed and axes must each have T = {t} entries; "
                     f"got {probs.shape}, {len(names)}, {len(signed)}, {len(axes)}.")
  if pixel_presence is not None:
    pixel_presence = np.asarray(pixel_presence, np.float64)
    if pixel_presence.ndim == 4 and pixel_presence.shape[0] == 1:
      pixel_presence = pixel_presence[0]
    if pixel_presence.shape != maps.shape:
      raise ValueError(f"pixel_presence must have the maps' shape {maps.shape}; "
                       f"got {pixel_presence.shape}.")
  found = []
  for i in np.nonzero(probs >= threshold)[0]:
    m = maps[..., i]
    if pixel_presence is not None:
      region = pixel_presence[..., i] >= 0.5
    else:
      region = np.abs(m) >= 0.5 * np.abs(m).max() if np.abs(m).max() > 0 else np.zeros(m.shape, bool)
    if not region.any():
      region = np.abs(m) >= np.quantile(np.abs(m), 0.9)
    strength = float(np.abs(m[region]).mean())
    mean = float(m[region].mean())
    up, down = AXIS_WORDS[axes[i] if signed[i] else None]
    direction = up if mean >= 0 else down
    where = where_words(region)
    text = f"{names[i]}, {strength_word(strength)}, "
    text += (f"{direction}, " if signed[i] else "") + where
    if not signed[i] and mean < 0:
      text += f" ({direction})"
    found.append({"type": names[i], "probability": float(probs[i]), "strength": strength,
                  "strength_word": strength_word(strength), "direction": direction,
                  "where": where, "area": float(region.mean()), "text": text})
  found.sort(key=lambda f: -f["strength"] * f["probability"])
  return found[:max_findings]


def summarize_output(out, index: int = 0, *, threshold: float = 0.5,
                     max_findings: int = 3) -> list[dict]:
  """:func:`summarize` of image ``index`` of a :class:`jiqa.models.MapOutput` over the engine's types.

  Example:
    >>> findings = summarize_output(model(reference, distorted))  # doctest: +SKIP
  """
  from jiqa import distortions

  specs = distortions.specs()
  pix = None if out.pixel_presence_logits is None else 1.0 / (
      1.0 + np.exp(-np.asarray(out.pixel_presence_logits[index], np.float64)))
  return summarize(np.asarray(out.maps[index]),
                   1.0 / (1.0 + np.exp(-np.asarray(out.presence_logits[index], np.float64))),
                   names=distortions.names(), signed=distortions.signed_types(),
                   axes=[s.axis for s in specs], pixel_presence=pix, threshold=threshold,
                   max_findings=max_findings)

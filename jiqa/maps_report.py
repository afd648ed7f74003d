"""Per-type distortion maps of one image pair, by name, with the model's findings in words.

:class:`PairMaps` is what :meth:`jiqa.Model.maps` returns for one pair
``(reference, distorted)``: the signed map of every type by name (``(H, W)``
in ``[-1, 1]``; on a signed axis the sign says which way, e.g. ``brightness``
> 0 is brighter), the per-pixel presence and the signed strength behind it
when the model has them, the image-level presence probability of each type,
and the findings of :func:`jiqa.models.map_summary.summarize` (which types,
how strong, which direction, where) as data and as sentences.

Example:
  >>> m = np.zeros((8, 8, 2), np.float32); m[:, :4, 0] = -0.9      # left half
  >>> pm = pair_maps(m, np.array([4.0, -4.0]), ("gaussian_blur", "jpeg"),
  ...                signed=(True, False), axes=("sharpness", None))
  >>> pm.describe()
  ['gaussian_blur, strong, blurrier, left half (p=0.98)']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
  return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


@dataclasses.dataclass(frozen=True)
class PairMaps:
  """Named maps of one pair and the findings.

  Attributes:
    maps: type name -> ``(H, W)`` signed map in ``[-1, 1]`` (presence x strength).
    presence: type name -> probability that the type is present in the image.
    findings: the types found, strongest first (dicts with ``type``,
      ``probability``, ``strength``, ``strength_word``, ``direction``,
      ``where``, ``area``, ``text``; see :mod:`jiqa.models.map_summary`).
    pixel_presence: type name -> ``(H, W)`` presence probability, or ``None``.
    strength: type name -> ``(H, W)`` signed strength, or ``None``.
  """
  maps: dict[str, np.ndarray]
  presence: dict[str, float]
  findings: list[dict]
  pixel_presence: dict[str, np.ndarray] | None = None
  strength: dict[str, np.ndarray] | None = None

  @property
  def summary(self) -> list[dict]:
    """Alias of :attr:`findings`."""
    return self.findings

  def describe(self) -> list[str]:
    """One sentence per type found, e.g. ``"gaussian_blur, strong, blurrier, left half (p=0.98)"``."""
    return [f"{f['text']} (p={f['probability']:.2f})" for f in self.findings] or [
        "no distortion found"]

  def to_json(self) -> dict:
    """The presence and the findings as plain JSON types (the maps are left out)."""
    return {"presence": {k: float(v) for k, v in self.presence.items()},
            "findings": [{k: (float(v) if isinstance(v, (np.floating, float)) else v)
                          for k, v in f.items()} for f in self.findings]}


def pair_maps(maps: np.ndarray, presence_logits: np.ndarray, names: Sequence[str], *,
              pixel_presence_logits: np.ndarray | None = None,
              strength: np.ndarray | None = None, signed: Sequence[bool] | None = None,
              axes: Sequence[str | None] | None = None, threshold: float = 0.5,
              max_findings: int = 3) -> PairMaps:
  """Names the maps of one pair and summarises the types found.

  Args:
    maps: ``(H, W, T)`` signed maps.
    presence_logits: ``(T,)`` image-level presence logits.
    names: the ``T`` type names.
    pixel_presence_logits: optional ``(H, W, T)`` per-pixel presence logits.
    strength: optional ``(H, W, T)`` signed strengths.
    signed, axes: each type's signedness and axis (default: the engine's table).
    threshold: presence probability above which a type is reported.
    max_findings: report at most this many types.

  Example:
    >>> pm = pair_maps(np.zeros((4, 4, 1)), np.array([-3.0]), ("jpeg",), signed=(False,),
    ...                axes=(None,))
    >>> pm.findings, pm.describe()
    ([], ['no distortion found'])
  """
  from jiqa.models import map_summary

  maps = np.asarray(maps, np.float32)
  logits = np.asarray(presence_logits, np.float64)
  t = len(names)
  if maps.ndim != 3 or maps.shape[-1] != t or logits.shape != (t,):
    raise ValueError(f"maps must be (H, W, {t}) and presence_logits ({t},); "
                     f"got {maps.shape} and {logits.shape}.")
  if signed is None or axes is None:
    from jiqa import distortions

    specs = {s.name: s for s in distortions.specs()}
    signed = [specs[n].axis is not None for n in names] if signed is None else signed
    axes = [specs[n].axis for n in names] if axes is None else axes
  prob = _sigmoid(logits)
  pix = None if pixel_presence_logits is None else _sigmoid(pixel_presence_logits)
  findings = map_summary.summarize(maps, prob, names=names, signed=signed, axes=axes,
                                   pixel_presence=pix, threshold=threshold,
                                   max_findings=max_findings)

  def named(x):
    return None if x is None else {n: np.asarray(x[..., i]) for i, n in enumerate(names)}

  return PairMaps(named(maps), {n: float(p) for n, p in zip(names, prob)}, findings,
                  named(pix), named(strength))

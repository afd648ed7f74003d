"""One call from weights to numbers: ``model = jiqa.load(); model.score(distorted, reference)``.

:func:`load` returns a :class:`Model` built from the weights shipped in the
package (``jiqa.load()``), from a folder written by
:func:`jiqa.pretrained.export`, or from a training run folder
(``jiqa.load("runs/w")``, the last checkpoint). Its methods take what users
have and give plain numbers:

* inputs are numpy or jax arrays, PIL images, or lists of them; ``uint8``,
  ``uint16`` or float in ``[0, 1]`` (one rule: :func:`jiqa.images.to_float_rgb`);
  one image ``(H, W, 3)`` (also grey ``(H, W)``) or a batch ``(N, H, W, 3)``;
* any size: each image is padded (mirror) to the networks' stride and the maps
  are cropped back;
* every image is computed on its own, so a result never depends on the batch
  it came in;
* one argument order everywhere, the reference first as full-reference metrics
  do, except :meth:`Model.score`, whose ``(distorted, reference)`` order
  matches pyiqa/piq's ``metric(distorted, reference)``; pass keywords to be
  explicit.

Score direction: **higher is better**; ``score(r, r)`` is 0 (up to float
rounding, ~1e-7) and a distorted image scores below 0.

Example:
  >>> import jiqa, numpy as np
  >>> model = jiqa.load()
  >>> ref = jiqa.images.bundled_images(["astronaut"])["astronaut"][:96, :96]
  >>> abs(model.score(ref, ref)) < 1e-6
  True
  >>> noisy = np.clip(ref + 0.2 * np.random.default_rng(0).normal(size=ref.shape), 0, 1)
  >>> bool(model.score(noisy, ref) < 0)
  True
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from jiqa import images as images_lib


def _to_array(x: Any, name: str) -> np.ndarray:
  """One image (numpy, jax, PIL) as float32 ``(H, W, 3)``."""
  try:
    from PIL import Image
  except ImportError:  # pragma: no cover - Pillow is a dependency
    Image = None
  if Image is not None and isinstance(x, Image.Image):
    if x.mode not in ("RGB", "RGBA", "L", "LA", "I;16", "I;16B", "I;16L"):
      x = x.convert("RGBA" if "A" in x.mode or "transparency" in x.info else "RGB")
    if x.mode == "LA":
      x = x.convert("L")
    x = np.asarray(x)
  return images_lib.to_float_rgb(np.asarray(x), name=name)


def as_batch(x: Any, *, name: str) -> tuple[np.ndarray, bool]:
  """Converts one image or a batch to float32 ``(N, H, W, 3)``; says whether it was one.

  Raises:
    ValueError: for anything :func:`jiqa.images.to_float_rgb` rejects, an empty
      batch, or a batch whose images differ in size.

  Example:
    >>> b, single = as_batch(np.zeros((4, 5, 3), np.uint8), name="image")
    >>> b.shape, single
    ((1, 4, 5, 3), True)
  """
  if isinstance(x, (list, tuple)):
    if not x:
      raise ValueError(f"{name}: an empty list; expected one image or a batch.")
    imgs = [_to_array(v, f"{name}[{i}]") for i, v in enumerate(x)]
    single = False
  else:
    ndim = getattr(x, "ndim", None)
    if ndim is None and not hasattr(x, "mode"):
      ndim = np.ndim(x)
    if ndim == 4:
      if len(x) == 0:
        raise ValueError(f"{name}: an empty batch of shape {tuple(np.shape(x))}.")
      imgs = [_to_array(v, f"{name}[{i}]") for i, v in enumerate(x)]
      single = False
    else:
      imgs, single = [_to_array(x, name)], True
  shapes = {im.shape for im in imgs}
  if len(shapes) > 1:
    raise ValueError(f"{name}: images of one batch must have one size; got {sorted(shapes)}.")
  return np.stack(imgs), single


def pad_to(x: np.ndarray, multiple: int) -> np.ndarray:
  """Mirror-pads ``(N, H, W, C)`` at the bottom/right to multiples of ``multiple``.

  Example:
    >>> pad_to(np.zeros((1, 5, 6, 3)), 4).shape
    (1, 8, 8, 3)
  """
  h, w = x.shape[1:3]
  ph, pw = (-h) % multiple, (-w) % multiple
  if ph == 0 and pw == 0:
    return x
  return np.pad(x, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="symmetric")


def _pairs(reference: Any, distorted: Any, names=("reference", "distorted")):
  """Two inputs as equal-size batches; a single reference is shared by a batch."""
  r, r_single = as_batch(reference, name=names[0])
  x, x_single = as_batch(distorted, name=names[1])
  if r.shape[1:] != x.shape[1:]:
    raise ValueError(f"{names[0]} and {names[1]} must have the same size; got "
                     f"{r.shape[1]}x{r.shape[2]} and {x.shape[1]}x{x.shape[2]}.")
  if r.shape[0] == 1 and x.shape[0] > 1:
    r = np.broadcast_to(r, x.shape)
  elif x.shape[0] == 1 and r.shape[0] > 1:
    x = np.broadcast_to(x, r.shape)
  elif r.shape[0] != x.shape[0]:
    raise ValueError(f"{names[0]} and {names[1]} hold {r.shape[0]} and {x.shape[0]} images; "
                     "expected equal counts or a single one.")
  return r, x, r_single and x_single


class Model:
  """A loaded jiqa model: relational score, preference and distortion maps.

  Build it with :func:`load`. Attributes: ``config`` (the run's config),
  ``type_names`` (the map channels), ``source`` (where the weights came from).
  """

  def __init__(self, models, config, *, source: str):
    import jax
    from flax import nnx

    from jiqa import distortions

    self.config = config
    self.source = source
    self.type_names = tuple(distortions.names())
    self._graphdef, self._state = nnx.split(models)
    self.has_scorer = models.scorer is not None
    self.has_maps = models.map_predictor is not None
    self.symmetric = bool(getattr(models.scorer, "symmetric", False))
    strides = [m.stride for m in (models.scorer, models.map_predictor) if m is not None]
    self.stride = int(np.lcm.reduce(strides)) if strides else 1
    graphdef = self._graphdef

    def score(state, ref, dist):
      return nnx.merge(graphdef, state).scorer(ref, dist)

    def sym_score(state, a, b):  # (s(a | b) - s(b | a)) / 2
      return nnx.merge(graphdef, state).scorer.antisymmetric_relative(b, a)

    def maps(state, ref, dist):
      out = nnx.merge(graphdef, state).map_predictor(ref, dist)
      return (out.maps, out.presence_logits, getattr(out, "pixel_presence_logits", None),
              getattr(out, "strength", None))

    self._score = jax.jit(score)
    self._sym_score = jax.jit(sym_score)
    self._maps = jax.jit(maps)

  def __repr__(self) -> str:
    parts = [p for p, ok in (("score", self.has_scorer), ("maps", self.has_maps)) if ok]
    return f"jiqa.Model({'+'.join(parts)}, stride {self.stride}, from {self.source!r})"

  def _need(self, what: str):
    if not (self.has_scorer if what == "scorer" else self.has_maps):
      raise ValueError(f"this model ({self.source}) has no {what}; load a run that trains one.")

  def _per_image(self, fn, first: np.ndarray, second: np.ndarray) -> list:
    """``fn(state, first_i, second_i)`` for each image on its own, padded to the stride."""
    return [fn(self._state, pad_to(first[i:i + 1], self.stride),
               pad_to(second[i:i + 1], self.stride)) for i in range(first.shape[0])]

  def score(self, distorted: Any, reference: Any) -> float | np.ndarray:
    """Relational quality of ``distorted`` given its pristine ``reference``.

    Args:
      distorted: one image or a batch (see the module docstring).
      reference: one image (shared by the batch) or a batch of equal length.

    Returns:
      A float for one pair, else an ``(N,)`` float64 array; higher is better,
      ``0`` for an image identical to its reference.

    Example:
      >>> model.score(img, img)  # doctest: +SKIP
      0.0
    """
    self._need("scorer")
    r, x, single = _pairs(reference, distorted)
    s = np.array([float(v[0]) for v in self._per_image(self._score, r, x)])
    return float(s[0]) if single else s

  def preference(self, a: Any, b: Any, reference: Any = None) -> float | np.ndarray:
    """``P(a is better than b)``: ``sigmoid(s(a | r) - s(b | r))`` with a reference.

    Without a reference the two images are compared with each other:
    ``sigmoid(s(a | b) - s(b | a))``, so ``preference(a, b) = 1 - preference(b, a)``;
    a symmetric scorer (the shipped :class:`~jiqa.models.DeviationScorer`, which
    measures the deviation from a reference) refuses this with a ``ValueError``.

    Returns:
      A float in ``[0, 1]`` for one pair, else an ``(N,)`` array.
    """
    self._need("scorer")
    if reference is not None:
      ra, xa, single_a = _pairs(reference, a, ("reference", "a"))
      rb, xb, single_b = _pairs(reference, b, ("reference", "b"))
      if xa.shape != xb.shape:
        raise ValueError(f"a and b must have the same shape; got {xa.shape[1:3]} x "
                         f"{xa.shape[0]} and {xb.shape[1:3]} x {xb.shape[0]}.")
      sa = np.array([float(v[0]) for v in self._per_image(self._score, ra, xa)])
      sb = np.array([float(v[0]) for v in self._per_image(self._score, rb, xb)])
      p = 1.0 / (1.0 + np.exp(-(sa - sb)))
      return float(p[0]) if single_a and single_b else p
    if self.symmetric:
      raise ValueError("reference: this model's scorer is symmetric (a deviation from a "
                       "reference, s(a | b) = s(b | a)); pass reference= to compare a and b.")
    pa, pb, single = _pairs(a, b, ("a", "b"))
    d = np.array([float(v[0]) for v in self._per_image(self._sym_score, pa, pb)])
    p = 1.0 / (1.0 + np.exp(-2.0 * d))
    return float(p[0]) if single else p

  def maps(self, reference: Any, distorted: Any):
    """Per-pixel, per-type distortion maps of ``distorted`` relative to ``reference``.

    Returns:
      A :class:`jiqa.maps_report.PairMaps` for one pair (named maps, presence
      and the findings: which types, how strong, which direction, where), or a
      list of them for a batch.
    """
    from jiqa import maps_report

    self._need("map predictor")
    r, x, single = _pairs(reference, distorted)
    h, w = r.shape[1:3]
    outs = []
    for m, logits, pix, strength in self._per_image(self._maps, r, x):
      crop = (lambda v: None if v is None else np.asarray(v[0, :h, :w]))
      outs.append(maps_report.pair_maps(crop(m), np.asarray(logits[0]), self.type_names,
                                        pixel_presence_logits=crop(pix), strength=crop(strength)))
    return outs[0] if single else outs


def load(source: str | os.PathLike | None = None, *, step: int | None = None) -> Model:
  """Loads a model: the shipped weights, an exported folder, or a training run.

  Args:
    source: ``None`` for the weights shipped with jiqa; a folder written by
      :func:`jiqa.pretrained.export` (``config.json`` + ``weights.npz``); or a
      run folder (``config.json`` + ``checkpoints/``), restored at ``step``
      (default: the last checkpoint).
    step: the checkpoint step of a run folder.

  Raises:
    ValueError: if ``source`` is none of these.

  Example:
    >>> model = load()
    >>> model.has_scorer and model.has_maps
    True
  """
  from jiqa import pretrained

  if source is None:
    config, models = pretrained.load_models(None)
    return Model(models, config, source="jiqa (shipped weights)")
  folder = os.fspath(source)
  if not os.path.isdir(folder):
    raise ValueError(f"source: {folder!r} is not a folder (expected a run folder or an "
                     "exported weights folder, or None for the shipped weights).")
  if os.path.isfile(os.path.join(folder, pretrained.WEIGHTS_FILE)):
    config, models = pretrained.load_models(folder)
    return Model(models, config, source=folder)
  if os.path.isdir(os.path.join(folder, "checkpoints")):
    from jiqa.training import loop, state as state_lib

    config, graphdef, state, _ = loop.restore(folder, step=step)
    return Model(state_lib.merge(graphdef, state), config, source=folder)
  raise ValueError(f"source: {folder!r} holds neither {pretrained.WEIGHTS_FILE} nor "
                   "checkpoints/ (not an exported model or a training run).")

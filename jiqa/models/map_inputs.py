"""Residual statistics of an ordered pair that tell distortion *types* apart, for the map predictor.

:func:`jiqa.models.pair_stats.relational_maps` says how much ``b`` differs
from ``a`` (mean shift, contrast, structure, error energy, high-frequency and
chroma ratios, blockiness). Which type made the difference shows more in the
*shape* of the residual ``d = b - a`` (in full-range YCbCr): per scale (1 and
1/2 by 2x2 average pooling) and pixel, over 3x3 windows,

* ``log(c + mean(r^2))`` of the high-pass residual ``r = d - box3(d)`` per
  channel (noise-like energy, luma and each chroma: white vs colour noise);
* ``log((mean(r_Y^2) + c) / (mean(d_Y^2) + c))``: the high-pass share of the
  luma error (about 0 for noise, very negative for a brightness shift);
* ``log(mean(r_Y^4) / mean(r_Y^2)^2)``: the residual's local kurtosis (large
  for impulse noise and other sparse errors);
* ``mean(r_Y h_a) / sqrt(mean(r_Y^2) mean(h_a^2))`` with ``h_a`` the
  high-pass luma of ``a``: negative for blur and denoising (the residual
  cancels ``a``'s detail), positive for sharpening, about 0 for noise;
* ``log(c + mean(r_Y^2)) - 2 log(mu_a + 0.05)``: residual energy relative to
  ``a``'s local luma (multiplicative noise grows with it);
* the local sine and cosine of the hue rotation from ``a``'s to ``b``'s
  chroma vector (colour shift; 0 and 1 where the chroma does not turn);
* ``log(c + max_3x3 |d_Y|)``: the largest local luma error (impulses);

so :data:`NUM_RESIDUAL` = 2 x 10 channels, repeated back to full resolution.
None of them needs to be anti-symmetric itself: the map predictor reaches
exact anti-symmetry by running its network on both orderings
(:mod:`jiqa.models.map_predictor`). For ``a == b`` every channel but the
relative energy and the hue cosine (which read ``a``'s luma and chroma) is one
constant. Hand-written: no maintained library computes these.

Example:
  >>> a = jnp.full((1, 16, 16, 3), 0.5)
  >>> residual_maps(a, a * 0.9).shape
  (1, 16, 16, 20)

:func:`context_maps` adds :data:`NUM_CONTEXT` statistics over larger windows
(``k x k`` box means, ``k`` in :data:`CONTEXT_WINDOWS` = 9 and 17 px, at full
resolution), for the *strength*: the engine's masks vary smoothly over tens of
pixels and a level acts on a whole region, so how strong a change is shows
best in its error energy over a wide window (``|B - A|`` box-averaged over
9-17 px ranks the true strength better than per pixel), wider than the ~12 px
a width-16, depth-2 U-Net sees. Per window: the log error energy (RGB), the
log high-pass (``d - box3(d)``) luma energy, the log chroma error energy, the
signed luma mean shift (x4) and the log ratio of ``b``'s to ``a``'s luma
variance (contrast). Like the residual maps they need not be anti-symmetric.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jiqa.distortions.colorspace import rgb_to_ycbcr
from jiqa.models.pair_stats import box_mean

NUM_SCALES = 2
PER_SCALE = 10
NUM_RESIDUAL = NUM_SCALES * PER_SCALE
CONTEXT_WINDOWS = (9, 17)
PER_WINDOW = 5
NUM_CONTEXT = len(CONTEXT_WINDOWS) * PER_WINDOW


def _max3(x: jax.Array) -> jax.Array:
  """3x3 local maximum per channel, edges replicated."""
  p = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
  rows = jnp.maximum(jnp.maximum(p[:, :-2], p[:, 1:-1]), p[:, 2:])
  return jnp.maximum(jnp.maximum(rows[:, :, :-2], rows[:, :, 1:-1]), rows[:, :, 2:])


def _scale_features(ya: jax.Array, yb: jax.Array, c: float) -> jax.Array:
  d = yb - ya
  r = d - box_mean(d)
  ha = ya[..., :1] - box_mean(ya[..., :1])
  ry = r[..., :1]
  e_r = box_mean(r * r)
  e_ry = e_r[..., :1]
  e_dy = box_mean(d[..., :1] ** 2)
  kurt = jnp.log((box_mean(ry**4) + c * c) / (e_ry**2 + c * c))
  corr = box_mean(ry * ha) / jnp.sqrt(e_ry * box_mean(ha * ha) + c * c)
  mult = jnp.log(c + e_ry) - 2.0 * jnp.log(box_mean(ya[..., :1]) + 0.05)
  ca, cb = box_mean(ya[..., 1:] - 0.5), box_mean(yb[..., 1:] - 0.5)
  norm = jnp.sqrt(jnp.sum(ca * ca, -1, keepdims=True) * jnp.sum(cb * cb, -1, keepdims=True)
                  + 1e-6)
  sin = (ca[..., :1] * cb[..., 1:] - ca[..., 1:] * cb[..., :1]) / norm
  cos = (jnp.sum(ca * cb, -1, keepdims=True) + 1e-6) / norm
  peak = jnp.log(c + _max3(jnp.abs(d[..., :1])))
  # Rescaled to about unit range (log energies of [0, 1] images lie in about [-9, 0]).
  return jnp.concatenate([
      (jnp.log(c + e_r) + 4.6) / 2.3, jnp.log((e_ry + c) / (e_dy + c)) / 2.0, kurt / 2.0,
      corr, (mult + 4.6) / 2.3, sin, cos, (peak + 4.6) / 2.3], axis=-1)


def residual_maps(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike, *,
                  c: float = 1e-4) -> jax.Array:
  """The :data:`NUM_RESIDUAL` residual statistics of ``b`` relative to ``a`` (module docstring).

  Args:
    a, b: ``(N, H, W, 3)`` RGB images in ``[0, 1]``; ``H``, ``W`` even.
    c: stabilising constant of the ratios and logarithms.

  Returns:
    ``(N, H, W, 20)``.

  Example:
    >>> x = jnp.full((1, 8, 8, 3), 0.5)
    >>> bool(jnp.all(jnp.isfinite(residual_maps(x, x))))
    True
  """
  a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
  if a.shape != b.shape or a.ndim != 4 or a.shape[-1] != 3:
    raise ValueError(f"a, b: expected two (N, H, W, 3) batches of equal shape; got {a.shape} "
                     f"and {b.shape}.")
  if a.shape[1] % 2 or a.shape[2] % 2:
    raise ValueError(f"a: height and width must be even; got {a.shape[1:3]}.")
  ya, yb = rgb_to_ycbcr(a), rgb_to_ycbcr(b)
  feats = []
  for s in range(NUM_SCALES):
    if s:
      ya, yb = nnx.avg_pool(ya, (2, 2), (2, 2)), nnx.avg_pool(yb, (2, 2), (2, 2))
    x = _scale_features(ya, yb, c)
    f = 2**s
    feats.append(jnp.repeat(jnp.repeat(x, f, axis=1), f, axis=2) if f > 1 else x)
  return jnp.concatenate(feats, axis=-1)


def context_maps(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike, *,
                 c: float = 1e-4) -> jax.Array:
  """The :data:`NUM_CONTEXT` wide-window statistics of ``b`` relative to ``a`` (module docstring).

  Args:
    a, b: ``(N, H, W, 3)`` RGB images in ``[0, 1]``.
    c: stabilising constant of the ratios and logarithms.

  Returns:
    ``(N, H, W, 10)``: for each window of :data:`CONTEXT_WINDOWS`, log error
    energy, log high-pass luma energy, log chroma energy (each rescaled as
    ``(log + 4.6) / 2.3``), 4 x luma mean shift, half the log variance ratio.

  Example:
    >>> x = jnp.full((1, 20, 20, 3), 0.5)
    >>> [round(float(v), 2) for v in context_maps(x, x + 0.1)[0, 10, 10, :5]]
    [0.0, -2.0, -2.0, 0.4, 0.0]
  """
  a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
  if a.shape != b.shape or a.ndim != 4 or a.shape[-1] != 3:
    raise ValueError(f"a, b: expected two (N, H, W, 3) batches of equal shape; got {a.shape} "
                     f"and {b.shape}.")
  ya, yb = rgb_to_ycbcr(a), rgb_to_ycbcr(b)
  d = b - a
  dy = yb[..., :1] - ya[..., :1]
  ry = dy - box_mean(dy)
  la, lb = ya[..., :1], yb[..., :1]
  dc = yb[..., 1:] - ya[..., 1:]
  raw = jnp.concatenate([jnp.mean(d * d, -1, keepdims=True), ry * ry,
                         jnp.sum(dc * dc, -1, keepdims=True), dy, la, la * la, lb, lb * lb],
                        axis=-1)
  logn = lambda e: (jnp.log(c + e) + 4.6) / 2.3  # noqa: E731
  feats = []
  for k in CONTEXT_WINDOWS:
    m = box_mean(raw, k)
    var_a = jnp.maximum(m[..., 5:6] - m[..., 4:5] ** 2, 0.0)
    var_b = jnp.maximum(m[..., 7:8] - m[..., 6:7] ** 2, 0.0)
    feats += [logn(m[..., :3]), 4.0 * m[..., 3:4], 0.5 * jnp.log((var_b + c) / (var_a + c))]
  return jnp.concatenate(feats, axis=-1)

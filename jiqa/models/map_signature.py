"""Image-level signatures of an ordered pair: hand-designed statistics pooled over the change.

The distortion types of KADID-10k leave distinct traces in the difference
between a reference and its distorted version: blur removes high frequencies
and adds none, noise adds high-frequency energy uncorrelated with the
reference, JPEG adds 8x8 blockiness, colour operations change chroma and hue,
brightness operations shift the mean along a tone curve, contrast changes
scale it about mid-grey, pixelation and quantisation flatten, spatial
operations misalign edges in one direction. :func:`extra_maps` adds per-pixel
statistics that the relational and residual maps of
:mod:`jiqa.models.pair_stats` and :mod:`jiqa.models.map_inputs` lack (at
full resolution, 3x3 or 5x5 windows):

* the change of the local share of flat pixels (``|grad| < 1/255`` in both
  directions; pixelation, quantisation, colour blocks flatten);
* the directional anisotropy of the gradient-energy change: the spread
  (max - min) of ``log((E_b + c) / (E_a + c))`` over four gradient
  directions (motion blur removes detail along one direction);
* the log ratio of chroma to luma error energy (colour operations and colour
  noise vs luma ones);
* the local slope of the luma difference against the reference's luma,
  ``cov(d, a) / (var(a) + c)`` (contrast change scales about the mean, blur
  cancels detail, a shift has slope 0);
* the luma difference against the tone position of ``a``: ``d_Y`` times
  ``a_Y - 0.5`` and ``d_Y`` times ``a_Y (1 - a_Y)`` scaled by 4 (contrast
  curves vs brighten/darken curves);
* the local mean of the signed chroma difference along and across ``a``'s
  chroma vector (saturation vs hue change).

:func:`signature` pools any stack of per-pixel statistics into one vector per
image: the mean weighted by the local error energy (where the change is: a
partial mask's support, without knowing it), its weighted standard
deviation, and the plain mean; then the log mean error energy and the
log share of pixels that changed noticeably. The weights are symmetric in
``(a, b)``; the statistics need not be, as the predictor reaches exactness by
running every head on both orderings (:mod:`jiqa.models.map_predictor`).

Example:
  >>> a = jnp.full((1, 16, 16, 3), 0.5)
  >>> extra_maps(a, a * 0.9).shape
  (1, 16, 16, 8)
  >>> signature(extra_maps(a, a * 0.9), a, a * 0.9).shape
  (1, 26)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jiqa.distortions.colorspace import rgb_to_ycbcr
from jiqa.models.pair_stats import box_mean

NUM_EXTRA = 8
NUM_GLOBAL = 2


def _grads(y: jax.Array) -> list[jax.Array]:
  """Forward differences of ``(N, H, W, 1)`` in four directions (edges replicated)."""
  p = jnp.pad(y, ((0, 0), (0, 1), (1, 1), (0, 0)), mode="edge")
  c = p[:, :-1, 1:-1]
  return [p[:, :-1, 2:] - c, p[:, 1:, 1:-1] - c, p[:, 1:, 2:] - c, p[:, 1:, :-2] - c]


def extra_maps(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike, *, c: float = 1e-4
               ) -> jax.Array:
  """The :data:`NUM_EXTRA` per-pixel statistics of ``b`` relative to ``a`` (module docstring).

  Args:
    a, b: ``(N, H, W, 3)`` RGB images in ``[0, 1]``.
    c: stabilising constant of the ratios.

  Returns:
    ``(N, H, W, 8)``, each about unit range.

  Example:
    >>> x = jnp.full((1, 8, 8, 3), 0.5)
    >>> [round(float(v), 3) + 0.0 for v in extra_maps(x, x)[0, 0, 0]]
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
  """
  a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
  if a.shape != b.shape or a.ndim != 4 or a.shape[-1] != 3:
    raise ValueError(f"a, b: expected two (N, H, W, 3) batches of equal shape; got {a.shape} "
                     f"and {b.shape}.")
  ya, yb = rgb_to_ycbcr(a), rgb_to_ycbcr(b)
  la, lb = ya[..., :1], yb[..., :1]
  ga, gb = _grads(la), _grads(lb)
  flat = lambda g: ((jnp.abs(g[0]) < 1 / 255) & (jnp.abs(g[1]) < 1 / 255)).astype(jnp.float32)  # noqa: E731
  flat_change = box_mean(flat(gb) - flat(ga), 5)
  ratios = jnp.concatenate([jnp.log((box_mean(q * q, 5) + c) / (box_mean(p * p, 5) + c))
                            for p, q in zip(ga, gb)], axis=-1)
  aniso = (ratios.max(-1, keepdims=True) - ratios.min(-1, keepdims=True)) / 2.0
  d = yb - ya
  e_y = box_mean(d[..., :1] ** 2, 3)
  e_c = box_mean(jnp.sum(d[..., 1:] ** 2, -1, keepdims=True), 3)
  chroma_share = jnp.log((e_c + c) / (e_y + c)) / 4.0
  mu_a, mu_d = box_mean(la, 5), box_mean(d[..., :1], 5)
  cov = box_mean(la * d[..., :1], 5) - mu_a * mu_d
  var = box_mean(la * la, 5) - mu_a**2
  slope = jnp.tanh(cov / (var + 1e-3))
  tone_lin = 4.0 * box_mean(d[..., :1] * (la - 0.5), 3)
  tone_mid = 16.0 * box_mean(d[..., :1] * la * (1.0 - la), 3)
  ca = ya[..., 1:] - 0.5
  unit = ca / jnp.sqrt(jnp.sum(ca * ca, -1, keepdims=True) + 1e-4)
  dc = d[..., 1:]
  along = 4.0 * box_mean(jnp.sum(dc * unit, -1, keepdims=True), 3)
  across = 4.0 * box_mean(unit[..., :1] * dc[..., 1:] - unit[..., 1:] * dc[..., :1], 3)
  return jnp.concatenate([flat_change, aniso, chroma_share, slope, tone_lin, tone_mid, along,
                          across], axis=-1)


def change_weights(a: jax.Array, b: jax.Array) -> jax.Array:
  """``(N, H, W, 1)`` pooling weights: local (5x5) squared error, summing to 1 per image.

  Symmetric in ``(a, b)``; uniform for identical images.

  Example:
    >>> w = change_weights(jnp.zeros((1, 4, 4, 3)), jnp.zeros((1, 4, 4, 3)))
    >>> float(w.sum()), float(w.max())
    (1.0, 0.0625)
  """
  e = box_mean(jnp.sum((jnp.asarray(b) - jnp.asarray(a)) ** 2, -1, keepdims=True), 5) + 1e-10
  return e / jnp.sum(e, axis=(1, 2, 3), keepdims=True)


def signature(stats: jax.Array, a: jax.Array, b: jax.Array) -> jax.Array:
  """``(N, 3 C + 2)`` pooled signature of per-pixel ``stats`` ``(N, H, W, C)`` of the pair.

  The error-weighted mean and standard deviation of each channel, its plain
  mean, then the log mean error energy and the log share of pixels whose
  local error exceeds a tenth of the image's largest (see the module
  docstring).

  Example:
    >>> s = jnp.ones((2, 4, 4, 1))
    >>> signature(s, jnp.zeros((2, 4, 4, 3)), jnp.ones((2, 4, 4, 3)))[0, :3].tolist()
    [1.0, 0.0, 1.0]
  """
  a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
  w = change_weights(a, b)
  wm = jnp.sum(w * stats, axis=(1, 2))
  wsd = jnp.sqrt(jnp.maximum(jnp.sum(w * stats**2, axis=(1, 2)) - wm**2, 0.0) + 1e-8) - 1e-4
  e = box_mean(jnp.sum((b - a) ** 2, -1, keepdims=True), 5)
  energy = (jnp.log(1e-6 + e.mean(axis=(1, 2, 3))) + 6.0) / 3.0
  share = jnp.log(jnp.mean((e > 0.1 * e.max(axis=(1, 2, 3), keepdims=True)).astype(jnp.float32),
                           axis=(1, 2, 3)) + 1e-3) / 3.0
  return jnp.concatenate([wm, wsd, stats.mean(axis=(1, 2)), energy[:, None], share[:, None]],
                         axis=-1)

"""Spatial masks: where, and how strongly, a distortion acts on an image.

A mask is a float32 ``(H, W)`` array in ``[0, 1]``. A distortion ``op`` applied
under a mask ``m`` gives ``x + m (op(x, level) - x)``: the blend weight ``m`` is
the local strength, and the distortion map records ``level * m`` at each pixel
(:mod:`jiqa.distortions.triplets`). Where ``m`` is 0 the image is untouched
(exactly), where it is 1 the op acts fully.

Kinds (:data:`MASK_KINDS`, in this order; :func:`mask` picks one by index):

* ``full``: 1 everywhere (the classic whole-image distortion);
* ``smooth``: a smooth random field (bilinear upsampling of a coarse Gaussian
  grid, then a random affine ramp clipped to ``[0, 1]``): large regions of 0
  and 1 joined by soft transitions;
* ``blobs``: the maximum of a few Gaussian blobs of random centre, size and peak;
* ``rectangle``: a random axis-aligned rectangle with soft (few-percent) edges;
* ``gradient``: a linear ramp from 0 to 1 across the image in a random direction.

Coordinates are normalised to the image size, so a mask of a key looks the
same at every resolution. Every function is written with separable (outer
product) arrays: a mask costs a few passes over ``H x W``. Hand-written: no
JAX library offers random spatial masks.

Example:
  >>> m = mask(jax.random.key(0), 2, 64, 96)      # blobs
  >>> m.shape, float(m.min()) >= 0, float(m.max()) <= 1
  ((64, 96), True, True)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

MASK_KINDS: tuple[str, ...] = ("full", "smooth", "blobs", "rectangle", "gradient")


def _grid(height: int, width: int):
  ys = (jnp.arange(height, dtype=jnp.float32) + 0.5) / height
  xs = (jnp.arange(width, dtype=jnp.float32) + 0.5) / width
  return ys, xs


def full_mask(key: jax.Array, height: int, width: int) -> jax.Array:
  """1 everywhere (``key`` is unused; kept for the common signature).

  Example:
    >>> float(full_mask(jax.random.key(0), 4, 4).sum())
    16.0
  """
  del key
  return jnp.ones((height, width), jnp.float32)


def _interp_matrix(n_out: int, n_in: int) -> np.ndarray:
  """Linear interpolation from ``n_in`` grid nodes spanning [0, 1] to pixel centres."""
  pos = (np.arange(n_out) + 0.5) / n_out * (n_in - 1)
  lo = np.clip(np.floor(pos).astype(int), 0, n_in - 2)
  frac = pos - lo
  mat = np.zeros((n_out, n_in), np.float32)
  mat[np.arange(n_out), lo] = 1 - frac
  mat[np.arange(n_out), lo + 1] = frac
  return mat


def smooth_mask(key: jax.Array, height: int, width: int, *, cells: int = 4) -> jax.Array:
  """A smooth random field mapped to ``[0, 1]`` by a random clipped ramp.

  Args:
    key: PRNG key.
    height, width: mask size.
    cells: the coarse grid has ``cells + 1`` nodes per side (larger = busier).

  Example:
    >>> smooth_mask(jax.random.key(1), 32, 32).shape
    (32, 32)
  """
  k_field, k_off, k_gain = jax.random.split(key, 3)
  coarse = jax.random.normal(k_field, (cells + 1, cells + 1), jnp.float32)
  # rows @ coarse @ cols.T as sums of outer products: XLA's CPU dot is slow for
  # contractions of cells + 1 = 5 under vmap; these are fused multiply-adds.
  rows = _interp_matrix(height, cells + 1)
  cols = jnp.asarray(_interp_matrix(width, cells + 1))
  left = sum(jnp.asarray(rows[:, i:i + 1]) * coarse[i][None, :] for i in range(cells + 1))
  field = sum(left[:, j:j + 1] * cols[None, :, j] for j in range(cells + 1))
  offset = jax.random.uniform(k_off, (), jnp.float32, -0.8, 0.8)
  gain = jax.random.uniform(k_gain, (), jnp.float32, 1.0, 3.0)
  return jnp.clip(0.5 + gain * (field - offset), 0.0, 1.0)


def blobs_mask(key: jax.Array, height: int, width: int, *, num_blobs: int = 3) -> jax.Array:
  """The maximum of ``num_blobs`` Gaussian blobs (separable, random size and peak).

  Example:
    >>> float(blobs_mask(jax.random.key(2), 32, 32).max()) > 0
    True
  """
  k_c, k_s, k_a = jax.random.split(key, 3)
  centres = jax.random.uniform(k_c, (num_blobs, 2), jnp.float32)
  sigmas = jax.random.uniform(k_s, (num_blobs, 2), jnp.float32, 0.06, 0.3)
  peaks = jax.random.uniform(k_a, (num_blobs,), jnp.float32, 0.5, 1.0)
  ys, xs = _grid(height, width)
  # max_k peak_k exp(qy_k + qx_k) = exp(max_k (qy_k + qx_k + log peak_k)): one exp
  # per pixel instead of one per blob and axis (XLA fuses the separable exps into
  # the per-pixel loop; measured ~5x faster at 512x384, same values to ~1e-7).
  qy = -0.5 * ((ys[None, :] - centres[:, :1]) / sigmas[:, :1]) ** 2 + jnp.log(peaks)[:, None]
  qx = -0.5 * ((xs[None, :] - centres[:, 1:]) / sigmas[:, 1:]) ** 2         # (K, W)
  top = qy[0][:, None] + qx[0][None, :]
  for k in range(1, num_blobs):  # elementwise maxima (a reduce over a leading axis is slower)
    top = jnp.maximum(top, qy[k][:, None] + qx[k][None, :])
  return jnp.clip(jnp.exp(top), 0.0, 1.0)


def rectangle_mask(key: jax.Array, height: int, width: int, *,
                   softness: float = 0.02) -> jax.Array:
  """A random axis-aligned rectangle (20-80 % of each side) with soft edges.

  Example:
    >>> float(rectangle_mask(jax.random.key(3), 32, 32).max())
    1.0
  """
  k_size, k_pos = jax.random.split(key)
  size = jax.random.uniform(k_size, (2,), jnp.float32, 0.2, 0.8)
  start = jax.random.uniform(k_pos, (2,), jnp.float32) * (1.0 - size)
  ys, xs = _grid(height, width)

  def box(t, lo, hi):
    s = jnp.maximum(softness, 1e-6)
    return jnp.clip((t - lo) / s + 0.5, 0.0, 1.0) * jnp.clip((hi - t) / s + 0.5, 0.0, 1.0)

  return box(ys, start[0], start[0] + size[0])[:, None] * box(
      xs, start[1], start[1] + size[1])[None, :]


def gradient_mask(key: jax.Array, height: int, width: int) -> jax.Array:
  """A linear ramp from 0 to 1 in a random direction, over a random part of the image.

  Example:
    >>> m = gradient_mask(jax.random.key(4), 32, 32)
    >>> float(m.min()), float(m.max()) > 0.9
    (0.0, True)
  """
  k_angle, k_ends = jax.random.split(key)
  angle = jax.random.uniform(k_angle, (), jnp.float32, 0.0, 2 * jnp.pi)
  ends = jnp.sort(jax.random.uniform(k_ends, (2,), jnp.float32, 0.0, 1.0))
  lo, hi = ends[0] * 0.5, 0.5 + ends[1] * 0.5  # the ramp spans at least half the image
  ys, xs = _grid(height, width)
  c, s = jnp.cos(angle), jnp.sin(angle)
  # Projection on the direction, rescaled so the image's corners span [0, 1].
  proj = (xs[None, :] - 0.5) * c + (ys[:, None] - 0.5) * s
  half = 0.5 * (jnp.abs(c) + jnp.abs(s))
  t = (proj / half + 1.0) * 0.5
  return jnp.clip((t - lo) / (hi - lo), 0.0, 1.0)


_KIND_FNS = (full_mask, smooth_mask, blobs_mask, rectangle_mask, gradient_mask)


def mask(key: jax.Array, kind: jax.typing.ArrayLike, height: int, width: int) -> jax.Array:
  """The mask of kind index ``kind`` (into :data:`MASK_KINDS`); ``kind`` may be traced.

  All kinds are cheap, so a traced ``kind`` computes all five and selects one
  (this is also what ``lax.switch`` would do under ``vmap``); a traced index
  outside ``[0, 4]`` is clipped to it.

  Args:
    key: PRNG key.
    kind: integer index into :data:`MASK_KINDS` (scalar, may be traced).
    height, width: static mask size.

  Returns:
    float32 ``(height, width)`` in ``[0, 1]``.

  Example:
    >>> mask(jax.random.key(0), MASK_KINDS.index("full"), 4, 4).min()
    Array(1., dtype=float32)
  """
  if isinstance(kind, (int, np.integer)):
    if not 0 <= int(kind) < len(MASK_KINDS):
      raise ValueError(f"kind: expected an index into {MASK_KINDS}; got {kind}.")
    return _KIND_FNS[int(kind)](key, height, width)
  kind = jnp.asarray(kind, jnp.int32)
  out = _KIND_FNS[0](key, height, width)
  for i in range(1, len(MASK_KINDS)):
    # Selects, not a stack indexed by ``kind``: a traced index into the stack is
    # a gather that XLA fuses into the pixel loop, which then is not vectorised.
    out = jnp.where(kind >= i, _KIND_FNS[i](key, height, width), out)
  return out


def mask_switch(key: jax.Array, kind: jax.typing.ArrayLike, height: int, width: int) -> jax.Array:
  """The same mask as :func:`mask`, computing only the chosen kind (``lax.switch``).

  Use it where ``kind`` is not batched (under ``vmap`` a switch computes every
  kind, like :func:`mask`); a ``kind`` outside ``[0, 4]`` is clamped, as there.

  Example:
    >>> m = mask_switch(jax.random.key(0), jnp.int32(2), 64, 96)   # blobs
  """
  fns = [lambda k, f=f: f(k, height, width) for f in _KIND_FNS]
  return jax.lax.switch(jnp.asarray(kind, jnp.int32), fns, key)


def kind_index(name: str) -> int:
  """The index of mask kind ``name`` in :data:`MASK_KINDS`.

  Example:
    >>> kind_index("blobs")
    2
  """
  if name not in MASK_KINDS:
    raise ValueError(f"mask kind: {name!r} is not one of {MASK_KINDS}.")
  return MASK_KINDS.index(name)

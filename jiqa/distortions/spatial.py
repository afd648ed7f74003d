"""KADID-10k's spatial group (types 19-23) as pure JAX ops.

Hand-written: dm-pix has no pixel jitter, patch shuffling, pixelation or
quantisation. Every op follows :mod:`jiqa.distortions.spec` (``op(key, image,
level)``, one float32 ``(H, W, 3)`` image in ``[0, 1]``, level 0 the identity,
KADID's five parameters exactly at levels 0.2 ... 1.0). Shapes never depend on
the level, so every op runs under ``jit`` and ``vmap`` with batched levels.

* ``jitter``: 5 passes of a per-pixel random warp, ``out(p) = in(p + a n(p))``
  with ``n`` of unit variance in each coordinate, bilinear, replicate borders
  (the ``imscatter`` of KADID's generator). One fixed noise draw is scaled by
  ``a(level)``, so the output is continuous in ``level``. ``n`` is an
  Irwin-Hall approximation of the normal from a hashed counter
  (:func:`_cheap_normal`), not ``jax.random.normal``: the 10 planes of exact
  normals cost more than the 5 warps (measured) and the compound of 5 passes is
  Gaussian-like anyway.
* ``non_eccentricity_patch``: ``N`` 16 x 16 patches, each copied from a random
  place to a random offset within +-8 px (in sequence, so a later patch may copy
  an earlier copy, as in the generator). ``max_patches = 100`` candidates are
  drawn from ``key`` whatever the level; candidate ``i`` (0-based) is pasted
  with opacity ``clip(N(level) - i, 0, 1)``: the first ``floor(N)`` fully, the
  next one partly, so ``N`` is continuous and KADID's integer ``N`` is exact at
  its levels.
* ``pixelate``: nearest-neighbour down to ``floor(z H) x floor(z W)`` and back
  up, ``z = 0.95 - s^0.6``. The indices of the two resamplings are computed
  from the traced size in integer arithmetic (pixel centres:
  ``src = floor((dst + 1/2) in / out)``, as PIL's ``NEAREST``) and applied as
  one gather per axis, so the output shape is static. ``z`` is 0.887 at
  KADID's L1 and cannot reach 1 through ``s``; below level 0.2 ``z`` is
  interpolated linearly from 1 (the identity) instead. The size is an integer:
  the output changes in steps as ``level`` moves.
* ``quantization``: ``N`` uniform bins per channel on ``[0, 1]``, each value
  replaced by its bin centre ``(k + 1/2) / N``. KADID's generator used MATLAB
  thresholds and rescaled the result to the image's min-max; ARNIQA uses
  uniform thresholds and the upper bin edge; the centre is the unbiased choice.
  ``N`` is interpolated linearly between KADID's levels; a non-integer ``N``
  leaves a narrower last bin (its own centre). Below level 0.2 the bin width
  ``1 / N`` goes linearly from 0 (identity) to 1/20.
* ``color_block``: ``N`` 32 x 32 blocks of uniform random colour at uniform
  random positions, pasted in sequence; ``N`` continuous as for
  ``non_eccentricity_patch`` (``max_blocks = 10`` candidates).

Patch and block sizes shrink to the image when it is smaller than them.

Gradients with respect to the image: jitter and pixelate are linear in the
image (exact gradients); the patch copies are linear too (zero gradient for the
overwritten pixels, whose output no longer depends on them); colour blocks have
zero gradient inside the blocks and identity elsewhere; quantisation uses a
straight-through estimator (identity gradient; the rounding's true gradient is
0 almost everywhere). All are marked differentiable with these caveats.

Example:
  >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
  >>> out = pixelate(jax.random.key(0), image, 1.0)     # s = 0.5, z = 0.29
  >>> keys = jax.random.split(jax.random.key(0), 2)
  >>> batch, levels = jnp.stack([image, image]), jnp.array([0.2, 1.0])
  >>> jax.jit(jax.vmap(jitter))(keys, batch, levels).shape
  (2, 32, 32, 3)

References:
  Lin, Hosu, Saupe, "KADID-10k: A Large-scale Artificially Distorted IQA
  Database", QoMEX 2019.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jiqa.distortions.counter_random import uniform_bits
from jiqa.distortions.spec import KADID_LEVELS, DistortionSpec, distortion_op, kadid_param

JITTER_AMOUNTS = (0.05, 0.1, 0.2, 0.5, 1.0)
PATCH_COUNTS = (20, 40, 60, 80, 100)
PIXELATE_STRENGTHS = (0.01, 0.05, 0.1, 0.2, 0.5)
QUANTIZATION_LEVELS = (20, 16, 13, 10, 7)
COLOR_BLOCK_COUNTS = (2, 4, 6, 8, 10)


def _bilinear(image: jax.Array, rows: jax.Array, cols: jax.Array) -> jax.Array:
  """Samples ``image`` at real ``(rows, cols)`` with replicate borders."""
  height, width, _ = image.shape
  rows = jnp.clip(rows, 0.0, height - 1.0)
  cols = jnp.clip(cols, 0.0, width - 1.0)
  r0, c0 = jnp.floor(rows), jnp.floor(cols)
  fr, fc = (rows - r0)[..., None], (cols - c0)[..., None]
  r0, c0 = r0.astype(jnp.int32), c0.astype(jnp.int32)
  r1, c1 = jnp.minimum(r0 + 1, height - 1), jnp.minimum(c0 + 1, width - 1)
  # Materialise the source: it is read by four gathers (XLA may otherwise fuse
  # and recompute the previous pass inside each of them).
  flat = jax.lax.optimization_barrier(image.reshape(height * width, -1))
  at = lambda r, c: jnp.take(flat, r * width + c, axis=0, mode="clip")
  top = at(r0, c0) * (1 - fc) + at(r0, c1) * fc
  bottom = at(r1, c0) * (1 - fc) + at(r1, c1) * fc
  return top * (1 - fr) + bottom * fr


def _cheap_normal(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
  """Approximately standard-normal samples, ~50x cheaper than ``jax.random.normal``.

  Two words of ``jax.random.bits(key)`` seed a counter-based hash (``lowbias32``
  applied twice to the element index); each sample is the sum of the four bytes
  of one hashed word, centred and scaled to unit variance (Irwin-Hall with
  n = 4: mean 0, variance 1, excess kurtosis -0.3, bounded at +-3.46). Used for
  jitter's 10 displacement planes, where ``jax.random.normal`` (its ``erfinv``)
  cost more than the warp itself.
  """
  size = 1
  for n in shape:
    size *= n
  words = uniform_bits(key, size)
  total = ((words & 255) + ((words >> 8) & 255) + ((words >> 16) & 255) + (words >> 24))
  scale = (4 * (256**2 - 1) / 12) ** -0.5
  return ((total.astype(jnp.float32) - 510.0) * scale).reshape(shape)


@distortion_op()
def jitter(key: jax.Array, image: jax.typing.ArrayLike, level: jax.typing.ArrayLike,
           *, passes: int = 5) -> jax.Array:
  """Random per-pixel displacements of s.d. ``a(level)`` px, ``passes`` times.

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = jitter(jax.random.key(0), image, 1.0)   # a = 1 px, 5 passes
  """
  height, width, _ = image.shape
  amount = kadid_param(level, JITTER_AMOUNTS, 0.0).astype(image.dtype)
  shifts = _cheap_normal(key, (passes, 2, height, width)).astype(image.dtype) * amount
  rows = jnp.arange(height, dtype=image.dtype)[:, None]
  cols = jnp.arange(width, dtype=image.dtype)[None, :]
  out = image
  for i in range(passes):
    out = _bilinear(out, rows + shifts[i, 0], cols + shifts[i, 1])
  return jnp.clip(out, 0.0, 1.0)


def _opacities(count: jax.Array, n: int) -> jax.Array:
  """Candidate ``i`` gets ``clip(count - i, 0, 1)``: ``count`` continuous."""
  return jnp.clip(count - jnp.arange(n, dtype=jnp.float32), 0.0, 1.0)


@distortion_op()
def non_eccentricity_patch(key: jax.Array, image: jax.typing.ArrayLike,
                           level: jax.typing.ArrayLike, *, patch: int = 16,
                           max_offset: int = 8, max_patches: int = 100) -> jax.Array:
  """Copies ``N(level)`` patches to random nearby places (KADID's 20 ... 100).

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = non_eccentricity_patch(jax.random.key(0), image, 0.6)  # 60 patches
  """
  height, width, chans = image.shape
  ph, pw = min(patch, height), min(patch, width)
  count = kadid_param(level, PATCH_COUNTS, 0.0)
  alpha = _opacities(count, max_patches).astype(image.dtype)
  k_src, k_off = jax.random.split(key)
  # Sources keep max_offset away from the border where the image allows it.
  lo_r, lo_c = min(max_offset, height - ph), min(max_offset, width - pw)
  src = jax.random.randint(k_src, (max_patches, 2), jnp.array([lo_r, lo_c]),
                           jnp.array([height - ph - lo_r + 1, width - pw - lo_c + 1]))
  off = jax.random.randint(k_off, (max_patches, 2), -max_offset, max_offset + 1)
  dst = jnp.clip(src + off, 0, jnp.array([height - ph, width - pw]))

  def paste(i, out):
    piece = jax.lax.dynamic_slice(out, (src[i, 0], src[i, 1], 0), (ph, pw, chans))
    old = jax.lax.dynamic_slice(out, (dst[i, 0], dst[i, 1], 0), (ph, pw, chans))
    return jax.lax.dynamic_update_slice(out, alpha[i] * piece + (1 - alpha[i]) * old,
                                        (dst[i, 0], dst[i, 1], 0))

  return jax.lax.fori_loop(0, max_patches, paste, image)


def pixelate_factor(level: jax.typing.ArrayLike) -> jax.Array:
  """The down-scaling factor ``z`` at ``level`` (1 at level 0).

  Example:
    >>> float(pixelate_factor(1.0))   # 0.95 - 0.5 ** 0.6
    0.2902...
  """
  level = jnp.clip(jnp.asarray(level, jnp.float32), 0.0, 1.0)
  z_kadid = 0.95 - kadid_param(level, PIXELATE_STRENGTHS, None) ** 0.6
  z_first = 0.95 - PIXELATE_STRENGTHS[0] ** 0.6
  z_low = 1.0 + (level / KADID_LEVELS[0]) * (z_first - 1.0)
  return jnp.where(level >= KADID_LEVELS[0], z_kadid, z_low)


def _nearest_down_up(size: int, small: jax.Array) -> jax.Array:
  """Source index of each output index after nearest ``size -> small -> size``."""
  j = jnp.arange(size, dtype=jnp.int32)
  mid = ((2 * j + 1) * small) // (2 * size)         # index in the small image
  return ((2 * mid + 1) * size) // (2 * small)      # its source in the input


@distortion_op()
def pixelate(key: jax.Array, image: jax.typing.ArrayLike,
             level: jax.typing.ArrayLike) -> jax.Array:
  """Nearest-neighbour down by ``z(level)`` and up again (``key`` unused).

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = pixelate(jax.random.key(0), image, 0.8)   # s = 0.2
  """
  del key
  height, width, _ = image.shape
  z = pixelate_factor(level)
  small_h = jnp.clip(jnp.floor(height * z), 1, height).astype(jnp.int32)
  small_w = jnp.clip(jnp.floor(width * z), 1, width).astype(jnp.int32)
  rows = _nearest_down_up(height, small_h)
  cols = _nearest_down_up(width, small_w)
  return jnp.take(jnp.take(image, rows, axis=0), cols, axis=1)


@distortion_op()
def quantization(key: jax.Array, image: jax.typing.ArrayLike,
                 level: jax.typing.ArrayLike) -> jax.Array:
  """Uniform quantisation of each channel to ``N(level)`` bin centres.

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = quantization(jax.random.key(0), image, 1.0)   # 7 levels
  """
  del key
  level = jnp.clip(jnp.asarray(level, jnp.float32), 0.0, 1.0)
  # N bins; below level 0.2 the bin width 1/N goes linearly from 0 to 1/20.
  low = jnp.maximum(level, 1e-6) / KADID_LEVELS[0]
  n = jnp.where(level >= KADID_LEVELS[0], kadid_param(level, QUANTIZATION_LEVELS, None),
                QUANTIZATION_LEVELS[0] / low)
  last = jnp.ceil(n - 1e-4) - 1                 # index of the last (maybe narrower) bin
  k = jnp.minimum(jnp.floor(image * n), last)
  centre = jnp.where(k >= last, (k / n + 1.0) / 2, (k + 0.5) / n)
  q = jnp.where(level > 0, jnp.clip(centre, 0.0, 1.0), image).astype(image.dtype)
  return q + (image - jax.lax.stop_gradient(image))   # straight-through gradient


@distortion_op()
def color_block(key: jax.Array, image: jax.typing.ArrayLike, level: jax.typing.ArrayLike,
                *, block: int = 32, max_blocks: int = 10) -> jax.Array:
  """Pastes ``N(level)`` blocks of random colour (KADID's 2 ... 10).

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = color_block(jax.random.key(0), image, 1.0)   # 10 blocks
  """
  height, width, _ = image.shape
  bh, bw = min(block, height), min(block, width)
  alpha = _opacities(kadid_param(level, COLOR_BLOCK_COUNTS, 0.0), max_blocks)
  k_pos, k_col = jax.random.split(key)
  pos = jax.random.randint(k_pos, (max_blocks, 2), 0,
                           jnp.array([height - bh + 1, width - bw + 1]))
  colors = jax.random.uniform(k_col, (max_blocks, 3), image.dtype)
  rows = jnp.arange(height)[:, None]
  cols = jnp.arange(width)[None, :]
  planes = [image[..., c] for c in range(3)]
  for i in range(max_blocks):
    inside = ((rows >= pos[i, 0]) & (rows < pos[i, 0] + bh)
              & (cols >= pos[i, 1]) & (cols < pos[i, 1] + bw))
    a = jnp.where(inside, alpha[i], 0.0).astype(image.dtype)
    planes = [a * colors[i, c] + (1 - a) * p for c, p in enumerate(planes)]
  return jnp.stack(planes, axis=-1)


SPECS: tuple[DistortionSpec, ...] = (
    DistortionSpec("jitter", "spatial", jitter, JITTER_AMOUNTS, identity_param=0.0,
                   kadid_index=19),
    DistortionSpec("non_eccentricity_patch", "spatial", non_eccentricity_patch,
                   PATCH_COUNTS, identity_param=0.0, kadid_index=20),
    DistortionSpec("pixelate", "spatial", pixelate, PIXELATE_STRENGTHS,
                   identity_param=None, direction=-1, axis="sharpness", kadid_index=21),
    DistortionSpec("quantization", "spatial", quantization, QUANTIZATION_LEVELS,
                   identity_param=None, kadid_index=22),
    DistortionSpec("color_block", "spatial", color_block, COLOR_BLOCK_COUNTS,
                   identity_param=0.0, kadid_index=23),
)

"""KADID-10k's spatial group (types 19-23) as pure JAX ops.

Hand-written: dm-pix has no pixel jitter, patch shuffling, pixelation or
quantisation. Every op follows :mod:`jiqa.distortions.spec` (``op(key, image,
level)``, one float32 ``(H, W, 3)`` image in ``[0, 1]``, level 0 the identity,
KADID's five parameters exactly at levels 0.2 ... 1.0). Shapes never depend on
the level, so every op runs under ``jit`` and ``vmap`` with batched levels.

* ``jitter``: 5 passes of a per-pixel random warp, ``out(p) = in(p + a n(p))``
  with ``n`` of unit variance in each coordinate, by cubic convolution (Keys,
  ``a = -1/2``) with replicate borders: KADID's ``imjitter`` is
  ``imscatter(I, [], amount, 5)``, whose ``imwarpmap`` calls ``interp2(...,
  'bicubic')`` on a replicate-padded image. No clip between passes; the result
  is stretched back to the input's range (:func:`~jiqa.distortions.spec.restretch`, KADID's final
  ``mapmm``), which takes the cubic kernel's overshoot at edges back into range
  by lowering the contrast of the whole image (so the result depends on the
  image's strongest edges and the largest displacements drawn). One fixed
  noise draw is scaled by
  ``a(level)``, so the output is continuous in ``level``. ``n`` is normal, as
  MATLAB's ``randn`` (the inverse CDF of hashed-counter uniforms,
  :func:`~jiqa.distortions.counter_random.normal`, tails to 5.4 s.d.; the
  final stretch depends on the largest overshoot, hence on the largest
  displacements).
* ``non_eccentricity_patch``: ``N`` 16 x 16 patches, each copied from a random
  place to a random offset within +-8 px (in sequence, so a later patch may copy
  an earlier copy, as in the generator). ``max_patches = 100`` candidates are
  drawn from ``key`` whatever the level; candidate ``i`` (0-based) is pasted
  with opacity ``clip(N(level) - i, 0, 1)``: the first ``floor(N)`` fully, the
  next one partly, so ``N`` is continuous and KADID's integer ``N`` is exact at
  its levels.
* ``pixelate``: KADID's ``impixelate``, MATLAB's ``imresize(I, z, 'nearest')``
  then ``imresize(., size(I), 'nearest')`` with ``z = 0.95 - s^0.6``. MATLAB
  makes the small image ``ceil(z H) x ceil(z W)`` but samples it at the given
  scale, output pixel ``m`` (0-based) from input ``floor((m + 1/2) / z)``; the
  way up uses the sizes' ratio, ``floor((j + 1/2) small / H)``. As ``ceil(z H) / H``
  exceeds ``z``, the round trip also shifts the content progressively, by up
  to about one pixel at the far borders at KADID's levels: that misalignment,
  not the block size, dominates KADID's pixelate PSNR at L1-L4 (about 24-25 dB
  for all four). The indices are computed from the traced size (one gather per
  axis), so the output shape is static. ``z`` is 0.887 at KADID's L1 and cannot
  reach 1 through ``s``; below level 0.2 ``z`` is interpolated linearly from 1
  (the identity) instead. The size is an integer: the output changes in steps
  as ``level`` moves.
* ``quantization``: KADID's ``imnoisequantize`` (the example of MATLAB's
  ``multithresh`` documentation): ``N`` thresholds ``t_1 < ... < t_N`` over all
  channels, and ``imquantize(I, t, [0, t_2, ..., t_N, 1])``: a value ``x <= t_1``
  becomes 0, ``t_(k-1) < x <= t_k`` becomes ``t_k`` (the *upper* threshold) and
  ``x > t_N`` becomes 1, so ``N + 1`` output values, rounded up. MATLAB places the
  thresholds by Otsu's criterion on the image's histogram; here they are uniform,
  ``t_k = k / (N + 1)`` (a content-independent quantiser; side by side in
  ``experiments/engine_fidelity --probes``, exact multi-level Otsu thresholds
  give a mean absolute gap to KADID's cell PSNR of 0.90 dB on the held-out
  photos and 0.58 dB on 8 photos at native resolution, uniform ones 0.68 and
  0.72 dB). ``N`` is interpolated linearly between KADID's levels; for a
  non-integer ``N`` the bins keep the width ``1 / (N + 1)`` and the last one is
  narrower. Below level 0.2 the width goes linearly from 0 (identity) to 1/21.
* ``color_block``: ``N`` 32 x 32 blocks of uniform random colour at uniform
  random positions, pasted in sequence; ``N`` continuous as for
  ``non_eccentricity_patch`` (``max_blocks = 10`` candidates).

Patch and block sizes shrink to the image when it is smaller than them.

Gradients with respect to the image: pixelate is linear in the image, jitter
linear up to the final stretch by the output's extremes (exact gradients); the patch copies are linear too (zero gradient for the
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

from jiqa.distortions.counter_random import normal
from jiqa.distortions.materialize import materialize
from jiqa.distortions.spec import (KADID_LEVELS, DistortionSpec, distortion_op, kadid_param,
                                   restretch)

JITTER_AMOUNTS = (0.05, 0.1, 0.2, 0.5, 1.0)
PATCH_COUNTS = (20, 40, 60, 80, 100)
PIXELATE_STRENGTHS = (0.01, 0.05, 0.1, 0.2, 0.5)
QUANTIZATION_LEVELS = (20, 16, 13, 10, 7)
COLOR_BLOCK_COUNTS = (2, 4, 6, 8, 10)


def _keys_weights(t: jax.Array) -> tuple[jax.Array, ...]:
  """Keys' cubic-convolution weights (a = -1/2, MATLAB's ``interp2(..., 'cubic')``)
  of the four samples at offsets -1, 0, 1, 2 from ``floor``, for a fraction ``t``."""
  a = -0.5
  near = lambda d: ((a + 2) * d - (a + 3)) * d * d + 1          # noqa: E731  |d| <= 1
  far = lambda d: ((a * d - 5 * a) * d + 8 * a) * d - 4 * a      # noqa: E731  1 < |d| < 2
  return far(1 + t), near(t), near(1 - t), far(2 - t)


def _bicubic(image: jax.Array, rows: jax.Array, cols: jax.Array) -> jax.Array:
  """Samples ``image`` at real ``(rows, cols)`` by cubic convolution, replicate borders."""
  height, width, _ = image.shape
  r0, c0 = jnp.floor(rows), jnp.floor(cols)
  wr, wc = _keys_weights(rows - r0), _keys_weights(cols - c0)
  # The source, the integer positions and the weights are each read by 16
  # gathers: stored once, not recomputed inside each (jitter 1.15x faster on one
  # 512x384 image, the same values bit for bit). Not under vmap: a batch of them
  # is larger than the caches, and storing it measured 1.2x slower.
  wr, wc, r0, c0, flat = materialize((jnp.stack(wr), jnp.stack(wc), r0.astype(jnp.int32),
                                      c0.astype(jnp.int32), image.reshape(height * width, -1)),
                                     vmap_passthrough=True)
  out = 0.0
  for i in range(4):
    r = jnp.clip(r0 + (i - 1), 0, height - 1) * width
    row = 0.0
    for j in range(4):
      c = jnp.clip(c0 + (j - 1), 0, width - 1)
      row = row + wc[j][..., None] * jnp.take(flat, r + c, axis=0, mode="clip")
    out = out + wr[i][..., None] * row
  return out


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
  shifts = normal(key, (passes, 2, height, width), image.dtype)
  rows = jnp.arange(height, dtype=image.dtype)[:, None]
  cols = jnp.arange(width, dtype=image.dtype)[None, :]

  def one_pass(out, shift):
    shift = shift * amount
    return _bicubic(out, rows + shift[0], cols + shift[1]), None

  # A scan over the passes: its input, the noise, is materialised once. Unrolled,
  # XLA:CPU fused the noise (an erfinv per value) into each of the 16 gathers of
  # every pass and recomputed it there (measured 35 -> 25 ms per 512x384 image,
  # the same output bit for bit).
  out, _ = jax.lax.scan(one_pass, image, shifts)
  # KADID: no clip between passes; its generator's final mapmm takes the
  # overshoot of the cubic kernel back into range.
  return restretch(out, image)


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


def _nearest_down_up(size: int, small: jax.Array, z: jax.Array) -> jax.Array:
  """Source index of each output index after MATLAB's nearest ``size -> small -> size``.

  Down at the scale ``z`` (``imresize(I, z, 'nearest')``), up at the sizes' ratio.
  """
  j = jnp.arange(size, dtype=jnp.int32)
  mid = ((2 * j + 1) * small) // (2 * size)         # index in the small image
  src = jnp.floor((mid.astype(jnp.float32) + 0.5) / z).astype(jnp.int32)
  return jnp.clip(src, 0, size - 1)                # MATLAB mirrors size -> size - 1


@distortion_op()
def pixelate(key: jax.Array, image: jax.typing.ArrayLike,
             level: jax.typing.ArrayLike) -> jax.Array:
  """MATLAB's nearest-neighbour resize by ``z(level)`` and back (``key`` unused).

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = pixelate(jax.random.key(0), image, 0.8)   # s = 0.2
  """
  del key
  height, width, _ = image.shape
  z = pixelate_factor(level)
  # MATLAB's output size ceil(z n) (the tolerance keeps float rounding of an
  # exact product from adding a row).
  small_h = jnp.clip(jnp.ceil(height * z - 1e-4), 1, height).astype(jnp.int32)
  small_w = jnp.clip(jnp.ceil(width * z - 1e-4), 1, width).astype(jnp.int32)
  rows = _nearest_down_up(height, small_h, z)
  cols = _nearest_down_up(width, small_w, z)
  return jnp.take(jnp.take(image, rows, axis=0), cols, axis=1)


@distortion_op()
def quantization(key: jax.Array, image: jax.typing.ArrayLike,
                 level: jax.typing.ArrayLike) -> jax.Array:
  """KADID's ``imnoisequantize`` with uniform thresholds ``k / (N(level) + 1)``.

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = quantization(jax.random.key(0), image, 1.0)   # N = 7 thresholds
    >>> x = jnp.array([0.1, 0.13, 0.2, 0.9])[:, None, None] * jnp.ones((4, 1, 3))
    >>> [round(v, 4) for v in quantization(jax.random.key(0), x, 1.0)[:, 0, 0].tolist()]
    [0.0, 0.25, 0.25, 1.0]
  """
  del key
  level = jnp.clip(jnp.asarray(level, jnp.float32), 0.0, 1.0)
  # Bin width 1 / (N + 1); below level 0.2 it goes linearly from 0 to 1/21.
  n = kadid_param(jnp.maximum(level, KADID_LEVELS[0]), QUANTIZATION_LEVELS, None)
  width = jnp.where(level >= KADID_LEVELS[0], 1.0 / (n + 1.0),
                    level / KADID_LEVELS[0] / (QUANTIZATION_LEVELS[0] + 1.0))
  safe = jnp.maximum(width, 1e-6)
  # k: the index of the smallest threshold k * width >= x (0 for x = 0). A value
  # within 1e-4 bin widths of a threshold counts as on it: 8-bit values land
  # exactly on thresholds when N + 1 divides 255 (N = 16, KADID's L2), and
  # imquantize's "<=" must not depend on float32 rounding there.
  k = jnp.ceil(image / safe - 1e-4)
  upper = jnp.where(k <= 1, 0.0, jnp.minimum(k * safe, 1.0))
  q = jnp.where(level > 0, upper, image).astype(image.dtype)
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

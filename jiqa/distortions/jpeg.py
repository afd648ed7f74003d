"""JPEG compression (KADID-10k type 10) as a pure, differentiable JAX function.

No maintained JAX library encodes JPEG, so the baseline codec of libjpeg (as
Pillow calls it) is written here as array operations:

1. RGB to full-range YCbCr (JFIF, :func:`jiqa.distortions.colorspace.rgb_to_ycbcr`),
   on the 0..255 scale, level-shifted by -128;
2. edge replication to a multiple of 16 pixels (libjpeg pads its MCUs the same
   way), 4:2:0 chroma subsampling by 2x2 averaging (libjpeg's
   ``h2v2_downsample``);
3. the orthonormal 8x8 DCT-II as two matrix products per block;
4. quantisation with the IJG tables scaled by ``jpeg_quality_scaling``
   (:func:`quant_tables`), rounding with a straight-through gradient
   (``x + stop_gradient(round(x) - x)``), and dequantisation;
5. the inverse DCT, clipping of the decoded samples to 0..255 (libjpeg's range
   limit), chroma upsampling with libjpeg's default "fancy" triangle filter
   (``h2v2_fancy_upsample``: 3/4 of the nearest and 1/4 of the next chroma
   sample along each axis, edges replicated), YCbCr to RGB and cropping back.

What differs from a real codec (and from Pillow's output): no entropy coding
(Huffman coding is lossless, so it does not change the image); arithmetic in
float32 instead of libjpeg's fixed-point integer DCT, colour conversion and
upsampling, so intermediate samples are not rounded to integers (the DCT
coefficients are); rounding ties go to even instead of away from zero. On the
bundled photos this stays within about 0.1–1 dB of a bit-exact decode (see
``tests/distortions/test_jpeg.py``).

The quality is a traced scalar and the quantisation tables are continuous in
it: libjpeg's integer tables at ``floor(q)`` and ``floor(q) + 1`` are blended
linearly, so integer qualities give libjpeg's tables exactly.

Example:
  >>> from jiqa import images
  >>> image = jnp.asarray(images.bundled_images(["astronaut"])["astronaut"])
  >>> out = jpeg(jax.random.key(0), image, 0.6)  # KADID level 3: quality 24
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jiqa.distortions import colorspace
from jiqa.distortions.spec import (DistortionSpec, blend_from_identity, check_image, distortion_op,
                                  kadid_param)

# KADID-10k's JPEG qualities at levels L1..L5.
KADID_QUALITIES = (43.0, 36.0, 24.0, 7.0, 4.0)

# The IJG example tables (ITU-T T.81 Annex K, K.1 and K.2), in natural (row-major) order.
LUMINANCE_TABLE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99], np.float32).reshape(8, 8)
CHROMINANCE_TABLE = np.array([
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99], np.float32).reshape(8, 8)


def _dct_matrix() -> np.ndarray:
  """The orthonormal 8-point DCT-II matrix ``D`` (``coeffs = D @ x``)."""
  k = np.arange(8)[:, None]
  n = np.arange(8)[None, :]
  d = np.cos((2 * n + 1) * k * np.pi / 16) * np.sqrt(2 / 8)
  d[0] /= np.sqrt(2)
  return d.astype(np.float32)


_DCT = _dct_matrix()


def _integer_tables(quality: jax.Array) -> jax.Array:
  """libjpeg's ``jpeg_set_quality(q, force_baseline=TRUE)`` at an integer ``q``."""
  q = jnp.clip(quality, 1.0, 100.0)
  scale = jnp.where(q < 50, jnp.floor(5000.0 / q), 200.0 - 2.0 * q)
  base = jnp.stack([jnp.asarray(LUMINANCE_TABLE), jnp.asarray(CHROMINANCE_TABLE)])
  return jnp.clip(jnp.floor((base * scale + 50.0) / 100.0), 1.0, 255.0)


def quant_tables(quality: jax.typing.ArrayLike) -> jax.Array:
  """The luminance and chrominance quantisation tables at a (traced) quality.

  At integer qualities these are exactly the tables libjpeg writes with
  ``jpeg_set_quality(cinfo, quality, TRUE)`` (as Pillow does); in between, the
  integer tables of the two neighbouring qualities are blended linearly, so the
  tables are continuous in ``quality``.

  Args:
    quality: scalar in ``[1, 100]``.

  Returns:
    float32 array ``(2, 8, 8)``: luminance, chrominance (row-major, not zigzag).

  Example:
    >>> int(quant_tables(50)[0, 0, 0])
    16
  """
  q = jnp.clip(jnp.asarray(quality, jnp.float32), 1.0, 100.0)
  lo = jnp.minimum(jnp.floor(q), 99.0)
  t = q - lo
  return (1 - t) * _integer_tables(lo) + t * _integer_tables(lo + 1)


def _round_ste(x: jax.Array) -> jax.Array:
  """Rounding whose gradient is the identity (straight-through estimator)."""
  return x + jax.lax.stop_gradient(jnp.round(x) - x)


# The 2-D DCT of an 8x8 block as one 64x64 matrix: vec(D X D^T) = (D kron D) vec(X)
# for row-major vec. One (blocks, 64) x (64, 64) product per direction keeps XLA's
# CPU matrix kernel busy (four contractions of size 8 did not: 2.2x slower jpeg).
_DCT2 = np.kron(_DCT, _DCT)


def _blockwise(x: jax.Array, table: jax.Array) -> jax.Array:
  """DCT, quantise, dequantise and inverse DCT a ``(H, W)`` plane, H and W multiples of 8."""
  h, w = x.shape
  blocks = x.reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 64)
  d2 = jnp.asarray(_DCT2)
  t = table.reshape(1, 64)
  coeffs = blocks @ d2.T
  coeffs = _round_ste(coeffs / t) * t
  y = coeffs @ d2
  return y.reshape(h // 8, w // 8, 8, 8).transpose(0, 2, 1, 3).reshape(h, w)


def _upsample2(x: jax.Array, axis: int) -> jax.Array:
  """libjpeg's fancy (triangle) 2x upsampling along ``axis``, edges replicated."""
  n = x.shape[axis]
  padded = jnp.concatenate(
      [jax.lax.slice_in_dim(x, 0, 1, axis=axis), x,
       jax.lax.slice_in_dim(x, n - 1, n, axis=axis)], axis=axis)
  prev = jax.lax.slice_in_dim(padded, 0, n, axis=axis)
  nxt = jax.lax.slice_in_dim(padded, 2, n + 2, axis=axis)
  even = 0.75 * x + 0.25 * prev
  odd = 0.75 * x + 0.25 * nxt
  out = jnp.stack([even, odd], axis=axis + 1)
  shape = list(x.shape)
  shape[axis] = 2 * n
  return out.reshape(shape)


def jpeg_compress_decompress(image: jax.typing.ArrayLike,
                             quality: jax.typing.ArrayLike) -> jax.Array:
  """Encodes and decodes an RGB image as baseline 4:2:0 JPEG at ``quality``.

  Args:
    image: float ``(H, W, 3)`` in ``[0, 1]``.
    quality: traced scalar in ``[1, 100]`` (libjpeg's quality scale).

  Returns:
    The decoded image, float32 ``(H, W, 3)``, clipped to ``[0, 1]``.

  Raises:
    ValueError: if ``image`` is not ``(H, W, 3)``.

  Example:
    >>> out = jpeg_compress_decompress(jnp.full((16, 16, 3), 0.5), 50.0)
  """
  image = check_image(image).astype(jnp.float32)
  h, w, _ = image.shape
  tables = quant_tables(quality)
  ycc = colorspace.rgb_to_ycbcr(image) * 255.0 - 128.0
  ph, pw = -h % 16, -w % 16
  ycc = jnp.pad(ycc, ((0, ph), (0, pw), (0, 0)), mode="edge")
  hp, wp = h + ph, w + pw
  luma = _blockwise(ycc[..., 0], tables[0])
  chroma = ycc[..., 1:].reshape(hp // 2, 2, wp // 2, 2, 2).mean(axis=(1, 3))
  chroma = jax.vmap(lambda c: _blockwise(c, tables[1]), in_axes=-1, out_axes=-1)(chroma)
  luma = jnp.clip(luma + 128.0, 0.0, 255.0)[:h, :w]
  # The decoder upsamples from the real chroma size (ceil(H/2), ceil(W/2)), replicating its edge.
  chroma = jnp.clip(chroma + 128.0, 0.0, 255.0)[:(h + 1) // 2, :(w + 1) // 2]
  chroma = _upsample2(_upsample2(chroma, 0), 1)[:h, :w]
  ycc = jnp.concatenate([luma[..., None], chroma], axis=-1) / 255.0
  return jnp.clip(colorspace.ycbcr_to_rgb(ycc), 0.0, 1.0)


@distortion_op()
def jpeg(key: jax.Array, image: jax.typing.ArrayLike, level: jax.typing.ArrayLike) -> jax.Array:
  """KADID-10k JPEG: quality 43, 36, 24, 7, 4 at levels 0.2 .. 1.0.

  Between the KADID levels the quality is interpolated linearly; below 0.2 the
  quality-43 image is blended with the input (:func:`blend_from_identity`),
  so level 0 is exactly the identity.

  Args:
    key: unused (JPEG is deterministic); kept for the common signature.
    image: float ``(H, W, 3)`` in ``[0, 1]``.
    level: traced severity in ``[0, 1]``.

  Returns:
    float32 ``(H, W, 3)`` in ``[0, 1]``.

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = jpeg(jax.random.key(0), image, 1.0)  # quality 4
  """
  del key
  quality = kadid_param(level, KADID_QUALITIES, None)
  return blend_from_identity(image, jpeg_compress_decompress(image, quality), level)


SPECS: tuple[DistortionSpec, ...] = (
    DistortionSpec("jpeg", "compression", jpeg, KADID_QUALITIES, identity_param=None,
                   direction=1, axis=None, differentiable=True, kadid_index=10),
)

"""Colour-space conversions used by the distortion ops, written once.

dm-pix provides HSV (``dm_pix.rgb_to_hsv``/``hsv_to_rgb``) but no CIELAB and no
JPEG YCbCr, so those two are hand-written here. CIELAB follows scikit-image's
``rgb2lab``/``lab2rgb`` (sRGB companding, D65 white, 2-degree observer) and is
tested against it; YCbCr is the full-range BT.601 transform of JFIF/JPEG.
All functions take and return ``(..., 3)`` float arrays; RGB is in ``[0, 1]``,
L in ``[0, 100]``, Y/Cb/Cr in ``[0, 1]`` (chroma centred on 0.5).

Example:
  >>> lab = rgb_to_lab(jnp.ones((2, 2, 3)))
  >>> float(lab[0, 0, 0])  # white
  100.0
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

# sRGB (linear) to XYZ, D65; the rows are as scikit-image uses them.
_RGB_TO_XYZ = jnp.array([[0.412453, 0.357580, 0.180423],
                         [0.212671, 0.715160, 0.072169],
                         [0.019334, 0.119193, 0.950227]], jnp.float32)
_XYZ_TO_RGB = jnp.linalg.inv(_RGB_TO_XYZ)
_WHITE_D65 = jnp.array([0.95047, 1.0, 1.08883], jnp.float32)


def _srgb_to_linear(c):
  return jnp.where(c > 0.04045, ((jnp.maximum(c, 0.04045) + 0.055) / 1.055) ** 2.4, c / 12.92)


def _linear_to_srgb(c):
  return jnp.where(c > 0.0031308,
                   1.055 * jnp.maximum(c, 0.0031308) ** (1 / 2.4) - 0.055, 12.92 * c)


def rgb_to_lab(rgb: jax.Array) -> jax.Array:
  """sRGB in ``[0, 1]`` to CIELAB (D65), as ``skimage.color.rgb2lab``."""
  xyz = _affine3(_srgb_to_linear(rgb), _RGB_TO_XYZ, (0.0, 0.0, 0.0)) / _WHITE_D65
  eps = (6 / 29) ** 3
  f = jnp.where(xyz > eps, jnp.cbrt(jnp.maximum(xyz, eps)), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
  l = 116 * f[..., 1] - 16
  a = 500 * (f[..., 0] - f[..., 1])
  b = 200 * (f[..., 1] - f[..., 2])
  return jnp.stack([l, a, b], axis=-1)


def lab_to_rgb(lab: jax.Array) -> jax.Array:
  """CIELAB (D65) to sRGB, as ``skimage.color.lab2rgb`` but not clipped."""
  fy = (lab[..., 0] + 16) / 116
  fx = fy + lab[..., 1] / 500
  fz = fy - lab[..., 2] / 200
  f = jnp.stack([fx, fy, fz], axis=-1)
  xyz = jnp.where(f > 6 / 29, f ** 3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _WHITE_D65
  return _linear_to_srgb(jnp.maximum(_affine3(xyz, _XYZ_TO_RGB, (0.0, 0.0, 0.0)), 0.0))


_RGB_TO_YCC = jnp.array([[0.299, 0.587, 0.114],
                         [-0.168736, -0.331264, 0.5],
                         [0.5, -0.418688, -0.081312]], jnp.float32)
_YCC_TO_RGB = jnp.array([[1.0, 0.0, 1.402],
                         [1.0, -0.344136, -0.714136],
                         [1.0, 1.772, 0.0]], jnp.float32)


def _affine3(x: jax.Array, matrix, offset) -> jax.Array:
  """``x @ matrix.T + offset`` over the last axis (3), as explicit multiply-adds.

  XLA's CPU backend runs a ``(pixels, 3) x (3, 3)`` dot in a library matrix
  kernel that is an order of magnitude slower than the elementwise form (it was
  6.3 of jpeg's 8.6 ms at 512x384, profiled).
  """
  m = [[float(v) for v in row] for row in matrix.tolist()]
  planes = [x[..., j] for j in range(3)]
  return jnp.stack([m[i][0] * planes[0] + m[i][1] * planes[1] + m[i][2] * planes[2] + offset[i]
                    for i in range(3)], axis=-1)


def rgb_to_ycbcr(rgb: jax.Array) -> jax.Array:
  """RGB in ``[0, 1]`` to full-range YCbCr (JFIF), chroma offset 0.5."""
  return _affine3(rgb, _RGB_TO_YCC, (0.0, 0.5, 0.5))


def ycbcr_to_rgb(ycc: jax.Array) -> jax.Array:
  """Full-range YCbCr (JFIF) to RGB, not clipped."""
  m = _YCC_TO_RGB.tolist()
  # (ycc - (0, .5, .5)) @ M.T: the chroma offset folded into the constant term.
  offset = tuple(-0.5 * (row[1] + row[2]) for row in m)
  return _affine3(ycc, _YCC_TO_RGB, offset)

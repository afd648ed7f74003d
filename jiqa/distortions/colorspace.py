"""Colour-space conversions used by the distortion ops and the models, written once.

dm-pix provides HSV (``dm_pix.rgb_to_hsv``/``hsv_to_rgb``) but no CIELAB and no
JPEG YCbCr, so those two are hand-written here, once. CIELAB follows
scikit-image's ``rgb2lab``/``lab2rgb`` (sRGB companding, D65 white, 2-degree
observer) and is tested against it; YCbCr is the full-range BT.601 transform
of JFIF/JPEG. RGB is in ``[0, 1]``, L in ``[0, 100]``, Y/Cb/Cr in ``[0, 1]``
(chroma centred on 0.5).

Two forms: :func:`lab_planes` / :func:`rgb_planes` work on the three colour
planes as separate arrays (what the ops use, see below), and
:func:`rgb_to_lab`, :func:`lab_to_rgb`, :func:`rgb_to_ycbcr`,
:func:`ycbcr_to_rgb` take and return stacked ``(..., 3)`` arrays. Every 3x3
colour mix goes through :func:`mix3`, written as explicit multiply-adds:
XLA's CPU backend runs a ``(pixels, 3) x (3, 3)`` dot in a library matrix
kernel that is an order of magnitude slower than the elementwise form, and a
stacked channel axis makes fusions recompute every channel for every output
channel. Powers are ``exp(p log x)`` (``cbrt`` is slow on CPU).

The matrices are numpy constants (no JAX work at import).

Example:
  >>> lab = rgb_to_lab(jnp.ones((2, 2, 3)))
  >>> round(float(lab[0, 0, 0]), 3)  # white
  100.0
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

# sRGB (linear) to XYZ, D65; the rows are as scikit-image uses them.
RGB_TO_XYZ = np.array([[0.412453, 0.357580, 0.180423],
                       [0.212671, 0.715160, 0.072169],
                       [0.019334, 0.119193, 0.950227]], np.float32)
XYZ_TO_RGB = np.linalg.inv(RGB_TO_XYZ.astype(np.float64)).astype(np.float32)
WHITE_D65 = np.array([0.95047, 1.0, 1.08883], np.float32)
# Full-range JFIF YCbCr; ycbcr = RGB_TO_YCBCR @ rgb + (0, .5, .5).
RGB_TO_YCBCR = np.array([[0.299, 0.587, 0.114],
                         [-0.168736, -0.331264, 0.5],
                         [0.5, -0.418688, -0.081312]], np.float32)
YCBCR_TO_RGB = np.array([[1.0, 0.0, 1.402],
                         [1.0, -0.344136, -0.714136],
                         [1.0, 1.772, 0.0]], np.float32)

_EPS = (6 / 29) ** 3
# XYZ scaled by the white point folded into the matrices (float32 entries, as
# Python floats so that XLA sees scalar constants).
_M_XYZ = [[float(v) / float(w) for v in row] for row, w in zip(RGB_TO_XYZ, WHITE_D65)]
_M_RGB = [[float(row[k]) * float(WHITE_D65[k]) for k in range(3)] for row in XYZ_TO_RGB]


def mix3(planes: Sequence[jax.Array], matrix, offset: Sequence[float] = (0.0, 0.0, 0.0),
         ) -> list[jax.Array]:
  """``matrix @ planes + offset`` for three planes, as explicit multiply-adds.

  Args:
    planes: three arrays of one shape (the channels).
    matrix: a 3x3 array-like of constants (numpy or nested lists).
    offset: three constants added to the outputs.

  Returns:
    The three output planes, as a list.

  Example:
    >>> [float(p) for p in mix3([jnp.float32(1), jnp.float32(0), jnp.float32(0)], YCBCR_TO_RGB)]
    [1.0, 1.0, 1.0]
  """
  m = [[float(v) for v in row] for row in np.asarray(matrix)]
  out = [m[i][0] * planes[0] + m[i][1] * planes[1] + m[i][2] * planes[2] for i in range(3)]
  return [o + float(c) if c else o for o, c in zip(out, offset)]


def _stacked(x: jax.Array, matrix, offset) -> jax.Array:
  return jnp.stack(mix3([x[..., j] for j in range(3)], matrix, offset), axis=-1)


def _pow(x: jax.Array, p: float) -> jax.Array:
  """``x ** p`` for ``x > 0`` as ``exp(p log x)`` (fast on CPU, unlike ``cbrt``)."""
  return jnp.exp(p * jnp.log(x))


def lab_planes(rgb: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
  """sRGB ``(..., 3)`` in ``[0, 1]`` to the CIELAB planes ``(L, a, b)`` (D65).

  Example:
    >>> L, a, b = lab_planes(jnp.ones((1, 1, 3)))
    >>> round(float(L[0, 0]), 3)
    100.0
  """
  lin = [jnp.where(c > 0.04045, _pow((jnp.maximum(c, 0.04045) + 0.055) / 1.055, 2.4), c / 12.92)
         for c in (rgb[..., 0], rgb[..., 1], rgb[..., 2])]
  f = [jnp.where(v > _EPS, _pow(jnp.maximum(v, _EPS), 1 / 3), v / (3 * (6 / 29) ** 2) + 4 / 29)
       for v in mix3(lin, _M_XYZ)]
  return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def rgb_planes(lab: Sequence[jax.Array]) -> list[jax.Array]:
  """CIELAB planes ``(L, a, b)`` to the sRGB planes ``[r, g, b]``, not clipped.

  Example:
    >>> [round(float(c), 4) for c in rgb_planes((jnp.float32(100), 0.0, 0.0))]
    [1.0, 1.0, 1.0]
  """
  fy = (lab[0] + 16) / 116
  f = (fy + lab[1] / 500, fy, fy - lab[2] / 200)
  xyz = [jnp.where(v > 6 / 29, v * v * v, 3 * (6 / 29) ** 2 * (v - 4 / 29)) for v in f]
  lin = [jnp.maximum(c, 0.0) for c in mix3(xyz, _M_RGB)]
  return [jnp.where(c > 0.0031308, 1.055 * _pow(jnp.maximum(c, 0.0031308), 1 / 2.4) - 0.055,
                    12.92 * c) for c in lin]


def rgb_to_lab(rgb: jax.Array) -> jax.Array:
  """sRGB ``(..., 3)`` in ``[0, 1]`` to CIELAB ``(..., 3)``, as ``skimage.color.rgb2lab``.

  Example:
    >>> [round(float(v), 1) + 0.0 for v in rgb_to_lab(jnp.ones((1, 1, 3)))[0, 0]]
    [100.0, 0.0, 0.0]
  """
  return jnp.stack(lab_planes(rgb), axis=-1)


def lab_to_rgb(lab: jax.Array) -> jax.Array:
  """CIELAB ``(..., 3)`` to sRGB, as ``skimage.color.lab2rgb`` but not clipped.

  Example:
    >>> [round(float(v), 4) for v in lab_to_rgb(jnp.array([[100.0, 0.0, 0.0]]))[0]]
    [1.0, 1.0, 1.0]
  """
  return jnp.stack(rgb_planes((lab[..., 0], lab[..., 1], lab[..., 2])), axis=-1)


def rgb_to_ycbcr(rgb: jax.Array) -> jax.Array:
  """RGB in ``[0, 1]`` to full-range YCbCr (JFIF), chroma offset 0.5.

  Example:
    >>> [round(float(v), 6) for v in rgb_to_ycbcr(jnp.ones(3))]
    [1.0, 0.5, 0.5]
  """
  return _stacked(rgb, RGB_TO_YCBCR, (0.0, 0.5, 0.5))


# (ycc - (0, .5, .5)) @ M.T: the chroma offset folded into the constant term.
_YCC_OFFSET = tuple(-0.5 * (float(row[1]) + float(row[2])) for row in YCBCR_TO_RGB)


def ycbcr_to_rgb(ycc: jax.Array) -> jax.Array:
  """Full-range YCbCr (JFIF) to RGB, not clipped.

  Example:
    >>> [round(float(v), 6) for v in ycbcr_to_rgb(jnp.array([1.0, 0.5, 0.5]))]
    [1.0, 1.0, 1.0]
  """
  return _stacked(ycc, YCBCR_TO_RGB, _YCC_OFFSET)

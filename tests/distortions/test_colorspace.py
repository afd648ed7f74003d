"""Colour conversions against scikit-image (CIELAB) and the JFIF formulas (YCbCr)."""

import jax.numpy as jnp
import numpy as np
import skimage.color

from jiqa.distortions import colorspace


def _rgb(seed=0, shape=(32, 48, 3)):
  return np.random.default_rng(seed).random(shape).astype(np.float32)


def test_rgb_to_lab_matches_skimage():
  x = _rgb()
  np.testing.assert_allclose(colorspace.rgb_to_lab(x), skimage.color.rgb2lab(x), atol=5e-4)


def test_lab_to_rgb_matches_skimage():
  lab = skimage.color.rgb2lab(_rgb(1)).astype(np.float32)
  np.testing.assert_allclose(colorspace.lab_to_rgb(lab), skimage.color.lab2rgb(lab), atol=1e-5)


def test_lab_planes_are_the_stacked_conversion_and_the_matrices_numpy():
  # One home: the planes the ops use are rgb_to_lab's channels; the constants
  # are numpy (no JAX work at import) and XYZ_TO_RGB is RGB_TO_XYZ's inverse.
  x = _rgb(3)
  lab = np.asarray(colorspace.rgb_to_lab(x))
  for got, want in zip(colorspace.lab_planes(x), np.moveaxis(lab, -1, 0)):
    np.testing.assert_array_equal(np.asarray(got), want)
  for m in (colorspace.RGB_TO_XYZ, colorspace.XYZ_TO_RGB, colorspace.RGB_TO_YCBCR,
            colorspace.YCBCR_TO_RGB, colorspace.WHITE_D65):
    assert type(m) is np.ndarray
  np.testing.assert_allclose(colorspace.XYZ_TO_RGB @ colorspace.RGB_TO_XYZ, np.eye(3), atol=1e-6)
  np.testing.assert_allclose(colorspace.YCBCR_TO_RGB @ colorspace.RGB_TO_YCBCR, np.eye(3),
                             atol=1e-5)


def test_mix3_is_the_matrix_product():
  planes = list(np.moveaxis(_rgb(4, (5, 6, 3)), -1, 0))
  m = np.random.default_rng(5).normal(size=(3, 3))
  got = np.stack(colorspace.mix3([jnp.asarray(p) for p in planes], m, (0.1, 0.0, -0.2)), -1)
  want = np.einsum("oc,hwc->hwo", m, np.stack(planes, -1)) + np.array([0.1, 0.0, -0.2])
  np.testing.assert_allclose(got, want, atol=1e-5)


def test_ycbcr_matches_jfif_and_round_trips():
  x = _rgb(2)
  # JFIF full range, from the published equations (Y = .299R + .587G + .114B, ...).
  r, g, b = x[..., 0], x[..., 1], x[..., 2]
  y = 0.299 * r + 0.587 * g + 0.114 * b
  cb = 0.5 - 0.168736 * r - 0.331264 * g + 0.5 * b
  ycc = np.asarray(colorspace.rgb_to_ycbcr(x))
  np.testing.assert_allclose(ycc[..., 0], y, atol=1e-6)
  np.testing.assert_allclose(ycc[..., 1], cb, atol=1e-6)
  np.testing.assert_allclose(colorspace.ycbcr_to_rgb(ycc), x, atol=1e-5)

"""Colour conversions against scikit-image (CIELAB) and the JFIF formulas (YCbCr)."""

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
  np.testing.assert_allclose(colorspace.lab_to_rgb(lab), skimage.color.lab2rgb(lab), atol=5e-5)


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

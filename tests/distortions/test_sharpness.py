"""Sharpness/contrast ops against scipy's not-a-knot spline, scipy Gaussian and skimage Lab."""

import math
import warnings

import jax
import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.color
from scipy.interpolate import CubicSpline

from jiqa.distortions import sharpness
from jiqa.distortions.spec import KADID_LEVELS, kadid_param

KEY = jax.random.key(0)
_jit = {}


def _op(fn):
  return _jit.setdefault(fn, jax.jit(fn))


def _rgb(seed=0, shape=(32, 40, 3)):
  rng = np.random.default_rng(seed)
  base = ndi.gaussian_filter(rng.random(shape), (2, 2, 0))
  base = (base - base.min()) / (base.max() - base.min())
  return np.clip(0.1 + 0.8 * base + 0.1 * (rng.random(shape) - 0.5), 0, 1).astype(np.float32)


def _kadid_contrast(x, a):
  """MATLAB's spline (not-a-knot, as scipy's CubicSpline default) through KADID's points."""
  cs = CubicSpline([0, 0.3, 0.5, 0.7, 1], [0, 0.25 - a / 4, 0.5, 0.75 + a / 4, 1])
  return np.clip(cs(x), 0, 1)


def test_high_sharpen_kadid_parameters_at_levels():
  spec = sharpness.SPECS[0]
  got = [float(kadid_param(l, spec.kadid_params, spec.identity_param)) for l in KADID_LEVELS]
  np.testing.assert_allclose(got, spec.kadid_params, rtol=1e-6)


def test_contrast_signed_levels_reproduce_kadid():
  levels = sharpness.SPECS[1].kadid_levels
  got = [float(sharpness.contrast_amount(l)) for l in levels]
  np.testing.assert_allclose(got, sharpness.CONTRAST_AMOUNTS, atol=1e-6)
  assert float(sharpness.contrast_amount(0.0)) == pytest.approx(-0.2)


@pytest.mark.parametrize("a", sharpness.CONTRAST_AMOUNTS + (-0.2, 0.07))
def test_contrast_curve_is_matlabs_not_a_knot_spline(a):
  x = np.linspace(0, 1, 201)
  np.testing.assert_allclose(sharpness.contrast_curve(x.astype(np.float32), a),
                             _kadid_contrast(x, a), atol=2e-6)
  np.testing.assert_allclose(sharpness.contrast_curve(np.array([0.3, 0.5, 0.7], np.float32), a),
                             np.clip([0.25 - a / 4, 0.5, 0.75 + a / 4], 0, 1), atol=1e-6)


def test_contrast_change_more_contrast_for_positive_levels():
  x = _rgb(1)
  std = lambda img: float(np.std(np.asarray(img)))  # noqa: E731
  op = _op(sharpness.contrast_change)
  assert std(op(KEY, x, 1.0)) > std(op(KEY, x, 0.4)) > std(x) > std(op(KEY, x, -0.5)) > std(
      op(KEY, x, -1.0))


@pytest.mark.parametrize("level", [0.2, 0.6, 1.0])
def test_high_sharpen_matches_unsharp_mask_on_skimage_lab(level):
  x = _rgb(2)
  amount = sharpness.SHARPEN_AMOUNTS[KADID_LEVELS.index(level)]
  lab = skimage.color.rgb2lab(x.astype(np.float64))
  light = lab[..., 0]
  # MATLAB imsharpen, Radius 3: fspecial('gaussian', 13, 3), replicate padding.
  blurred = ndi.gaussian_filter(light, 3.0, mode="nearest", truncate=math.ceil(6.0) / 3.0)
  lab[..., 0] = np.clip(light + amount * (light - blurred), 0, 100)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # out-of-gamut Z < 0 warnings are expected
    ref = np.clip(skimage.color.lab2rgb(lab), 0, 1)
  got = np.asarray(_op(sharpness.high_sharpen)(KEY, x, level))
  fz = (lab[..., 0] + 16) / 116 - lab[..., 2] / 200
  ok = fz >= 4 / 29 + 1e-6  # skimage zeroes negative Z; compare elsewhere
  assert ok.mean() > 0.9
  np.testing.assert_allclose(got[ok], ref[ok], atol=2e-3)


@pytest.mark.parametrize("spec", sharpness.SPECS, ids=lambda s: s.name)
def test_level_zero_is_identity(spec):
  x = _rgb(3)
  np.testing.assert_allclose(_op(spec.fn)(KEY, x, 0.0), x, atol=1e-6)

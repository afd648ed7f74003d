"""Brightness ops against KADID's formulas computed independently (numpy parabola, skimage Lab)."""

import jax
import numpy as np
import pytest
import skimage.color

from jiqa.distortions import brightness
from jiqa.distortions.spec import KADID_LEVELS, kadid_param

KEY = jax.random.key(0)
_jit = {}


def _op(fn):
  return _jit.setdefault(fn, jax.jit(fn))


def _rgb(seed=0, shape=(24, 30, 3)):
  return np.random.default_rng(seed).random(shape).astype(np.float32)


def _matlab_curve(x, mid):
  """MATLAB spline through three points = the interpolating parabola (np.polyfit)."""
  coef = np.polyfit([0.0, 0.5, 1.0], [0.0, mid, 1.0], 2)
  return np.clip(np.polyval(coef, x), 0, 1)


@pytest.mark.parametrize("spec", brightness.SPECS[:2], ids=lambda s: s.name)
def test_kadid_parameters_at_levels(spec):
  got = [float(kadid_param(l, spec.kadid_params, spec.identity_param)) for l in KADID_LEVELS]
  np.testing.assert_allclose(got, spec.kadid_params, rtol=1e-6)


def test_mean_shift_signed_levels_reproduce_kadid():
  levels = brightness.SPECS[2].kadid_levels
  got = [float(brightness.mean_shift_amount(l)) for l in levels]
  np.testing.assert_allclose(got, brightness.MEAN_SHIFTS, atol=1e-7)
  # Odd and increasing in the signed level; severity grows with |level|.
  grid = np.linspace(-1, 1, 41)
  vals = np.array([float(brightness.mean_shift_amount(l)) for l in grid])
  assert np.all(np.diff(vals) > 0)
  np.testing.assert_allclose(vals, -vals[::-1], atol=1e-7)


def _mapmm(y):
  """KADID's mapmm: min-max stretch of the whole array to [0, 1]."""
  return (y - y.min()) / (y.max() - y.min())


@pytest.mark.parametrize("level", [-1.0, -0.5, 0.3, 1.0])
def test_mean_shift_is_kadid_shift_then_mapmm(level):
  # A full-range image: KADID's mapmm(clip(x + a, 0, 1)), in float64.
  x = _rgb(1).astype(np.float64)
  x[0, 0], x[0, 1] = 0.0, 1.0
  a = float(brightness.mean_shift_amount(level))
  ref = _mapmm(np.clip(x + a, 0, 1))
  got = np.asarray(_op(brightness.mean_shift)(KEY, x.astype(np.float32), level))
  np.testing.assert_allclose(got, ref, atol=2e-6)
  # It brightens (a > 0) or darkens (a < 0) on average.
  assert np.sign(got.mean() - x.mean()) == np.sign(a)


@pytest.mark.parametrize("level", [-1.0, 0.5])
def test_mean_shift_works_within_the_image_range(level):
  # A photo in [0.2, 0.7]: KADID's generator stretches it to [0, 1] first;
  # the op is that pipeline mapped back to the photo's own range.
  x = 0.2 + 0.5 * _rgb(2).astype(np.float64)
  lo, hi = x.min(), x.max()
  a = float(brightness.mean_shift_amount(level))
  ref = lo + (hi - lo) * _mapmm(np.clip((x - lo) / (hi - lo) + a, 0, 1))
  got = np.asarray(_op(brightness.mean_shift)(KEY, x.astype(np.float32), level))
  np.testing.assert_allclose(got, ref, atol=2e-6)
  flat = np.full((4, 4, 3), 0.3, np.float32)
  np.testing.assert_array_equal(_op(brightness.mean_shift)(KEY, flat, level), flat)


@pytest.mark.parametrize("level", KADID_LEVELS)
def test_darken_passes_through_the_kadid_point_and_matches_matlab_curve(level):
  a = brightness.DARKEN_AMOUNTS[KADID_LEVELS.index(level)]
  grey = np.full((4, 4, 3), 0.5, np.float32)
  np.testing.assert_allclose(_op(brightness.darken)(KEY, grey, level), 0.5 - a / 2, atol=1e-6)
  x = _rgb(2)
  np.testing.assert_allclose(_op(brightness.darken)(KEY, x, level),
                             _matlab_curve(x, 0.5 - a / 2), atol=1e-5)


@pytest.mark.parametrize("level", KADID_LEVELS)
def test_brighten_matches_kadid_rgb_and_lab_mix(level):
  a = brightness.BRIGHTEN_AMOUNTS[KADID_LEVELS.index(level)]
  x = _rgb(3)
  mid = 0.5 + a / 2
  lab = skimage.color.rgb2lab(x.astype(np.float64))
  lab[..., 0] = _matlab_curve(lab[..., 0] / 100, mid) * 100
  ref = (2 * _matlab_curve(x, mid) + np.clip(skimage.color.lab2rgb(lab), 0, 1)) / 3
  np.testing.assert_allclose(_op(brightness.brighten)(KEY, x, level), ref, atol=2e-4)


def test_tone_curve_passes_through_kadid_points():
  for mid in (0.3, 0.5, 0.7):
    np.testing.assert_allclose(brightness.tone_curve(np.array([0.0, 0.5, 1.0]), mid),
                               [0.0, mid, 1.0], atol=1e-7)


@pytest.mark.parametrize("spec", brightness.SPECS, ids=lambda s: s.name)
def test_level_zero_is_identity(spec):
  x = _rgb(4)
  np.testing.assert_allclose(_op(spec.fn)(KEY, x, 0.0), x, atol=1e-6)

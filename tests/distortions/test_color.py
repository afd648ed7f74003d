"""Colour ops against scikit-image (CIELAB, HSV), scipy (Gaussian, bilinear shift) and Pillow."""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.color
from PIL import Image

from jiqa.distortions import color
from jiqa.distortions.spec import KADID_LEVELS, kadid_param

KEY = jax.random.key(0)


def _rgb(seed=0, shape=(36, 44, 3)):
  rng = np.random.default_rng(seed)
  base = ndi.gaussian_filter(rng.random(shape), (3, 3, 0))
  base = (base - base.min()) / (base.max() - base.min())
  return np.clip(base + 0.2 * (rng.random(shape) - 0.5), 0, 1).astype(np.float32)


def _sk_lab2rgb(lab):
  """skimage's lab2rgb and a mask of the pixels where it agrees with the formula.

  skimage zeroes negative Z before the XYZ->RGB matrix (an addition of its own,
  not in the CIE formulas or MATLAB's lab2rgb); those pixels are left out.
  """
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # out-of-gamut warnings are expected here
    rgb = np.clip(skimage.color.lab2rgb(lab), 0, 1)
  fz = (lab[..., 0] + 16) / 116 - lab[..., 2] / 200
  return rgb, fz >= 4 / 29 + 1e-6


_jit = {}


def _op(fn):
  """Jitted op (level traced), compiled once per op and image shape."""
  return _jit.setdefault(fn, jax.jit(fn))


@pytest.mark.parametrize("spec", color.SPECS, ids=lambda s: s.name)
def test_kadid_parameters_at_levels(spec):
  got = [float(kadid_param(l, spec.kadid_params, spec.identity_param)) for l in KADID_LEVELS]
  np.testing.assert_allclose(got, spec.kadid_params, rtol=1e-6)


@pytest.mark.parametrize("level", KADID_LEVELS)
def test_color_saturation_hsv_matches_skimage(level):
  x = _rgb(2)
  hsv = skimage.color.rgb2hsv(x.astype(np.float64))
  hsv[..., 1] *= color.HSV_FACTORS[KADID_LEVELS.index(level)]  # L5 = -0.4 as hsv2rgb does it
  ref = np.clip(skimage.color.hsv2rgb(hsv), 0, 1)
  np.testing.assert_allclose(_op(color.color_saturation_hsv)(KEY, x, level), ref, atol=2e-5)


@pytest.mark.parametrize("level", [0.4, 0.6, 1.0])
def test_color_saturation_lab_matches_skimage(level):
  x = _rgb(3)
  lab = skimage.color.rgb2lab(x.astype(np.float64))
  lab[..., 1:] *= color.LAB_FACTORS[KADID_LEVELS.index(level)]
  ref, ok = _sk_lab2rgb(lab)
  got = np.asarray(_op(color.color_saturation_lab)(KEY, x, level))
  assert ok.mean() > 0.5
  np.testing.assert_allclose(got[ok], ref[ok], atol=2e-3)


@pytest.mark.parametrize("level", [0.2, 0.6])
def test_color_diffusion_matches_skimage_and_scipy(level):
  x = _rgb(4)
  amount = color.DIFFUSION_AMOUNTS[KADID_LEVELS.index(level)]
  sigma = 1.5 * amount + 2
  lab = skimage.color.rgb2lab(x.astype(np.float64))
  lab[..., 1:] = ndi.gaussian_filter(lab[..., 1:], (sigma, sigma, 0), mode="nearest",
                                     truncate=math.ceil(2 * sigma) / sigma) * amount
  ref, ok = _sk_lab2rgb(lab)
  got = np.asarray(_op(color.color_diffusion)(KEY, x, level))
  assert ok.mean() > 0.5
  np.testing.assert_allclose(got[ok], ref[ok], atol=2e-3)


def test_shift_axis_is_scipy_bilinear_shift_with_nearest_borders():
  g = _rgb(5)[..., 1]
  got = color._shift_axis(color._shift_axis(jnp.asarray(g), 2.3, 0), -1.6, 1)
  ref = ndi.shift(g.astype(np.float64), (2.3, -1.6), order=1, mode="nearest")
  np.testing.assert_allclose(got, ref, atol=1e-5)


def test_color_shift_moves_only_green_near_edges():
  x = np.zeros((40, 40, 3), np.float32)
  x[:, 20:] = 1.0  # one vertical edge; flat elsewhere
  out = np.asarray(_op(color.color_shift)(KEY, x, 1.0))
  np.testing.assert_array_equal(out[..., [0, 2]], x[..., [0, 2]])
  change = np.abs(out[..., 1] - x[..., 1])
  assert change[:, 14:26].max() > 0.3  # G moved at the edge
  assert change[:, :4].max() < 1e-6 and change[:, -4:].max() < 1e-6  # not in flat areas
  mask = np.asarray(color.edge_mask(jnp.asarray(x)))
  assert mask.min() == 0.0 and mask.max() == 1.0


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("level", KADID_LEVELS)
def test_color_shift_moves_green_by_whole_pixels(level, seed):
  # KADID: round(normr(rand(1, 2)) * amount), an integer shift of about amount px.
  amount = color.SHIFT_AMOUNTS[KADID_LEVELS.index(level)]
  x = _rgb(10, (48, 56, 3))
  out = np.asarray(_op(color.color_shift)(jax.random.key(seed), x, level))
  e = np.asarray(color.edge_mask(jnp.asarray(x)))
  strong = e > 0.5
  g = x[..., 1].astype(np.float64)
  moved = g + (out[..., 1] - g) / np.where(strong, e, 1.0)
  a = int(amount)
  found = [(dy, dx) for dy in range(-a, a + 1) for dx in range(-a, a + 1)
           if np.allclose(ndi.shift(g, (dy, dx), order=0, mode="nearest")[strong], moved[strong],
                          atol=1e-4)]
  assert len(found) == 1
  assert abs(np.hypot(*found[0]) - amount) <= 0.75


@pytest.mark.parametrize("level", KADID_LEVELS)
def test_color_quantization_uses_at_most_n_colours(level):
  x = _rgb(6, (64, 64, 3))
  n = int(color.QUANTIZATION_COLORS[KADID_LEVELS.index(level)])
  out = np.asarray(_op(color.color_quantization)(KEY, x, level))
  assert len(np.unique(np.round(out, 4).reshape(-1, 3), axis=0)) <= n


@pytest.mark.parametrize("n_colors, level", [(32, 0.6), (8, 1.0)])
def test_color_quantization_error_is_close_to_pillow_median_cut(n_colors, level):
  x = _rgb(7, (64, 64, 3))
  pil = Image.fromarray(np.round(x * 255).astype(np.uint8)).quantize(
      colors=n_colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
  ref = np.asarray(pil.convert("RGB"), np.float32) / 255
  # Both palettes followed by KADID's final mapmm (to the input's range).
  ref = x.min() + (ref - ref.min()) * (x.max() - x.min()) / (ref.max() - ref.min())
  mse_pil = np.mean((ref - x) ** 2)
  mse_ours = float(jnp.mean((_op(color.color_quantization)(KEY, x, level) - x) ** 2))
  assert mse_ours < 1.2 * mse_pil  # k-means (minimum variance) is at least as good


def test_color_quantization_is_continuous_between_levels():
  x = _rgb(8, (64, 64, 3))
  a = _op(color.color_quantization)(KEY, x, 0.5)
  b = _op(color.color_quantization)(KEY, x, 0.5 + 1e-4)
  assert float(jnp.mean(jnp.abs(a - b))) < 1e-3


@pytest.mark.parametrize("spec", color.SPECS, ids=lambda s: s.name)
def test_level_zero_is_identity(spec):
  x = _rgb(9)
  np.testing.assert_allclose(_op(spec.fn)(KEY, x, 0.0), x, atol=1e-6)

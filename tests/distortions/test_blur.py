"""Blur ops against scipy.ndimage (then KADID's mapmm in numpy), a brute-force disk integral
and MATLAB's documented kernels."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage as ndi

from jiqa.distortions import blur
from jiqa.distortions.spec import KADID_LEVELS, kadid_param

KEY = jax.random.key(0)
_jit = {}


def _op(fn, **static):
  """Jitted op (level traced), compiled once per op, options and image shape."""
  key = (fn, tuple(sorted(static.items())))
  return _jit.setdefault(key, jax.jit(lambda k, x, l: fn(k, x, l, **static)))


def _rgb(seed=0, shape=(40, 52, 3)):
  rng = np.random.default_rng(seed)
  # Smooth-ish content plus texture, so that blurs change it measurably.
  base = ndi.gaussian_filter(rng.random(shape), (2, 2, 0))
  return np.clip(base + 0.3 * (rng.random(shape) - 0.5), 0, 1).astype(np.float32)


def _disk_reference(r, half, n=20000):
  """Area of the disk of radius r inside each pixel: midpoint rule over x of the chord
  length inside the pixel's y range (an independent 1-D numerical integral)."""
  c = np.arange(-half, half + 1, dtype=np.float64)
  t = (np.arange(n) + 0.5) / n - 0.5  # offsets inside a pixel
  xs = c[:, None] + t[None, :]  # (columns, n)
  h = np.sqrt(np.maximum(r * r - xs ** 2, 0.0))
  y0, y1 = c - 0.5, c + 0.5
  chord = np.clip(np.minimum(y1[:, None, None], h[None]) - np.maximum(y0[:, None, None], -h[None]),
                  0.0, None)  # (rows, columns, n)
  k = chord.mean(-1)
  return k / k.sum()


def _mapmm(ref, x):
  """KADID's final mapmm (min-max stretch of the whole image), to x's range."""
  return x.min() + (ref - ref.min()) * (x.max() - x.min()) / (ref.max() - ref.min())


@pytest.mark.parametrize("spec", blur.SPECS, ids=lambda s: s.name)
def test_kadid_parameters_at_levels(spec):
  got = [float(kadid_param(l, spec.kadid_params, spec.identity_param)) for l in KADID_LEVELS]
  np.testing.assert_allclose(got, spec.kadid_params, rtol=1e-6)


@pytest.mark.parametrize("level", KADID_LEVELS)
def test_gaussian_blur_matches_scipy_nearest(level):
  x = _rgb()
  sigma = blur.GAUSSIAN_SIGMAS[KADID_LEVELS.index(level)]
  # MATLAB's support 2 ceil(2 sigma) + 1 taps = scipy's truncate ceil(2 sigma) / sigma.
  ref = ndi.gaussian_filter(x.astype(np.float64), (sigma, sigma, 0), mode="nearest",
                            truncate=math.ceil(2 * sigma) / sigma)
  np.testing.assert_allclose(_op(blur.gaussian_blur)(KEY, x, level), _mapmm(ref, x), atol=2e-6)


def test_gaussian_filter_between_levels_is_tapered_and_continuous():
  x = _rgb(1)
  a = blur.gaussian_filter(x, 1.5, radius=10)
  b = blur.gaussian_filter(x, 1.5 + 1e-3, radius=10)
  assert float(jnp.abs(a - b).max()) < 1e-3
  ref = ndi.gaussian_filter(x.astype(np.float64), (1.5, 1.5, 0), mode="nearest", truncate=2.0)
  np.testing.assert_allclose(a, ref, atol=1e-6)  # 2 sigma = 3 taps: MATLAB's support exactly


def test_blur_matrix_rows_sum_to_one_and_fold_borders():
  k = np.asarray(blur.blur_matrix(2.0, 7, 4))
  np.testing.assert_allclose(k.sum(1), 1.0, atol=1e-6)
  eye = np.eye(7)
  ref = ndi.gaussian_filter1d(eye, 2.0, axis=0, mode="nearest", truncate=2.0)
  np.testing.assert_allclose(k, ref, atol=1e-6)


def test_disk_kernel_matches_matlab_fspecial_disk_1():
  # fspecial('disk', 1) as printed by MATLAB.
  ref = np.array([[0.0251, 0.1453, 0.0251], [0.1453, 0.3183, 0.1453], [0.0251, 0.1453, 0.0251]])
  np.testing.assert_allclose(blur.disk_kernel(1.0, 1), ref, atol=6e-5)


@pytest.mark.parametrize("radius", [0.3, 1.0, 2.5, 4.0])
def test_disk_kernel_is_the_pixel_coverage_of_the_disk(radius):
  half = 5
  np.testing.assert_allclose(blur.disk_kernel(radius, half), _disk_reference(radius, half),
                             atol=2e-5)


def test_lens_blur_matches_scipy_correlate_with_disk():
  x = _rgb(2)
  k = _disk_reference(2.0, 8)
  ref = np.stack([ndi.correlate(x[..., c].astype(np.float64), k, mode="nearest")
                  for c in range(3)], -1)
  np.testing.assert_allclose(_op(blur.lens_blur)(KEY, x, 0.4), _mapmm(ref, x), atol=1e-4)


def test_motion_kernels_match_matlab_fspecial_motion():
  centre = lambda k: np.asarray(k)[k.shape[0] // 2]  # noqa: E731
  np.testing.assert_allclose(centre(blur.motion_kernel(2.0, 0.0, 2)), [0, .25, .5, .25, 0],
                             atol=1e-6)
  np.testing.assert_allclose(centre(blur.motion_kernel(4.0, 0.0, 3)),
                             [0, .125, .25, .25, .25, .125, 0], atol=1e-6)
  vertical = np.asarray(blur.motion_kernel(3.0, np.pi / 2, 2))
  np.testing.assert_allclose(vertical[:, 2], [0, 1 / 3, 1 / 3, 1 / 3, 0], atol=1e-6)
  np.testing.assert_allclose(np.asarray(blur.motion_kernel(1.0, 0.7, 2))[2, 2], 1.0)
  a, b = blur.motion_kernel(4.0, 0.3, 5), blur.motion_kernel(4.001, 0.3, 5)
  assert float(jnp.abs(a - b).max()) < 1e-3


def test_motion_blur_horizontal_matches_scipy():
  x = _rgb(3)
  w = np.array([0.5, 1, 1, 1, 0.5]) / 4  # length 4 at 0 degrees
  ref = ndi.correlate1d(x.astype(np.float64), w, axis=1, mode="nearest")
  np.testing.assert_allclose(_op(blur.motion_blur, angle=0.0)(KEY, x, 0.6), _mapmm(ref, x),
                             atol=1e-5)


def test_motion_blur_random_angle_depends_on_key_only():
  x = _rgb(4)
  a = _op(blur.motion_blur)(jax.random.key(1), x, 1.0)
  b = _op(blur.motion_blur)(jax.random.key(2), x, 1.0)
  np.testing.assert_array_equal(a, _op(blur.motion_blur)(jax.random.key(1), x, 1.0))
  assert float(jnp.abs(a - b).max()) > 1e-3


@pytest.mark.parametrize("spec", blur.SPECS, ids=lambda s: s.name)
def test_level_zero_is_identity_and_output_in_range(spec):
  x = _rgb(5)
  np.testing.assert_array_equal(_op(spec.fn)(KEY, x, 0.0), x)
  out = _op(spec.fn)(KEY, x, 1.0)
  assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1


def test_bad_image_shape_raises():
  with pytest.raises(ValueError, match="image"):
    blur.gaussian_blur(KEY, np.zeros((8, 8)), 0.5)

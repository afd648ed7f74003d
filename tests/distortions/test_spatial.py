"""KADID spatial ops (types 19-23) against PIL, scipy, numpy and exact geometry.

References are independent of the ops: PIL's NEAREST resize, scipy's
``map_coordinates``, a numpy uniform quantiser, the exactness of bilinear
interpolation on a linear ramp, and brute-force searches for copied patches.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage
from PIL import Image

from jiqa.distortions import spatial, spec
from jiqa.distortions.spec import KADID_LEVELS

KEY = jax.random.key(3)


def _random(shape=(96, 112, 3), seed=0):
  return np.random.default_rng(seed).random(shape).astype(np.float32)


@pytest.mark.parametrize("spec", spatial.SPECS, ids=lambda s: s.name)
def test_level_zero_is_identity_and_gradients_finite(spec):
  x = _random((64, 72, 3))
  out = np.asarray(spec.fn(KEY, x, 0.0))
  assert out.shape == x.shape and out.dtype == np.float32
  np.testing.assert_allclose(out, x, atol=1e-6)
  grad = jax.grad(lambda im: spec.fn(KEY, im, 0.7).sum())(jnp.asarray(x))
  assert np.all(np.isfinite(grad)) and np.abs(grad).sum() > 0


def test_specs_table():
  assert [s.name for s in spatial.SPECS] == [
      "jitter", "non_eccentricity_patch", "pixelate", "quantization", "color_block"]
  assert [s.kadid_index for s in spatial.SPECS] == [19, 20, 21, 22, 23]
  for s in spatial.SPECS:
    expected = (-1, "sharpness") if s.name == "pixelate" else (1, None)
    assert (s.direction, s.axis) == expected and s.group == "spatial"


@pytest.mark.parametrize("dy,dx", [(0.3, 0.45), (1.7, 0.25)])
def test_bicubic_matches_pil_keys_resampling_of_a_shift(dy, dx):
  # PIL's BICUBIC resize is Keys' cubic convolution with a = -1/2 (as MATLAB's
  # interp2 'cubic'); at scale 1 with a shifted box it samples x + (dy, dx).
  from PIL import Image
  x = _random((40, 50, 3), seed=3)
  rows = np.broadcast_to(np.arange(40, dtype=np.float32)[:, None] + dy, (40, 50))
  cols = np.broadcast_to(np.arange(50, dtype=np.float32)[None, :] + dx, (40, 50))
  out = np.asarray(spatial._bicubic(jnp.asarray(x), jnp.asarray(rows), jnp.asarray(cols)))
  ref = np.stack([np.asarray(Image.fromarray(x[..., c], mode="F").resize(
      (44, 34), Image.Resampling.BICUBIC, box=(dx, dy, 44 + dx, 34 + dy))) for c in range(3)], -1)
  # Rows/columns 2.. (PIL renormalises the kernel at the image borders).
  np.testing.assert_allclose(out[2:34, 2:44], ref[2:, 2:], atol=1e-5)


def test_restretch_is_kadid_mapmm_for_full_range_images():
  x = _random((16, 16, 3), seed=4)
  x[0, 0, 0], x[1, 1, 1] = 0.0, 1.0
  y = 1.3 * x - 0.2
  ref = (y - y.min()) / (y.max() - y.min())
  np.testing.assert_allclose(spec.restretch(jnp.asarray(y), jnp.asarray(x)), ref, atol=1e-6)


@pytest.mark.parametrize("level,amount", zip(KADID_LEVELS, (0.05, 0.1, 0.2, 0.5, 1.0)))
def test_jitter_displacement_variance_on_a_ramp(level, amount):
  # Cubic convolution is exact on a linear ramp, so after one pass out - in
  # is the displacement times the slope. (Later passes resample a noisy ramp.)
  size = 160
  ramp = np.arange(size, dtype=np.float32) / (size - 1)
  for axis in (0, 1):
    x = np.broadcast_to((ramp[:, None] if axis == 0 else ramp[None, :])[..., None],
                        (size, size, 3)).copy()
    diff = (np.asarray(spatial.jitter(KEY, x, level, passes=1)) - x)[10:-10, 10:-10, 0]
    # The final stretch (KADID's mapmm) is affine in x: regress it out.
    xi = x[10:-10, 10:-10, 0].ravel()
    fit = np.polyval(np.polyfit(xi, diff.ravel(), 1), xi).reshape(diff.shape)
    shift = (diff - fit) * (size - 1)
    assert abs(shift.var() / amount**2 - 1) < 0.05
    assert abs(shift.mean()) < 0.02 * amount
    five = (np.asarray(spatial.jitter(KEY, x, level)) - x)[10:-10, 10:-10, 0]
    five = (five - np.polyval(np.polyfit(xi, five.ravel(), 1), xi).reshape(five.shape))
    assert amount**2 < (five * (size - 1)).var() < 5 * amount**2


def _keys_cubic(d):
  """Keys' cubic convolution kernel, a = -1/2 (MATLAB's ``interp2(..., 'cubic')``)."""
  d = np.abs(d)
  return np.where(d <= 1, 1.5 * d**3 - 2.5 * d**2 + 1,
                  np.where(d < 2, -0.5 * d**3 + 2.5 * d**2 - 4 * d + 2, 0.0))


def test_jitter_equals_five_numpy_keys_cubic_warps_and_mapmm():
  # An independent reference for all five passes: each samples the previous one at
  # (row + a n_r, col + a n_c) with the 4x4 Keys kernel on a replicate-padded image,
  # from the op's own noise draw (counter_random.normal); then KADID's mapmm to the
  # input's range.
  from jiqa.distortions.counter_random import normal
  x = _random((24, 30, 3), seed=5)
  level = 0.8
  amount = float(np.interp(level, KADID_LEVELS, spatial.JITTER_AMOUNTS))
  noise = np.asarray(normal(KEY, (5, 2, 24, 30)), np.float64) * amount
  out = x.astype(np.float64)
  rows, cols = np.meshgrid(np.arange(24.0), np.arange(30.0), indexing="ij")
  for p in range(5):
    r, c = rows + noise[p, 0], cols + noise[p, 1]
    r0, c0 = np.floor(r).astype(int), np.floor(c).astype(int)
    acc = np.zeros_like(out)
    for i in range(-1, 3):
      for j in range(-1, 3):
        w = _keys_cubic(r - (r0 + i)) * _keys_cubic(c - (c0 + j))
        acc += w[..., None] * out[np.clip(r0 + i, 0, 23), np.clip(c0 + j, 0, 29)]
    out = acc
  ref = x.min() + (out - out.min()) * (x.max() - x.min()) / (out.max() - out.min())
  np.testing.assert_allclose(spatial.jitter(KEY, x, level), ref, atol=2e-5)


def test_non_eccentricity_single_patch_is_a_nearby_copy():
  x = _random((80, 96, 3), seed=2)
  level = 0.01   # N = 20 * 0.01 / 0.2 = 1 patch
  out = np.asarray(spatial.non_eccentricity_patch(KEY, x, level))
  changed = np.any(np.abs(out - x) > 1e-6, axis=-1)
  r, c = np.nonzero(changed)
  assert 0 < changed.sum() <= 256
  r0, c0 = r.min(), c.min()
  assert r.max() - r0 < 16 and c.max() - c0 < 16
  # Some offset within +-8 px reproduces the pasted 16x16 square from the input.
  found = False
  for top in range(max(r.max() - 15, 0), r0 + 1):
    for left in range(max(c.max() - 15, 0), c0 + 1):
      if top + 16 > 80 or left + 16 > 96:
        continue
      for dy in range(-8, 9):
        for dx in range(-8, 9):
          sy, sx = top - dy, left - dx
          if 0 <= sy <= 64 and 0 <= sx <= 80 and np.allclose(
              out[top:top + 16, left:left + 16], x[sy:sy + 16, sx:sx + 16], atol=1e-6):
            found = True
  assert found


def test_non_eccentricity_half_patch_blends_and_counts_grow():
  x = _random((80, 96, 3), seed=2)
  one = np.asarray(spatial.non_eccentricity_patch(KEY, x, 0.01))
  half = np.asarray(spatial.non_eccentricity_patch(KEY, x, 0.005))   # N = 0.5
  np.testing.assert_allclose(half, (x + one) / 2, atol=1e-6)
  changed = [np.any(np.asarray(spatial.non_eccentricity_patch(KEY, x, lv)) != x, -1).mean()
             for lv in KADID_LEVELS]
  assert np.all(np.diff(changed) > 0)


def _matlab_nearest(in_len, out_len, scale):
  """0-based source indices of MATLAB's imresize 'nearest' (its contributions():
  u = x / scale + (1 - 1 / scale) / 2 for 1-based x, the box kernel's pick
  floor(u + 1/2), indices beyond the border mirrored back)."""
  x = np.arange(1, out_len + 1, dtype=np.float64)
  u = x / scale + 0.5 * (1 - 1 / scale)
  return np.clip(np.floor(u + 0.5).astype(int), 1, in_len) - 1


@pytest.mark.parametrize("shape", ((256, 256), (97, 131), (384, 512)))
def test_pixelate_matches_matlab_imresize_nearest(shape):
  h, w = shape
  x = np.random.default_rng(4).random((h, w, 3)).astype(np.float32)
  for level, s in zip(KADID_LEVELS, (0.01, 0.05, 0.1, 0.2, 0.5)):
    z = 0.95 - s**0.6
    sh, sw = math.ceil(z * h), math.ceil(z * w)   # imresize(I, z): ceil(z * size)
    small = x[_matlab_nearest(h, sh, z)][:, _matlab_nearest(w, sw, z)]
    ref = small[_matlab_nearest(sh, h, h / sh)][:, _matlab_nearest(sw, w, w / sw)]
    out = np.asarray(spatial.pixelate(KEY, x, level))
    # Equal but for at most one row and one column: an exact half-way tie of the
    # way up (e.g. the middle column of an odd width to an even small width)
    # that float64 arithmetic may round to the other side.
    bad = np.any(out != ref, -1)
    assert np.count_nonzero(bad.any(1)) <= 1 or np.count_nonzero(bad.any(0)) <= 1
    assert bad.mean() < 0.01


def test_pixelate_factor_values():
  z = [float(spatial.pixelate_factor(lv)) for lv in (0.0,) + KADID_LEVELS]
  np.testing.assert_allclose(z, [1.0] + [0.95 - s**0.6 for s in (0.01, 0.05, 0.1, 0.2, 0.5)],
                             rtol=1e-6)


@pytest.mark.parametrize("level,n", zip(KADID_LEVELS, (20, 16, 13, 10, 7)))
def test_quantization_is_matlab_imquantize_with_uniform_thresholds(level, n):
  # MATLAB: imquantize(I, t, [0 t(2:end) 1]); x <= t(1) -> 0, t(k-1) < x <= t(k) -> t(k).
  x = _random(seed=5)
  t = np.arange(1, n + 1) / (n + 1)
  values = np.r_[0.0, t[1:], 1.0]
  ref = values[np.digitize(x.astype(np.float64), t, right=True)]
  out = np.asarray(spatial.quantization(KEY, x, level))
  # Away from the thresholds (within 1e-4 bin widths a value counts as on one).
  far = np.min(np.abs(x[..., None] - t), axis=-1) > 1e-5
  assert far.mean() > 0.999
  np.testing.assert_allclose(out[far], ref[far], atol=1e-6)
  assert len(np.unique(out[..., 0])) == n + 1
  # Just below a threshold: that threshold; just above: the next one (or 1).
  near = lambda d: np.asarray(spatial.quantization(  # noqa: E731
      KEY, np.broadcast_to((t + d)[:, None, None], (n, 1, 3)).astype(np.float32), level))
  np.testing.assert_allclose(near(-1e-4)[:, 0, 0], np.r_[0.0, t[1:]], atol=1e-6)
  np.testing.assert_allclose(near(1e-4)[:, 0, 0], np.r_[t[1:], 1.0], atol=1e-6)
  # 8-bit values on a threshold (N + 1 = 17 divides 255): that threshold.
  if n == 16:
    on = (np.arange(0, 256, 15, dtype=np.float32) / 255)[:, None, None] * np.ones((1, 1, 3), np.float32)
    want = np.r_[0.0, 0.0, np.arange(2, 17) / 17, 1.0]   # 0, t1 -> 0; t_k -> t_k; 1 -> 1
    np.testing.assert_allclose(np.asarray(spatial.quantization(KEY, on, level))[:, 0, 0],
                               want, atol=1e-6)


def test_quantization_straight_through_gradient_and_continuity():
  x = jnp.asarray(_random((16, 16, 3)))
  grad = jax.grad(lambda im: spatial.quantization(KEY, im, 0.9).sum())(x)
  np.testing.assert_allclose(grad, 1.0)
  # Non-integer N between KADID levels: error between the neighbours' errors.
  err = lambda lv: float(jnp.abs(spatial.quantization(KEY, x, lv) - x).max())
  assert err(0.4) <= err(0.5) + 1e-6 <= err(0.6) + 2e-6
  assert err(0.05) <= 2 / 84 + 1e-6    # bin width 1/84 at a quarter of L1 (x <= 2 widths)


def test_color_block_single_block_and_colours():
  x = _random((96, 112, 3), seed=6)
  one = np.asarray(spatial.color_block(KEY, x, 0.1))   # N = 1
  changed = np.any(one != x, -1)
  r, c = np.nonzero(changed)
  assert changed.sum() == 32 * 32
  assert (r.max() - r.min(), c.max() - c.min()) == (31, 31)
  assert len(np.unique(one[changed].round(6), axis=0)) == 1
  full = np.asarray(spatial.color_block(KEY, x, 1.0))  # N = 10
  changed = np.any(full != x, -1)
  colours = np.unique(full[changed].round(6), axis=0)
  assert 1 <= len(colours) <= 10 and changed.sum() <= 10 * 1024


@pytest.mark.parametrize("spec", spatial.SPECS, ids=lambda s: s.name)
def test_small_images_work(spec):
  x = _random((12, 20, 3))
  out = np.asarray(jax.jit(spec.fn)(KEY, x, 1.0))
  assert out.shape == x.shape and np.all((out >= 0) & (out <= 1))


def test_bad_image_raises():
  with pytest.raises(ValueError, match="image"):
    spatial.pixelate(KEY, np.zeros((8, 8, 4), np.float32), 0.5)

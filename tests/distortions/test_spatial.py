"""KADID spatial ops (types 19-23) against PIL, scipy, numpy and exact geometry.

References are independent of the ops: PIL's NEAREST resize, scipy's
``map_coordinates``, a numpy uniform quantiser, the exactness of bilinear
interpolation on a linear ramp, and brute-force searches for copied patches.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage
from PIL import Image

from jiqa.distortions import spatial
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


def test_bilinear_matches_scipy_map_coordinates():
  x = _random((40, 50, 3))
  rng = np.random.default_rng(1)
  rows = (np.arange(40)[:, None] + rng.normal(0, 1.5, (40, 50))).astype(np.float32)
  cols = (np.arange(50)[None, :] + rng.normal(0, 1.5, (40, 50))).astype(np.float32)
  out = np.asarray(spatial._bilinear(jnp.asarray(x), rows, cols))
  ref = np.stack([scipy.ndimage.map_coordinates(
      x[..., c], [np.clip(rows, 0, 39), np.clip(cols, 0, 49)], order=1, mode="nearest")
                  for c in range(3)], -1)
  np.testing.assert_allclose(out, ref, atol=1e-5)


@pytest.mark.parametrize("level,amount", zip(KADID_LEVELS, (0.05, 0.1, 0.2, 0.5, 1.0)))
def test_jitter_displacement_variance_on_a_ramp(level, amount):
  # Bilinear interpolation is exact on a linear ramp, so after one pass out - in
  # is the displacement times the slope. (Later passes resample a noisy ramp.)
  size = 160
  ramp = np.arange(size, dtype=np.float32) / (size - 1)
  for axis in (0, 1):
    x = np.broadcast_to((ramp[:, None] if axis == 0 else ramp[None, :])[..., None],
                        (size, size, 3)).copy()
    shift = (np.asarray(spatial.jitter(KEY, x, level, passes=1)) - x)[10:-10, 10:-10, 0]
    shift *= size - 1
    assert abs(shift.var() / amount**2 - 1) < 0.05
    assert abs(shift.mean()) < 0.02 * amount
    five = (np.asarray(spatial.jitter(KEY, x, level)) - x)[10:-10, 10:-10, 0] * (size - 1)
    assert amount**2 < five.var() < 5 * amount**2


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


@pytest.mark.parametrize("shape", ((256, 256), (97, 131)))
def test_pixelate_matches_pil_nearest(shape):
  h, w = shape
  x8 = np.random.default_rng(4).integers(0, 256, (h, w, 3), dtype=np.uint8)
  x = x8.astype(np.float32) / 255
  for level, s in zip(KADID_LEVELS, (0.01, 0.05, 0.1, 0.2, 0.5)):
    z = 0.95 - s**0.6
    small = (int(w * z), int(h * z))
    ref = np.asarray(Image.fromarray(x8).resize(small, Image.NEAREST)
                     .resize((w, h), Image.NEAREST)).astype(np.float32) / 255
    out = np.asarray(spatial.pixelate(KEY, x, level))
    # PIL accumulates the source coordinate in floating point and can round an
    # exact half-way tie the other way: a few rows/columns pick the neighbour.
    assert np.mean(np.all(out == ref, -1)) > 0.96
    rows = 1 + np.count_nonzero(np.any(out[1:] != out[:-1], axis=(1, 2)))
    cols = 1 + np.count_nonzero(np.any(out[:, 1:] != out[:, :-1], axis=(0, 2)))
    assert (rows, cols) == (small[1], small[0])


def test_pixelate_factor_values():
  z = [float(spatial.pixelate_factor(lv)) for lv in (0.0,) + KADID_LEVELS]
  np.testing.assert_allclose(z, [1.0] + [0.95 - s**0.6 for s in (0.01, 0.05, 0.1, 0.2, 0.5)],
                             rtol=1e-6)


@pytest.mark.parametrize("level,n", zip(KADID_LEVELS, (20, 16, 13, 10, 7)))
def test_quantization_is_a_uniform_quantiser(level, n):
  x = _random(seed=5)
  ref = (np.minimum(np.floor(x.astype(np.float64) * n), n - 1) + 0.5) / n
  out = np.asarray(spatial.quantization(KEY, x, level))
  np.testing.assert_allclose(out, ref, atol=1e-6)
  assert len(np.unique(out[..., 0])) == n


def test_quantization_straight_through_gradient_and_continuity():
  x = jnp.asarray(_random((16, 16, 3)))
  grad = jax.grad(lambda im: spatial.quantization(KEY, im, 0.9).sum())(x)
  np.testing.assert_allclose(grad, 1.0)
  # Non-integer N between KADID levels: error between the neighbours' errors.
  err = lambda lv: float(jnp.abs(spatial.quantization(KEY, x, lv) - x).max())
  assert err(0.4) <= err(0.5) + 1e-6 <= err(0.6) + 2e-6
  assert err(0.05) < 1 / 80 + 1e-6    # N = 80 at a quarter of L1


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

"""Tiers: strictly increasing severity, images getting worse (PSNR computed with numpy),
maps scaling with the severity, determinism."""

import jax
import numpy as np
import pytest

from jiqa import distortions, images

TYPES = ("gaussian_blur", "jpeg", "white_noise", "darken", "mean_shift", "pixelate",
         "contrast_change")
CFG = distortions.EngineConfig(types=TYPES, max_distortions=2)


@pytest.fixture(scope="module")
def photos():
  out = []
  for v in images.bundled_images(("astronaut", "chelsea", "coffee", "rocket")).values():
    v = v[::2, ::2]
    top, left = (v.shape[0] - 64) // 2, (v.shape[1] - 64) // 2
    out.append(v[top:top + 64, left:left + 64])
  return np.stack(out).astype(np.float32)


def _psnr(a, ref):
  mse = np.mean((np.asarray(a, np.float64) - np.asarray(ref, np.float64)) ** 2, axis=(-3, -2, -1))
  return 10 * np.log10(1.0 / np.maximum(mse, 1e-12))


def test_tier_severity_psnr_maps_and_determinism(photos):
  decreasing = 0
  for i in range(8):
    tier = distortions.make_tier(jax.random.key(i), photos[i % 4], 4, CFG)
    imgs, sev, maps = map(np.asarray, tier)
    assert imgs.shape == (4, 64, 64, 3) and maps.shape == (4, 64, 64, 25)
    assert np.all(np.diff(sev) > 0) and sev[0] > 0 and sev[-1] == 1.0
    assert imgs.min() >= 0 and imgs.max() <= 1
    # Same composition along the tier: maps scale with the severity.
    np.testing.assert_allclose(maps, sev[:, None, None, None] * maps[-1], atol=1e-6)
    assert np.abs(maps[-1]).max() > 0                                # never pristine
    decreasing += np.all(np.diff(_psnr(imgs, photos[i % 4])) < 0)
  assert decreasing >= 7, f"only {decreasing}/8 tiers get strictly worse"
  again = distortions.make_tier(jax.random.key(3), photos[3], 4, CFG)
  np.testing.assert_array_equal(again.images, distortions.make_tier(
      jax.random.key(3), photos[3], 4, CFG).images)


def test_batched_tiers(photos):
  tiers = distortions.make_tiers(jax.random.key(11), photos, 3, CFG)
  imgs, sev, maps = map(np.asarray, tiers)
  assert imgs.shape == (4, 3, 64, 64, 3) and sev.shape == (4, 3) and maps.shape[:2] == (4, 3)
  assert np.all(np.diff(sev, axis=1) > 0)
  np.testing.assert_allclose(maps, sev[:, :, None, None, None] * maps[:, -1:], atol=1e-6)
  psnr = _psnr(imgs, photos[:, None])
  # Non-increasing (a weak first member can still equal the reference: e.g. Gaussian blur
  # below sigma 0.15 is exactly the identity). Not all: pixelate's PSNR is not monotone
  # between KADID's levels (nearest-neighbour grid alignment), so a tier may not be either.
  assert np.mean(np.all(np.diff(psnr, axis=1) <= 1e-6, axis=1)) >= 0.75, psnr


def test_tier_factors_and_bad_n(photos):
  f = np.asarray(distortions.tier_factors(jax.random.key(0), 6))
  assert np.all(np.diff(f) >= 0.2 / 6 - 1e-6) and f[-1] == 1.0 and f[0] > 0
  one = distortions.make_tier(jax.random.key(0), photos[0], 1, CFG)
  assert one.images.shape == (1, 64, 64, 3)
  with pytest.raises(ValueError, match="n:"):
    distortions.make_tier(jax.random.key(0), photos[0], 0, CFG)
  with pytest.raises(ValueError, match="n:"):
    distortions.make_tiers(jax.random.key(0), photos, 0, CFG)

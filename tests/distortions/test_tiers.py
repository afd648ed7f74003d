"""Tiers: strictly increasing severity equal to the maps' distortion mass, images getting
worse (PSNR computed with numpy) in the scaled mode, several types per tier in the mixed mode,
determinism."""

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


def _mass(maps):  # the documented severity, computed with numpy
  return np.abs(np.asarray(maps, np.float64)).mean(axis=(-3, -2)).sum(axis=-1)


def test_map_severity():
  maps = np.zeros((2, 4, 4, 25), np.float32)
  maps[0, :2, :, 3] = -0.8          # half the image at level 0.8
  maps[1, :, :, 5] = 0.5
  maps[1, :, :, 9] = 0.25
  np.testing.assert_allclose(distortions.map_severity(maps), [0.4, 0.75], rtol=1e-6)
  with pytest.raises(ValueError, match="maps"):
    distortions.map_severity(np.zeros((4, 25)))


def test_scaled_tier_psnr_maps_and_determinism(photos):
  decreasing = 0
  for i in range(8):
    tier = distortions.make_tier(jax.random.key(i), photos[i % 4], n=4, config=CFG, mode="scaled")
    imgs, sev, maps = map(np.asarray, tier)
    assert imgs.shape == (4, 64, 64, 3) and maps.shape == (4, 64, 64, 25)
    assert np.all(np.diff(sev) > 0) and sev[0] > 0
    np.testing.assert_allclose(sev, _mass(maps), rtol=1e-4, atol=1e-6)
    assert imgs.min() >= 0 and imgs.max() <= 1
    # Same composition along the tier: maps scale with the severity.
    np.testing.assert_allclose(maps, (sev / sev[-1])[:, None, None, None] * maps[-1], atol=1e-5)
    assert np.abs(maps[-1]).max() > 0                                # never pristine
    decreasing += np.all(np.diff(_psnr(imgs, photos[i % 4])) < 0)
  assert decreasing >= 7, f"only {decreasing}/8 tiers get strictly worse"
  again = distortions.make_tier(jax.random.key(3), photos[3], n=4, config=CFG, mode="scaled")
  np.testing.assert_array_equal(again.images, distortions.make_tier(
      jax.random.key(3), photos[3], n=4, config=CFG, mode="scaled").images)


@pytest.mark.parametrize("mode", ["scaled", "mixed"])
def test_batched_tiers(photos, mode):
  tiers = distortions.make_tiers(jax.random.key(11), photos, n=3, config=CFG, mode=mode)
  imgs, sev, maps = map(np.asarray, tiers)
  assert imgs.shape == (4, 3, 64, 64, 3) and sev.shape == (4, 3) and maps.shape[:2] == (4, 3)
  assert np.all(np.diff(sev, axis=1) > 0) and np.all(sev > 0)
  np.testing.assert_allclose(sev, _mass(maps), rtol=1e-4, atol=1e-6)
  assert np.abs(maps).max() <= 1.0 + 1e-6
  if mode == "scaled":
    np.testing.assert_allclose(maps, (sev / sev[:, -1:])[..., None, None, None] * maps[:, -1:],
                               atol=1e-5)
    psnr = _psnr(imgs, photos[:, None])
    # Non-increasing (a weak first member can still equal the reference: e.g. Gaussian blur
    # below sigma 0.15 is exactly the identity). Not all: pixelate's PSNR is not monotone
    # between KADID's levels (nearest-neighbour grid alignment), so a tier may not be either.
    assert np.mean(np.all(np.diff(psnr, axis=1) <= 1e-6, axis=1)) >= 0.75, psnr


def test_mixed_tiers_mix_types_and_reach_full_strength(photos):
  tiers = distortions.make_tiers(jax.random.key(5), np.repeat(photos, 4, axis=0), n=4, config=CFG)
  maps = np.asarray(tiers.maps)
  present = np.any(maps != 0, axis=(2, 3))                          # (B, n, T)
  # Members of a tier carry their own compositions: most tiers mix different type sets.
  differ = [len({tuple(p) for p in tier}) > 1 for tier in present]
  assert np.mean(differ) >= 0.9
  # The top member is scaled until some member's largest level reaches 1 (L5): the maps
  # reach 1 wherever that member's mask does (every kind but blobs has a peak of 1).
  top = np.abs(maps).max(axis=(1, 2, 3, 4))
  assert np.all(top <= 1 + 1e-6) and np.mean(top > 0.999) >= 0.6, top
  # Deterministic given the key.
  again = distortions.make_tiers(jax.random.key(5), np.repeat(photos, 4, axis=0), n=4, config=CFG)
  np.testing.assert_array_equal(tiers.images, again.images)
  one = distortions.make_tier(jax.random.key(2), photos[0], n=5, config=CFG)
  assert one.images.shape == (5, 64, 64, 3) and np.all(np.diff(np.asarray(one.severity)) > 0)


def test_tier_factors_and_bad_arguments(photos):
  f = np.asarray(distortions.tier_factors(jax.random.key(0), 6))
  assert np.all(np.diff(f) >= 0.2 / 6 - 1e-6) and f[-1] == 1.0 and f[0] > 0
  one = distortions.make_tier(jax.random.key(0), photos[0], n=1, config=CFG)
  assert one.images.shape == (1, 64, 64, 3)
  with pytest.raises(ValueError, match="n:"):
    distortions.make_tier(jax.random.key(0), photos[0], n=0, config=CFG)
  with pytest.raises(ValueError, match="n:"):
    distortions.make_tiers(jax.random.key(0), photos, n=0, config=CFG)
  with pytest.raises(ValueError, match="mode"):
    distortions.make_tiers(jax.random.key(0), photos, n=3, config=CFG, mode="shuffled")

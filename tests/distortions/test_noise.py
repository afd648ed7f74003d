"""KADID noise ops (types 11-15) against their statistical definitions and scikit-image.

References are independent of the ops: sample variances and fractions computed with
numpy, the JFIF YCbCr equations written out here, scikit-image's non-local means,
SSIM and PSNR, scipy's Gaussian filter.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage
import skimage.color
import skimage.metrics
import skimage.restoration

from jiqa import images
from jiqa.distortions import noise
from jiqa.distortions.spec import KADID_LEVELS

GRAY = np.full((256, 256, 3), 0.5, np.float32)
KEY = jax.random.key(7)


def _photo(size=128):
  img = images.bundled_images(("astronaut",))["astronaut"]
  return np.ascontiguousarray(img[100:100 + size, 150:150 + size])


def _psnr(a, b):
  return skimage.metrics.peak_signal_noise_ratio(np.asarray(a), np.asarray(b), data_range=1.0)


@pytest.mark.parametrize("spec", noise.SPECS, ids=lambda s: s.name)
def test_level_zero_is_identity_and_shape_kept(spec):
  x = _photo(64)
  out = np.asarray(spec.fn(KEY, x, 0.0))
  assert out.shape == x.shape and out.dtype == np.float32
  np.testing.assert_allclose(out, x, atol=1e-6)


def test_specs_table():
  assert [s.name for s in noise.SPECS] == [
      "white_noise", "white_noise_color", "impulse_noise", "multiplicative_noise", "denoise"]
  assert [s.kadid_index for s in noise.SPECS] == [11, 12, 13, 14, 15]
  assert all(s.direction == 1 and s.axis is None and s.group == "noise" for s in noise.SPECS)


@pytest.mark.parametrize("level,var", zip(KADID_LEVELS, (0.001, 0.002, 0.003, 0.005, 0.01)))
def test_white_noise_variance_is_kadid(level, var):
  d = np.asarray(noise.white_noise(KEY, GRAY, level)) - GRAY
  # 196608 samples: the sample variance has a relative s.d. of sqrt(2/n) = 0.3 %.
  assert abs(d.var() / var - 1) < 0.02
  assert abs(d.mean()) < 4 * np.sqrt(var / d.size)


def _jfif_ycbcr(x):
  r, g, b = x[..., 0], x[..., 1], x[..., 2]
  y = 0.299 * r + 0.587 * g + 0.114 * b
  cb = 0.5 - 0.168736 * r - 0.331264 * g + 0.5 * b
  cr = 0.5 + 0.5 * r - 0.418688 * g - 0.081312 * b
  return np.stack([y, cb, cr], -1).astype(np.float64)


@pytest.mark.parametrize("level,var", zip(KADID_LEVELS, (0.0001, 0.0005, 0.001, 0.002, 0.003)))
def test_white_noise_color_is_white_in_matlab_studio_ycbcr(level, var):
  # MATLAB's rgb2ycbcr is BT.601 studio swing, as scikit-image's (0..255 units).
  out = np.asarray(noise.white_noise_color(KEY, GRAY, level))
  d = ((skimage.color.rgb2ycbcr(out.astype(np.float64))
        - skimage.color.rgb2ycbcr(GRAY.astype(np.float64))) / 255).reshape(-1, 3)
  np.testing.assert_allclose(d.var(axis=0), var, rtol=0.02)
  corr = np.corrcoef(d.T)[np.triu_indices(3, 1)]
  assert np.all(np.abs(corr) < 0.02)   # independent components (1/sqrt(n) = 0.002)
  # In full-range (JFIF) YCbCr it is larger by (255/219)^2 on Y, (255/224)^2 on Cb, Cr.
  full = (_jfif_ycbcr(out) - _jfif_ycbcr(GRAY)).reshape(-1, 3).var(axis=0)
  np.testing.assert_allclose(full, var * np.array([255 / 219, 255 / 224, 255 / 224]) ** 2,
                             rtol=0.02)


@pytest.mark.parametrize("level,density", zip(KADID_LEVELS, (0.001, 0.005, 0.01, 0.02, 0.03)))
def test_impulse_noise_fraction_and_values(level, density):
  out = np.asarray(noise.impulse_noise(KEY, GRAY, level))
  changed = out != GRAY
  n = changed.size
  assert abs(changed.sum() - density * n) < 4 * np.sqrt(density * (1 - density) * n)
  assert set(np.unique(out[changed])) <= {0.0, 1.0}
  salt = (out[changed] == 1).mean()
  assert abs(salt - 0.5) < 4 * 0.5 / np.sqrt(changed.sum())


def test_impulse_noise_sets_grow_with_level():
  prev = np.zeros(GRAY.shape, bool)
  for level in np.linspace(0.05, 1.0, 12):
    changed = np.asarray(noise.impulse_noise(KEY, GRAY, level)) != GRAY
    assert np.all(changed[prev])
    prev = changed


@pytest.mark.parametrize("level,var", zip(KADID_LEVELS, (0.001, 0.005, 0.01, 0.02, 0.05)))
def test_multiplicative_noise_relative_variance(level, var):
  # Intensities 0.2 .. 0.6: clipping stays beyond 4 s.d. even at variance 0.05.
  x = np.broadcast_to(np.linspace(0.2, 0.6, 256, dtype=np.float32)[:, None, None],
                      (256, 256, 3)).copy()
  rel = (np.asarray(noise.multiplicative_noise(KEY, x, level)) - x) / x
  assert abs(rel.var() / var - 1) < 0.03
  # Multiplicative: the absolute spread grows with the intensity.
  d = np.asarray(noise.multiplicative_noise(KEY, x, level)) - x
  assert d[-32:].std() / d[:32].std() == pytest.approx(0.59 / 0.21, rel=0.1)


def _noisy_like_denoise(x, level):
  sigma = float(noise.kadid_param(level, noise.DENOISE_VARIANCES, 0.0)) ** 0.5
  n = np.asarray(jax.random.normal(KEY, x.shape, jnp.float32))
  return sigma, np.clip(x + sigma * n, 0.0, 1.0)


# Noise s.d. 0.1 and 0.17: beyond that (0.32, 0.39 at levels 0.8, 1.0) non-local
# means on a 5 x 5 window is no better than the best blur (measured: 17.8 vs 17.9 dB).
@pytest.mark.parametrize("level", (0.2, 0.4))
def test_denoise_beats_the_noise_and_a_gaussian_blur(level):
  x = _photo(128)
  sigma, noisy = _noisy_like_denoise(x, level)
  out = np.asarray(noise.denoise(KEY, x, level))
  assert _psnr(x, out) > _psnr(x, noisy) + 3.0
  # The best Gaussian blur of the same noisy image (by PSNR over a grid of widths)
  # loses more structure than non-local means, which keeps edges.
  blurs = [scipy.ndimage.gaussian_filter(noisy, (s, s, 0), mode="reflect")
           for s in np.linspace(0.3, 3.0, 28)]
  best = max(blurs, key=lambda b: _psnr(x, b))
  ssim = lambda b: skimage.metrics.structural_similarity(
      x, b, channel_axis=-1, data_range=1.0)
  assert _psnr(x, out) > _psnr(x, best)
  assert ssim(out) > ssim(best) + 0.01


@pytest.mark.parametrize("level", (0.2, 0.6, 1.0))
def test_denoise_is_non_local_means_like_scikit_image(level):
  x = _photo(96)
  sigma, noisy = _noisy_like_denoise(x, level)
  ref = skimage.restoration.denoise_nl_means(
      noisy, patch_size=3, patch_distance=2, h=sigma, sigma=sigma, fast_mode=True,
      channel_axis=-1)
  out = np.asarray(noise.denoise(KEY, x, level))
  # Same algorithm, different noise-variance bookkeeping and border handling.
  assert _psnr(np.clip(ref, 0, 1), out) > 33.0
  assert _psnr(np.clip(ref, 0, 1), out) > _psnr(ref, noisy) + 3.0


def test_denoise_severity_increases():
  x = _photo(96)
  psnrs = [_psnr(x, noise.denoise(KEY, x, lv)) for lv in KADID_LEVELS]
  assert np.all(np.diff(psnrs) < 0)


def test_bad_image_raises():
  with pytest.raises(ValueError, match="image"):
    noise.white_noise(KEY, np.zeros((8, 8)), 0.5)
  with pytest.raises(ValueError, match="^image: .*uint8"):
    noise.denoise(KEY, np.zeros((8, 8, 3), np.int32), 0.5)


def test_uint8_image_is_the_float_image_over_255():
  u8 = (np.arange(12 * 12 * 3) % 256).astype(np.uint8).reshape(12, 12, 3)
  np.testing.assert_allclose(noise.white_noise(KEY, u8, 0.6),
                             noise.white_noise(KEY, u8.astype(np.float32) / 255, 0.6), atol=1e-6)

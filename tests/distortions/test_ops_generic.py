"""Generic properties of every op of the table, on bundled photographs.

For each type: jit+vmap over a batch equals a loop of single calls; level 0 is
the identity; outputs keep shape and dtype and stay in [0, 1]; the mean PSNR
to the reference (computed here with numpy) falls strictly as the level rises
over KADID's 0.2 ... 1.0 (both signs for signed-level types); gradients with
respect to the image are finite (and not all zero) where ``differentiable``;
the table's level parameters are KADID-10k's (from the generator script's
values collected in /work/shared/kadid-distortions.md); a concrete NaN or
out-of-range level is a ValueError, a traced NaN level gives an all-NaN image.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jiqa import distortions, images

LEVELS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
PHOTOS = ("astronaut", "chelsea", "coffee")
# Ops whose compilation alone takes minutes on 2 CPU cores run only with -m slow.
SLOW_OPS = ("jpeg2000",)


def _params(names):
  return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_OPS else n for n in names]


# KADID-10k's L1..L5 (imdist_generator.m), independent of the op modules.
KADID_PARAMS = {
    "gaussian_blur": (0.1, 0.5, 1, 2, 5), "lens_blur": (1, 2, 4, 6, 8),
    "motion_blur": (1, 2, 4, 6, 10), "color_diffusion": (1, 3, 6, 8, 12),
    "color_shift": (1, 3, 6, 8, 12), "color_quantization": (64, 48, 32, 16, 8),
    "color_saturation_hsv": (0.4, 0.2, 0.1, 0, -0.4), "color_saturation_lab": (1, 2, 3, 6, 9),
    "jpeg2000": (16, 32, 45, 120, 400), "jpeg": (43, 36, 24, 7, 4),
    "white_noise": (0.001, 0.002, 0.003, 0.005, 0.01),
    "white_noise_color": (0.0001, 0.0005, 0.001, 0.002, 0.003),
    "impulse_noise": (0.001, 0.005, 0.01, 0.02, 0.03),
    "multiplicative_noise": (0.001, 0.005, 0.01, 0.02, 0.05),
    "denoise": (0.01, 0.03, 0.05, 0.1, 0.15), "brighten": (0.1, 0.2, 0.4, 0.7, 1.1),
    "darken": (0.05, 0.1, 0.2, 0.4, 0.8), "mean_shift": (0.15, 0.08, 0, -0.08, -0.15),
    "jitter": (0.05, 0.1, 0.2, 0.5, 1), "non_eccentricity_patch": (20, 40, 60, 80, 100),
    "pixelate": (0.01, 0.05, 0.1, 0.2, 0.5), "quantization": (20, 16, 13, 10, 7),
    "color_block": (2, 4, 6, 8, 10), "high_sharpen": (1, 2, 3, 6, 12),
    "contrast_change": (0.3, 0.15, 0, -0.4, -0.6),
}


def _crop(img, size=128):
  # 2x2 box downsampling keeps more of the scene in the crop, then a centre crop.
  h, w = (img.shape[0] // 2) * 2, (img.shape[1] // 2) * 2
  small = img[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean((1, 3))
  top, left = (small.shape[0] - size) // 2, (small.shape[1] - size) // 2
  return small[top:top + size, left:left + size].astype(np.float32)


@pytest.fixture(scope="module")
def photos():
  return np.stack([_crop(v) for v in images.bundled_images(PHOTOS).values()])


def _psnr(a, b):
  mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2, axis=(-3, -2, -1))
  return 10 * np.log10(1.0 / np.maximum(mse, 1e-12))


def _batch(photos, sign=1.0):
  """Every photo at every level, then one more image at a NaN level (last)."""
  imgs = np.concatenate([np.repeat(photos, len(LEVELS), axis=0), photos[:1]])
  levels = np.r_[np.tile(np.asarray(LEVELS, np.float32) * sign, len(photos)), np.nan]
  keys = jax.random.split(jax.random.key(7), len(imgs))
  return keys, jnp.asarray(imgs), jnp.asarray(levels, jnp.float32)


@pytest.mark.parametrize("name", _params(distortions.names()))
def test_op_batched_identity_range_monotone(name, photos):
  spec = distortions.get(name)
  batched = jax.jit(jax.vmap(spec.fn))
  signs = (1.0, -1.0) if spec.signed_level else (1.0,)
  for sign in signs:
    keys, imgs, levels = _batch(photos, sign)
    out = np.asarray(batched(keys, imgs, levels))
    assert out.shape == imgs.shape and out.dtype == np.float32
    # A traced NaN level cannot be checked: every op answers it with an all-NaN image.
    assert np.isnan(out[-1]).all(), f"{name}: NaN level gave {np.isnan(out[-1]).mean():.0%} NaN"
    out, imgs = out[:-1], imgs[:-1]
    assert np.all(np.isfinite(out)) and out.min() >= 0.0 and out.max() <= 1.0
    per = out.reshape(len(photos), len(LEVELS), *imgs.shape[1:])
    ref = np.asarray(photos)
    # Level 0 is the identity.
    np.testing.assert_allclose(per[:, 0], ref, atol=1e-6, err_msg=f"{name}: level 0")
    # Mean PSNR over the photos falls strictly from L1 to L5. Pixelate's is
    # dominated by the misalignment of MATLAB's nearest resize (about the same
    # at L2-L4; KADID's own cell PSNR is 24.59, 24.89, 24.21 dB there): only L1
    # above and L5 below the others.
    psnr = np.stack([_psnr(per[:, j], ref) for j in range(1, len(LEVELS))], axis=1).mean(0)
    if name == "pixelate":
      assert psnr[0] > psnr[1:].max() and psnr[-1] < psnr[:-1].min(), f"{name}: {psnr}"
    else:
      assert np.all(np.diff(psnr) < 0), f"{name} (sign {sign}): mean PSNR by level {psnr}"
    assert np.isfinite(psnr[0]), f"{name}: L1 is still the identity"
  # jit+vmap equals a loop of single (jitted) calls, with per-image keys.
  single = jax.jit(spec.fn)
  for i in (2, 9, 17):
    np.testing.assert_allclose(out[i], np.asarray(single(keys[i], imgs[i], levels[i])),
                               atol=2e-5, err_msg=f"{name}: batch {i} vs single call")


@pytest.mark.parametrize("name", _params(n for n in distortions.names()
                                          if distortions.get(n).differentiable))
def test_op_gradients_finite(name, photos):
  spec = distortions.get(name)
  img = jnp.asarray(photos[0, 32:96, 32:96])
  weights = jax.random.uniform(jax.random.key(1), img.shape)
  level = -0.6 if spec.signed_level else 0.6

  def loss(x):
    return jnp.sum(spec.fn(jax.random.key(3), x, jnp.float32(level)) * weights)

  grad = np.asarray(jax.jit(jax.grad(loss))(img))
  assert np.all(np.isfinite(grad)), f"{name}: non-finite gradient"
  assert np.abs(grad).max() > 0, f"{name}: gradient identically zero"


@pytest.mark.parametrize("name", distortions.names())
def test_kadid_parameters(name):
  spec = distortions.get(name)
  np.testing.assert_allclose(spec.kadid_params, KADID_PARAMS[name], rtol=1e-9)
  at_levels = distortions.kadid_param(jnp.asarray(distortions.KADID_LEVELS), spec.kadid_params,
                                      spec.identity_param)
  np.testing.assert_allclose(at_levels, KADID_PARAMS[name], rtol=1e-6)
  assert spec.kadid_index == distortions.names().index(name) + 1


def test_table_order_groups_and_directions():
  assert distortions.names() == tuple(KADID_PARAMS)
  signed = distortions.signed_types()
  expected_signed = {"gaussian_blur", "lens_blur", "pixelate", "high_sharpen", "brighten",
                     "darken", "mean_shift", "contrast_change", "color_saturation_hsv",
                     "color_saturation_lab"}
  assert {n for n, s in zip(distortions.names(), signed) if s} == expected_signed
  assert distortions.get("darken").direction == -1 and distortions.get("brighten").direction == 1
  assert distortions.get("mean_shift").signed_level and distortions.get("contrast_change").signed_level
  with pytest.raises(ValueError, match="unknown distortion"):
    distortions.get("nope")


def test_apply_matches_spec_and_rejects_bad_shapes(photos):
  key = jax.random.key(0)
  out = distortions.apply("gaussian_blur", key, photos[0], 0.6)
  np.testing.assert_allclose(out, distortions.get("gaussian_blur").fn(key, jnp.asarray(photos[0]),
                                                                       jnp.float32(0.6)), atol=1e-6)
  with pytest.raises(ValueError, match="image"):
    distortions.apply("gaussian_blur", key, photos, 0.6)


def test_apply_scales_uint8_as_the_float_image(photos):
  # One pixel rule (jiqa.images.as_float_images): uint8 is x / 255, the same op output.
  key = jax.random.key(0)
  u8 = np.round(photos[0] * 255).astype(np.uint8)
  for name in ("gaussian_blur", "jpeg"):
    got = distortions.apply(name, key, u8, 0.6)
    want = distortions.apply(name, key, u8.astype(np.float32) / 255.0, 0.6)
    np.testing.assert_allclose(got, want, atol=2e-6, err_msg=name)
    assert float(np.abs(np.asarray(got) - u8 / 255.0).mean()) < 0.1   # not all 1.0
  with pytest.raises(ValueError, match="^image: .*uint8"):
    distortions.apply("gaussian_blur", key, u8.astype(np.int64), 0.6)


@pytest.mark.parametrize("name", distortions.names())
def test_concrete_nan_or_out_of_range_level_is_rejected_before_any_work(name, photos):
  spec = distortions.get(name)
  lo = -1 if spec.signed_level else 0
  img = photos[0, :16, :16]
  for bad in (float("nan"), float("inf"), 1.5, lo - 0.25):
    with pytest.raises(ValueError, match=rf"^level: .*\[{lo}, 1\]"):
      distortions.apply(name, jax.random.key(0), img, bad)
  if not spec.signed_level:   # a negative level is the signed ops' other direction only
    with pytest.raises(ValueError, match=r"^level: .*\[0, 1\]"):
      spec.fn(jax.random.key(0), img, -0.5)


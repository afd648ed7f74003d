"""JPEG2000 (KADID type 9) against Pillow/OpenJPEG on the bundled photos."""

import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jiqa import images
from jiqa.distortions import jpeg2000 as j2k

CROP = 256
MAX_PSNR_GAP_DB = 1.5
# Compiled once per module (eager dispatch of the lifting steps is slow).
_OP = jax.jit(j2k.jpeg2000)
_CODEC = jax.jit(j2k.jpeg2000_compress_decompress)


def _round_trip(x, levels):
  return np.asarray(j2k.cdf97_inverse(j2k.cdf97_forward(x, levels), levels))


def _crops():
  out = {}
  for name, img in images.bundled_images(images.COLOR_PHOTOS).items():
    u8 = np.round(img * 255).astype(np.uint8)
    h, w = u8.shape[:2]
    y, x = (h - CROP) // 2, (w - CROP) // 2
    out[name] = u8[y:y + CROP, x:x + CROP]
  return out


def _psnr(a, b):
  return 10 * np.log10(1.0 / np.mean((np.float64(a) - np.float64(b)) ** 2))


def _openjpeg(u8, ratio):
  # Pillow's "rates" are OpenJPEG's tcp_rates: uncompressed size / coded size.
  # irreversible=True, mct=1: the 9/7 wavelet and the ICT, as jiqa (and MATLAB's lossy JP2).
  buf = io.BytesIO()
  Image.fromarray(u8).save(buf, "JPEG2000", quality_mode="rates", quality_layers=[ratio],
                           irreversible=True, mct=1)
  size = len(buf.getvalue())
  buf.seek(0)
  return np.asarray(Image.open(buf).convert("RGB"), np.float64) / 255, size


def test_psnr_tracks_openjpeg_per_photo():
  fn = _CODEC
  rows, failures = [], []
  for name, u8 in _crops().items():
    ref = u8 / 255.0
    row = []
    for ratio in j2k.KADID_RATIOS:
      decoded, size = _openjpeg(u8, ratio)
      assert abs(size - u8.size / ratio) < 0.1 * u8.size / ratio  # the rate semantics
      p_ref = _psnr(decoded, ref)
      p_ours = _psnr(np.asarray(fn(jnp.asarray(ref, jnp.float32), jnp.float32(ratio))), ref)
      row.append((p_ref, p_ours))
      if abs(p_ours - p_ref) > MAX_PSNR_GAP_DB:
        failures.append((name, ratio, p_ref, p_ours))
    rows.append((name, row))
  print("\nPSNR to reference (dB), OpenJPEG / jiqa, ratios", j2k.KADID_RATIOS)
  for name, row in rows:
    print(f"  {name:22s}" + " ".join(f"{a:6.2f}/{b:6.2f}" for a, b in row))
  assert not failures, failures


def test_wavelet_perfect_reconstruction_odd_sizes():
  x = np.random.default_rng(0).random((13, 18, 3)).astype(np.float32)
  for levels in (1, 2, 3):
    np.testing.assert_allclose(_round_trip(x, levels), x,
                               atol=1e-5)
  # Low-pass DC gain 1: a constant image has only its DC band.
  c = np.asarray(j2k.cdf97_forward(np.full((32, 32), 3.0, np.float32), 2))
  np.testing.assert_allclose(c[:8, :8], 3.0, atol=1e-5)
  np.testing.assert_allclose(c[8:], 0.0, atol=1e-5)


def test_kadid_levels_identity_and_monotone():
  img = jnp.asarray(_crops()["coffee"][:64, :64], jnp.float32) / 255
  key = jax.random.key(0)
  for level, ratio in zip((0.2, 0.4, 0.6, 0.8, 1.0), j2k.KADID_RATIOS):
    np.testing.assert_allclose(_OP(key, img, jnp.float32(level)), _CODEC(img, jnp.float32(ratio)),
                               atol=2e-5)
  np.testing.assert_allclose(_OP(key, img, jnp.float32(0.0)), img, atol=1e-6)
  spec = j2k.SPECS[0]
  assert spec.name == "jpeg2000" and spec.kadid_index == 9
  assert spec.kadid_params == (16.0, 32.0, 45.0, 120.0, 400.0)
  psnrs = [_psnr(_OP(key, img, jnp.float32(lv)), img) for lv in (0.1, 0.2, 0.6, 1.0)]
  assert all(a > b for a, b in zip(psnrs, psnrs[1:])), psnrs


def test_jit_vmap_matches_loop_and_gradients_are_finite():
  crops = _crops()
  batch = jnp.stack([jnp.asarray(crops[n][:64, :64], jnp.float32) / 255
                     for n in ("astronaut", "rocket", "retina")])
  keys = jax.random.split(jax.random.key(1), 3)
  levels = jnp.array([0.1, 0.5, 0.95])
  out = jax.jit(jax.vmap(j2k.jpeg2000))(keys, batch, levels)
  for i in range(3):
    np.testing.assert_allclose(out[i], _OP(keys[i], batch[i], levels[i]), atol=1e-4)
  assert float(out.min()) >= 0 and float(out.max()) <= 1
  grad = jax.jit(jax.grad(lambda x: jnp.sum(j2k.jpeg2000(keys[0], x, 0.7) ** 2)))(batch[0])
  assert bool(jnp.all(jnp.isfinite(grad))) and float(jnp.abs(grad).mean()) > 1e-3


def test_bad_shape_raises():
  with pytest.raises(ValueError, match="image"):
    j2k.jpeg2000_compress_decompress(jnp.zeros((4, 4, 3)), 16.0)


def _bisection(magnitude, neighbours, target):
  """The rate search as plain bisection of 10 steps on [0, 12] (the reference)."""
  lo, hi = 0.0, 12.0
  for _ in range(10):
    mid = 0.5 * (lo + hi)
    if float(j2k._bits(magnitude, neighbours, jnp.float32(mid))) > float(target):
      lo = mid
    else:
      hi = mid
  return 0.5 * (lo + hi)


def test_rate_search_finds_the_step_bisection_finds():
  search = jax.jit(j2k.rate_step)
  photos = list(images.bundled_images(images.COLOR_PHOTOS).values())[:3]
  cases = [np.asarray(p[:96, :128], np.float32) for p in photos] + [
      np.full((32, 40, 3), 0.5, np.float32),
      np.random.default_rng(0).random((64, 48, 3)).astype(np.float32)]
  for image in cases:
    h, w, _ = image.shape
    levels = j2k.num_levels(h, w)
    ycc = (np.asarray(j2k.colorspace.rgb_to_ycbcr(jnp.asarray(image))) - 0.5) * 255.0
    coeffs = jnp.stack([j2k.cdf97_forward(ycc[..., c], levels) for c in range(3)], axis=-1)
    weight = j2k._band_norms(h, w, levels)[..., None] * j2k._NORM_COMPONENT
    magnitude = jnp.abs(coeffs) * weight
    neighbours = j2k._neighbour_max(magnitude)
    for ratio in (1.5, 16.0, 45.0, 400.0):
      total = 24.0 * h * w / ratio
      target = jnp.float32(max(total - j2k.RATE_MODEL[3], j2k._MIN_PAYLOAD * total))
      assert float(search(magnitude, neighbours, target)) == _bisection(magnitude, neighbours,
                                                                         target), (h, w, ratio)

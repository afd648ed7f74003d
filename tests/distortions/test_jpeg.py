"""JPEG (KADID type 10) against Pillow's libjpeg encoder/decoder on the bundled photos."""

import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jiqa import images
from jiqa.distortions import jpeg as jpeg_lib

CROP = 256
_OP = jax.jit(jpeg_lib.jpeg)
_CODEC = jax.jit(jpeg_lib.jpeg_compress_decompress)
# Required PSNR (dB) between jiqa's output and Pillow's decoded JPEG, per KADID quality.
MIN_PSNR = {43: 32.0, 36: 32.0, 24: 32.0, 7: 28.0, 4: 28.0}


def _photos_uint8():
  """Centre crops (CROP x CROP) of the bundled colour photos, uint8, plus one odd-sized crop."""
  out = {}
  for name, img in images.bundled_images(images.COLOR_PHOTOS).items():
    u8 = np.round(img * 255).astype(np.uint8)
    h, w = u8.shape[:2]
    y, x = (h - CROP) // 2, (w - CROP) // 2
    out[name] = u8[y:y + CROP, x:x + CROP]
  # A size that is not a multiple of 16 (nor even) exercises padding and edge upsampling.
  out["astronaut_odd"] = np.round(
      images.bundled_images(["astronaut"])["astronaut"][100:301, 50:287] * 255).astype(np.uint8)
  return out


def _pillow_jpeg(u8, quality):
  buf = io.BytesIO()
  Image.fromarray(u8).save(buf, "JPEG", quality=quality, subsampling=2)
  buf.seek(0)
  return Image.open(buf)


def _psnr(a, b):
  return 10 * np.log10(1.0 / np.mean((np.float64(a) - np.float64(b)) ** 2))


def test_psnr_to_pillow_decode_on_bundled_photos():
  fn = _CODEC
  rows, failures = [], []
  for name, u8 in _photos_uint8().items():
    row = []
    for q in jpeg_lib.KADID_QUALITIES:
      ref = np.asarray(_pillow_jpeg(u8, int(q)).convert("RGB"), np.float64) / 255
      out = np.asarray(fn(jnp.asarray(u8, jnp.float32) / 255, q))
      p = _psnr(out, ref)
      row.append(p)
      if p < MIN_PSNR[int(q)]:
        failures.append((name, q, p))
    rows.append((name, u8.shape, row))
  print("\nPSNR (dB) of jiqa JPEG vs Pillow decode, qualities", jpeg_lib.KADID_QUALITIES)
  for name, shape, row in rows:
    print(f"  {name:22s} {str(shape):16s}" + " ".join(f"{p:6.2f}" for p in row))
  assert not failures, failures


@pytest.mark.parametrize("quality", [43, 36, 24, 7, 4, 50, 75, 95, 1, 100])
def test_quant_tables_equal_pillows(quality):
  tables = _pillow_jpeg(np.zeros((16, 16, 3), np.uint8), quality).quantization
  # Pillow returns the tables in zigzag order; the scan order is T.81 Figure A.6.
  zigzag = np.array([
      0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48,
      41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15,
      23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63])
  ours = np.asarray(jpeg_lib.quant_tables(float(quality))).reshape(2, 64)
  for i in (0, 1):
    pillow = np.asarray(tables[i])
    natural = np.empty(64)
    natural[zigzag] = pillow
    # Pillow >= 8.3 returns natural order already; accept whichever matches the encoder's order.
    assert np.array_equal(ours[i], pillow) or np.array_equal(ours[i], natural), (i, pillow)


def test_quant_tables_are_continuous_in_quality():
  qs = jnp.linspace(4.0, 45.0, 4101)  # steps of 0.01
  tables = jax.vmap(jpeg_lib.quant_tables)(qs)
  integer = jax.vmap(jpeg_lib.quant_tables)(jnp.floor(qs))
  # libjpeg's integer tables jump by up to 48 between qualities 4 and 5; the
  # blended tables move by at most 0.48 per 0.01 of quality.
  assert float(jnp.abs(jnp.diff(integer, axis=0)).max()) >= 40
  assert float(jnp.abs(jnp.diff(tables, axis=0)).max()) <= 0.5


def test_kadid_levels_and_identity():
  img = jnp.asarray(_photos_uint8()["coffee"][:64, :64], jnp.float32) / 255
  key = jax.random.key(0)
  for level, q in zip((0.2, 0.4, 0.6, 0.8, 1.0), jpeg_lib.KADID_QUALITIES):
    np.testing.assert_allclose(_OP(key, img, level), _CODEC(img, q), atol=1e-6)
  np.testing.assert_allclose(_OP(key, img, 0.0), img, atol=1e-6)
  assert jpeg_lib.SPECS[0].kadid_params == (43.0, 36.0, 24.0, 7.0, 4.0)
  assert jpeg_lib.SPECS[0].name == "jpeg" and jpeg_lib.SPECS[0].kadid_index == 10
  # Severity grows with level: PSNR to the input falls.
  psnrs = [_psnr(_OP(key, img, lv), img) for lv in (0.1, 0.2, 0.6, 1.0)]
  assert all(a > b for a, b in zip(psnrs, psnrs[1:])), psnrs


def test_jit_vmap_matches_loop_and_gradients_are_finite():
  u8 = _photos_uint8()
  batch = jnp.stack([jnp.asarray(u8[n][:48, :40], jnp.float32) / 255
                     for n in ("astronaut", "rocket", "retina")])
  keys = jax.random.split(jax.random.key(1), 3)
  levels = jnp.array([0.1, 0.5, 0.95])
  out = jax.jit(jax.vmap(jpeg_lib.jpeg))(keys, batch, levels)
  for i in range(3):
    np.testing.assert_allclose(out[i], _OP(keys[i], batch[i], levels[i]), atol=1e-5)
  assert out.shape == batch.shape and float(out.min()) >= 0 and float(out.max()) <= 1
  grad = jax.jit(jax.grad(lambda x: jnp.sum(jpeg_lib.jpeg(keys[0], x, 0.7) ** 2)))(batch[0])
  assert bool(jnp.all(jnp.isfinite(grad))) and float(jnp.abs(grad).mean()) > 1e-3


def test_bad_shape_raises():
  with pytest.raises(ValueError, match="image"):
    jpeg_lib.jpeg_compress_decompress(jnp.zeros((8, 8)), 50.0)

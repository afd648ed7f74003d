"""Image pool and on-device crops."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jiqa.training import data


def test_pool_split_holds_out_named_images():
  pool = data.load_pool(pool_size=40, holdout=("chelsea",), names=("astronaut", "chelsea",
                                                                   "camera"))
  assert pool.train_names == ("astronaut", "camera")
  assert pool.heldout_names == ("chelsea",)
  assert pool.train.shape == (2, 40, 40, 3) and pool.heldout.shape == (1, 40, 40, 3)
  assert pool.train.dtype == np.float32
  assert 0.0 <= pool.train.min() and pool.train.max() <= 1.0


def test_pool_rejects_bad_holdout():
  with pytest.raises(ValueError, match="holdout"):
    data.load_pool(pool_size=16, holdout=("nope",), names=("camera",))
  with pytest.raises(ValueError, match="holdout"):
    data.load_pool(pool_size=16, holdout=1, names=("camera",))


def test_folder_pool(tmp_path):
  from PIL import Image
  rng = np.random.default_rng(0)
  for i in range(3):
    Image.fromarray(rng.integers(0, 255, (30 + i, 50, 3), np.uint8)).save(tmp_path / f"{i}.png")
  pool = data.load_pool(pool_size=24, holdout=1, folder=str(tmp_path))
  assert pool.train_names == ("0.png", "1.png") and pool.heldout_names == ("2.png",)


def test_square_resize_matches_pil_on_smooth_image():
  from PIL import Image
  y, x = np.mgrid[0:64, 0:96].astype(np.float32)
  img = np.stack([x / 95, y / 63, (x + y) / 158], -1).astype(np.float32)
  out = data.square_resize(img, 32)
  ref = np.asarray(Image.fromarray((img * 255).round().astype(np.uint8)).resize(
      (48, 32), Image.BILINEAR))[:, 8:40] / 255.0
  np.testing.assert_allclose(out, ref, atol=0.03)


def test_crops_are_windows_of_pool_images():
  pool = np.random.default_rng(1).random((3, 12, 12, 3)).astype(np.float32)
  crops = np.asarray(data.random_crops(jax.random.key(0), jnp.asarray(pool), 16, crop_size=5))
  for c in crops:
    found = any(np.array_equal(c, p[y:y + 5, x:x + 5]) or np.array_equal(c, p[y:y + 5, x:x + 5][:, ::-1])
                for p in pool for y in range(8) for x in range(8))
    assert found


def test_example_keys_do_not_depend_on_batch_size():
  k = jax.random.key(3)
  small = jax.random.key_data(data.example_keys(k, 4))
  big = jax.random.key_data(data.example_keys(k, 8))
  np.testing.assert_array_equal(small, big[:4])


def test_crop_size_checked():
  with pytest.raises(ValueError, match="crop_size"):
    data.random_crop(jax.random.key(0), jnp.zeros((1, 8, 8, 3)), crop_size=9)

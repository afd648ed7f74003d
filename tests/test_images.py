"""Tests for jiqa.images against hand-computed conversions and Pillow round trips."""

import numpy as np
import pytest
from PIL import Image

from jiqa import images


def test_uint8_and_uint16_scale_by_dtype_max():
  u8 = np.array([[[0, 128, 255]]], np.uint8)
  np.testing.assert_allclose(images.to_float_rgb(u8)[0, 0], [0, 128 / 255, 1], rtol=1e-6)
  u16 = np.array([[[0, 32768, 65535]]], np.uint16)
  np.testing.assert_allclose(images.to_float_rgb(u16)[0, 0], [0, 32768 / 65535, 1], rtol=1e-6)


def test_gray_and_rgba_become_rgb():
  gray = np.arange(6, dtype=np.uint8).reshape(2, 3)
  out = images.to_float_rgb(gray)
  assert out.shape == (2, 3, 3) and out.dtype == np.float32
  np.testing.assert_array_equal(out[..., 0], out[..., 2])
  rgba = np.zeros((2, 2, 4), np.uint8)
  rgba[..., 1] = 255
  np.testing.assert_array_equal(images.to_float_rgb(rgba)[..., 1], 1.0)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 2, 2)), "shape"),
    (np.zeros((2, 2, 3, 1)), "shape"),
    (np.full((2, 2, 3), 2.0), r"\[0, 1\]"),
    (np.full((2, 2, 3), np.nan), "NaN"),
    (np.zeros((0, 2, 3)), "empty"),
])
def test_bad_images_are_rejected_with_a_clear_error(bad, match):
  with pytest.raises(ValueError, match=match):
    images.to_float_rgb(bad, name="img")


def test_load_folder_reads_pillow_files(tmp_path):
  rgb = (np.random.default_rng(0).random((8, 9, 3)) * 255).astype(np.uint8)
  Image.fromarray(rgb).save(tmp_path / "a.png")
  Image.fromarray(rgb[..., 0]).save(tmp_path / "b.png")
  (tmp_path / "notes.txt").write_text("not an image")
  out = images.load_folder(tmp_path)
  assert list(out) == ["a.png", "b.png"]
  np.testing.assert_allclose(out["a.png"], rgb / 255, atol=1e-6)
  assert out["b.png"].shape == (8, 9, 3)
  with pytest.raises(ValueError, match="min_size"):
    images.load_folder(tmp_path, min_size=10)


def test_empty_folder_is_an_error(tmp_path):
  with pytest.raises(ValueError, match="no image files"):
    images.load_folder(tmp_path)


def test_bundled_images_are_float_rgb():
  imgs = images.bundled_images(["astronaut", "camera"])
  for img in imgs.values():
    assert img.dtype == np.float32 and img.ndim == 3 and img.shape[-1] == 3
    assert 0.0 <= img.min() and img.max() <= 1.0

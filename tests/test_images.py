"""Tests for jiqa.images: the one pixel rule, against numpy by hand, and file loading
against PNG files written here byte by byte (zlib + struct) and Pillow."""

import io
import struct
import warnings
import zlib

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from jiqa import images

_SETTINGS = settings(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])


def write_png(path, arr: np.ndarray) -> None:
  """A PNG by the specification (IHDR, one zlib IDAT, filter 0 rows, IEND), no library.

  ``arr`` is uint8 or uint16, ``(H, W)`` grey, ``(H, W, 2)`` grey + alpha,
  ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA.
  """
  h, w = arr.shape[:2]
  planes = 1 if arr.ndim == 2 else arr.shape[2]
  color_type = {1: 0, 2: 4, 3: 2, 4: 6}[planes]
  depth = 16 if arr.dtype == np.uint16 else 8
  raw = b"".join(b"\x00" + arr[i].astype(">u2" if depth == 16 else "u1").tobytes()
                 for i in range(h))

  def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

  ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0)
  with open(path, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def _expected_rgb(arr: np.ndarray) -> np.ndarray:
  """By hand: divide by the type's maximum, grey to RGB, alpha dropped."""
  scale = 255.0 if arr.dtype == np.uint8 else 65535.0
  x = arr.astype(np.float64) / scale
  if x.ndim == 2:
    x = x[..., None]
  x = x[..., :1] if x.shape[-1] <= 2 else x[..., :3]
  return np.broadcast_to(x, x.shape[:2] + (3,))


# --- the pixel rule -------------------------------------------------------------------------

def test_uint8_and_uint16_scale_by_dtype_max():
  u8 = np.array([[[0, 128, 255]]], np.uint8)
  np.testing.assert_allclose(images.to_float_rgb(u8)[0, 0], [0, 128 / 255, 1], rtol=1e-6)
  u16 = np.array([[[0, 32768, 65535]]], np.uint16)
  np.testing.assert_allclose(images.to_float_rgb(u16)[0, 0], [0, 32768 / 65535, 1], rtol=1e-6)


def test_gray_la_and_rgba_become_rgb():
  gray = np.arange(6, dtype=np.uint8).reshape(2, 3)
  out = images.to_float_rgb(gray)
  assert out.shape == (2, 3, 3) and out.dtype == np.float32
  np.testing.assert_array_equal(out[..., 0], out[..., 2])
  rgba = np.zeros((2, 2, 4), np.uint8)
  rgba[..., 1] = 255
  np.testing.assert_array_equal(images.to_float_rgb(rgba)[..., 1], 1.0)
  la = np.stack([gray, np.full_like(gray, 7)], -1)
  np.testing.assert_allclose(images.to_float_rgb(la), np.repeat(gray[..., None] / 255, 3, -1),
                             rtol=1e-6)


@pytest.mark.parametrize("bad", [
    np.full((4, 4, 3), 200, np.int64), [[0, 255], [255, 0]], np.ones((2, 2, 3), bool),
    np.zeros((2, 2, 3), np.int32), np.zeros((2, 2, 3), np.int8), np.zeros((2, 2, 3), np.uint32),
], ids=["int64", "int-list", "bool", "int32", "int8", "uint32"])
def test_other_integer_types_are_rejected_everywhere(bad):
  with pytest.raises(ValueError, match=r"^img: .*uint8"):
    images.to_float_rgb(bad, name="img")
  if np.asarray(bad).ndim == 3:
    with pytest.raises(ValueError, match=r"^img: .*uint8"):
      images.as_float_images(bad, name="img")


@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 2, 5)), "shape"),
    (np.zeros((2, 2, 3, 1)), "shape"),
    (np.full((2, 2, 3), 2.0), r"\[0, 1\]"),
    (np.full((2, 2, 3), 255.0), "divide by 255"),
    (np.full((2, 2, 3), np.nan), "NaN"),
    (np.zeros((0, 2, 3)), "empty"),
])
def test_bad_images_are_rejected_with_a_clear_error(bad, match):
  with pytest.raises(ValueError, match=match):
    images.to_float_rgb(bad, name="img")


@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 2)), r"\(H, W, 3\)"), (np.zeros((2, 2, 4)), "shape"),
    (np.zeros((0, 8, 8, 3)), "batch is empty"), (np.zeros((3, 0, 3)), ">= 1"),
    (np.full((2, 2, 3), np.inf), "NaN or infinite"), (jnp.full((2, 2, 3), -0.5), r"\[0, 1\]"),
])
def test_as_float_images_rejects_before_any_work(bad, match):
  with pytest.raises(ValueError, match="^x: .*" + match):
    images.as_float_images(bad, name="x")


def test_as_float_images_scales_integers_under_jit_and_skips_values_of_tracers():
  u8 = np.random.default_rng(0).integers(0, 256, (2, 5, 6, 3)).astype(np.uint8)
  got = jax.jit(lambda x: images.as_float_images(x))(u8)
  np.testing.assert_allclose(got, u8 / 255.0, rtol=1e-6)
  assert got.dtype == jnp.float32
  u16 = (u8.astype(np.uint16) * 257)
  np.testing.assert_allclose(images.as_float_images(u16), u16 / 65535.0, rtol=1e-6)
  # Values of a tracer are unknown: no check, no error (NaN flows through).
  out = jax.jit(lambda x: images.as_float_images(x))(jnp.full((2, 2, 3), jnp.nan))
  assert bool(jnp.isnan(out).all())
  with pytest.raises(ValueError, match="uint8"):
    jax.jit(lambda x: images.as_float_images(x))(u8.astype(np.int32))


@_SETTINGS
@given(data=st.data())
def test_to_float_rgb_matches_numpy_by_hand(data):
  dtype = data.draw(st.sampled_from([np.uint8, np.uint16, np.float32, np.float64]))
  channels = data.draw(st.sampled_from([None, 1, 2, 3, 4]))
  h, w = data.draw(st.integers(1, 12)), data.draw(st.integers(1, 12))
  shape = (h, w) if channels is None else (h, w, channels)
  if np.issubdtype(dtype, np.floating):
    elements = st.floats(0, 1, width=32)
  else:
    elements = st.integers(0, np.iinfo(dtype).max)
  arr = data.draw(hnp.arrays(dtype, shape, elements=elements))
  out = images.to_float_rgb(arr)
  assert out.shape == (h, w, 3) and out.dtype == np.float32
  if np.issubdtype(dtype, np.floating):
    x = arr.astype(np.float64)
    x = x[..., None] if x.ndim == 2 else x
    want = np.broadcast_to(x[..., :1] if x.shape[-1] <= 2 else x[..., :3], (h, w, 3))
  else:
    want = _expected_rgb(arr)
  np.testing.assert_allclose(out, want, rtol=1e-6, atol=0)


@_SETTINGS
@given(data=st.data())
def test_to_float_rgb_rejects_every_other_type_with_the_name(data):
  dtype = data.draw(st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint32,
                                     np.uint64, np.bool_, np.complex64]))
  arr = data.draw(hnp.arrays(dtype, (data.draw(st.integers(1, 5)), 3, 3)))
  with pytest.raises(ValueError, match=r"^pic\.png: "):
    images.to_float_rgb(arr, name="pic.png")


# --- loading files --------------------------------------------------------------------------

_KINDS = st.sampled_from(["uint8", "uint16", "float"])
_PLANES = st.sampled_from([None, 2, 3, 4])   # grey, LA, RGB, RGBA


@_SETTINGS
@given(data=st.data())
def test_png_files_round_trip_to_the_expected_floats(tmp_path, data):
  kind, planes = data.draw(_KINDS), data.draw(_PLANES)
  h, w = data.draw(st.integers(1, 16)), data.draw(st.integers(1, 16))
  shape = (h, w) if planes is None else (h, w, planes)
  rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
  if kind == "float":   # floats are stored as 16-bit: expect them to 1/2 of 1/65535
    x = rng.random(shape)
    arr = np.round(x * 65535).astype(np.uint16)
  else:
    arr = rng.integers(0, np.iinfo(kind).max + 1, shape, dtype=np.int64).astype(kind)
  path = tmp_path / f"img_{kind}_{planes}_{h}x{w}.png"
  write_png(path, arr)
  out = images.load_image(path)
  np.testing.assert_allclose(out, _expected_rgb(arr), rtol=1e-6, atol=0)
  if kind == "float":
    x = x[..., None] if x.ndim == 2 else x
    x = x[..., :1] if x.shape[-1] <= 2 else x[..., :3]
    np.testing.assert_allclose(out, np.broadcast_to(x, out.shape), atol=0.5 / 65535 + 1e-7)
  if kind == "uint8":   # and Pillow reads the same file to the same values
    pil = np.asarray(Image.open(path).convert("RGB")) / 255.0
    np.testing.assert_allclose(out, pil, rtol=1e-6)


@_SETTINGS
@given(data=st.data())
def test_malformed_files_end_in_a_value_error_naming_the_file(tmp_path, data):
  arr = np.random.default_rng(data.draw(st.integers(0, 99))).integers(
      0, 256, (6, 7, 3)).astype(data.draw(st.sampled_from([np.uint8, np.uint16])))
  path = tmp_path / "broken.png"
  write_png(path, arr)
  good = path.read_bytes()
  how = data.draw(st.sampled_from(["truncate", "flip", "junk"]))
  if how == "truncate":
    # Cut inside the image data (before the IDAT chunk's CRC): the pixels are incomplete.
    cut = data.draw(st.integers(0, good.index(b"IEND") - 9))
    bad = good[:cut]
  elif how == "flip":
    at = data.draw(st.integers(33 + 8, good.index(b"IEND") - 9))   # inside the IDAT payload
    bad = good[:at] + bytes([good[at] ^ 0xFF]) + good[at + 1:]
  else:
    bad = b"\x89PNG\r\n\x1a\n" + data.draw(st.binary(max_size=64))
  path.write_bytes(bad)
  with pytest.raises(ValueError, match="broken.png"):
    images.load_image(path)


@_SETTINGS
@given(data=st.data())
def test_load_folder_keeps_exactly_the_good_files_and_names_every_other(tmp_path_factory, data):
  folder = tmp_path_factory.mktemp("folder")
  kinds = data.draw(st.lists(st.sampled_from(["good", "broken", "hidden", "text", "small"]),
                             max_size=6))
  rng = np.random.default_rng(data.draw(st.integers(0, 999)))
  want = {}
  for i, kind in enumerate(kinds):
    arr = rng.integers(0, 256, (6 if kind == "small" else 9, 9, 3)).astype(np.uint8)
    name = f"{i:02d}.png"
    if kind == "hidden":
      name = "._" + name
    if kind == "text":
      name = f"{i:02d}.txt"
    write_png(folder / name, arr)
    if kind == "broken":
      (folder / name).write_bytes((folder / name).read_bytes()[:40])
    if kind == "good":
      want[name] = arr / 255.0
  named = [f"{i:02d}.png" for i, k in enumerate(kinds) if k in ("broken", "small")]
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    if want:
      out = images.load_folder(folder, min_size=8)
    else:
      with pytest.raises(ValueError, match="no usable image files") as err:
        images.load_folder(folder, min_size=8)
      assert str(folder) in str(err.value)
      assert all(n in str(err.value) for n in named)
  if want:
    assert list(out) == sorted(want)
    for name, arr in want.items():
      np.testing.assert_allclose(out[name], arr, rtol=1e-6)
    messages = " ".join(str(w.message) for w in caught)
    assert all(n in messages for n in named) and "._" not in messages


def test_la_png_loads_with_alpha_dropped(tmp_path):
  grey = np.arange(20, dtype=np.uint8).reshape(4, 5) * 12
  la = np.stack([grey, 255 - grey], -1)
  Image.fromarray(la, mode="LA").save(tmp_path / "la.png")
  out = images.load_image(tmp_path / "la.png")
  np.testing.assert_allclose(out, np.repeat(grey[..., None], 3, -1) / 255.0, rtol=1e-6)


def test_sixteen_bit_pngs_keep_their_sixteen_bits(tmp_path):
  arr = np.array([[[1, 258, 65535], [65534, 0, 12345]]], np.uint16)   # differ below 8 bits
  write_png(tmp_path / "rgb16.png", arr)
  np.testing.assert_allclose(images.load_image(tmp_path / "rgb16.png"), arr / 65535.0, rtol=1e-6)
  write_png(tmp_path / "grey16.png", arr[..., 1])
  np.testing.assert_allclose(images.load_image(tmp_path / "grey16.png")[..., 0],
                             arr[..., 1] / 65535.0, rtol=1e-6)


def _jpeg_bytes(seed=0, size=(24, 32)):
  rgb = (np.random.default_rng(seed).random(size + (3,)) * 255).astype(np.uint8)
  buf = io.BytesIO()
  Image.fromarray(rgb).save(buf, format="JPEG", quality=90)
  return buf.getvalue()


def test_load_folder_skips_hidden_and_broken_files_with_a_warning(tmp_path):
  rgb = (np.random.default_rng(0).random((8, 9, 3)) * 255).astype(np.uint8)
  Image.fromarray(rgb).save(tmp_path / "a.png")
  Image.fromarray(rgb[..., 0]).save(tmp_path / "b.png")
  (tmp_path / "notes.txt").write_text("not an image")
  (tmp_path / "._a.png").write_bytes(b"\x00\x05\x16\x07 macOS AppleDouble sidecar")
  (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
  (tmp_path / "c.jpg").write_bytes(_jpeg_bytes()[:300])   # truncated JPEG
  (tmp_path / "dir.png").mkdir()
  with pytest.warns(UserWarning, match=r"c\.jpg.*cannot be read"):
    out = images.load_folder(tmp_path)
  assert list(out) == ["a.png", "b.png"]
  np.testing.assert_allclose(out["a.png"], rgb / 255, atol=1e-6)
  assert out["b.png"].shape == (8, 9, 3)


def test_load_folder_rejects_small_images_naming_file_and_size(tmp_path):
  rgb = (np.random.default_rng(0).random((8, 9, 3)) * 255).astype(np.uint8)
  Image.fromarray(rgb).save(tmp_path / "a.png")
  Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "big.png")
  with pytest.warns(UserWarning, match=r"a\.png: the image is 8x9, smaller than min_size=10"):
    out = images.load_folder(tmp_path, min_size=10)
  assert list(out) == ["big.png"]
  with pytest.raises(ValueError, match=r"a\.png: the image is 8x9, smaller than min_size=10"):
    images.load_image(tmp_path / "a.png", min_size=10)


def test_folder_with_no_usable_image_names_the_folder_and_what_was_found(tmp_path):
  with pytest.raises(ValueError, match="no usable image files: found nothing"):
    images.load_folder(tmp_path)
  (tmp_path / "notes.txt").write_text("x")
  with pytest.raises(ValueError, match=r"found 1 entries \(notes\.txt\)"):
    images.load_folder(tmp_path)
  (tmp_path / "fake.png").write_text("not a png")
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    with pytest.raises(ValueError, match=r"fake\.png: cannot be read"):
      images.load_folder(tmp_path)
  with pytest.raises(ValueError, match="not a directory"):
    images.load_folder(tmp_path / "notes.txt")


def test_load_image_names_a_missing_file(tmp_path):
  with pytest.raises(ValueError, match=r"missing\.png: cannot be read"):
    images.load_image(tmp_path / "missing.png")


def test_bundled_images_are_float_rgb():
  imgs = images.bundled_images(["astronaut", "camera"])
  for img in imgs.values():
    assert img.dtype == np.float32 and img.ndim == 3 and img.shape[-1] == 3
    assert 0.0 <= img.min() and img.max() <= 1.0

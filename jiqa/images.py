"""The image convention of jiqa, and the one place that converts images to it.

Convention (stated once, used everywhere): an image is a ``float32`` array in
``[0, 1]``, channels last, RGB, shape ``(H, W, 3)``; batches are ``(N, H, W, 3)``.
Every other module of jiqa assumes this and does not convert.

:func:`to_float_rgb` converts what users have (``uint8``, ``uint16``, other
integer or float arrays, grayscale ``(H, W)`` or ``(H, W, 1)``, RGBA) or rejects
it with a ``ValueError`` that says what was expected. :func:`bundled_images`
gives the real photos that ship offline inside scikit-image's wheel, the
default data set of jiqa; :func:`load_folder` reads a folder of the user's
images with Pillow.

Example:
  >>> from jiqa import images
  >>> img = images.to_float_rgb(np.zeros((4, 5), np.uint8))
  >>> img.shape, img.dtype
  ((4, 5, 3), dtype('float32'))
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

# Images inside scikit-image's wheel that need no download (checked offline with
# scikit-image 0.25: `skin`, `lily` and others need pooch and are left out).
# The colour photographs come first; grayscale ones are replicated to RGB.
COLOR_PHOTOS: tuple[str, ...] = (
    "astronaut", "chelsea", "coffee", "rocket", "cat", "immunohistochemistry",
    "hubble_deep_field", "retina",
)
BUNDLED_NAMES: tuple[str, ...] = COLOR_PHOTOS + (
    "colorwheel", "logo", "camera", "brick", "grass", "gravel", "moon", "page",
    "text", "clock", "coins", "cell",
)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm")


def to_float_rgb(image, *, name: str = "image") -> np.ndarray:
  """Converts an image to jiqa's convention: float32 ``(H, W, 3)`` in ``[0, 1]``.

  Args:
    image: array-like of shape ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or
      ``(H, W, 4)``. Integer dtypes are scaled by their maximum (``uint8`` by
      255, ``uint16`` by 65535); floats must already lie in ``[0, 1]``; boolean
      images map to 0 and 1. Alpha is dropped (composited on nothing).
    name: the argument's name, used in error messages.

  Returns:
    A ``float32`` numpy array of shape ``(H, W, 3)``.

  Raises:
    ValueError: if the shape, dtype or value range does not fit, or the image
      contains NaN or infinity.

  Example:
    >>> to_float_rgb(np.full((2, 2, 4), 65535, np.uint16))[0, 0]
    array([1., 1., 1.], dtype=float32)
  """
  arr = np.asarray(image)
  if arr.ndim == 3 and arr.shape[-1] == 1:
    arr = arr[..., 0]
  if arr.ndim == 2:
    arr = np.repeat(arr[..., None], 3, axis=-1)
  if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
    raise ValueError(
        f"{name} must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) "
        f"(channels last); got shape {arr.shape}.")
  if arr.shape[0] < 1 or arr.shape[1] < 1:
    raise ValueError(f"{name} is empty: shape {arr.shape}.")
  arr = arr[..., :3]
  if arr.dtype == bool:
    return arr.astype(np.float32)
  if np.issubdtype(arr.dtype, np.integer):
    if arr.min() < 0:
      raise ValueError(f"{name} has negative integer values; expected unsigned pixel values.")
    scale = np.iinfo(arr.dtype).max
    return (arr.astype(np.float64) / scale).astype(np.float32)
  if not np.issubdtype(arr.dtype, np.floating):
    raise ValueError(f"{name} has dtype {arr.dtype}; expected an integer or float image.")
  if not np.all(np.isfinite(arr)):
    raise ValueError(f"{name} contains NaN or infinite values.")
  lo, hi = float(arr.min()), float(arr.max())
  if lo < -1e-6 or hi > 1 + 1e-6:
    raise ValueError(
        f"{name} is a float image with values in [{lo:.4g}, {hi:.4g}]; expected "
        "[0, 1] (divide 8-bit data by 255, or pass the uint8 array itself).")
  return np.clip(arr, 0.0, 1.0).astype(np.float32)


def bundled_images(names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
  """Returns the offline photos shipped with scikit-image, in jiqa's convention.

  Args:
    names: which of :data:`BUNDLED_NAMES` to load; all of them by default.

  Returns:
    A dict from name to float32 ``(H, W, 3)`` array, in the order asked.

  Example:
    >>> imgs = bundled_images(["astronaut"])
    >>> imgs["astronaut"].shape
    (512, 512, 3)
  """
  import skimage.data  # Imported here: it is slow and only needed for data.

  names = BUNDLED_NAMES if names is None else tuple(names)
  out = {}
  for n in names:
    if n not in BUNDLED_NAMES:
      raise ValueError(f"names: unknown bundled image {n!r}; choose from {BUNDLED_NAMES}.")
    out[n] = to_float_rgb(getattr(skimage.data, n)(), name=f"skimage.data.{n}()")
  return out


def load_image(path: str | os.PathLike) -> np.ndarray:
  """Reads one image file with Pillow and converts it to jiqa's convention.

  Example:
    >>> img = load_image("photo.png")  # doctest: +SKIP
  """
  from PIL import Image

  with Image.open(path) as im:
    if im.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1"):
      im = im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")
    arr = np.asarray(im)
  return to_float_rgb(arr, name=str(path))


def load_folder(folder: str | os.PathLike, *, min_size: int = 0) -> dict[str, np.ndarray]:
  """Reads every image in ``folder`` (not recursive), sorted by file name.

  Args:
    folder: a directory holding image files (PNG, JPEG, BMP, TIFF, WebP, PPM).
    min_size: reject images whose height or width is smaller than this.

  Returns:
    A dict from file name to float32 ``(H, W, 3)`` array.

  Raises:
    ValueError: if the folder does not exist, holds no images, or an image is
      smaller than ``min_size``.

  Example:
    >>> imgs = load_folder("my_photos/", min_size=64)  # doctest: +SKIP
  """
  if not os.path.isdir(folder):
    raise ValueError(f"folder: {folder!r} is not a directory.")
  files = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_SUFFIXES))
  if not files:
    raise ValueError(f"folder: {folder!r} holds no image files ({', '.join(IMAGE_SUFFIXES)}).")
  out = {}
  for f in files:
    img = load_image(os.path.join(folder, f))
    if min(img.shape[:2]) < min_size:
      raise ValueError(f"folder: image {f!r} is {img.shape[0]}x{img.shape[1]}, "
                       f"smaller than min_size={min_size}.")
    out[f] = img
  return out

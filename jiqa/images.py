"""The image convention of jiqa, and the one place that converts images to it.

Convention (stated once, used everywhere): an image is a float array in
``[0, 1]``, channels last, RGB, shape ``(H, W, 3)``; batches are
``(N, H, W, 3)``.

One rule for pixel types, applied by :func:`as_float_images` (arrays for the
metrics and the distortion ops, jit-able) and :func:`to_float_rgb` (what users
have, on the host), and nowhere else:

* ``uint8`` is divided by 255 and ``uint16`` by 65535 (16-bit PNGs keep their
  16 bits);
* floats are taken as they are and must lie in ``[0, 1]`` and be finite
  (checked where the values are concrete, i.e. not under ``jit``);
* ``bool`` and every other integer type (``int64`` arrays, nested Python
  ``int`` lists such as ``[[0, 255], [255, 0]]``) are rejected with a
  ``ValueError``: their scale is ambiguous (is 255 white or nearly black?).

:func:`bundled_images` gives the real photos that ship offline inside
scikit-image's wheel, the default data set of jiqa; :func:`load_image` and
:func:`load_folder` read the user's files with Pillow (and pypng for 16-bit
colour PNGs, which Pillow reads as 8 bits).

Example:
  >>> from jiqa import images
  >>> img = images.to_float_rgb(np.zeros((4, 5), np.uint8))
  >>> img.shape, img.dtype
  ((4, 5, 3), dtype('float32'))
  >>> float(images.as_float_images(np.full((2, 2, 3), 255, np.uint8)).max())
  1.0
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import jax
import jax.numpy as jnp
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
# Float images may exceed [0, 1] by this much (rounding of conversions).
RANGE_TOLERANCE = 1e-5
_ALLOWED = "uint8 (0..255), uint16 (0..65535) or floats in [0, 1]"


def integer_scale(dtype, *, name: str = "image") -> float | None:
  """The divisor that brings pixels of ``dtype`` to ``[0, 1]``: the rule of the module.

  Returns 255 for ``uint8``, 65535 for ``uint16`` and ``None`` for floats
  (taken as they are); raises ``ValueError`` for ``bool``, every other integer
  type and anything else.

  Example:
    >>> integer_scale(np.uint8), integer_scale(np.float32)
    (255.0, None)
  """
  dtype = np.dtype(dtype)
  if dtype.kind == "u" and dtype.itemsize in (1, 2):
    return 255.0 if dtype.itemsize == 1 else 65535.0
  if dtype.kind == "f" or dtype == jnp.bfloat16:
    return None
  what = "a boolean image" if dtype.kind == "b" else f"an image of type {dtype} (ambiguous scale)"
  raise ValueError(f"{name}: got {what}; pass {_ALLOWED} (e.g. "
                   f"np.asarray(x, np.uint8) for 8-bit values, or x / 255.0).")


def _check_float_values(lo: float, hi: float, finite: bool, name: str) -> None:
  if not finite:
    raise ValueError(f"{name}: contains NaN or infinite values; expected {_ALLOWED}.")
  if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
    hint = " (8-bit data: divide by 255, or pass the uint8 array itself)" if hi > 1.5 else ""
    raise ValueError(f"{name}: float image with values in [{lo:.4g}, {hi:.4g}]; "
                     f"expected [0, 1]{hint}.")


def as_float_images(images: jax.typing.ArrayLike, *, name: str = "image",
                    ndim: int | tuple[int, ...] = (3, 4), min_size: int = 1) -> jax.Array:
  """Checks RGB images against the module's rule and returns them as floats in ``[0, 1]``.

  The one checker of image arrays for the metrics and the distortion ops. The
  dtype and shape are static, so it works under ``jit``; the values (finite, in
  ``[0, 1]``) are checked only where they are concrete (not on tracers).

  Args:
    images: ``(H, W, 3)`` or ``(N, H, W, 3)`` array-like (``uint8``, ``uint16``
      or float).
    name: the argument's name, used in error messages.
    ndim: the allowed number of dimensions: 3 for one image, 4 for a batch.
    min_size: the least height and width.

  Returns:
    A ``jax.Array`` of the same shape: ``float32`` for integer input (divided by
    255 or 65535), the input's float type otherwise.

  Raises:
    ValueError: for a disallowed dtype (bool, other integers), a shape that is
      not ``(H, W, 3)`` / ``(N, H, W, 3)``, an empty batch, images smaller than
      ``min_size``, or concrete values that are not finite or not in ``[0, 1]``.

  Example:
    >>> x = as_float_images(np.array([[[0, 51, 255]]], np.uint8))
    >>> x.dtype, [round(float(v), 6) for v in x[0, 0]]
    (dtype('float32'), [0.0, 0.2, 1.0])
  """
  x = images if isinstance(images, jax.Array) else np.asarray(images)
  scale = integer_scale(x.dtype, name=name)
  allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
  shapes = " or ".join({3: "(H, W, 3)", 4: "(N, H, W, 3)"}[d] for d in allowed)
  if x.ndim not in allowed or x.shape[-1] != 3:
    single = " (vmap for batches)" if allowed == (3,) and x.ndim == 4 else ""
    raise ValueError(f"{name}: expected RGB {shapes}, channels last; got shape "
                     f"{tuple(x.shape)}{single}.")
  if x.ndim == 4 and x.shape[0] == 0:
    raise ValueError(f"{name}: the batch is empty (shape {tuple(x.shape)}); "
                     "pass at least one image.")
  if min(x.shape[-3:-1]) < max(min_size, 1):
    raise ValueError(f"{name}: height and width must be >= {max(min_size, 1)}; got "
                     f"{x.shape[-3]}x{x.shape[-2]}.")
  if scale is None and not isinstance(x, jax.core.Tracer):
    if isinstance(x, jax.Array):
      lo, hi = float(jnp.min(x)), float(jnp.max(x))
    else:
      lo, hi = float(np.min(x)), float(np.max(x))
    _check_float_values(lo, hi, np.isfinite(lo) and np.isfinite(hi), name)
  if scale is None:
    return jnp.asarray(x)
  return jnp.asarray(x).astype(jnp.float32) / jnp.float32(scale)


def to_float_rgb(image, *, name: str = "image") -> np.ndarray:
  """Converts one image to jiqa's convention: float32 ``(H, W, 3)`` in ``[0, 1]``.

  Args:
    image: array-like of shape ``(H, W)``, ``(H, W, 1)`` (grey), ``(H, W, 2)``
      (grey + alpha), ``(H, W, 3)`` (RGB) or ``(H, W, 4)`` (RGBA), of a type
      the module's rule allows (``uint8``, ``uint16``, floats in ``[0, 1]``).
      Grey is replicated to RGB; alpha is dropped (the colour values are kept
      as stored, not composited on a background).
    name: the argument's name (a file name for loaded images), used in errors.

  Returns:
    A ``float32`` numpy array of shape ``(H, W, 3)``.

  Raises:
    ValueError: for a disallowed type (bool, other integers), a shape that does
      not fit, an empty image, or values that are not finite or not in ``[0, 1]``.

  Example:
    >>> to_float_rgb(np.full((2, 2, 4), 65535, np.uint16))[0, 0]
    array([1., 1., 1.], dtype=float32)
  """
  arr = np.asarray(image)
  scale = integer_scale(arr.dtype, name=name)
  if arr.ndim == 2:
    arr = arr[..., None]
  if arr.ndim != 3 or arr.shape[-1] not in (1, 2, 3, 4):
    raise ValueError(
        f"{name}: expected shape (H, W), (H, W, 1), (H, W, 2), (H, W, 3) or (H, W, 4) "
        f"(channels last); got shape {arr.shape}.")
  if arr.shape[0] < 1 or arr.shape[1] < 1:
    raise ValueError(f"{name}: the image is empty: shape {arr.shape}.")
  arr = arr[..., :1] if arr.shape[-1] <= 2 else arr[..., :3]
  if scale is not None:
    out = (arr.astype(np.float64) / scale).astype(np.float32)
  else:
    arr = arr.astype(np.float32)
    _check_float_values(float(arr.min()), float(arr.max()), bool(np.all(np.isfinite(arr))), name)
    out = np.clip(arr, 0.0, 1.0)
  return np.ascontiguousarray(np.broadcast_to(out, out.shape[:2] + (3,)))


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


def _png_header(path) -> tuple[int, int] | None:
  """``(bit depth, colour type)`` of a PNG file, or ``None`` if it is not one."""
  with open(path, "rb") as f:
    head = f.read(26)
  if len(head) < 26 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
    return None
  return head[24], head[25]


def _read_png16(path) -> np.ndarray:
  """A 16-bit colour PNG as ``uint16`` ``(H, W, planes)`` (Pillow keeps only 8 bits)."""
  try:
    import png  # pypng: pure Python, reads every bit depth.
  except ImportError:
    raise ValueError(f"{path}: a 16-bit colour PNG, which Pillow reads as 8 bits; install "
                     "pypng (pip install pypng) to keep its 16 bits.") from None
  try:
    width, height, rows, info = png.Reader(filename=os.fspath(path)).asDirect()
    data = np.vstack([np.asarray(row, np.uint16) for row in rows])
  except Exception as e:  # noqa: BLE001 - pypng's errors and zlib's on a corrupt file
    raise ValueError(f"{os.fspath(path)}: cannot be read as an image ({e}).") from None
  return data.reshape(height, width, info["planes"])


def _read_array(path) -> np.ndarray:
  from PIL import Image

  header = _png_header(path)
  if header is not None and header[0] == 16 and header[1] in (2, 4, 6):
    return _read_png16(path)
  with Image.open(path) as im:
    if im.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1", "RGBa", "La"):
      im = im.convert("RGBA" if "A" in im.mode or "a" in im.mode
                      or "transparency" in im.info else "RGB")
    arr = np.asarray(im)
    mode = im.mode
  if mode.startswith("I;16"):
    arr = arr.astype(np.uint16)                 # native byte order
  elif mode == "I" and header is not None and header[0] == 16:
    arr = arr.astype(np.uint16)                 # a 16-bit grey PNG read as int32
  return arr


def load_image(path: str | os.PathLike, *, min_size: int = 1) -> np.ndarray:
  """Reads one image file and converts it to jiqa's convention (:func:`to_float_rgb`).

  8-bit files are divided by 255, 16-bit ones (PNG, TIFF) by 65535; grey and
  grey + alpha (LA) become RGB; alpha is dropped (not composited).

  Args:
    path: an image file Pillow can read.
    min_size: the least height and width accepted.

  Returns:
    A float32 ``(H, W, 3)`` array in ``[0, 1]``.

  Raises:
    ValueError: naming the file, if it cannot be read (missing, not an image,
      truncated or corrupt), holds a pixel type the rule rejects, or is smaller
      than ``min_size``.

  Example:
    >>> img = load_image("photo.png")  # doctest: +SKIP
  """
  try:
    arr = _read_array(path)
  except ValueError as e:
    if str(e).startswith(os.fspath(path)):
      raise
    raise ValueError(f"{os.fspath(path)}: cannot be read as an image ({e}).") from None
  except Exception as e:  # noqa: BLE001 - any decoder failure: a corrupt or truncated file
    reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    raise ValueError(f"{os.fspath(path)}: cannot be read as an image ({reason}).") from None
  img = to_float_rgb(arr, name=os.fspath(path))
  if min(img.shape[:2]) < min_size:
    raise ValueError(f"{os.fspath(path)}: the image is {img.shape[0]}x{img.shape[1]}, "
                     f"smaller than min_size={min_size}.")
  return img


def load_folder(folder: str | os.PathLike, *, min_size: int = 1) -> dict[str, np.ndarray]:
  """Reads every image in ``folder`` (not recursive), sorted by file name.

  Files whose name starts with ``.`` (macOS ``._*`` sidecars, ``.DS_Store``)
  and names without an image suffix are skipped. A file that cannot be read
  or is smaller than ``min_size`` is skipped with a warning naming it and the
  reason; the folder still loads if any image is usable.

  Args:
    folder: a directory holding image files (PNG, JPEG, BMP, TIFF, WebP, PPM).
    min_size: the least height and width accepted.

  Returns:
    A dict from file name to float32 ``(H, W, 3)`` array.

  Raises:
    ValueError: if ``folder`` is not a directory, or holds no usable image (the
      message lists what was found and why each file was left out).

  Example:
    >>> imgs = load_folder("my_photos/", min_size=64)  # doctest: +SKIP
  """
  if not os.path.isdir(folder):
    raise ValueError(f"folder: {os.fspath(folder)!r} is not a directory.")
  entries = sorted(os.listdir(folder))
  files = [f for f in entries if not f.startswith(".") and f.lower().endswith(IMAGE_SUFFIXES)
           and os.path.isfile(os.path.join(folder, f))]
  out, problems = {}, []
  for f in files:
    try:
      out[f] = load_image(os.path.join(folder, f), min_size=min_size)
    except ValueError as e:
      problems.append(str(e))
      warnings.warn(f"load_folder: skipped {e}", stacklevel=2)
  if not out:
    more = ", ..." if len(entries) > 5 else ""
    found = f"{len(entries)} entries ({', '.join(entries[:5])}{more})" if entries else "nothing"
    detail = ("; ".join(problems) if problems
              else f"no visible file with an image suffix ({', '.join(IMAGE_SUFFIXES)})")
    raise ValueError(f"folder: {os.fspath(folder)!r} holds no usable image files: found "
                     f"{found}; {detail}.")
  return out

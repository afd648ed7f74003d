"""The image pool of training and evaluation, and random crops taken on the device.

The pool is a folder of the user's images or, by default, the photos bundled
with scikit-image (:func:`jiqa.images.bundled_images`). Each image is resized
once on the host so that its shorter side is ``pool_size`` (antialiased,
:func:`jax.image.resize`) and centre-cropped to a square, so the whole pool is
one ``(P, S, S, 3)`` array that is put on every device. Some images are held
out for evaluation (``holdout``: names, or a count taken from the end of the
sorted names) and never enter the training pool.

Crops are taken inside the jitted step: example ``i`` of a step uses the key
``fold_in(step_key, i)`` with ``i`` the *global* index of the example, so the
batch is the same however many devices share it (see :func:`example_keys`).

Example:
  >>> pool = load_pool(pool_size=64, holdout=("chelsea",), names=("astronaut", "chelsea"))
  >>> pool.train.shape, pool.heldout_names
  ((1, 64, 64, 3), ('chelsea',))
  >>> crops = random_crops(jax.random.key(0), pool.train, 4, crop_size=32)
  >>> crops.shape
  (4, 32, 32, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jiqa import images as images_lib


class ImagePool(NamedTuple):
  """Square images on the host, split into a training and a held-out part.

  Attributes:
    train: float32 ``(P, S, S, 3)`` training images.
    heldout: float32 ``(Q, S, S, 3)`` held-out images (``Q`` may be 0).
    train_names: names of the training images.
    heldout_names: names of the held-out images.
  """

  train: np.ndarray
  heldout: np.ndarray
  train_names: tuple[str, ...]
  heldout_names: tuple[str, ...]


def square_resize(image: np.ndarray, size: int) -> np.ndarray:
  """Resizes so the shorter side is ``size`` (antialiased), then centre-crops a square.

  Example:
    >>> square_resize(np.zeros((40, 80, 3), np.float32), 20).shape
    (20, 20, 3)
  """
  h, w = image.shape[:2]
  scale = size / min(h, w)
  nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
  out = jax.image.resize(jnp.asarray(image), (nh, nw, 3), "linear", antialias=True)
  top, left = (nh - size) // 2, (nw - size) // 2
  return np.clip(np.asarray(out[top:top + size, left:left + size]), 0.0, 1.0).astype(np.float32)


def load_pool(*, pool_size: int, holdout: Sequence[str] | int = 0,
              folder: str | None = None, names: Sequence[str] | None = None,
              min_size: int = 8) -> ImagePool:
  """Loads, squares and splits the image pool.

  Args:
    pool_size: side ``S`` of the square images of the pool.
    holdout: names of images to hold out, or how many to hold out (the last
      ones in name order).
    folder: a folder of the user's images (:func:`jiqa.images.load_folder`);
      the bundled photos when ``None`` or empty.
    names: which bundled photos to use (all of them when ``None``); ignored
      with ``folder``.
    min_size: the smallest height or width a folder's image may have (smaller
      ones would be blown up to ``pool_size``).

  Returns:
    An :class:`ImagePool`.

  Raises:
    ValueError: if a held-out name is unknown, nothing is left to train on, or
      the folder is unusable (:func:`jiqa.images.load_folder`).

  Example:
    >>> load_pool(pool_size=32, holdout=1, names=("camera", "coins")).heldout_names
    ('coins',)
  """
  if pool_size < 8:
    raise ValueError(f"pool_size must be >= 8 pixels; got {pool_size}.")
  if folder:
    raw = images_lib.load_folder(folder, min_size=min_size)
  else:
    raw = images_lib.bundled_images(None if names is None else tuple(names))
  all_names = tuple(raw)
  if isinstance(holdout, (int, np.integer)):
    if not 0 <= holdout < len(all_names):
      raise ValueError(f"holdout must leave at least one of the {len(all_names)} images "
                       f"for training; got {holdout}.")
    held = tuple(sorted(all_names)[len(all_names) - int(holdout):]) if holdout else ()
  else:
    held = tuple(holdout)
    unknown = [n for n in held if n not in raw]
    if unknown:
      raise ValueError(f"holdout: images {unknown} are not in the pool {all_names}.")
  train_names = tuple(n for n in all_names if n not in held)
  if not train_names:
    raise ValueError("holdout: every image is held out; nothing is left to train on.")

  def stack(ns):
    if not ns:
      return np.zeros((0, pool_size, pool_size, 3), np.float32)
    return np.stack([square_resize(raw[n], pool_size) for n in ns])

  return ImagePool(stack(train_names), stack(held), train_names, held)


def example_keys(step_key: jax.Array, batch_size: int) -> jax.Array:
  """One key per example of the global batch: ``fold_in(step_key, i)``.

  The keys depend only on the step key and the global index ``i``, never on
  the number of devices.

  Example:
    >>> example_keys(jax.random.key(0), 3).shape
    (3,)
  """
  return jax.vmap(jax.random.fold_in, (None, 0))(step_key, jnp.arange(batch_size))


def random_crop(key: jax.Array, pool: jax.typing.ArrayLike, *, crop_size: int,
                flip: bool = True) -> jax.Array:
  """One random crop of a random pool image, optionally mirrored left-right.

  Args:
    key: PRNG key of this example.
    pool: ``(P, S, S, 3)`` images.
    crop_size: side of the square crop (static), at most ``S``.
    flip: mirror with probability 1/2.

  Returns:
    float32 ``(crop_size, crop_size, 3)``.

  Example:
    >>> random_crop(jax.random.key(1), jnp.zeros((2, 8, 8, 3)), crop_size=4).shape
    (4, 4, 3)
  """
  pool = jnp.asarray(pool)
  if pool.ndim != 4 or pool.shape[-1] != 3 or pool.shape[0] < 1:
    raise ValueError(f"pool must have shape (P, S, S, 3) with P >= 1; got {pool.shape}.")
  size = pool.shape[1]
  if not 1 <= crop_size <= min(pool.shape[1:3]):
    raise ValueError(f"crop_size must be in [1, {min(pool.shape[1:3])}] (the pool's side); "
                     f"got {crop_size}.")
  k_img, k_y, k_x, k_flip = jax.random.split(key, 4)
  idx = jax.random.randint(k_img, (), 0, pool.shape[0])
  y = jax.random.randint(k_y, (), 0, pool.shape[1] - crop_size + 1)
  x = jax.random.randint(k_x, (), 0, size - crop_size + 1)
  crop = jax.lax.dynamic_slice(pool, (idx, y, x, 0), (1, crop_size, crop_size, 3))[0]
  if flip:
    crop = jnp.where(jax.random.bernoulli(k_flip), crop[:, ::-1], crop)
  return crop


def random_crops(step_key: jax.Array, pool: jax.typing.ArrayLike, batch_size: int, *,
                 crop_size: int, flip: bool = True) -> jax.Array:
  """A batch of random crops, example ``i`` drawn with ``fold_in(step_key, i)``.

  Example:
    >>> random_crops(jax.random.key(0), jnp.zeros((1, 8, 8, 3)), 2, crop_size=8).shape
    (2, 8, 8, 3)
  """
  keys = example_keys(step_key, batch_size)
  return jax.vmap(lambda k: random_crop(k, pool, crop_size=crop_size, flip=flip))(keys)

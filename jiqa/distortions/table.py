"""The table of every distortion type of jiqa, in KADID-10k order, and ``apply``.

The table is a plain tuple of :class:`~jiqa.distortions.spec.DistortionSpec`,
built once from the ``SPECS`` of the op modules (``blur``, ``color``,
``jpeg2000``, ``jpeg``, ``noise``, ``brightness``, ``spatial``, ``sharpness``)
and sorted by KADID's type number (types without one come after the 25, in
module order). The position of a type in :func:`names` is its channel in every
distortion map (:mod:`jiqa.distortions.triplets`).

Example:
  >>> from jiqa import distortions
  >>> distortions.names()[:3]
  ('gaussian_blur', 'lens_blur', 'motion_blur')
  >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
  >>> out = distortions.apply("gaussian_blur", jax.random.key(0), image, 0.6)
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from jiqa.distortions import blur, brightness, color, jpeg, jpeg2000, noise, sharpness, spatial
from jiqa.distortions.spec import DistortionSpec

_MODULES = (blur, color, jpeg2000, jpeg, noise, brightness, spatial, sharpness)


@functools.cache
def specs() -> tuple[DistortionSpec, ...]:
  """Every distortion type, KADID-10k's 25 first (in KADID's order), extras after.

  Example:
    >>> len(specs())
    25
  """
  table = [s for m in _MODULES for s in m.SPECS]
  order = sorted(range(len(table)), key=lambda i: (
      table[i].kadid_index is None, table[i].kadid_index or 0, i))
  table = tuple(table[i] for i in order)
  seen = set()
  for s in table:
    if s.name in seen:
      raise ValueError(f"specs: the distortion name {s.name!r} is defined twice.")
    seen.add(s.name)
  return table


@functools.cache
def names() -> tuple[str, ...]:
  """The names of all distortion types, in table (KADID) order.

  Example:
    >>> names()[9]
    'jpeg'
  """
  return tuple(s.name for s in specs())


@functools.cache
def _index() -> dict[str, int]:
  return {n: i for i, n in enumerate(names())}


def index(name: str) -> int:
  """The channel of type ``name`` in every distortion map.

  Example:
    >>> index("gaussian_blur")
    0
  """
  try:
    return _index()[name]
  except KeyError:
    raise ValueError(f"name: unknown distortion {name!r}; choose from {names()}.") from None


def get(name: str) -> DistortionSpec:
  """The :class:`DistortionSpec` of type ``name``.

  Example:
    >>> get("darken").direction
    -1
  """
  return specs()[index(name)]


def signed_types() -> np.ndarray:
  """Boolean ``(T,)``: True for types on a signed axis (brightness, contrast, ...).

  Unsigned types carry +1 in the maps: the sign then only says which of the two
  images is the distorted one.

  Example:
    >>> bool(signed_types()[names().index("mean_shift")])
    True
  """
  return np.array([s.axis is not None for s in specs()], bool)


def directions() -> np.ndarray:
  """Integer ``(T,)``: each type's ``direction`` (0 for signed-level types).

  Example:
    >>> int(directions()[names().index("darken")])
    -1
  """
  return np.array([s.direction for s in specs()], np.int32)


def groups() -> tuple[str, ...]:
  """Each type's KADID group, in table order.

  Example:
    >>> groups()[0]
    'blur'
  """
  return tuple(s.group for s in specs())


def apply(name: str, key: jax.Array, image: jax.typing.ArrayLike,
          level: jax.typing.ArrayLike) -> jax.Array:
  """Applies distortion ``name`` at ``level`` to one image.

  Args:
    name: a name from :func:`names` (static).
    key: a ``jax.random`` key (ignored by deterministic ops).
    image: one RGB ``(H, W, 3)`` image: float in ``[0, 1]``, or ``uint8`` /
      ``uint16`` (divided by 255 / 65535, :func:`jiqa.images.as_float_images`).
    level: severity in ``[0, 1]`` (signed in ``[-1, 1]`` for ``mean_shift`` and
      ``contrast_change``); 0.2 ... 1.0 are KADID's L1 ... L5. Under ``jit`` a
      NaN level gives an all-NaN image (see :mod:`jiqa.distortions.spec`).

  Returns:
    The distorted image, float ``(H, W, 3)`` in ``[0, 1]``.

  Raises:
    ValueError: for an unknown name, an image that is not one ``(H, W, 3)``
      image of an allowed type, or a concrete level that is NaN or out of range.

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = apply("jpeg", jax.random.key(0), image, 0.8)   # KADID's quality 7
  """
  return get(name).fn(key, image, level)

"""The two layouts of distortion maps: dense ``(N, H, W, T)`` and per step (:class:`StepMaps`).

The dense layout is the convention of :mod:`jiqa.distortions.triplets`: one
channel per type, ``direction * level * mask`` where the type acts. The step
layout (``maps="steps"`` in :func:`~jiqa.distortions.make_triplets`) keeps what
the executors compute anyway, each step's mask ``(N, K, H, W)`` with its type and
signed value ``(N, K)``: ``K / T`` of the dense size (4 / 25 by default), the
same information, expanded by :func:`dense_maps` to the dense maps (bit for bit)
where a consumer needs them, e.g. inside a loss, where XLA can fuse the
expansion instead of reading a stored ``(N, H, W, T)`` array.

Example:
  >>> sm = StepMaps(jnp.ones((1, 1, 2, 2)), jnp.array([[0]]), jnp.array([[-0.4]]))
  >>> dense_maps(sm).shape
  (1, 2, 2, 25)
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jiqa.distortions import table

MAP_LAYOUTS = ("dense", "steps")


class StepMaps(NamedTuple):
  """The maps of a batch in the compact layout of its steps (``maps="steps"``).

  A step's plane is its mask; its type's channel of the dense maps is
  ``value * mask`` (the groups of an image are distinct, so no channel gets two
  steps). :func:`dense_maps` gives the dense ``(N, H, W, T)`` maps, the same values.

  Attributes:
    masks: float32 ``(N, K, H, W)``, each step's mask (0 for an empty step).
    types: int32 ``(N, K)``, the table index of each step's type, -1 if none.
    values: float32 ``(N, K)``, ``direction * level`` (the level for signed-level
      types; 0 for an empty step).
  """

  masks: jax.Array
  types: jax.Array
  values: jax.Array


def _map_sign() -> np.ndarray:
  d = table.directions()
  return np.where(d == 0, 1, d).astype(np.float32)


def _step_values(step_types: jax.Array, step_levels: jax.Array) -> jax.Array:
  """``sign * level`` of each step (0 for an empty one), the shape of ``step_types``."""
  sign = jnp.asarray(_map_sign())
  return jnp.where(step_types >= 0, sign[jnp.maximum(step_types, 0)] * step_levels, 0.0)


def _maps(step_masks: jax.Array, step_types: jax.Array, step_levels: jax.Array) -> jax.Array:
  """Maps ``(N, H, W, T)`` from masks ``(K, N, H, W)``, types and levels ``(K, N)``."""
  return _dense(step_masks, step_types, _step_values(step_types, step_levels))


def _dense(step_masks, step_types, value):
  """Each step's ``value * mask`` goes to its type's channel by a one-hot
  multiply-add: one fused elementwise pass writing the maps once (measured
  faster than an einsum over steps, which XLA's CPU runs as a small dot)."""
  n_types = len(table.specs())
  if step_masks.shape[0] == 0:
    return jnp.zeros(step_masks.shape[1:] + (n_types,), jnp.float32)
  coef = (step_types[..., None] == jnp.arange(n_types)) * value[..., None]   # (K, N, T)
  maps = step_masks[0][..., None] * coef[0][:, None, None, :]
  for s in range(1, step_masks.shape[0]):
    maps = maps + step_masks[s][..., None] * coef[s][:, None, None, :]
  return maps


def dense_maps(step_maps: StepMaps) -> jax.Array:
  """The dense maps ``(N, H, W, T)`` of a :class:`StepMaps` (what ``maps="dense"`` returns).

  Example:
    >>> sm = StepMaps(jnp.ones((1, 2, 4, 4)), jnp.array([[16, -1]]), jnp.array([[-0.5, 0.0]]))
    >>> m = dense_maps(sm)
    >>> m.shape, float(m[0, 0, 0, 16]), float(jnp.abs(m).sum())
    ((1, 4, 4, 25), -0.5, 8.0)
  """
  return _dense(jnp.moveaxis(step_maps.masks, 1, 0), step_maps.types.T, step_maps.values.T)


def layout(kind: str, step_masks, step_types, step_levels):
  """The maps in layout ``kind`` from masks ``(K, N, H, W)``, types and levels ``(K, N)``."""
  if kind == "dense":
    return _maps(step_masks, step_types, step_levels)
  return StepMaps(jnp.moveaxis(step_masks, 0, 1), step_types.T,
                  _step_values(step_types, step_levels).T)


def check_layout(maps: str) -> str:
  """Returns ``maps`` if it is one of :data:`MAP_LAYOUTS`, else raises ``ValueError``.

  Example:
    >>> check_layout("steps")
    'steps'
  """
  if maps not in MAP_LAYOUTS:
    raise ValueError(f"maps: {maps!r} is not one of {MAP_LAYOUTS}.")
  return maps



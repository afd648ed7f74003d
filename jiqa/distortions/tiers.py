"""Tiers: ``n`` versions of one content with strictly increasing severity.

A tier draws one composition (types, their order, op keys, masks and a vector
of levels ``l``, as :mod:`jiqa.distortions.compose` does, never pristine) and
applies it ``n`` times with the levels scaled by increasing factors
``0 < f_1 < ... < f_n = 1``: image ``j`` is the composition at levels
``f_j * l``. The random parts (noise patterns, masks, patch positions) are the
same along the tier, so only the strength grows; ``severity`` is ``f``. For
monotone ops (each op's PSNR falls with its level, as the op tests check) the
images get strictly worse along the tier, which is what ranking losses
(``jiqa.losses.ranking_loss``) need. The maps are relative to the pristine
image and scale with ``f`` (``maps_j = f_j * maps_n``).

Factors: ``f_j = (j + u_j) / n`` with ``u_j`` uniform in ``[0.2, 1]`` for
``j < n - 1`` and ``f_n = 1``; consecutive factors differ by at least
``0.2 / n``.

Example:
  >>> tier = make_tier(jax.random.key(0), image, 4)
  >>> tier.images.shape, bool(jnp.all(jnp.diff(tier.severity) > 0))
  ((4, 256, 256, 3), True)
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jiqa.distortions import compose, table, triplets


class Tier(NamedTuple):
  """``images`` (..., n, H, W, 3), ``severity`` (..., n), ``maps`` (..., n, H, W, T)."""

  images: jax.Array
  severity: jax.Array
  maps: jax.Array


def tier_factors(key: jax.Array, n: int) -> jax.Array:
  """Strictly increasing factors in ``(0, 1]``, the last one 1 (see module docstring).

  Example:
    >>> f = tier_factors(jax.random.key(0), 3)
    >>> bool(jnp.all(jnp.diff(f) > 0)), float(f[-1])
    (True, 1.0)
  """
  if n < 1:
    raise ValueError(f"n: expected at least one image per tier; got {n}.")
  u = jax.random.uniform(key, (n,), jnp.float32, 0.2, 1.0)
  f = (jnp.arange(n, dtype=jnp.float32) + u) / n
  return f.at[-1].set(1.0)


def _tier_config(config) -> compose.EngineConfig:
  return dataclasses.replace(compose.as_engine_config(config), pristine_prob=0.0)


@functools.partial(jax.jit, static_argnames=("n", "config"))
def _make_tier(key, image, n, config):
  k_comp, k_f = jax.random.split(key)
  comp = compose.sample_compositions(k_comp, 1, config)
  f = tier_factors(k_f, n)
  allowed = tuple(table.index(t) for t in config.types)
  images, maps = triplets.apply_shared(
      jnp.broadcast_to(image, (n,) + image.shape), comp.types[0], f[:, None] * comp.levels,
      comp.op_keys[0], comp.mask_keys[0], comp.mask_kinds[0], allowed=allowed)
  return Tier(images, f, maps)


def make_tier(key: jax.Array, image: jax.typing.ArrayLike, n: int, config=None) -> Tier:
  """``n`` images of one content with strictly increasing severity (one composition).

  Args:
    key: PRNG key (the tier is deterministic given it).
    image: float32 ``(H, W, 3)`` in ``[0, 1]``, the pristine content.
    n: static number of images in the tier.
    config: :class:`~jiqa.distortions.compose.EngineConfig`, ``ConfigDict`` or
      ``None``; ``pristine_prob`` is ignored (a tier is always distorted).

  Returns:
    ``Tier(images (n, H, W, 3), severity (n,), maps (n, H, W, T))``, severity
    strictly increasing, maps relative to ``image``.

  Example:
    >>> tier = make_tier(jax.random.key(0), image, 5, {"max_distortions": 2})
  """
  image = triplets.check_images(image, 3)
  return _make_tier(key, image, n, _tier_config(config))


@functools.partial(jax.jit, static_argnames=("n", "config"))
def _make_tiers(key, images, n, config):
  b = images.shape[0]
  k_comp, k_f = jax.random.split(key)
  comp = compose.sample_compositions(k_comp, b, config)
  f = jax.vmap(tier_factors, in_axes=(0, None))(jax.random.split(k_f, b), n)   # (B, n)
  tiled = jax.tree.map(lambda a: jnp.repeat(a, n, axis=0), comp)
  tiled = tiled._replace(levels=tiled.levels * f.reshape(b * n, 1))
  caps = tuple(tuple(c * n for c in row) for row in compose.capacities(b, config))
  out, maps = triplets.apply_compositions(jnp.repeat(images, n, axis=0), tiled, caps=caps)
  h, w = images.shape[1:3]
  return Tier(out.reshape(b, n, h, w, 3), f, maps.reshape(b, n, h, w, -1))


def make_tiers(key: jax.Array, images: jax.typing.ArrayLike, n: int, config=None) -> Tier:
  """Tiers for a batch ``(B, H, W, 3)``: ``Tier((B, n, H, W, 3), (B, n), (B, n, H, W, T))``.

  Each op runs only on the tier members that use it (as :func:`make_triplets`).

  Example:
    >>> tiers = make_tiers(jax.random.key(0), images, 4)
    >>> tiers.severity.shape
    (8, 4)
  """
  images = triplets.check_images(images, 4, "images")
  if n < 1:
    raise ValueError(f"n: expected at least one image per tier; got {n}.")
  return _make_tiers(key, images, n, _tier_config(config))

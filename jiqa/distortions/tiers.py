"""Tiers: ``n`` versions of one content with strictly increasing severity.

Severity (one definition for every tier and mode) is the *distortion mass* of
an image's maps, :func:`map_severity`: the sum over types of the spatial mean
of ``|map|``, i.e. ``sum_k |level_k| * mean(mask_k)`` over the composition's
steps. Its unit is one whole-image distortion at KADID's L5 (level 1); two
full-image steps at level 0.5 weigh as much as one at level 1, and a step on a
quarter of the image a quarter of it. The scale is comparable across types as
far as KADID's five levels are; it is the engine's definition, not a human
judgement; ``python -m experiments.kadid_severity_check`` measures how well it
agrees with KADID-10k's MOS.

The mixed mode draws each member's masks once more to measure its coverage
(masks are cheap next to the ops; the executor draws them again when applying).

Two modes (``mode=``, static):

* ``"mixed"`` (default): every image of a tier carries its *own* composition
  (types, order, masks, noise drawn independently, as
  :func:`jiqa.distortions.compose.sample_compositions` draws them, never
  pristine). Each composition's levels are then scaled so that its severity
  hits a target: targets are ``f_j * T`` with the strictly increasing factors
  ``f`` of :func:`tier_factors`, and ``T`` the largest value that no level
  exceeds 1 (members are assigned to targets in the order of their *reach*,
  the severity their composition has when its largest level is 1). A tier
  thus ranks different distortions by a severity that is comparable across
  them: a full-reference metric tuned to one kind of error (PSNR to
  pixel-wise energy) does not order it for free.
* ``"scaled"``: one composition applied ``n`` times with its levels scaled by
  ``f`` (same types, masks and noise; only the strength grows). For monotone
  ops the images get strictly worse along the tier and PSNR orders them
  almost perfectly: use it to check monotonicity, not to compare metrics.

The maps are relative to the pristine image; in both modes
``severity == map_severity(maps)`` (float rounding aside).

Example:
  >>> image = jnp.full((32, 32, 3), 0.5)
  >>> tier = make_tier(jax.random.key(0), image, n=4,
  ...                  config={"types": ("darken", "white_noise"), "max_distortions": 2})
  >>> tier.images.shape, bool(jnp.all(jnp.diff(tier.severity) > 0))
  ((4, 32, 32, 3), True)
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jiqa.distortions import compose, execute, masks, triplets

TIER_MODES = ("mixed", "scaled")


class Tier(NamedTuple):
  """``images`` (..., n, H, W, 3), ``severity`` (..., n), ``maps`` (..., n, H, W, T)."""

  images: jax.Array
  severity: jax.Array
  maps: jax.Array


def tier_factors(key: jax.Array, n: int) -> jax.Array:
  """Strictly increasing factors in ``(0, 1]``, the last one 1.

  ``f_j = (j + u_j) / n`` with ``u_j`` uniform in ``[0.2, 1]`` for ``j < n - 1``
  and ``f_n = 1``: consecutive factors differ by at least ``0.2 / n``.

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


def map_severity(maps: jax.typing.ArrayLike) -> jax.Array:
  """Distortion mass of maps ``(..., H, W, T)``: ``sum_t mean_xy |maps_t|``, shape ``(...)``.

  Example:
    >>> round(float(map_severity(jnp.full((4, 4, 25), -0.04))), 6)
    1.0
  """
  maps = jnp.asarray(maps)
  if maps.ndim < 3:
    raise ValueError(f"maps: expected shape (..., H, W, T); got {maps.shape}.")
  return jnp.abs(maps).mean(axis=(-3, -2)).sum(axis=-1)


def _check_mode(mode: str) -> str:
  if mode not in TIER_MODES:
    raise ValueError(f"mode: expected one of {TIER_MODES}; got {mode!r}.")
  return mode


def _tier_config(config) -> compose.EngineConfig:
  return dataclasses.replace(compose.as_engine_config(config), pristine_prob=0.0)


def _unit_severity(comp: compose.Composition, h: int, w: int) -> tuple[jax.Array, jax.Array]:
  """Severity of each composition at its drawn levels, and its reach (largest level 1)."""
  cover = jax.vmap(jax.vmap(lambda k, kind: masks.mask(k, kind, h, w).mean()))(
      comp.mask_keys, comp.mask_kinds)                                      # (N, K)
  lv = jnp.where(comp.types >= 0, jnp.abs(comp.levels), 0.0)
  unit = jnp.maximum(jnp.sum(lv * cover, axis=1), 1e-12)
  return unit, unit / jnp.maximum(lv.max(axis=1), 1e-12)


@functools.partial(jax.jit, static_argnames=("n", "config"))
def _make_tier_scaled(key, image, n, config):
  k_comp, k_f = jax.random.split(key)
  comp = compose.sample_compositions(k_comp, 1, config)
  f = tier_factors(k_f, n)
  images, maps = execute.apply_shared(
      jnp.broadcast_to(image, (n,) + image.shape), comp._replace(levels=f[:, None] * comp.levels),
      config=config)
  unit, _ = _unit_severity(comp, *image.shape[:2])
  return Tier(images, f * unit[0], maps)


@functools.partial(jax.jit, static_argnames=("n", "config", "mode", "executor", "mesh"))
def _make_tiers(key, images, n, config, mode, executor="per_image", mesh=None):
  b, h, w = images.shape[:3]
  k_comp, k_f = jax.random.split(key)
  f = jax.vmap(tier_factors, in_axes=(0, None))(jax.random.split(k_f, b), n)   # (B, n)
  if mode == "scaled":
    comp = compose.sample_compositions(k_comp, b, config)
    unit, _ = _unit_severity(comp, h, w)
    comp = jax.tree.map(lambda a: jnp.repeat(a, n, axis=0), comp)
    comp = comp._replace(levels=comp.levels * f.reshape(b * n, 1))
    severity = f * unit[:, None]
  else:
    comp = compose.sample_compositions(k_comp, b * n, config)
    unit, reach = _unit_severity(comp, h, w)
    # Member order[j] of a tier gets the j-th smallest target f_j * top, where top is
    # the largest scale at which every target stays within its member's reach.
    order = jnp.argsort(reach.reshape(b, n), axis=1)
    reach_sorted = jnp.take_along_axis(reach.reshape(b, n), order, axis=1)
    top = jnp.min(reach_sorted / f, axis=1, keepdims=True)
    severity = f * top                                                      # (B, n)
    rows = (jnp.arange(b)[:, None] * n + order).reshape(-1)
    comp = jax.tree.map(lambda a: a[rows], comp)
    scale = severity.reshape(-1) / unit[rows]
    comp = comp._replace(levels=jnp.clip(comp.levels * scale[:, None], -1.0, 1.0))
  # Scaled: n copies of each composition, so n times the capacities of b images.
  out, maps = execute.run(jnp.repeat(images, n, axis=0), comp, config=config,
                          executor=executor, mesh=mesh, copies=n if mode == "scaled" else 1)
  return Tier(out.reshape(b, n, h, w, 3), severity, maps.reshape(b, n, h, w, -1))


def make_tier(key: jax.Array, image: jax.typing.ArrayLike, *, n: int, config=None,
              mode: str = "mixed", executor: str = "auto") -> Tier:
  """``n`` images of one content with strictly increasing severity.

  Args:
    key: PRNG key (the tier is deterministic given it).
    image: float32 ``(H, W, 3)`` in ``[0, 1]``, the pristine content.
    n: static number of images in the tier.
    config: :class:`~jiqa.distortions.compose.EngineConfig`, ``ConfigDict`` or
      ``None``; ``pristine_prob`` is ignored (a tier is always distorted).
    mode: ``"mixed"`` (a composition per image, severity comparable across
      types) or ``"scaled"`` (one composition at increasing strength); see the
      module docstring.
    executor: for ``"mixed"``, as in :func:`~jiqa.distortions.triplets.make_triplets`.

  Returns:
    ``Tier(images (n, H, W, 3), severity (n,), maps (n, H, W, T))``, severity
    strictly increasing and equal to :func:`map_severity` of the maps, maps
    relative to ``image``.

  Example:
    >>> tier = make_tier(jax.random.key(0), jnp.full((16, 16, 3), 0.5), n=3,
    ...                  config={"types": ("darken", "white_noise"), "max_distortions": 2})
    >>> tier.severity.shape
    (3,)
  """
  image = triplets.check_images(image, 3)
  if n < 1:
    raise ValueError(f"n: expected at least one image per tier; got {n}.")
  if _check_mode(mode) == "scaled":
    return _make_tier_scaled(key, image, n, _tier_config(config))
  return jax.tree.map(lambda a: a[0], _make_tiers(key, image[None], n, _tier_config(config),
                                                  mode, execute.resolve_executor(executor)))


def make_tiers(key: jax.Array, images: jax.typing.ArrayLike, *, n: int, config=None,
               mode: str = "mixed", executor: str = "auto", mesh=None) -> Tier:
  """Tiers for a batch ``(B, H, W, 3)``: ``Tier((B, n, H, W, 3), (B, n), (B, n, H, W, T))``.

  Each op runs only on the tier members that use it (as :func:`make_triplets`).
  ``mode`` as in :func:`make_tier`; tier ``i`` of ``make_tiers`` is not the
  tier ``make_tier`` draws from the same key (the batch shares the draws).
  ``executor`` and ``mesh`` as in :func:`~jiqa.distortions.triplets.make_triplets`
  (the tiers do not depend on them).

  Example:
    >>> tiers = make_tiers(jax.random.key(0), jnp.full((2, 16, 16, 3), 0.5), n=4,
    ...                    config={"types": ("darken",), "max_distortions": 1})
    >>> tiers.severity.shape
    (2, 4)
  """
  images = triplets.check_images(images, 4, "images")
  if n < 1:
    raise ValueError(f"n: expected at least one image per tier; got {n}.")
  return _make_tiers(key, images, n, _tier_config(config), _check_mode(mode),
                     execute.resolve_executor(executor), mesh)

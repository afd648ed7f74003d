"""The training batch: random crops of the pool and their triplets and/or tiers, made on the device.

:func:`batch_sizes` reads a run's config once (outside ``jit``) into the keyword
sizes of :func:`make_batch`, which draws the crops and runs the engine's
batched ``make_triplets`` / ``make_tiers`` on them inside the training step's
``jit`` (:func:`jiqa.training.steps.make_train_step`), sharded along the mesh's
``"data"`` axis. Randomness is described in :mod:`jiqa.training.steps`.

Example:
  >>> c = ml_collections.ConfigDict({"task": "scorer", "data": {"crop_size": 32,
  ...     "batch_size": 8, "tier_batch_size": 4, "tier_size": 3}})
  >>> sizes = batch_sizes(c)
  >>> sizes["batch_size"], sizes["tier_batch_size"], sizes["nested_pairs"]
  (0, 4, False)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
from jax.sharding import Mesh

from jiqa.training import data as data_lib
from jiqa.training import mesh as mesh_lib
from jiqa.training import state as state_lib


def batch_sizes(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The keyword sizes of :func:`make_batch` for a run's ``config.task`` and ``config.data``.

  ``batch_size`` (triplets) is 0 for the scorer task and ``tier_batch_size``
  (and ``scaled_tier_batch_size``) 0 for the map task; ``single_size`` is
  ``data.single_size``, ``scaled_tier_batch_size`` ``data.scaled_tier_batch_size``
  (default 0 both), ``scaled_pristine`` ``data.scaled_pristine`` and
  ``nested_pairs`` ``data.nested_pairs`` (default False both; the latter False
  for the map task).

  Example:
    >>> c = ml_collections.ConfigDict({"task": "map", "data": {"crop_size": 32,
    ...     "batch_size": 8, "tier_batch_size": 4, "tier_size": 3}})
    >>> batch_sizes(c)["tier_batch_size"]
    0
  """
  task = state_lib.check_task(config.task)
  d = config.data
  return {"crop_size": int(d.crop_size),
          "batch_size": int(d.batch_size) if task in ("map", "pipeline") else 0,
          "tier_batch_size": int(d.tier_batch_size) if task in ("scorer", "pipeline") else 0,
          "tier_size": int(d.get("tier_size", 3)), "tier_mode": d.get("tier_mode", "mixed"),
          "single_size": int(d.get("single_size", 0)) if task in ("map", "pipeline") else 0,
          "scaled_tier_batch_size": (int(d.get("scaled_tier_batch_size", 0))
                                     if task in ("scorer", "pipeline") else 0),
          "scaled_pristine": bool(d.get("scaled_pristine", False)),
          "nested_pairs": (bool(d.get("nested_pairs", False))
                           if task in ("scorer", "pipeline") else False)}


def make_batch(key: jax.Array, pool: jax.Array, *, engine, crop_size: int, batch_size: int = 0,
               tier_batch_size: int = 0, tier_size: int = 3, tier_mode: str = "mixed",
               single_size: int = 0, scaled_tier_batch_size: int = 0,
               scaled_pristine: bool = False, nested_pairs: bool = False,
               mesh: Mesh | None = None) -> dict[str, jax.Array]:
  """Random crops and their triplets and/or tiers, all made on the device.

  Args:
    key: the step's key (``fold_in(key, step)`` in :func:`make_train_step`).
    pool: ``(P, S, S, 3)`` images to crop from.
    engine: the :class:`jiqa.distortions.EngineConfig` that distorts them.
    crop_size: side of the square crops.
    batch_size: number of triplets (0: none).
    tier_batch_size: number of tiers (0: none).
    tier_size: images per tier.
    tier_mode: :func:`jiqa.distortions.make_tiers`' ``mode``.
    single_size: how many of the ``batch_size`` triplets (the last ones) carry
      exactly one distortion (``engine`` with ``min_distortions = max_distortions
      = 1``), so that naming the one type is trained as well as composed ones.
    scaled_tier_batch_size: number of scaled tiers (``make_tiers(mode="scaled")``:
      one composition at ``tier_size`` growing strengths, on crops of their own),
      an order that is certain; 0: none.
    scaled_pristine: put the pristine crop first in each scaled tier (severity 0),
      so that the scaled tiers also rank the pristine above its distortions.
    nested_pairs: also a further engine composition ``B(x)`` on top of every
      tier image ``x`` (``make_triplets``' distorted image of ``x``): ``x`` is
      certainly better than ``B(x)`` wherever ``B`` changed it.
    mesh: shard the examples along its ``"data"`` axis.

  Returns:
    A dict with ``reference, distorted, maps`` (triplets, when ``batch_size``)
    and/or ``tier_images (B, n, H, W, 3), tier_severity (B, n),
    tier_reference (B, H, W, 3)`` (when ``tier_batch_size``) and ``scaled_images
    (B', n', H, W, 3), scaled_severity (B', n'), scaled_reference (B', H, W, 3)``
    (when ``scaled_tier_batch_size``; ``n' = tier_size + 1`` with ``scaled_pristine``)
    and ``tier_nested (B, n, H, W, 3)``, ``B(x)`` of each tier image (with
    ``nested_pairs`` and ``tier_batch_size``).

  Example:
    >>> batch = make_batch(jax.random.key(0), pool, engine=eng, crop_size=32,
    ...                    batch_size=8)  # doctest: +SKIP
  """
  from jiqa import distortions

  if batch_size < 0 or tier_batch_size < 0 or batch_size + tier_batch_size == 0:
    raise ValueError("batch_size and tier_batch_size must be >= 0 and not both 0; got "
                     f"{batch_size} and {tier_batch_size}.")
  if scaled_tier_batch_size < 0:
    raise ValueError(f"scaled_tier_batch_size must be >= 0; got {scaled_tier_batch_size}.")
  if not 0 <= single_size <= batch_size:
    raise ValueError(f"single_size must be in [0, batch_size = {batch_size}]; got {single_size}.")

  def sharded(x):
    if mesh is None:
      return x
    return jax.lax.with_sharding_constraint(x, mesh_lib.batch_sharding(mesh))

  def crops(stream: int, n: int):
    keys = sharded(data_lib.example_keys(jax.random.fold_in(key, stream), n))
    return jax.vmap(lambda k: data_lib.random_crop(k, pool, crop_size=crop_size))(keys)

  # The engine's batched functions run each op only on the images that use it
  # (vmapping the single-image ones would run every op on every image).
  batch = {}
  if batch_size:
    multi = batch_size - single_size
    parts = []
    if multi:
      parts.append(distortions.make_triplets(
          jax.random.fold_in(key, 2), sharded(crops(0, multi)), config=engine, mesh=mesh))
    if single_size:
      one = dataclasses.replace(engine, min_distortions=1, max_distortions=1)
      parts.append(distortions.make_triplets(
          jax.random.fold_in(key, 4), sharded(crops(4, single_size)), config=one, mesh=mesh))
    ref, dist, maps = (sharded(jnp.concatenate(x)) if len(parts) > 1 else x[0]
                       for x in zip(*parts))
    batch.update(reference=ref, distorted=dist, maps=maps)
  if tier_batch_size:
    refs = sharded(crops(1, tier_batch_size))
    tiers = distortions.make_tiers(jax.random.fold_in(key, 3), refs, n=tier_size, config=engine,
                                   mode=tier_mode, mesh=mesh)
    batch.update(tier_images=tiers[0], tier_severity=tiers[1], tier_reference=refs)
    if nested_pairs:
      flat = tiers[0].reshape((-1,) + tiers[0].shape[2:])
      nested = distortions.make_triplets(jax.random.fold_in(key, 7), sharded(flat),
                                         config=engine, mesh=mesh)[1]
      batch["tier_nested"] = nested.reshape(tiers[0].shape)
  if scaled_tier_batch_size:
    refs = sharded(crops(5, scaled_tier_batch_size))
    images, severity, _ = distortions.make_tiers(jax.random.fold_in(key, 6), refs, n=tier_size,
                                                 config=engine, mode="scaled", mesh=mesh)
    if scaled_pristine:
      images = jnp.concatenate([refs[:, None], images], axis=1)
      severity = jnp.concatenate([jnp.zeros_like(severity[:, :1]), severity], axis=1)
    batch.update(scaled_images=images, scaled_severity=severity, scaled_reference=refs)
  return batch

"""Executors: how a batch of compositions is applied to images.

A :class:`~jiqa.distortions.compose.Composition` says, for each image, which
ops run in which order, at which levels, under which masks. Three executors
apply it, with the same results (to float rounding, ~1e-6) and different costs:

* :func:`apply_per_image` (``executor="per_image"``, the default on CPU): a
  ``lax.map`` over the images and a ``lax.scan`` over each image's steps, where a
  ``lax.switch`` on an unbatched index runs only the chosen op. No work is wasted
  on empty slots and each op is compiled once; on a CPU it is faster and
  compiles faster than the batched executor (``python benchmarks/distortions.py
  --executors`` times them side by side).
* :func:`apply_compositions` (``executor="batched"``, the default on GPU/TPU):
  each op runs once per step, vmapped over a gathered sub-batch of static size
  (:func:`jiqa.distortions.compose.capacities`), then is gathered back. Wide,
  regular work for accelerators; on a CPU the padded slots cost time (at batch
  32, 4 steps reserve 128 op slots for ~76 real steps).
* :func:`apply_shared` (one composition for ``N`` images with their own levels,
  e.g. a scaled tier): ``lax.switch`` inside a ``lax.scan`` over steps.

All three take one argument shape, ``(images (N, H, W, 3), comp, *, config)``,
with ``comp`` drawn by :func:`~jiqa.distortions.compose.sample_compositions`
under ``config`` (for :func:`apply_shared`: one composition, arrays ``(1, K)``,
its levels ``(1, K)`` or ``(N, K)``), and return ``(distorted (N, H, W, 3),
maps (N, H, W, T))``.

Do not ``vmap`` an executor that uses ``lax.switch``: a batched switch runs every
branch. They are batched already.

The maps (:mod:`jiqa.distortions.triplets` states the convention) are written
once at the end from each step's ``sign * level`` and mask: the masks come out
of a loop (``lax.map`` / ``lax.scan``), which materialises them; computed inline,
XLA:CPU fused the mask formulas into the maps' ``(N, H, W, T)`` loop and
recomputed them for every channel (``optimization_barrier`` does not stop its
fusion).

Example:
  >>> cfg = compose.EngineConfig(types=("darken", "white_noise"), max_distortions=2)
  >>> images = jnp.full((4, 16, 16, 3), 0.5)
  >>> comp = compose.sample_compositions(jax.random.key(0), 4, cfg)
  >>> dist, maps = run(images, comp, config=cfg, executor="auto")
  >>> dist.shape, maps.shape
  ((4, 16, 16, 3), (4, 16, 16, 25))
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jiqa.distortions import compose, masks, table
from jiqa.distortions.map_layout import StepMaps, _maps, _step_values, check_layout, layout

EXECUTORS = ("auto", "per_image", "batched")
def resolve_executor(executor: str) -> str:
  """``"auto"`` becomes ``"per_image"`` on the CPU backend and ``"batched"`` elsewhere.

  Raises:
    ValueError: for a name not in :data:`EXECUTORS`.

  Example:
    >>> resolve_executor("batched")
    'batched'
  """
  if executor not in EXECUTORS:
    raise ValueError(f"executor: {executor!r} is not one of {EXECUTORS}.")
  if executor == "auto":
    return "per_image" if jax.default_backend() == "cpu" else "batched"
  return executor


def _step(x, m, types, levels, op_keys, row):
  """One composition step on the batch ``x`` with static per-type capacities ``row``.

  ``m`` holds each image's mask of this step, ``(N, H, W)``. Returns the new
  batch and whether each image took part (``types >= 0`` within capacity).
  """
  n = x.shape[0]
  specs = table.specs()
  used = [(t, cap) for t, cap in enumerate(row) if cap > 0]
  src = jnp.concatenate([jnp.nonzero(types == t, size=cap, fill_value=n)[0]
                         for t, cap in used])                      # (P,) image of each slot
  slots = src.shape[0]
  safe = jnp.minimum(src, n - 1)
  sub, level, keys = x[safe], levels[safe], op_keys[safe]
  outs, off = [], 0
  for t, cap in used:
    sl = slice(off, off + cap)
    outs.append(jax.vmap(specs[t].fn)(keys[sl], sub[sl], level[sl]))
    off += cap
  out = jnp.concatenate(outs)
  # Slot of each image (== slots: none): a small integer scatter, then one gather
  # fused with the blend, which is done per image with its own mask (so no
  # padded (P, H, W, 3) blend and no per-slot masks or planes are materialised).
  slot = jnp.full((n,), slots, jnp.int32).at[src].set(jnp.arange(slots, dtype=jnp.int32),
                                                      mode="drop")
  hit = slot < slots
  slot = jnp.minimum(slot, slots - 1)
  weight = jnp.where(hit[:, None, None], m, 0.0)[..., None]
  return x + weight * (out[slot] - x), hit


def _masks(mask_keys, mask_kinds, h, w):
  return jax.vmap(masks.mask, in_axes=(0, 0, None, None))(mask_keys, mask_kinds, h, w)


def _check_capacities(comp: compose.Composition, caps) -> None:
  """Raises ``ValueError`` when a concrete ``comp`` has more images of a type at a step than
  ``caps`` holds (a traced one is checked in the graph: see :func:`apply_compositions`)."""
  if isinstance(comp.types, jax.core.Tracer):
    return
  types = np.asarray(comp.types)
  for k, row in enumerate(caps):
    counts = np.bincount(types[:, k][types[:, k] >= 0], minlength=len(row))
    over = np.nonzero(counts[:len(row)] > np.asarray(row))[0]
    if over.size or counts.size > len(row):
      t = int(over[0]) if over.size else len(row)
      raise ValueError(f"comp: {int(counts[t])} images use type {t} at step {k}, over the "
                       f"capacity {row[t] if t < len(row) else 0} of config; draw comp with "
                       "compose.sample_compositions(key, N, config).")


def apply_compositions(images: jax.Array, comp: compose.Composition, *,
                       config: compose.EngineConfig, copies: int = 1, maps: str = "dense"
                       ) -> tuple[jax.Array, jax.Array]:
  """Applies a batch of compositions with static work per op.

  At each step the images are gathered once into a padded layout where the
  images of type ``t`` occupy ``caps[step][t]`` consecutive slots (the static
  bounds :func:`compose.capacities` gives for ``config``), each op runs
  (vmapped) on its slice, and one gather brings the results back to image
  order (scatters are slow on CPU; gathers are not), blended there under each
  image's own mask. The maps are written once at the end, from each step's
  ``sign * level`` and mask, by one-hot multiply-adds.

  Args:
    images: float32 ``(N, H, W, 3)``.
    comp: a :class:`Composition` with arrays ``(N, K)``, drawn for ``N / copies``
      images under ``config`` (each repeated ``copies`` times, consecutively).
    config: the :class:`~jiqa.distortions.compose.EngineConfig` it was drawn with.
    copies: how many times each drawn composition is repeated (a scaled tier).
    maps: ``"dense"`` (maps ``(N, H, W, T)``) or ``"steps"`` (a :class:`StepMaps`).

  Returns:
    ``(distorted (N, H, W, 3), maps (N, H, W, T))``.

  Raises:
    ValueError: when a concrete ``comp`` exceeds the capacities (it was not
      drawn under ``config``). Under ``jit`` the check is in the graph: an
      image over capacity comes out NaN rather than silently undistorted.

  Example:
    >>> cfg = compose.EngineConfig(types=("darken", "white_noise"), max_distortions=2)
    >>> comp = compose.sample_compositions(jax.random.key(0), 4, cfg)
    >>> dist, maps = apply_compositions(jnp.full((4, 8, 8, 3), 0.5), comp, config=cfg)
    >>> dist.shape
    (4, 8, 8, 3)
  """
  n, h, w, _ = images.shape
  if copies < 1 or n % copies:
    raise ValueError(f"copies: expected a divisor of the batch size {n}; got {copies}.")
  caps = tuple(tuple(c * copies for c in row)
               for row in compose.capacities(n // copies, config))
  _check_capacities(comp, caps)
  rows = [r for r in caps if any(r)]
  if not rows:
    none = jnp.full((0, n), -1, jnp.int32)
    return images, layout(check_layout(maps), jnp.zeros((0, n, h, w), jnp.float32), none,
                           jnp.zeros((0, n), jnp.float32))
  live = [s for s, row in enumerate(caps) if any(row)]
  # The masks of all steps come out of one ``lax.map``: a loop's outputs are
  # materialised, so each mask is computed once. Computed inline, XLA:CPU fused
  # the mask formulas into the maps' (N, H, W, T) loop and recomputed them for
  # every channel (and ``optimization_barrier`` does not stop its fusion).
  step_masks = jax.lax.map(lambda a: _masks(a[0], a[1], h, w),
                           (comp.mask_keys[:, live].T, comp.mask_kinds[:, live].T))
  x, step_types, missed = images, [], jnp.zeros((n,), bool)
  for j, s in enumerate(live):
    types, levels, op_keys = comp.types[:, s], comp.levels[:, s], comp.op_keys[:, s]
    x, hit = _step(x, step_masks[j], types, levels, op_keys, caps[s])
    missed = missed | ((types >= 0) & ~hit)
    step_types.append(jnp.where(hit, types, -1))
  x = jnp.where(missed[:, None, None, None], jnp.nan, x)  # never a silent skip
  return x, layout(check_layout(maps), step_masks, jnp.stack(step_types),
                    comp.levels[:, live].T)


def _switch_ops(allowed: tuple[int, ...], *, shared_key: bool):
  """``(branch_of, ops)``: ``lax.switch(branch_of[t], ops, key, x, level)`` runs op ``t``.

  ``shared_key``: the ops are vmapped over ``N`` images that share one key (each
  with its own level), for :func:`apply_shared`.
  """
  specs = table.specs()
  branch_of = np.zeros(len(specs), np.int32)
  for b, t in enumerate(allowed):
    branch_of[t] = b
  ops = [specs[t].fn for t in allowed]
  if shared_key:
    ops = [jax.vmap(f, in_axes=(None, 0, 0)) for f in ops]
  return jnp.asarray(branch_of), ops


def _scan_steps(x: jax.Array, steps, ops, branch_of, h: int, w: int):
  """Applies one composition's steps to ``x`` (``(H, W, 3)`` or ``(N, H, W, 3)``).

  A ``lax.scan`` over the steps ``(types, levels, op_keys, mask_keys, mask_kinds)``;
  a ``lax.cond`` skips empty steps (type -1), a ``lax.switch`` runs only the
  chosen op and :func:`masks.mask_switch` draws only the chosen mask kind.
  Returns the distorted ``x`` and the masks ``(K, H, W)`` (zero for empty steps).
  """
  def step(x, inputs):
    t, lv, k_op, k_mask, kind = inputs

    def active(x):
      out = jax.lax.switch(branch_of[jnp.maximum(t, 0)], ops, k_op, x, lv)
      m = masks.mask_switch(k_mask, kind, h, w)
      return x + m[..., None] * (out - x), m

    return jax.lax.cond(t >= 0, active, lambda x: (x, jnp.zeros((h, w), x.dtype)), x)

  return jax.lax.scan(step, x, steps)


def apply_per_image(images: jax.Array, comp: compose.Composition, *,
                    config: compose.EngineConfig, maps: str = "dense"
                    ) -> tuple[jax.Array, jax.Array]:
  """Applies each image's composition to it alone: no padded slots, each op compiled once.

  A ``lax.map`` over the images; per image a ``lax.scan`` over its steps, where
  a ``lax.cond`` skips empty steps and a ``lax.switch`` runs only the chosen op.

  Args:
    images: float32 ``(N, H, W, 3)``.
    comp: a :class:`~jiqa.distortions.compose.Composition` with arrays ``(N, K)``.
    config: the :class:`~jiqa.distortions.compose.EngineConfig` it was drawn with
      (its types are the ops compiled).
    maps: ``"dense"`` (maps ``(N, H, W, T)``) or ``"steps"`` (a :class:`StepMaps`).

  Returns:
    ``(distorted (N, H, W, 3), maps (N, H, W, T))``.

  Example:
    >>> cfg = compose.EngineConfig(types=("darken", "white_noise"), max_distortions=2)
    >>> comp = compose.sample_compositions(jax.random.key(0), 2, cfg)
    >>> dist, maps = apply_per_image(jnp.full((2, 8, 8, 3), 0.5), comp, config=cfg)
    >>> maps.shape
    (2, 8, 8, 25)
  """
  h, w = images.shape[1:3]
  branch_of, ops = _switch_ops(config.type_indices, shared_key=False)
  steps = (comp.types, comp.levels, comp.op_keys, comp.mask_keys, comp.mask_kinds)
  dist, step_masks = jax.lax.map(lambda a: _scan_steps(*a, ops, branch_of, h, w),
                                 (images, steps))                       # (N, K, H, W)
  if check_layout(maps) == "steps":  # the loop's (N, K, H, W) masks as they are: no copy
    return dist, StepMaps(step_masks, comp.types, _step_values(comp.types, comp.levels))
  return dist, _maps(jnp.moveaxis(step_masks, 1, 0), comp.types.T, comp.levels.T)


def run(images: jax.Array, comp: compose.Composition, *, config: compose.EngineConfig,
        executor: str = "auto", mesh: Mesh | None = None,
        copies: int = 1, maps: str = "dense") -> tuple[jax.Array, jax.Array]:
  """Applies ``comp`` with the chosen executor.

  Args:
    images: float32 ``(N, H, W, 3)``.
    comp: compositions drawn for these ``N`` images with ``config``.
    config: the :class:`~jiqa.distortions.compose.EngineConfig` they were drawn with.
    executor: one of :data:`EXECUTORS` (static).
    mesh: optional mesh whose axes all shard the batch: the ``"per_image"``
      executor then runs each device's images on that device (``jax.shard_map``;
      the results do not depend on the mesh). ``N`` must be divisible by its size.
    copies: each drawn composition repeated this many times (see
      :func:`apply_compositions`; the per-image executor does not need it).
    maps: ``"dense"`` (maps ``(N, H, W, T)``) or ``"steps"`` (a :class:`StepMaps`,
      which :func:`dense_maps` expands to the same dense maps).

  Returns:
    ``(distorted (N, H, W, 3), maps (N, H, W, T))``.

  Example:
    >>> cfg = compose.EngineConfig(types=("darken",), max_distortions=1)
    >>> comp = compose.sample_compositions(jax.random.key(0), 2, cfg)
    >>> dist, maps = run(jnp.full((2, 8, 8, 3), 0.5), comp, config=cfg, executor="per_image")
  """
  if resolve_executor(executor) == "batched":
    return apply_compositions(images, comp, config=config, copies=copies, maps=maps)
  fn = functools.partial(apply_per_image, config=config, maps=maps)
  if mesh is not None and mesh.size > 1:
    if images.shape[0] % mesh.size:
      raise ValueError(f"images: a batch of {images.shape[0]} does not split over the "
                       f"{mesh.size} devices of the mesh.")
    spec = P(tuple(mesh.axis_names))
    images, comp = _batch_sharded((images, comp), mesh, spec)
    # check_vma=False: the ops start loops from unsharded constants (fine per device).
    fn = jax.shard_map(fn, mesh=mesh, in_specs=(spec, spec), out_specs=spec, check_vma=False)
  return fn(images, comp)


def _batch_sharded(tree, mesh: Mesh, spec: P):
  """``tree`` split over ``mesh`` along its leading axis, as ``shard_map`` expects it.

  On a mesh with Explicit axes (``jax.make_mesh``'s default) the arrays' shardings
  are part of their types and must match ``in_specs``: ``jax.reshard`` moves them
  (e.g. the compositions, drawn unsharded). On Auto axes a sharding constraint
  does (a no-op where they are already split so).
  """
  sharding = NamedSharding(mesh, spec)
  if any(t == AxisType.Explicit for t in mesh.axis_types):
    return jax.sharding.reshard(tree, sharding)
  return jax.lax.with_sharding_constraint(tree, sharding)


def apply_shared(images: jax.Array, comp: compose.Composition, *,
                 config: compose.EngineConfig) -> tuple[jax.Array, jax.Array]:
  """Applies one composition (types, keys, masks) to ``N`` images with their own levels.

  Only the chosen op runs at each step (``lax.switch`` on an unbatched index),
  as in :func:`apply_per_image`, whose step loop it shares.

  Args:
    images: float32 ``(N, H, W, 3)``.
    comp: one :class:`~jiqa.distortions.compose.Composition`: ``types``,
      ``op_keys``, ``mask_keys``, ``mask_kinds`` of shape ``(1, K)`` and
      ``levels`` ``(1, K)`` (shared) or ``(N, K)`` (one row per image).
    config: the :class:`~jiqa.distortions.compose.EngineConfig` it was drawn with.

  Returns:
    ``(distorted (N, H, W, 3), maps (N, H, W, T))``.

  Raises:
    ValueError: if ``comp`` is not one composition with levels for ``1`` or ``N`` images.

  Example:
    >>> cfg = compose.EngineConfig(types=("darken",), max_distortions=1)
    >>> c = compose.sample_compositions(jax.random.key(0), 1, cfg)
    >>> c = c._replace(levels=jnp.array([[0.5], [1.0]]) * c.levels)
    >>> dist, maps = apply_shared(jnp.full((2, 8, 8, 3), 0.5), c, config=cfg)
    >>> bool(maps[1].min() <= maps[0].min())
    True
  """
  n, h, w, _ = images.shape
  k = comp.types.shape[-1]
  if comp.types.shape != (1, k) or comp.levels.shape not in ((1, k), (n, k)):
    raise ValueError(f"comp: expected one composition, types (1, K) and levels (1, K) or "
                     f"(N, K) = ({n}, {k}); got types {comp.types.shape} and levels "
                     f"{comp.levels.shape}.")
  levels = jnp.broadcast_to(comp.levels, (n, k))
  types = comp.types[0]
  branch_of, ops = _switch_ops(config.type_indices, shared_key=True)
  x, step_masks = _scan_steps(images, (types, levels.T, comp.op_keys[0], comp.mask_keys[0],
                                       comp.mask_kinds[0]), ops, branch_of, h, w)  # (K, H, W)
  return x, _maps(jnp.broadcast_to(step_masks[:, None], (k, n, h, w)),
                  jnp.broadcast_to(types[:, None], (k, n)), levels.T)

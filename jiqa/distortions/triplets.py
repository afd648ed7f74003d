"""Training triplets ``(reference, distorted, maps)`` from compositions of distortions.

Map convention (stated once, tested in ``tests/distortions/test_triplets.py``):
``maps`` has one channel per type of :func:`jiqa.distortions.names` (``T``
channels, whatever types the config allows). A step of type ``t`` at level
``l`` under mask ``m`` turns ``x`` into ``x + m (op_t(x, l) - x)`` and writes
``d_t * l * m`` into channel ``t``, where ``d_t`` is the type's fixed direction
(``-1`` e.g. for darken and blurs, ``+1`` for brighten, sharpen and every
unsigned type) and ``d_t = 1`` for the signed-level types (``mean_shift``,
``contrast_change``: the level carries the sign). So a channel holds the signed
local strength in ``[-1, 1]`` of that type in the distorted image *relative to
the reference*, 0 where the type is absent. The groups of an image's steps are
distinct, so each type occurs at most once and keeps its own channel when steps
stack. Swapping roles negates the maps: ``maps(distorted -> reference) =
-maps(reference -> distorted)`` for every channel (:func:`swap`); for unsigned
types the sign only says which image carries the distortion.

Two executors apply a :class:`~jiqa.distortions.compose.Composition`:

* :func:`apply_compositions` (batches): each op runs once per step on a gathered
  sub-batch of static size (:func:`jiqa.distortions.compose.capacities`), then
  is scattered back, so no image pays for ops it does not use;
* :func:`apply_shared` (one image, or a tier of images sharing one composition):
  ``lax.switch`` inside a ``lax.scan`` over steps runs only the chosen op. Do not
  ``vmap`` it (a batched switch runs every branch): use the batched functions.

Example:
  >>> ref, dist, maps = make_triplet(jax.random.key(0), image, default_config())
  >>> trip = make_triplets(jax.random.key(1), images, EngineConfig(max_distortions=2))
  >>> trip.maps.shape   # (B, H, W, 25)
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jiqa.distortions import compose, masks, table


class Triplet(NamedTuple):
  """``reference`` (..., H, W, 3), ``distorted`` (..., H, W, 3), ``maps`` (..., H, W, T)."""

  reference: jax.Array
  distorted: jax.Array
  maps: jax.Array


def _map_sign() -> np.ndarray:
  d = table.directions()
  return np.where(d == 0, 1, d).astype(np.float32)


def check_images(images: jax.typing.ArrayLike, ndim: int, name: str = "image") -> jax.Array:
  """Checks shape ``(..., H, W, 3)`` with ``ndim`` dimensions; returns float32."""
  arr = jnp.asarray(images)
  want = "(H, W, 3)" if ndim == 3 else "(N, H, W, 3)"
  if arr.ndim != ndim or arr.shape[-1] != 3:
    raise ValueError(f"{name}: expected an RGB array of shape {want}; got {arr.shape}.")
  if not jnp.issubdtype(arr.dtype, jnp.floating):
    raise ValueError(f"{name}: expected float values in [0, 1] (see jiqa.images.to_float_rgb); "
                     f"got dtype {arr.dtype}.")
  return arr.astype(jnp.float32)


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


def apply_compositions(images: jax.Array, comp: compose.Composition, *,
                       caps: tuple[tuple[int, ...], ...],
                       scan_steps: bool = False) -> tuple[jax.Array, jax.Array]:
  """Applies a batch of compositions with static work per op.

  At each step the images are gathered once into a padded layout where the
  images of type ``t`` occupy ``caps[step][t]`` consecutive slots, each op runs
  (vmapped) on its slice, and one gather brings the results back to image
  order (scatters are slow on CPU; gathers are not), blended there under each
  image's own mask. The maps are written once at the end, from each step's
  ``sign * level`` and mask, by one-hot multiply-adds.

  Args:
    images: float32 ``(N, H, W, 3)``.
    comp: a :class:`Composition` with arrays ``(N, K)``.
    caps: static ``caps[k][t]``: at most this many images use type ``t`` at step ``k``
      (:func:`compose.capacities`; images beyond it would be silently skipped).
    scan_steps: ``False`` (default): the steps unrolled, each with its own
      capacities (fastest to run; each op is compiled once per step);
      ``True``: a ``lax.scan`` over the steps with the largest capacities of any
      step, so each op is compiled once, with work wasted on the later, emptier
      steps (benchmarks/distortions.py --scan on the shared 2-core CPU, load
      ~4: 256x256 batch 64 unrolled 55.2 vs scan 49.3 triplets/s, 512x384
      batch 32 14.6 vs 15.4; first call incl. compile 112-116 s vs 46-49 s).

  Returns:
    ``(distorted (N, H, W, 3), maps (N, H, W, T))``.

  Example:
    >>> comp = compose.sample_compositions(key, 16, cfg)
    >>> dist, maps = apply_compositions(images, comp, caps=compose.capacities(16, cfg))
  """
  n, h, w, _ = images.shape
  n_types = len(table.specs())
  rows = [r for r in caps if any(r)]
  if not rows:
    return images, jnp.zeros((n, h, w, n_types), jnp.float32)
  sign = jnp.asarray(_map_sign())
  fields = (comp.types, comp.levels, comp.op_keys, comp.mask_keys, comp.mask_kinds)
  if scan_steps:
    row = tuple(max(c) for c in zip(*rows))

    def body(x, xs):
      types, levels, op_keys, mask_keys, mask_kinds = xs
      m = _masks(mask_keys, mask_kinds, h, w)
      x, hit = _step(x, m, types, levels, op_keys, row)
      return x, (m, jnp.where(hit, types, -1))

    steps = tuple(jnp.moveaxis(f[:, :len(caps)], 1, 0) for f in fields)
    x, (step_masks, step_types) = jax.lax.scan(body, images, steps)
    step_levels = jnp.moveaxis(comp.levels[:, :len(caps)], 1, 0)
  else:
    live = [s for s, row in enumerate(caps) if any(row)]
    # The masks of all steps come out of one ``lax.map``: a loop's outputs are
    # materialised, so each mask is computed once. Computed inline, XLA:CPU fused
    # the mask formulas into the maps' (N, H, W, T) loop and recomputed them for
    # every channel (and ``optimization_barrier`` does not stop its fusion);
    # measured 1.11x on whole batches (256x256, batch 64, side by side).
    step_masks = jax.lax.map(lambda a: _masks(a[0], a[1], h, w),
                             (comp.mask_keys[:, live].T, comp.mask_kinds[:, live].T))
    x, step_types = images, []
    for j, s in enumerate(live):
      types, levels, op_keys = comp.types[:, s], comp.levels[:, s], comp.op_keys[:, s]
      x, hit = _step(x, step_masks[j], types, levels, op_keys, caps[s])
      step_types.append(jnp.where(hit, types, -1))
    step_types = jnp.stack(step_types)
    step_levels = comp.levels[:, live].T
  # Each step's ``sign * level * mask`` goes to its type's channel by a one-hot
  # multiply-add (one fused elementwise pass writing the maps once; measured
  # faster than an einsum over steps, which XLA's CPU runs as a small dot).
  value = jnp.where(step_types >= 0, sign[jnp.maximum(step_types, 0)] * step_levels, 0.0)
  coef = (step_types[..., None] == jnp.arange(n_types)) * value[..., None]   # (K', N, T)
  maps = step_masks[0][..., None] * coef[0][:, None, None, :]
  for s in range(1, step_masks.shape[0]):
    maps = maps + step_masks[s][..., None] * coef[s][:, None, None, :]
  return x, maps


def apply_shared(images: jax.Array, types: jax.Array, levels: jax.Array, op_keys: jax.Array,
                 mask_keys: jax.Array, mask_kinds: jax.Array, *,
                 allowed: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
  """Applies one composition (types, keys, masks) to ``N`` images with their own levels.

  Only the chosen op runs at each step (``lax.switch`` on an unbatched index).

  Args:
    images: float32 ``(N, H, W, 3)``.
    types: int32 ``(K,)`` table indices (-1: no step).
    levels: float32 ``(N, K)``.
    op_keys, mask_keys, mask_kinds: ``(K,)``.
    allowed: static table indices that may occur in ``types``.

  Returns:
    ``(distorted (N, H, W, 3), maps (N, H, W, T))``.

  Example:
    >>> c = compose.sample_compositions(key, 1, cfg)
    >>> dist, maps = apply_shared(image[None], c.types[0], c.levels, c.op_keys[0],
    ...                           c.mask_keys[0], c.mask_kinds[0], allowed=tuple(range(25)))
  """
  n, h, w, _ = images.shape
  specs = table.specs()
  sign = jnp.asarray(_map_sign())
  branch_of = np.zeros(len(specs) + 1, np.int32)  # table index + 1 -> branch (0 = none)
  for b, t in enumerate(allowed):
    branch_of[t + 1] = b + 1
  branches = [lambda key, x, lv: x] + [
      (lambda f: lambda key, x, lv: jax.vmap(f, in_axes=(None, 0, 0))(key, x, lv))(specs[t].fn)
      for t in allowed]

  def step(carry, inputs):
    x, maps = carry
    t, lv, k_op, k_mask, kind = inputs
    out = jax.lax.switch(jnp.asarray(branch_of)[t + 1], branches, k_op, x, lv)
    m = masks.mask(k_mask, kind, h, w) * (t >= 0)
    x = x + m[None, :, :, None] * (out - x)
    value = sign[jnp.maximum(t, 0)] * lv[:, None, None] * m
    onehot = (jnp.arange(len(specs)) == t).astype(jnp.float32)
    maps = maps + value[..., None] * onehot
    return (x, maps), None

  init = (images, jnp.zeros((n, h, w, len(specs)), jnp.float32))
  (x, maps), _ = jax.lax.scan(step, init, (types, levels.T, op_keys, mask_keys, mask_kinds))
  return x, maps


@functools.partial(jax.jit, static_argnames="config")
def _make_triplet(key, image, config):
  comp = compose.sample_compositions(key, 1, config)
  allowed = tuple(table.index(t) for t in config.types)
  dist, maps = apply_shared(image[None], comp.types[0], comp.levels, comp.op_keys[0],
                            comp.mask_keys[0], comp.mask_kinds[0], allowed=allowed)
  return Triplet(image, dist[0], maps[0])


def make_triplet(key: jax.Array, image: jax.typing.ArrayLike, config=None) -> Triplet:
  """A random composition applied to one image: ``(reference, distorted, maps)``.

  Args:
    key: PRNG key (everything is deterministic given it).
    image: float32 ``(H, W, 3)`` in ``[0, 1]``.
    config: :class:`~jiqa.distortions.compose.EngineConfig`, ``ConfigDict`` or
      ``None`` for the defaults.

  Returns:
    ``Triplet(reference (H, W, 3), distorted (H, W, 3), maps (H, W, T))``; the
    image drawn is the same as ``make_triplets(key, image[None], config)[i][0]``.

  Example:
    >>> ref, dist, maps = make_triplet(jax.random.key(0), image)
  """
  return _make_triplet(key, check_images(image, 3), compose.as_engine_config(config))


@functools.partial(jax.jit, static_argnames=("config", "scan_steps"))
def _make_triplets(key, images, config, scan_steps):
  comp = compose.sample_compositions(key, images.shape[0], config)
  return apply_compositions(images, comp, caps=compose.capacities(images.shape[0], config),
                            scan_steps=scan_steps)


def make_triplets(key: jax.Array, images: jax.typing.ArrayLike, config=None, *,
                  scan_steps: bool = False) -> Triplet:
  """Triplets for a batch ``(B, H, W, 3)``: each op runs only on the images that use it.

  Jitted with the config static (compiles once per batch shape and config).
  ``scan_steps`` trades compile time for run time (:func:`apply_compositions`).

  Example:
    >>> trip = make_triplets(jax.random.key(0), images, default_config())
    >>> trip.distorted.shape == images.shape
    True
  """
  images = check_images(images, 4, "images")
  # The reference is the input array itself (returning it from the jitted
  # function would copy it: one more batch-sized buffer per call).
  dist, maps = _make_triplets(key, images, compose.as_engine_config(config), scan_steps)
  return Triplet(images, dist, maps)


def swap(triplet: Triplet) -> Triplet:
  """The same pair with roles swapped: ``(distorted, reference, -maps)``.

  Example:
    >>> swap(swap(trip)).maps is not None
    True
  """
  return Triplet(triplet.distorted, triplet.reference, -triplet.maps)

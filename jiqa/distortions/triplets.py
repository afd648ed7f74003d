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

The compositions are applied by one of the executors of
:mod:`jiqa.distortions.execute` (per image on CPU, batched with static work per
op on GPU/TPU; the same triplets either way).

Example:
  >>> image = jnp.full((32, 32, 3), 0.5)
  >>> ref, dist, maps = make_triplet(jax.random.key(0), image,
  ...                                config={"types": ("darken",), "max_distortions": 1})
  >>> trip = make_triplets(jax.random.key(1), jnp.stack([image, image]),
  ...                      config=compose.EngineConfig(types=("darken", "white_noise"),
  ...                                              max_distortions=2))
  >>> trip.maps.shape
  (2, 32, 32, 25)

``maps="steps"`` returns the same maps in the compact layout of
:mod:`jiqa.distortions.map_layout` (each step's mask, type and signed value;
``map_layout.dense_maps`` expands it), 4 / 25 of the dense size by default.

Speed on a CPU (``benchmarks/engine_vs_arniqa.py`` measures each of these):
the per-image executor runs one image at a time, so one CPU device per core
(``--xla_force_host_platform_device_count``, set before JAX starts) with the
batch split over a mesh (``mesh=``, e.g. ``jiqa.training.mesh.make_mesh()``)
uses the cores; the dense maps are a fresh ``(B, H, W, 25)`` float32 buffer per
call, whose first-touch page faults cost more than computing it (``maps="steps"``
does not write it; ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` in the process's
environment lets glibc back such buffers with huge pages). Every call's fresh
buffers cost page faults too: :func:`jiqa.hostmem.keep_freed_memory` (which the
``jiqa`` command line calls) keeps freed memory in the process (composed
triplets at 512x384 on 2 CPU devices: 135 images/s with glibc's defaults, 180
with it).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jiqa.distortions import compose, execute, map_layout


class Triplet(NamedTuple):
  """``reference`` (..., H, W, 3), ``distorted`` (..., H, W, 3), ``maps`` (..., H, W, T)
  (or a :class:`~jiqa.distortions.map_layout.StepMaps` with ``maps="steps"``)."""

  reference: jax.Array
  distorted: jax.Array
  maps: jax.Array


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


@functools.partial(jax.jit, static_argnames="config")
def _make_triplet(key, image, config):
  comp = compose.sample_compositions(key, 1, config)
  dist, maps = execute.apply_shared(image[None], comp, config=config)
  return Triplet(image, dist[0], maps[0])


def make_triplet(key: jax.Array, image: jax.typing.ArrayLike, *, config=None) -> Triplet:
  """A random composition applied to one image: ``(reference, distorted, maps)``.

  Args:
    key: PRNG key (everything is deterministic given it).
    image: float32 ``(H, W, 3)`` in ``[0, 1]``.
    config: :class:`~jiqa.distortions.compose.EngineConfig`, ``ConfigDict`` or
      ``None`` for the defaults.

  Returns:
    ``Triplet(reference (H, W, 3), distorted (H, W, 3), maps (H, W, T))``; the
    image drawn is the same as ``make_triplets(key, image[None], config=config)[i][0]``.

  Example:
    >>> ref, dist, maps = make_triplet(jax.random.key(0), jnp.full((16, 16, 3), 0.5),
    ...                                config={"types": ("darken", "white_noise"),
    ...                                        "max_distortions": 2})
    >>> maps.shape
    (16, 16, 25)
  """
  return _make_triplet(key, check_images(image, 3), compose.as_engine_config(config))


@functools.partial(jax.jit, static_argnames=("config", "executor", "mesh", "maps"))
def _make_triplets(key, images, config, executor, mesh, maps="dense"):
  comp = compose.sample_compositions(key, images.shape[0], config)
  return execute.run(images, comp, config=config, executor=executor, mesh=mesh, maps=maps)


def make_triplets(key: jax.Array, images: jax.typing.ArrayLike, *, config=None,
                  executor: str = "auto", mesh=None, maps: str = "dense") -> Triplet:
  """Triplets for a batch ``(B, H, W, 3)``: each op runs only on the images that use it.

  Jitted with the options static (compiles once per batch shape and config).

  Args:
    key: PRNG key (the batch is deterministic given it, whatever the executor).
    images: float32 ``(B, H, W, 3)`` in ``[0, 1]``.
    config: :class:`~jiqa.distortions.compose.EngineConfig`, ``ConfigDict`` or ``None``.
    executor: ``"auto"`` (``"per_image"`` on CPU, ``"batched"`` on GPU/TPU),
      ``"per_image"`` or ``"batched"``: see :mod:`jiqa.distortions.execute`.
    mesh: optional mesh sharding the batch (see :func:`~jiqa.distortions.execute.run`).
    maps: ``"dense"`` (``(B, H, W, T)``, the default) or ``"steps"``: a
      :class:`~jiqa.distortions.map_layout.StepMaps` ``(masks (B, K, H, W), types
      (B, K), values (B, K))`` holding the same maps (``map_layout.dense_maps``
      gives the dense ones, bit for bit) without writing the ``T``-channel array.

  Returns:
    ``Triplet(reference, distorted, maps (B, H, W, T))``.

  Example:
    >>> images = jnp.full((4, 16, 16, 3), 0.5)
    >>> trip = make_triplets(jax.random.key(0), images,
    ...                      config={"types": ("darken",), "max_distortions": 1})
    >>> trip.distorted.shape == images.shape
    True
  """
  images = check_images(images, 4, "images")
  # The reference is the input array itself (returning it from the jitted
  # function would copy it: one more batch-sized buffer per call).
  dist, out_maps = _make_triplets(key, images, compose.as_engine_config(config),
                                  execute.resolve_executor(executor), mesh,
                                  map_layout.check_layout(maps))
  return Triplet(images, dist, out_maps)


def swap(triplet: Triplet) -> Triplet:
  """The same pair with roles swapped: ``(distorted, reference, -maps)``.

  For a :class:`~jiqa.distortions.map_layout.StepMaps` the values are negated.

  Example:
    >>> t = Triplet(jnp.zeros(2), jnp.ones(2), jnp.full(2, 0.5))
    >>> swap(t).maps.tolist()
    [-0.5, -0.5]
  """
  maps = triplet.maps
  if isinstance(maps, map_layout.StepMaps):
    return Triplet(triplet.distorted, triplet.reference, maps._replace(values=-maps.values))
  return Triplet(triplet.distorted, triplet.reference, -maps)

"""The synthetic distortion engine: a bank of pure JAX ops, masks, composition,
triplets and tiers.

Conventions: images are float32 ``(H, W, 3)`` in ``[0, 1]``, RGB, channels last
(:mod:`jiqa.images`); every op is ``op(key, image, level)`` (:mod:`.spec`);
distortion maps have one channel per type of :func:`names`, holding the signed
local strength of that type in the distorted image relative to the reference
(:mod:`.triplets`). Everything is deterministic given a PRNG key and jit-able.

Example:
  >>> import jax
  >>> from jiqa import distortions
  >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
  >>> distortions.apply("jpeg", jax.random.key(0), image, 0.6).shape
  (32, 32, 3)
  >>> ref, dist, maps = distortions.make_triplet(  # doctest: +SKIP
  ...     jax.random.key(1), image, config=distortions.default_config())  # compiles the engine
"""

from jiqa.distortions import colorspace, execute, map_layout, masks
from jiqa.distortions.compose import (
    Composition,
    EngineConfig,
    as_engine_config,
    capacities,
    default_config,
    sample_compositions,
)
from jiqa.distortions.execute import EXECUTORS, apply_compositions, apply_per_image, apply_shared
from jiqa.distortions.map_layout import MAP_LAYOUTS, StepMaps, dense_maps
from jiqa.distortions.masks import MASK_KINDS
from jiqa.distortions.spec import AXES, GROUPS, KADID_LEVELS, DistortionSpec, blend_from_identity, kadid_param
from jiqa.distortions.table import apply, directions, get, groups, index, names, signed_types, specs
from jiqa.distortions.tiers import TIER_MODES, Tier, make_tier, make_tiers, map_severity, tier_factors
from jiqa.distortions.triplets import Triplet, make_triplet, make_triplets, swap

__all__ = [
    "AXES", "EXECUTORS", "GROUPS", "KADID_LEVELS", "MAP_LAYOUTS", "MASK_KINDS", "TIER_MODES",
    "Composition", "DistortionSpec", "EngineConfig", "StepMaps", "Tier", "Triplet",
    "apply", "apply_compositions", "apply_per_image", "apply_shared", "as_engine_config", "blend_from_identity",
    "capacities", "colorspace", "default_config", "dense_maps", "directions", "get", "groups",
    "index",
    "kadid_param", "make_tier", "make_tiers", "make_triplet", "make_triplets", "map_severity",
    "execute", "map_layout", "masks", "names",
    "sample_compositions", "signed_types", "specs", "swap", "tier_factors",
]

"""Configuration and random sampling of distortion compositions.

A *composition* of an image is up to ``max_distortions`` distortion steps, each a
type of a distinct KADID group (as ARNIQA draws them), applied in a random order,
each with its own level (from ``level_distribution``), PRNG key and mask
(:mod:`jiqa.distortions.masks`). A fraction ``pristine_prob`` of images gets no
step at all. :class:`EngineConfig` (a frozen, hashable dataclass, the static
form used under ``jit``) holds the options; :func:`default_config` gives the
same defaults as an ``ml_collections.ConfigDict``; every function of the engine
accepts either (:func:`as_engine_config` converts once).

Static work per op (why the sampler is stratified). Under ``vmap`` a random
choice of op by ``lax.switch`` runs every op on every image. The batched engine
instead runs each op once per composition step on a sub-batch of *static* size
(gathered and scattered back), which needs static bounds on how many images
choose each op at each step. :func:`sample_compositions` guarantees them:

* the number of steps: counts of images with 0 (pristine), 1, ..., K steps are
  ``B p_n`` rounded down plus a systematic sample of the remainders (so each
  count has expectation exactly ``B p_n``); images are put in a random order
  (positions) sorted by their number of steps, so step ``s`` is active on a
  prefix of the positions;
* groups: positions are cut in chunks of ``G`` (the number of groups with an
  allowed type); each chunk draws its own random Latin square (random symbol and
  column permutations of the cyclic square), giving each image a uniformly
  random ordered tuple of distinct groups, while each group occurs at most
  ``ceil(A_s / G)`` times at step ``s`` (``A_s`` the active count);
* types: within a group at a step, the members (in position order) cycle
  through a random permutation of the group's allowed types, so each type is
  uniform within its group and occurs at most ``ceil(ceil(A_s / G) / m_g)``
  times. :func:`capacities` returns these bounds.

Per image the law is ARNIQA's (uniform number of steps, distinct groups in a
random order, uniform type within a group); within one batch the assignments of
different images are weakly dependent (that is the price of static work).

Example:
  >>> cfg = EngineConfig(types=("gaussian_blur", "jpeg"), max_distortions=2)
  >>> comp = sample_compositions(jax.random.key(0), 8, cfg)
  >>> comp.types.shape
  (8, 2)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jiqa.distortions import masks, table

LEVEL_DISTRIBUTIONS = ("kadid_half_gaussian", "kadid_discrete", "uniform")
# Scale of the half-Gaussian over level indices: with bins [k-1, k) on [0, 5) it gives
# probabilities (.30, .27, .21, .14, .085) for L1..L5, ARNIQA's (.29, .27, .21, .14, .08).
HALF_GAUSSIAN_SCALE = 2.8


@dataclasses.dataclass(frozen=True)
class EngineConfig:
  """Options of the composition sampler (frozen: usable as a static jit argument).

  Attributes:
    types: names of the allowed types (``()`` = all of :func:`table.names`);
      use it to hold types out of training.
    min_distortions, max_distortions: the number of steps of a non-pristine
      image is uniform in ``[min, max]``; ``max`` is at most the number of
      groups that have an allowed type.
    level_distribution: ``"kadid_half_gaussian"`` (continuous: ``x`` half-normal
      of scale 2.8 truncated to ``[0, 5)``, its bin ``[k-1, k)`` mapped linearly
      onto the levels nearest to L_k, ``[0.2k - 0.1, 0.2k + 0.1)``, the last onto
      ``[0.9, 1]``: ARNIQA's half-Gaussian over L1..L5 made continuous; rounding
      gives L1..L5 with probabilities .30, .27, .21, .14, .085), ``"kadid_discrete"``
      (exactly 0.2, ..., 1.0 with the same probabilities) or ``"uniform"``
      (uniform in ``[level_min, 1]``).
    level_min: lower end of the uniform distribution.
    pristine_prob: probability that an image gets no distortion.
    mask_kinds: the mask kinds drawn (names from :data:`masks.MASK_KINDS`).
    mask_probs: their probabilities (normalised).
    signed_prob: probability that a signed-level type (``mean_shift``,
      ``contrast_change``) gets a *negative* level (darker / less contrast).
  """

  types: tuple[str, ...] = ()
  min_distortions: int = 1
  max_distortions: int = 4
  level_distribution: str = "kadid_half_gaussian"
  level_min: float = 0.05
  pristine_prob: float = 0.05
  mask_kinds: tuple[str, ...] = masks.MASK_KINDS
  mask_probs: tuple[float, ...] = (0.4, 0.2, 0.15, 0.15, 0.1)
  signed_prob: float = 0.5

  @property
  def type_indices(self) -> tuple[int, ...]:
    """Table indices of :attr:`types` (the branches the executors compile).

    Example:
      >>> EngineConfig(types=("jpeg", "gaussian_blur"), max_distortions=2).type_indices == (
      ...     table.index("jpeg"), table.index("gaussian_blur"))
      True
    """
    return tuple(table.index(t) for t in self.types)

  def __post_init__(self):
    object.__setattr__(self, "types", tuple(self.types) or table.names())
    object.__setattr__(self, "mask_kinds", tuple(self.mask_kinds))
    object.__setattr__(self, "mask_probs", tuple(float(p) for p in self.mask_probs))
    for t in self.types:
      table.index(t)  # raises ValueError for unknown names
    if len(set(self.types)) != len(self.types):
      raise ValueError(f"types: names are repeated in {self.types}.")
    n_groups = len(allowed_groups(self))
    if not 1 <= self.min_distortions <= self.max_distortions:
      raise ValueError("min_distortions, max_distortions: expected 1 <= min <= max; got "
                       f"{self.min_distortions}, {self.max_distortions}.")
    if self.max_distortions > n_groups:
      raise ValueError(f"max_distortions: {self.max_distortions} exceeds the {n_groups} "
                       "groups that have an allowed type (groups are distinct per image).")
    if self.level_distribution not in LEVEL_DISTRIBUTIONS:
      raise ValueError(f"level_distribution: {self.level_distribution!r} is not one of "
                       f"{LEVEL_DISTRIBUTIONS}.")
    if not 0.0 <= self.level_min < 1.0:
      raise ValueError(f"level_min: expected a value in [0, 1); got {self.level_min}.")
    for name in ("pristine_prob", "signed_prob"):
      if not 0.0 <= getattr(self, name) <= 1.0:
        raise ValueError(f"{name}: expected a probability in [0, 1]; got {getattr(self, name)}.")
    if len(self.mask_kinds) != len(self.mask_probs) or not self.mask_kinds:
      raise ValueError("mask_kinds, mask_probs: expected the same non-zero length; got "
                       f"{len(self.mask_kinds)} and {len(self.mask_probs)}.")
    for k in self.mask_kinds:
      masks.kind_index(k)
    if min(self.mask_probs) < 0 or sum(self.mask_probs) <= 0:
      raise ValueError(f"mask_probs: expected non-negative values with a positive sum; "
                       f"got {self.mask_probs}.")


def default_config() -> ml_collections.ConfigDict:
  """The default engine options as a ``ConfigDict`` (the fields of :class:`EngineConfig`).

  Example:
    >>> cfg = default_config()
    >>> cfg.max_distortions = 2
    >>> as_engine_config(cfg).max_distortions
    2
  """
  cfg = ml_collections.ConfigDict()
  for f in dataclasses.fields(EngineConfig):
    cfg[f.name] = f.default
  cfg.types = table.names()
  return cfg


def as_engine_config(config) -> EngineConfig:
  """Converts a ``ConfigDict``, a mapping, ``None`` (defaults) or an EngineConfig.

  Raises:
    ValueError: for unknown fields or invalid values.

  Example:
    >>> as_engine_config({"max_distortions": 1}).max_distortions
    1
  """
  if config is None:
    return EngineConfig()
  if isinstance(config, EngineConfig):
    return config
  if isinstance(config, ml_collections.ConfigDict):
    config = config.to_dict()
  if not isinstance(config, Mapping):
    raise ValueError(f"config: expected an EngineConfig, a ConfigDict or a mapping; got "
                     f"{type(config).__name__}.")
  known = {f.name for f in dataclasses.fields(EngineConfig)}
  unknown = set(config) - known
  if unknown:
    raise ValueError(f"config: unknown fields {sorted(unknown)}; expected some of {sorted(known)}.")
  kwargs = {k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in config.items()}
  return EngineConfig(**kwargs)


def run_engine_config(config: ml_collections.ConfigDict, *, heldout: bool = False) -> EngineConfig:
  """The engine config of a training run: its training types or its held-out types.

  Starts from :func:`default_config`, applies the overrides in
  ``config.engine`` and sets ``types`` to every allowed type except
  ``config.eval.holdout_types`` (``heldout=False``) or to those only
  (``heldout=True``); ``max_distortions`` (and ``min_distortions``) are
  lowered to the number of groups the split has.

  Raises:
    ValueError: if a held-out type is not a known distortion name, a key of
      ``config.engine`` is not a field of :class:`EngineConfig`, or a split has
      no type left.

  Example:
    >>> run = ml_collections.ConfigDict({"engine": {"types": ("jpeg", "darken")},
    ...                                  "eval": {"holdout_types": ("darken",)}})
    >>> run_engine_config(run).types, run_engine_config(run, heldout=True).types
    (('jpeg',), ('darken',))
  """
  names = tuple(table.names())
  hold = tuple(config.eval.holdout_types)
  unknown = [t for t in hold if t not in names]
  if unknown:
    raise ValueError(f"config.eval.holdout_types: unknown types {unknown}; known: {names}.")
  fields = dict(default_config().to_dict())
  for k, v in dict(config.get("engine", {})).items():
    if k not in fields:
      raise ValueError(f"config.engine.{k} is not a field of the engine config "
                       f"({sorted(fields)}).")
    fields[k] = v
  allowed = tuple(fields.get("types") or names)
  types = hold if heldout else tuple(t for t in allowed if t not in hold)
  if not types:
    raise ValueError("config.eval.holdout_types leaves no distortion type for this split.")
  fields["types"] = types
  groups = {table.get(t).group for t in types}
  fields["max_distortions"] = min(int(fields["max_distortions"]), len(groups))
  fields["min_distortions"] = min(int(fields["min_distortions"]), fields["max_distortions"])
  return as_engine_config(fields)


def allowed_groups(config: EngineConfig) -> tuple[tuple[str, tuple[int, ...]], ...]:
  """``((group, (table indices of its allowed types, ...)), ...)`` in table order.

  Example:
    >>> allowed_groups(EngineConfig(types=("jpeg", "darken"), max_distortions=1))
    (('compression', (9,)), ('brightness', (16,)))
  """
  out: dict[str, list[int]] = {}
  for name in table.names():
    if name in config.types:
      out.setdefault(table.get(name).group, []).append(table.index(name))
  return tuple((g, tuple(ix)) for g, ix in out.items())


class Composition(NamedTuple):
  """The random draws of a batch of compositions (``B`` images, ``K`` steps).

  Attributes:
    types: int32 ``(B, K)``, table index of the type of step ``k``, -1 if none.
    levels: float32 ``(B, K)``, the op's level (signed for signed-level types; 0 if none).
    op_keys: ``(B, K)`` PRNG keys of the ops.
    mask_keys: ``(B, K)`` PRNG keys of the masks.
    mask_kinds: int32 ``(B, K)``, indices into :data:`masks.MASK_KINDS`.
  """

  types: jax.Array
  levels: jax.Array
  op_keys: jax.Array
  mask_keys: jax.Array
  mask_kinds: jax.Array


def _step_count_probs(config: EngineConfig) -> np.ndarray:
  k = config.max_distortions
  p = np.zeros(k + 1)
  p[0] = config.pristine_prob
  p[config.min_distortions:] = (1 - config.pristine_prob) / (k - config.min_distortions + 1)
  return p


def _floors(batch_size: int, config: EngineConfig):
  expected = np.round(batch_size * _step_count_probs(config), 9)
  floors = np.floor(expected).astype(int)
  return floors, expected - floors


def capacities(batch_size: int, config) -> tuple[tuple[int, ...], ...]:
  """Static bounds ``caps[s][t]`` on how many of ``batch_size`` images use type ``t`` at step ``s``.

  Example:
    >>> capacities(8, EngineConfig(types=("jpeg",), max_distortions=1))[0][9]
    8
  """
  config = as_engine_config(config)
  floors, rems = _floors(batch_size, config)
  extra = int(round(rems.sum()))
  groups = allowed_groups(config)
  n_types = len(table.names())
  caps = []
  for s in range(config.max_distortions):
    active_max = int(floors[s + 1:].sum()) + min(extra, int((rems[s + 1:] > 1e-9).sum()))
    per_group = math.ceil(active_max / len(groups))
    row = [0] * n_types
    for _, ix in groups:
      for t in ix:
        row[t] = math.ceil(per_group / len(ix))
    caps.append(tuple(row))
  return tuple(caps)


def _step_counts(key, batch_size, config):
  """Number of steps per position (descending), with exact expected counts."""
  floors, rems = _floors(batch_size, config)
  u = jax.random.uniform(key, (), jnp.float32, 1e-6, 1.0 - 1e-6)
  cum = jnp.concatenate([jnp.zeros(1), jnp.cumsum(jnp.asarray(rems, jnp.float32))])
  extra = jnp.ceil(cum[1:] - u) - jnp.ceil(cum[:-1] - u)  # systematic sampling, 0 or 1
  counts = jnp.asarray(floors, jnp.int32) + extra.astype(jnp.int32)   # (K+1,) for n=0..K
  at_least = jnp.cumsum(counts[::-1])[::-1]                            # images with >= n steps
  pos = jnp.arange(batch_size)
  return jnp.sum(pos[:, None] < at_least[None, 1:], axis=1)           # (B,)


def _levels(key, shape, config):
  if config.level_distribution == "uniform":
    return jax.random.uniform(key, shape, jnp.float32, config.level_min, 1.0)
  s = HALF_GAUSSIAN_SCALE
  top = math.erf(5.0 / s / math.sqrt(2.0))  # P(|z| s < 5)
  u = jax.random.uniform(key, shape, jnp.float32, 0.0, top)
  x = s * math.sqrt(2.0) * jax.scipy.special.erfinv(u)  # half-normal truncated to [0, 5)
  if config.level_distribution == "kadid_discrete":
    return 0.2 * (jnp.floor(jnp.minimum(x, 4.999)) + 1.0)
  # Bin [k-1, k) of x goes to [0.2 k - 0.1, 0.2 k + 0.1) (the levels nearest to L_k); the
  # last bin is squeezed into [0.9, 1.0].
  return jnp.where(x < 4.0, 0.1 + 0.2 * x, 0.9 + 0.1 * (x - 4.0))


def sample_compositions(key: jax.Array, batch_size: int, config) -> Composition:
  """Draws the compositions of ``batch_size`` images (see the module docstring).

  Args:
    key: PRNG key.
    batch_size: static ``B``.
    config: :class:`EngineConfig`, ``ConfigDict`` or mapping (static).

  Returns:
    A :class:`Composition` with arrays of shape ``(B, K)``, ``K = max_distortions``,
    whose per-step type counts respect :func:`capacities`.

  Example:
    >>> comp = sample_compositions(jax.random.key(0), 16, default_config())
    >>> int((comp.types >= 0).sum(1).max()) <= 4
    True
  """
  config = as_engine_config(config)
  if batch_size < 1:
    raise ValueError(f"batch_size: expected a positive number of images; got {batch_size}.")
  b, k = batch_size, config.max_distortions
  groups = allowed_groups(config)
  g = len(groups)
  keys = jax.random.split(key, 9)
  n_steps = _step_counts(keys[0], b, config)                        # per position
  # Latin squares, one per chunk of g positions: group = sym[(row + col[s]) % g].
  n_chunks = -(-b // g)
  perm = jax.vmap(lambda kk: jax.random.permutation(kk, g))
  sym = perm(jax.random.split(keys[1], n_chunks))                   # (C, g)
  col = perm(jax.random.split(keys[2], n_chunks))[:, :k]            # (C, K)
  pos = jnp.arange(b)
  chunk, row = pos // g, pos % g
  group_pos = jnp.take_along_axis(sym[chunk], (row[:, None] + col[chunk]) % g, axis=1)  # (B, K)
  active = jnp.arange(k)[None, :] < n_steps[:, None]
  # Types: the members of group g at step s (in position order, rank r) take the
  # (r mod m_g)-th type of a random order of the group's m_g allowed types.
  sizes = np.array([len(ix) for _, ix in groups])
  padded = np.full((g, sizes.max()), -1, np.int32)
  for gi, (_, ix) in enumerate(groups):
    padded[gi, :len(ix)] = ix
  noise = jax.random.uniform(keys[3], (k, g, sizes.max()))
  noise = jnp.where(jnp.asarray(padded) >= 0, noise, 2.0)      # invalid entries sort last
  type_order = jnp.argsort(noise, axis=-1)                        # (K, g, Mmax)
  member = (group_pos[:, :, None] == jnp.arange(g)) & active[:, :, None]   # (B, K, g)
  rank = jnp.take_along_axis(jnp.cumsum(member, axis=0) - 1, group_pos[:, :, None], axis=2)[..., 0]
  slot = rank % jnp.asarray(sizes)[group_pos]
  chosen = type_order[jnp.arange(k)[None, :], group_pos, slot]   # (B, K)
  types_pos = jnp.where(active, jnp.asarray(padded)[group_pos, chosen], -1)
  # From positions to images: image perm[j] sits at position j.
  order = jax.random.permutation(keys[4], b)
  types = jnp.zeros_like(types_pos).at[order].set(types_pos)
  levels = _levels(keys[5], (b, k), config)
  signed_level = jnp.asarray(table.directions() == 0)[jnp.maximum(types, 0)]
  negative = jax.random.bernoulli(keys[6], config.signed_prob, (b, k))
  levels = jnp.where(signed_level & negative, -levels, levels)
  levels = jnp.where(types >= 0, levels, 0.0)
  probs = np.asarray(config.mask_probs) / np.sum(config.mask_probs)
  kind_ix = jnp.asarray([masks.kind_index(m) for m in config.mask_kinds], jnp.int32)
  kinds = kind_ix[jax.random.choice(keys[7], len(probs), (b, k), p=jnp.asarray(probs))]
  op_keys, mask_keys = jax.random.split(keys[8], (2, b, k))
  return Composition(types, levels.astype(jnp.float32), op_keys, mask_keys, kinds)

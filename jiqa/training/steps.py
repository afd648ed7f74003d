"""The pure, jitted train step: data made on the device, map and ranking losses.

One step of ``config.task``:

* ``"map"``: a batch of triplets ``(reference, distorted, maps)`` made by
  :func:`jiqa.distortions.make_triplet` from random crops; the map predictor
  reads ``(distorted, reference)`` and is trained with
  :func:`jiqa.losses.map_loss` (signed-map regression + presence BCE).
* ``"scorer"``: a batch of tiers (one content, ``n`` images of strictly
  increasing severity, :func:`jiqa.distortions.make_tier`); the scorer scores
  each tier image against the pristine crop and is trained with
  :func:`jiqa.losses.ranking_loss`.
* ``"pipeline"``: both batches in the same step and the weighted sum
  ``map_weight * map_loss + rank_weight * ranking_loss`` (joint, not
  alternating: one compiled step, one optimizer, and the scorer can read the
  map predictor's features while it learns).

Randomness: the step key is ``fold_in(key, step)``; the crop of example ``i``
of the global batch uses ``fold_in(fold_in(step_key, stream), i)`` and the
distortions come from the engine's batched ``make_triplets`` / ``make_tiers``
over the whole global batch with a key folded from the step key, so the batch
does not depend on the number of devices (JAX's random numbers do not depend
on sharding), and a resumed run sees exactly the data of an uninterrupted one.
The batch is generated sharded along the mesh's ``"data"`` axis.

Example:
  >>> step = make_train_step(graphdef, config, engine, mesh=m)  # doctest: +SKIP
  >>> state, metrics = step(state, pool, jax.random.key(0))     # doctest: +SKIP
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import nnx
from jax.sharding import Mesh

from jiqa.training import data as data_lib
from jiqa.training import mesh as mesh_lib
from jiqa.training import state as state_lib


def engine_config(config: ml_collections.ConfigDict, *, heldout: bool = False):
  """The distortion engine's config of a run: training types or held-out types.

  Starts from :func:`jiqa.distortions.default_config`, applies the overrides
  in ``config.engine`` and sets ``types`` to every type except
  ``config.eval.holdout_types`` (``heldout=False``) or to those only
  (``heldout=True``).

  Raises:
    ValueError: if a held-out type is not a known distortion name.

  Example:
    >>> engine_config(config).types  # doctest: +SKIP
  """
  from jiqa import distortions

  names = tuple(distortions.names())
  hold = tuple(config.eval.holdout_types)
  unknown = [t for t in hold if t not in names]
  if unknown:
    raise ValueError(f"config.eval.holdout_types: unknown types {unknown}; known: {names}.")
  fields = dict(distortions.default_config().to_dict())
  for k, v in dict(config.get("engine", {})).items():
    if k not in fields:
      raise ValueError(f"config.engine.{k} is not a field of the engine config "
                       f"({sorted(fields)}).")
    fields[k] = tuple(v) if isinstance(v, (list, tuple)) else v
  allowed = tuple(fields.get("types") or names)
  types = hold if heldout else tuple(t for t in allowed if t not in hold)
  if not types:
    raise ValueError("config.eval.holdout_types leaves no distortion type for this split.")
  fields["types"] = types
  groups = {distortions.get(t).group for t in types}
  fields["max_distortions"] = min(int(fields["max_distortions"]), len(groups))
  fields["min_distortions"] = min(int(fields["min_distortions"]), fields["max_distortions"])
  fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
  return distortions.EngineConfig(**fields)


def make_batch(step_key: jax.Array, pool: jax.Array, *, config: ml_collections.ConfigDict,
               engine, mesh: Mesh | None = None) -> dict[str, jax.Array]:
  """Random crops and their triplets and/or tiers, all made on the device.

  Returns a dict with ``reference, distorted, maps`` (triplets, for the map
  predictor) and/or ``tier_images (B, n, H, W, 3), tier_severity (B, n),
  tier_reference (B, H, W, 3)`` (for the scorer).

  Example:
    >>> batch = make_batch(jax.random.key(0), pool, config=cfg, engine=eng)  # doctest: +SKIP
  """
  from jiqa import distortions

  task = state_lib.check_task(config.task)
  d = config.data

  def sharded(x):
    if mesh is None:
      return x
    return jax.lax.with_sharding_constraint(x, mesh_lib.batch_sharding(mesh))

  def crops(stream: int, batch_size: int):
    keys = sharded(data_lib.example_keys(jax.random.fold_in(step_key, stream), batch_size))
    return jax.vmap(lambda k: data_lib.random_crop(k, pool, crop_size=d.crop_size))(keys)

  # The engine's batched functions run each op only on the images that use it
  # (vmapping the single-image ones would run every op on every image).
  batch = {}
  if task == "map" or task == "pipeline":
    ref, dist, maps = distortions.make_triplets(
        jax.random.fold_in(step_key, 2), sharded(crops(0, d.batch_size)), engine, mesh=mesh)
    batch.update(reference=ref, distorted=dist, maps=maps)
  if task == "scorer" or task == "pipeline":
    refs = sharded(crops(1, d.tier_batch_size))
    tiers = distortions.make_tiers(jax.random.fold_in(step_key, 3), refs, d.tier_size, engine,
                                   mode=d.get("tier_mode", "mixed"), mesh=mesh)
    batch.update(tier_images=tiers[0], tier_severity=tiers[1], tier_reference=refs)
  return batch


def tier_scores(scorer, images: jax.Array, reference: jax.Array) -> jax.Array:
  """Scores ``(B, n)`` of tier images ``(B, n, H, W, 3)`` against references ``(B, H, W, 3)``.

  Example:
    >>> tier_scores(scorer, imgs, ref).shape  # doctest: +SKIP
    (2, 4)
  """
  b, n = images.shape[:2]
  flat = images.reshape((b * n,) + images.shape[2:])
  refs = jnp.repeat(reference, n, axis=0)
  return scorer(flat, refs).reshape(b, n)


def pairwise_accuracy(scores: jax.Array, severity: jax.Array) -> jax.Array:
  """Share of within-tier pairs ordered right (higher score = lower severity; ties 1/2).

  Example:
    >>> float(pairwise_accuracy(jnp.array([[3., 2., 1.]]), jnp.array([[0., .5, 1.]])))
    1.0
  """
  ds = scores[:, :, None] - scores[:, None, :]
  dv = severity[:, None, :] - severity[:, :, None]
  valid = dv != 0
  right = jnp.where(ds * dv > 0, 1.0, jnp.where(ds == 0, 0.5, 0.0))
  return jnp.sum(jnp.where(valid, right, 0.0)) / jnp.maximum(jnp.sum(valid), 1)


RANKING_SCOPES = ("tier", "batch")


def ranking_loss(scores: jax.Array, severity: jax.Array, *, kind: str, scope: str) -> jax.Array:
  """The ranking loss within each tier (``scope="tier"``) or over the whole batch.

  With ``"batch"`` the ``B x n`` tier images, each scored against its own
  pristine reference, are ranked as one list: severity (the maps' distortion
  mass, :func:`jiqa.distortions.map_severity`) is on one scale for every
  content, so images of different contents are compared too (``B n (B n - 1)
  / 2`` pairs instead of ``B n (n - 1) / 2``).

  Example:
    >>> ranking_loss(s, sev, kind="pairwise", scope="batch")  # doctest: +SKIP
  """
  from jiqa import losses

  if scope not in RANKING_SCOPES:
    raise ValueError(f"config.train.ranking_scope must be one of {RANKING_SCOPES}; got {scope!r}.")
  if scope == "batch":
    scores, severity = scores.reshape(1, -1), severity.reshape(1, -1)
  return losses.ranking_loss(scores, severity, kind=kind)


def compute_losses(models: state_lib.Models, batch: dict[str, jax.Array], *,
                   config: ml_collections.ConfigDict) -> tuple[jax.Array, dict[str, jax.Array]]:
  """The weighted training loss of a batch and its parts.

  Example:
    >>> loss, parts = compute_losses(models, batch, config=cfg)  # doctest: +SKIP
  """
  from jiqa import losses

  t = config.train
  total = jnp.zeros((), jnp.float32)
  parts = {}
  if "maps" in batch:
    out = models.map_predictor(batch["reference"], batch["distorted"])  # maps of b rel. to a
    m_loss = losses.map_loss(out, batch["maps"], kind=t.map_loss_kind)
    total = total + t.map_weight * m_loss
    parts["map_loss"] = m_loss
    parts["map_mae"] = jnp.mean(jnp.abs(out.maps - batch["maps"]))
  if "tier_images" in batch:
    scores = tier_scores(models.scorer, batch["tier_images"], batch["tier_reference"])
    r_loss = ranking_loss(scores, batch["tier_severity"], kind=t.ranking_kind,
                          scope=t.get("ranking_scope", "tier"))
    total = total + t.rank_weight * r_loss
    parts["rank_loss"] = r_loss
    parts["pairwise_acc"] = pairwise_accuracy(scores, batch["tier_severity"])
  parts["loss"] = total
  return total, parts


def train_step(graphdef: nnx.GraphDef, state: dict[str, Any], pool: jax.Array, key: jax.Array,
               *, config: ml_collections.ConfigDict, engine, tx: optax.GradientTransformation,
               mesh: Mesh | None = None) -> tuple[dict[str, Any], dict[str, jax.Array]]:
  """One optimisation step (pure: unjitted; see :func:`make_train_step`).

  Example:
    >>> state, metrics = train_step(graphdef, state, pool, key, config=cfg,
    ...                             engine=eng, tx=tx)  # doctest: +SKIP
  """
  step_key = jax.random.fold_in(key, state["step"])
  batch = make_batch(step_key, pool, config=config, engine=engine, mesh=mesh)

  def loss_fn(params):
    models = nnx.merge(graphdef, params, state["rest"])
    loss, parts = compute_losses(models, batch, config=config)
    _, _, rest = nnx.split(models, nnx.Param, ...)
    return loss, (parts, rest)

  (_, (parts, rest)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
  updates, opt_state = tx.update(grads, state["opt_state"], state["params"])
  params = optax.apply_updates(state["params"], updates)
  parts["grad_norm"] = optax.tree.norm(grads)
  new_state = {"step": state["step"] + 1, "params": params, "rest": rest, "opt_state": opt_state}
  return new_state, parts


def make_train_step(graphdef: nnx.GraphDef, config: ml_collections.ConfigDict, engine,
                    tx: optax.GradientTransformation, *, mesh: Mesh):
  """The jitted step ``(state, pool, key) -> (state, metrics)``; ``state`` is donated.

  Outputs are replicated over ``mesh``; the batch inside is sharded along
  ``"data"``.

  Example:
    >>> step = make_train_step(graphdef, cfg, eng, tx, mesh=m)  # doctest: +SKIP
  """
  mesh_lib.check_batch_size(config.data.batch_size, mesh)
  if config.task != "map":
    mesh_lib.check_batch_size(config.data.tier_batch_size, mesh)
  fn = functools.partial(train_step, graphdef, config=config, engine=engine, tx=tx, mesh=mesh)
  return jax.jit(fn, donate_argnums=(0,), out_shardings=mesh_lib.replicated(mesh))


def make_eval_step(graphdef: nnx.GraphDef, config: ml_collections.ConfigDict, engine, *,
                   mesh: Mesh):
  """The jitted ``(state, pool, key) -> metrics``: the training losses without an update.

  Example:
    >>> ev = make_eval_step(graphdef, cfg, eng, mesh=m)  # doctest: +SKIP
  """

  def eval_step(state, pool, key):
    batch = make_batch(key, pool, config=config, engine=engine, mesh=mesh)
    models = state_lib.merge(graphdef, state)
    _, parts = compute_losses(models, batch, config=config)
    return parts

  return jax.jit(eval_step, out_shardings=mesh_lib.replicated(mesh))

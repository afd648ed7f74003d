"""The train state as plain pytrees: NNX models split once, an optax optimizer.

The models trained together (a :class:`jiqa.models.MapPredictor` and/or a
:class:`jiqa.models.RelationalScorer`, built by :func:`jiqa.models.make_scorer`) live in one :class:`Models` container.
It is split once with ``nnx.split`` into a static ``graphdef`` and arrays; the
train state is then a dict of pytrees that jit, sharding and orbax handle
directly::

  {"step": int32 scalar, "params": nnx.State of nnx.Param,
   "rest": nnx.State of every other variable, "opt_state": optax state}

No PRNG key is stored: steps derive theirs from ``fold_in(key(seed), step)``.

Example:
  >>> cfg = ml_collections.ConfigDict({"task": "map", "seed": 0,
  ...     "model": {"map": {"backbone": "unet", "width": 8, "depth": 2}},
  ...     "optim": {"learning_rate": 1e-3, "warmup_steps": 1, "weight_decay": 0.0,
  ...               "clip_norm": 1.0}})
  >>> graphdef, state = create(cfg, num_types=25, total_steps=10)
  >>> int(state["step"])
  0
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import nnx

TASKS = ("map", "scorer", "pipeline")


class Models(nnx.Module):
  """The models of one run; either may be ``None``.

  Attributes:
    map_predictor: the anti-symmetric distortion-map predictor, or ``None``.
    scorer: the relational scorer, or ``None``.
  """

  def __init__(self, map_predictor=None, scorer=None):
    self.map_predictor = map_predictor
    self.scorer = scorer


def check_task(task: str) -> str:
  """Returns ``task`` or raises ``ValueError`` naming the allowed values."""
  if task not in TASKS:
    raise ValueError(f"config.task must be one of {TASKS}; got {task!r}.")
  return task


def build_models(config: ml_collections.ConfigDict, *, num_types: int, rngs: nnx.Rngs) -> Models:
  """Builds the models that ``config.task`` trains.

  ``"map"`` builds the map predictor, ``"scorer"`` the scorer, ``"pipeline"``
  both. When ``config.model.scorer_reads_maps`` is true the scorer is given the
  map predictor and reads its features (so the map predictor is built for the
  scorer task too, and trained through the ranking loss only).

  Example:
    >>> cfg = ml_collections.ConfigDict({"task": "scorer", "seed": 0,
    ...     "model": {"scorer": {"backbone": "stats", "width": 4, "depth": 1,
    ...                          "antisymmetric": False}},
    ...     "optim": {"learning_rate": 1e-3, "warmup_steps": 1, "weight_decay": 0.0,
    ...               "clip_norm": 1.0}})
    >>> m = build_models(cfg, num_types=25, rngs=nnx.Rngs(0))
    >>> m.map_predictor is None, type(m.scorer).__name__
    (True, 'ReferenceAnchoredScorer')
  """
  from jiqa import models as models_lib  # The models package is imported on use.

  task = check_task(config.task)
  reads_maps = bool(config.model.get("scorer_reads_maps", False)) and task != "map"
  map_predictor = scorer = None
  if task in ("map", "pipeline") or reads_maps:
    map_predictor = models_lib.MapPredictor(num_types, **dict(config.model.map), rngs=rngs)
  if task in ("scorer", "pipeline"):
    kwargs = dict(config.model.get("scorer", {}))
    if reads_maps:
      kwargs["map_predictor"] = map_predictor
    scorer = models_lib.make_scorer(**kwargs, rngs=rngs)
  return Models(map_predictor, scorer)


def clip_by_model_norm(max_norm: float) -> optax.GradientTransformation:
  """Clips each model's gradient (each top-level key of the tree) by its own global norm.

  ``optax.clip_by_global_norm`` on the gradient of every leaf under one
  top-level key (``"map_predictor"``, ``"scorer"``) at a time: two models that
  share no parameter then train as they would alone (with one global norm, a
  change of the scorer changes every step of the map predictor).

  Example:
    >>> g = {"a": {"w": jnp.array([3.0, 4.0])}, "b": {"w": jnp.array([0.3, 0.4])}}
    >>> u, _ = clip_by_model_norm(1.0).update(g, optax.EmptyState())
    >>> [round(float(x), 6) for x in jnp.concatenate([u["a"]["w"], u["b"]["w"]])]
    [0.6, 0.8, 0.3, 0.4]
  """
  if not max_norm > 0:
    raise ValueError(f"max_norm must be > 0; got {max_norm}.")

  def update_fn(updates, state, params=None):
    del params
    leaves, treedef = jax.tree_util.tree_flatten_with_path(updates)
    groups: dict[Any, list[int]] = {}
    for i, (path, _) in enumerate(leaves):
      groups.setdefault(path[0] if path else None, []).append(i)
    out = [leaf for _, leaf in leaves]
    for idx in groups.values():
      norm = optax.tree.norm([out[i] for i in idx])
      scale = jnp.where(norm < max_norm, 1.0, max_norm / norm)
      for i in idx:
        out[i] = (out[i] * scale).astype(out[i].dtype)
    return jax.tree_util.tree_unflatten(treedef, out), state

  return optax.GradientTransformation(lambda params: optax.EmptyState(), update_fn)


def make_optimizer(config: ml_collections.ConfigDict, *, total_steps: int
                   ) -> optax.GradientTransformation:
  """AdamW with linear warm-up and cosine decay, after gradient-norm clipping.

  The clipping is by the global norm of all gradients, or, with
  ``optim.clip_per_model`` true, by each model's own
  (:func:`clip_by_model_norm`).

  Example:
    >>> cfg = ml_collections.ConfigDict({"task": "scorer", "seed": 0,
    ...     "model": {"scorer": {"backbone": "stats", "width": 4, "depth": 1,
    ...                          "antisymmetric": False}},
    ...     "optim": {"learning_rate": 1e-3, "warmup_steps": 1, "weight_decay": 0.0,
    ...               "clip_norm": 1.0}})
    >>> tx = make_optimizer(cfg, total_steps=100)
    >>> updates, _ = tx.update({"w": jnp.ones(2)}, tx.init({"w": jnp.zeros(2)}), {"w": jnp.zeros(2)})
    >>> abs(float(updates["w"][0]))  # the first step's learning rate is 0 (warm-up)
    0.0
  """
  o = config.optim
  if total_steps < 1:
    raise ValueError(f"total_steps must be >= 1; got {total_steps}.")
  warmup = int(min(o.warmup_steps, max(total_steps - 1, 0)))
  schedule = optax.warmup_cosine_decay_schedule(
      init_value=0.0, peak_value=o.learning_rate, warmup_steps=warmup,
      decay_steps=max(total_steps, warmup + 1), end_value=o.learning_rate * 0.05)
  clip = (clip_by_model_norm(o.clip_norm) if o.get("clip_per_model", False)
          else optax.clip_by_global_norm(o.clip_norm))
  return optax.chain(clip,
                     optax.adamw(schedule, weight_decay=o.weight_decay))


def initial_models(config: ml_collections.ConfigDict, *, num_types: int) -> Models:
  """The run's models as :func:`create` initialises them from ``config.seed`` (step 0).

  A trained run's untrained twin: the trivial baseline of what training added
  (for the :class:`~jiqa.models.DeviationScorer`, the prior ``w = 1/K``).

  Example:
    >>> cfg = ml_collections.ConfigDict({"task": "scorer", "seed": 0,
    ...     "model": {"scorer": {"backbone": "deviation", "depth": 2, "antisymmetric": False}}})
    >>> s = initial_models(cfg, num_types=25).scorer
    >>> [round(float(w), 4) for w in s.weights()]
    [0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125]
  """
  # rbg keys make parameter initialisation ~8x faster to compile on CPU than threefry.
  rngs = nnx.Rngs(jax.random.key(int(config.seed), impl="rbg"))
  return build_models(config, num_types=num_types, rngs=rngs)


def create(config: ml_collections.ConfigDict, *, num_types: int, total_steps: int
           ) -> tuple[nnx.GraphDef, dict[str, Any]]:
  """Builds the models from ``config.seed`` and returns ``(graphdef, state)``.

  Example:
    >>> cfg = ml_collections.ConfigDict({"task": "scorer", "seed": 0,
    ...     "model": {"scorer": {"backbone": "stats", "width": 4, "depth": 1,
    ...                          "antisymmetric": False}},
    ...     "optim": {"learning_rate": 1e-3, "warmup_steps": 1, "weight_decay": 0.0,
    ...               "clip_norm": 1.0}})
    >>> graphdef, state = create(cfg, num_types=25, total_steps=10)
    >>> sorted(state)
    ['opt_state', 'params', 'rest', 'step']
  """
  models = initial_models(config, num_types=num_types)
  graphdef, params, rest = nnx.split(models, nnx.Param, ...)
  tx = make_optimizer(config, total_steps=total_steps)
  state = {"step": jnp.zeros((), jnp.int32), "params": params, "rest": rest,
           "opt_state": tx.init(params)}
  return graphdef, state


def merge(graphdef: nnx.GraphDef, state: dict[str, Any]) -> Models:
  """The NNX models of a train state (for evaluation and inference).

  Example:
    >>> cfg = ml_collections.ConfigDict({"task": "scorer", "seed": 0,
    ...     "model": {"scorer": {"backbone": "stats", "width": 4, "depth": 1,
    ...                          "antisymmetric": False}},
    ...     "optim": {"learning_rate": 1e-3, "warmup_steps": 1, "weight_decay": 0.0,
    ...               "clip_norm": 1.0}})
    >>> graphdef, state = create(cfg, num_types=25, total_steps=10)
    >>> merge(graphdef, state).map_predictor is None
    True
  """
  return nnx.merge(graphdef, state["params"], state["rest"])


def abstract(state: Any) -> Any:
  """Shapes, dtypes and shardings of ``state`` (the target of an orbax restore).

  Example:
    >>> abstract({"w": jnp.ones(2)})["w"].shape
    (2,)
  """
  return jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=getattr(x, "sharding", None)),
      state)


def num_params(state: dict[str, Any]) -> int:
  """Number of trainable parameters.

  Example:
    >>> num_params({"params": {"w": jnp.ones((2, 3))}})
    6
  """
  return int(sum(x.size for x in jax.tree.leaves(state["params"])))

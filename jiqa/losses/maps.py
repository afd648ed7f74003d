"""Losses for the distortion-map predictor: sparse per-type presence + strength on the support.

``map_loss(kind="sparse")`` (the pipeline's default) is made for targets that
are zero almost everywhere (a triplet has 1-4 of 25 types, so about 90% of
the image-level presence targets and about 92% of the pixel-channel values are
0). It needs the predictor's ``pixel_presence_logits`` and ``strength``
(:class:`jiqa.models.MapOutput`) and sums three terms:

* ``presence``: per type, binary cross-entropy of the per-pixel presence
  logits against the support ``|map| > presence_eps``, averaged *separately*
  over the positive and the negative pixels of the batch and the two means
  added (a balanced BCE), then averaged over the types: a type occupying 2% of
  the pixel-channels weighs as much as its absence;
* ``image``: the same balanced BCE of the image-level presence logits against
  :func:`presence_targets`, over the images of the batch;
* ``strength``: per type, the mean absolute error of the signed strength
  against the true map *on the type's support only*, averaged over the types
  present in the batch (``strength_weight``, 2 by default).

Why: the former loss (``kind="huber"``/``"l1"``, kept) regresses all 25
channels everywhere. Measured on 256 training triplets (64x64): only 7.7% of
the pixel-channels are non-zero, so predicting 0 already gives a Huber term of
0.0025 (0.033 on the support alone); at initialisation the gradient of the
regression term with respect to the shared backbone had norm 0.022 against
7.5 for the presence BCE (16 triplets), so the backbone learned the presence
priors (a constant prevalence logit lowers that BCE from 0.693 to 0.285, and
"absent everywhere" scores the 0.895 presence accuracy the collapsed model
had) and the maps stayed at about 0: mean ``|map|`` 0.0005 after 300 steps,
held-out localisation AUC 0.73 against 0.94 for the plain ``|B - A|``. The
``tanh`` difference was not saturated (mean ``1 - tanh^2`` 0.82 at
initialisation). With this loss and relational inputs the same 300 steps gave
AUC 0.94, sign accuracy 0.92 and strength Spearman 0.56.

``map_loss(kind="huber")`` = mean per-pixel regression of the signed maps (Huber via
``optax.losses.huber_loss``, or L1) + ``presence_weight`` x mean per-type
binary cross-entropy of the presence logits (``optax.losses.
sigmoid_binary_cross_entropy``). The presence target of type ``t`` is 1 when
any pixel of the true map has ``|map| > presence_eps`` (0 by default: any
non-zero value, as the engine writes exact zeros where a type is absent).

Only the combination is written here; the elementwise losses are optax's.

Example:
  >>> from jiqa.models import MapOutput
  >>> pred = MapOutput(jnp.zeros((1, 4, 4, 2)), jnp.zeros((1, 2)), jnp.zeros((1, 1, 1, 1)))
  >>> true = jnp.zeros((1, 4, 4, 2)).at[..., 0].set(0.5)
  >>> round(float(map_loss(pred, true, kind="l1")), 4)  # 0.25 + log(2)
  0.9431
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

MAP_LOSS_KINDS = ("sparse", "huber", "l1")


def presence_targets(true_maps: jax.typing.ArrayLike, *, presence_eps: float = 0.0) -> jax.Array:
  """``(N, T)`` float targets: 1 where any pixel of type ``t`` has ``|map| > presence_eps``.

  Example:
    >>> presence_targets(jnp.zeros((1, 2, 2, 3)).at[0, 0, 0, 1].set(-0.2)).tolist()
    [[0.0, 1.0, 0.0]]
  """
  true_maps = jnp.asarray(true_maps)
  if true_maps.ndim != 4:
    raise ValueError(f"true_maps must have shape (N, H, W, T); got shape {true_maps.shape}.")
  return jnp.any(jnp.abs(true_maps) > presence_eps, axis=(1, 2)).astype(jnp.float32)


def balanced_bce(logits: jax.Array, targets: jax.Array, *, axes) -> jax.Array:
  """Per-channel BCE averaged over positives and negatives separately, summed, then averaged.

  ``mean_c [ sum(bce * y) / max(sum y, 1) + sum(bce * (1 - y)) / max(sum(1 - y), 1) ]``
  with the sums over ``axes`` (``optax.losses.sigmoid_binary_cross_entropy``).

  Example:
    >>> round(float(balanced_bce(jnp.zeros((4, 2)), jnp.eye(4, 2), axes=(0,))), 4)  # 2 log 2
    1.3863
  """
  b = optax.losses.sigmoid_binary_cross_entropy(logits, targets)
  pos = jnp.sum(b * targets, axis=axes) / jnp.maximum(jnp.sum(targets, axis=axes), 1.0)
  neg = jnp.sum(b * (1 - targets), axis=axes) / jnp.maximum(jnp.sum(1 - targets, axis=axes), 1.0)
  return jnp.mean(pos + neg)


def sparse_terms(pred, true_maps: jax.Array, *, presence_eps: float = 0.0,
                 type_balanced: bool = False) -> dict[str, jax.Array]:
  """The three terms of ``map_loss(kind="sparse")`` (module docstring), unweighted.

  Example:
    >>> from jiqa.models import MapOutput
    >>> z = jnp.zeros((1, 2, 2, 1))
    >>> t = sparse_terms(MapOutput(z, jnp.zeros((1, 1)), z, z, z), z.at[0, 0, 0].set(0.5))
    >>> {k: round(float(v), 4) + 0.0 for k, v in t.items()}  # + 0.0: no -0.0
    {'presence': 1.3863, 'image': 0.6931, 'strength': 0.5, 'type': 0.0}
  """
  if pred.strength is None or pred.pixel_presence_logits is None:
    raise ValueError("pred must carry strength and pixel_presence_logits (a MapPredictor "
                     "output) for kind='sparse'; use kind='huber' for maps alone.")
  strength = jnp.asarray(pred.strength)
  if strength.shape != true_maps.shape or pred.pixel_presence_logits.shape != true_maps.shape:
    raise ValueError(f"pred.strength and pred.pixel_presence_logits must have the true maps' "
                     f"shape {true_maps.shape}; got {strength.shape} and "
                     f"{pred.pixel_presence_logits.shape}.")
  support = (jnp.abs(true_maps) > presence_eps).astype(jnp.float32)
  image_t = presence_targets(true_maps, presence_eps=presence_eps)
  pres = balanced_bce(jnp.asarray(pred.pixel_presence_logits), support, axes=(0, 1, 2))
  image = balanced_bce(jnp.asarray(pred.presence_logits), image_t, axes=(0,))
  err = jnp.sum(jnp.abs(strength - true_maps) * support, axis=(0, 1, 2))
  per_type = err / jnp.maximum(jnp.sum(support, axis=(0, 1, 2)), 1.0)
  in_batch = jnp.max(image_t, axis=0)
  strength_loss = jnp.sum(per_type * in_batch) / jnp.maximum(jnp.sum(in_batch), 1.0)
  return {"presence": pres, "image": image, "strength": strength_loss,
          "type": type_cross_entropy(jnp.asarray(pred.presence_logits), image_t,
                                     balanced=type_balanced)}


def type_cross_entropy(logits: jax.Array, targets: jax.Array, *, balanced: bool = False
                       ) -> jax.Array:
  """Softmax cross-entropy of the image-level logits against the present types, shared equally.

  Per image with at least one present type, the target distribution is
  ``targets / sum(targets)`` over the ``T`` types (one type: its one-hot), so
  the present types must out-rank the absent ones *among each other* (what
  top-1 identification asks); a per-type BCE never compares types. Pristine
  images are skipped; 0 when the batch has none with a type.

  Example:
    >>> round(float(type_cross_entropy(jnp.zeros((2, 4)), jnp.eye(2, 4))), 4)  # log 4
    1.3863
  """
  n = jnp.sum(targets, axis=-1)
  dist = targets / jnp.maximum(n, 1.0)[:, None]
  ce = optax.losses.softmax_cross_entropy(logits, dist)
  has = (n > 0).astype(jnp.float32)
  if balanced:
    first = jax.nn.one_hot(jnp.argmax(targets, axis=-1), targets.shape[-1]) * has[:, None]
    has = has / jnp.maximum(first @ jnp.sum(first, axis=0), 1.0)
  return jnp.sum(ce * has) / jnp.maximum(jnp.sum(has), 1.0)


def map_loss_terms(pred, true_maps: jax.typing.ArrayLike, *, kind: str = "huber",
                   delta: float = 0.1, presence_eps: float = 0.0,
                   type_balanced: bool = False) -> dict[str, jax.Array]:
  """The two terms of :func:`map_loss` for ``kind="huber"`` / ``"l1"``, unweighted
  (the three of :func:`sparse_terms` for ``kind="sparse"``).

  Args:
    pred: a :class:`jiqa.models.MapOutput` (anything with ``.maps`` ``(N, H, W, T)``
      and ``.presence_logits`` ``(N, T)``).
    true_maps: ``(N, H, W, T)`` engine maps in ``[-1, 1]``.
    kind: ``"huber"`` (``optax.losses.huber_loss`` with ``delta``) or ``"l1"``.
    delta: the Huber threshold (quadratic below, linear above).
    presence_eps: ``|map|`` above which a type counts as present.

  Returns:
    ``{"map": scalar, "presence": scalar}``.
  """
  maps = jnp.asarray(pred.maps)
  logits = jnp.asarray(pred.presence_logits)
  true_maps = jnp.asarray(true_maps)
  if maps.shape != true_maps.shape:
    raise ValueError(
        f"true_maps must have the predicted maps' shape {maps.shape} (N, H, W, T); "
        f"got {true_maps.shape}.")
  if logits.shape != (maps.shape[0], maps.shape[-1]):
    raise ValueError(
        f"pred.presence_logits must have shape (N, T) = {(maps.shape[0], maps.shape[-1])}; "
        f"got {logits.shape}.")
  if kind == "sparse":
    return sparse_terms(pred, true_maps, presence_eps=presence_eps, type_balanced=type_balanced)
  if kind == "huber":
    if delta <= 0:
      raise ValueError(f"delta must be > 0 for the Huber loss; got {delta}.")
    reg = optax.losses.huber_loss(maps, true_maps, delta=delta).mean()
  elif kind == "l1":
    reg = jnp.abs(maps - true_maps).mean()
  else:
    raise ValueError(f"kind must be one of {MAP_LOSS_KINDS}; got {kind!r}.")
  target = presence_targets(true_maps, presence_eps=presence_eps)
  pres = optax.losses.sigmoid_binary_cross_entropy(logits, target).mean()
  return {"map": reg, "presence": pres}


def map_loss(pred, true_maps: jax.typing.ArrayLike, *, kind: str = "huber", delta: float = 0.1,
             presence_weight: float = 1.0, presence_eps: float = 0.0,
             strength_weight: float = 2.0, type_weight: float = 0.0,
             type_balanced: bool = False) -> jax.Array:
  """The map predictor's loss (see the module docstring).

  Args:
    pred: a :class:`jiqa.models.MapOutput`.
    true_maps: ``(N, H, W, T)`` engine maps (``b`` relative to ``a``).
    kind: ``"sparse"`` (presence + image + strength on the support), ``"huber"``
      or ``"l1"`` (regression of all channels + image presence BCE).
    delta: Huber threshold.
    presence_weight: weight of the presence term(s).
    presence_eps: ``|map|`` above which a type counts as present.
    strength_weight: weight of the strength term (``"sparse"`` only).
    type_weight: weight of :func:`type_cross_entropy` of the image-level
      logits (``"sparse"`` only).
    type_balanced: its ``balanced`` option (each type in the batch weighs the same).

  Returns:
    The scalar loss: ``map + presence_weight * presence``, or for
    ``"sparse"`` ``presence_weight * (presence + image) + strength_weight *
    strength + type_weight * type``.

  Example:
    >>> from jiqa.models import MapOutput
    >>> pred = MapOutput(jnp.zeros((1, 2, 2, 1)), jnp.zeros((1, 1)), jnp.zeros((1, 1, 1, 1)))
    >>> round(float(map_loss(pred, jnp.zeros((1, 2, 2, 1)))), 4)  # log(2)
    0.6931
  """
  terms = map_loss_terms(pred, true_maps, kind=kind, delta=delta, presence_eps=presence_eps,
                         type_balanced=type_balanced)
  if kind == "sparse":
    return (presence_weight * (terms["presence"] + terms["image"])
            + strength_weight * terms["strength"] + type_weight * terms["type"])
  return terms["map"] + presence_weight * terms["presence"]

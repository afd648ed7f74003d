"""Losses for the distortion-map predictor: signed-map regression + per-type presence.

``map_loss`` = mean per-pixel regression of the signed maps (Huber via
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

MAP_LOSS_KINDS = ("huber", "l1")


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


def map_loss_terms(pred, true_maps: jax.typing.ArrayLike, *, kind: str = "huber",
                   delta: float = 0.1, presence_eps: float = 0.0) -> dict[str, jax.Array]:
  """The two terms of :func:`map_loss`, unweighted.

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
             presence_weight: float = 1.0, presence_eps: float = 0.0) -> jax.Array:
  """Signed-map regression plus per-type presence BCE (see the module docstring).

  Args:
    pred: a :class:`jiqa.models.MapOutput`.
    true_maps: ``(N, H, W, T)`` engine maps (``b`` relative to ``a``).
    kind: ``"huber"`` or ``"l1"``.
    delta: Huber threshold.
    presence_weight: weight of the presence term.
    presence_eps: ``|map|`` above which a type counts as present.

  Returns:
    The scalar loss ``map + presence_weight * presence``.

  Example:
    >>> from jiqa.models import MapOutput
    >>> pred = MapOutput(jnp.zeros((1, 2, 2, 1)), jnp.zeros((1, 1)), jnp.zeros((1, 1, 1, 1)))
    >>> round(float(map_loss(pred, jnp.zeros((1, 2, 2, 1)))), 4)  # log(2)
    0.6931
  """
  terms = map_loss_terms(pred, true_maps, kind=kind, delta=delta, presence_eps=presence_eps)
  return terms["map"] + presence_weight * terms["presence"]

"""Contrastive ranking losses over tiers (listwise softmax, ListMLE, pairwise logistic), thin
over optax and rax, and the pairwise accuracy they aim at.

A tier is a list of ``n`` images of one content with known ``severity`` (higher
= more distorted); a model's ``scores`` (higher = better) should order them by
increasing severity. All losses take ``scores`` and ``severity`` of shape
``(B, n)`` (``B`` lists) and return the mean over lists.

* ``"softmax"``: ``optax.losses.ranking_softmax_loss`` (ListNet-style
  cross-entropy) with graded relevance ``1 + #{j : severity_j > severity_i}``,
  normalised to sum to 1 per list. The +1 keeps the optimum finite (the most
  severe item still has target mass).
* ``"listmle"``: ListMLE (Xia et al. 2008), the negative Plackett-Luce
  log-likelihood of the severity order, ``rax.listmle_loss`` with labels
  ``-severity``. Ties in severity are broken by list position.
* ``"pairwise"``: RankNet-style logistic loss (Burges et al. 2005), the mean of
  ``softplus(-(s_i - s_j))`` over ordered pairs with ``severity_i <
  severity_j`` (ties ignored), ``rax.pairwise_logistic_loss`` with labels
  ``-severity``.

Only the mapping from severities to labels is written here.

Example:
  >>> s = jnp.array([[2.0, 1.0, 0.0]]); sev = jnp.array([[0.1, 0.5, 0.9]])
  >>> good = ranking_loss(s, sev, kind="pairwise")
  >>> bad = ranking_loss(-s, sev, kind="pairwise")
  >>> bool(good < bad)
  True
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

RANKING_KINDS = ("listmle", "softmax", "pairwise")
RANKING_SCOPES = ("tier", "batch")


def _check(scores: jax.typing.ArrayLike, severity: jax.typing.ArrayLike):
  scores = jnp.asarray(scores)
  severity = jnp.asarray(severity)
  if scores.ndim != 2:
    raise ValueError(f"scores must have shape (B, n) (B lists of n items); got {scores.shape}.")
  if severity.shape != scores.shape:
    raise ValueError(
        f"severity must have the shape of scores {scores.shape}; got {severity.shape}.")
  if scores.shape[1] < 2:
    raise ValueError(f"scores: each list needs n >= 2 items to rank; got n = {scores.shape[1]}.")
  if not jnp.issubdtype(scores.dtype, jnp.floating):
    scores = scores.astype(jnp.float32)
  return scores, severity


def relevance(severity: jax.typing.ArrayLike) -> jax.Array:
  """Graded relevance ``1 + #{j : severity_j > severity_i}`` per list, ``(B, n)``.

  Example:
    >>> relevance(jnp.array([[0.3, 0.1, 0.3, 0.9]])).tolist()
    [[2, 4, 2, 1]]
  """
  severity = jnp.asarray(severity)
  return 1 + jnp.sum(severity[..., None, :] > severity[..., :, None], axis=-1)


def softmax_ranking_loss(scores: jax.typing.ArrayLike, severity: jax.typing.ArrayLike) -> jax.Array:
  """Listwise softmax cross-entropy via ``optax.losses.ranking_softmax_loss``.

  Example:
    >>> round(float(softmax_ranking_loss(jnp.zeros((1, 2)), jnp.array([[0., 1.]]))), 4)
    0.6931
  """
  scores, severity = _check(scores, severity)
  rel = relevance(severity).astype(scores.dtype)
  labels = rel / rel.sum(axis=-1, keepdims=True)
  return optax.losses.ranking_softmax_loss(scores, labels)


def listmle_loss(scores: jax.typing.ArrayLike, severity: jax.typing.ArrayLike) -> jax.Array:
  """ListMLE: negative Plackett-Luce log-likelihood of the order by increasing severity.

  Example:
    >>> round(float(listmle_loss(jnp.zeros((1, 3)), jnp.array([[0., 1., 2.]]))), 4)  # log 3!
    1.7918
  """
  import rax  # imported on use: no import-time cost for users of the other losses

  scores, severity = _check(scores, severity)
  return rax.listmle_loss(scores, -severity.astype(scores.dtype))


def pairwise_logistic_loss(scores: jax.typing.ArrayLike,
                           severity: jax.typing.ArrayLike) -> jax.Array:
  """Mean ``softplus(s_j - s_i)`` over pairs with ``severity_i < severity_j`` (0 if none).

  Example:
    >>> round(float(pairwise_logistic_loss(jnp.zeros((1, 2)), jnp.array([[0., 1.]]))), 4)
    0.6931
  """
  import rax

  scores, severity = _check(scores, severity)
  return rax.pairwise_logistic_loss(scores, -severity.astype(scores.dtype))


def pairwise_accuracy(scores: jax.typing.ArrayLike, severity: jax.typing.ArrayLike) -> jax.Array:
  """Share of within-list pairs of different severity that ``scores`` order right (ties 1/2).

  Higher score must mean lower severity. The one home of this figure: the
  train step logs it (on device, in ``jit``) and
  :func:`jiqa.evaluation.stats.tier_pairwise_accuracy` reports it (numpy
  inputs are computed in numpy, in float64).

  Args:
    scores: ``(B, n)`` scores, higher = better.
    severity: ``(B, n)`` severities, higher = worse.

  Returns:
    A scalar in ``[0, 1]`` (``0.5`` when no pair differs in severity).

  Example:
    >>> float(pairwise_accuracy(jnp.array([[3., 2., 1.]]), jnp.array([[0., .5, 1.]])))
    1.0
    >>> float(pairwise_accuracy(np.array([[2., 2., 1.]]), np.array([[0., 1., 2.]])))
    0.8333333333333334
  """
  host = isinstance(scores, np.ndarray) and isinstance(severity, np.ndarray)
  xp = np if host else jnp
  if not host:
    scores, severity = _check(scores, severity)
  elif scores.ndim != 2 or scores.shape != severity.shape or scores.shape[1] < 2:
    raise ValueError(f"scores and severity must both have shape (B, n) with n >= 2; got "
                     f"{scores.shape} and {severity.shape}.")
  ds = xp.sign(scores[:, :, None] - scores[:, None, :])
  dq = xp.sign(severity[:, None, :] - severity[:, :, None])   # quality = -severity
  valid = dq != 0
  right = xp.where(ds == dq, 1.0, xp.where(ds == 0, 0.5, 0.0))
  count = xp.sum(valid)
  return xp.where(count > 0, xp.sum(xp.where(valid, right, 0.0)) / xp.maximum(count, 1), 0.5)


def ranking_loss(scores: jax.typing.ArrayLike, severity: jax.typing.ArrayLike, *,
                 kind: str = "listmle", scope: str = "tier") -> jax.Array:
  """Ranking loss of ``scores`` (higher = better) against ``severity`` (higher = worse).

  With ``scope="batch"`` the ``B x n`` items, each scored against its own
  pristine reference, are ranked as one list: severity (the maps' distortion
  mass, :func:`jiqa.distortions.map_severity`) is on one scale for every
  content, so images of different contents are compared too (``B n (B n - 1)
  / 2`` pairs instead of ``B n (n - 1) / 2``).

  Args:
    scores: ``(B, n)`` model scores.
    severity: ``(B, n)`` severities of the same items.
    kind: ``"listmle"``, ``"softmax"`` or ``"pairwise"`` (see the module docstring).
    scope: ``"tier"`` (rank within each of the ``B`` lists) or ``"batch"``
      (rank all ``B n`` items as one list).

  Returns:
    The scalar loss, averaged over lists (pairs for ``"pairwise"``).

  Example:
    >>> float(ranking_loss(jnp.array([[9., 0.]]), jnp.array([[0., 1.]]), kind="listmle")) < 1e-3
    True
  """
  if kind not in RANKING_KINDS:
    raise ValueError(f"kind must be one of {RANKING_KINDS}; got {kind!r}.")
  if scope not in RANKING_SCOPES:
    raise ValueError(f"scope must be one of {RANKING_SCOPES}; got {scope!r}.")
  if scope == "batch":
    scores, severity = _check(scores, severity)
    scores, severity = scores.reshape(1, -1), severity.reshape(1, -1)
  if kind == "listmle":
    return listmle_loss(scores, severity)
  if kind == "softmax":
    return softmax_ranking_loss(scores, severity)
  return pairwise_logistic_loss(scores, severity)

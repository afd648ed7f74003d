"""Losses for jiqa's relational models (thin over optax where it has them).

* :func:`map_loss` — signed-map regression (Huber / L1) + per-type presence BCE.
* :func:`ranking_loss` — listwise softmax (optax), ListMLE and pairwise logistic (rax);
  :func:`pairwise_accuracy`, the figure they aim at.
* :func:`norm_in_norm_loss` — Li et al. 2020, for regression against MOS.

Example:
  >>> from jiqa import losses
  >>> float(losses.ranking_loss(jnp.array([[1., 0.]]), jnp.array([[0., 1.]]), kind="pairwise")) < 0.32
  True
"""

import jax.numpy as jnp  # noqa: F401  (used by the doctest above)

from jiqa.losses.maps import map_loss, map_loss_terms, presence_targets
from jiqa.losses.ranking import (
    listmle_loss, pairwise_accuracy, pairwise_logistic_loss, ranking_loss, relevance,
    softmax_ranking_loss)
from jiqa.losses.regression import norm_in_norm_loss

__all__ = [
    "listmle_loss", "map_loss", "map_loss_terms", "norm_in_norm_loss", "pairwise_accuracy",
    "pairwise_logistic_loss",
    "presence_targets", "ranking_loss", "relevance", "softmax_ranking_loss",
]

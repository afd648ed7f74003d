"""Norm-in-Norm loss (Li, Jiang & Jiang 2020) for a quality-regression head with MOS labels.

Predictions ``p`` and labels ``y`` (one batch, ``N >= 2``) are each centred and
divided by their centred ``q``-norm,

.. math::
   \\hat p = \\frac{p - \\bar p}{\\|p - \\bar p\\|_q}, \\qquad
   \\hat y = \\frac{y - \\bar y}{\\|y - \\bar y\\|_q},

and the loss is the ``p``-norm of the difference, scaled to ``[0, 1]`` and raised
to the power ``p`` (the paper's ``exponent=True`` form),

.. math::
   \\ell = \\left(\\frac{\\|\\hat p - \\hat y\\|_p}{c}\\right)^p, \\qquad
   c = 2^{\\max(1, 1/q)}\\, N^{\\max(0, 1/p - 1/q)}.

The default ``p = 1, q = 2`` gives ``sum|p_hat - y_hat| / (2 sqrt N)``. The loss is
invariant to an affine (positive-scale) change of the predictions, so a scorer's
relational scores can be trained against MOS directly. This is the paper's main
term (its ``alpha = [1, 0]``); the optional least-squares-rescaled term is left
out. No library ships it, so it is written here.

References:
  D. Li, T. Jiang, M. Jiang, "Norm-in-Norm Loss with Faster Convergence and
  Better Performance for Image Quality Assessment", ACM MM 2020,
  arXiv:2008.03889.

Example:
  >>> mos = jnp.array([1.0, 2.0, 4.0])
  >>> float(norm_in_norm_loss(3 * mos + 7, mos)) < 1e-6
  True
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def norm_in_norm_loss(pred: jax.typing.ArrayLike, mos: jax.typing.ArrayLike, *, p: float = 1.0,
                      q: float = 2.0, eps: float = 1e-8) -> jax.Array:
  """Norm-in-Norm loss between predictions and MOS labels (see the module docstring).

  Args:
    pred: ``(N,)`` predicted quality scores, ``N >= 2``.
    mos: ``(N,)`` mean opinion scores; not all equal.
    p: the norm of the error (``p > 0``).
    q: the norm used to normalise (``q > 0``).
    eps: added to the normalising norms (guards constant predictions in training).

  Returns:
    The scalar loss in ``[0, 1]`` (0 iff ``pred`` is a positive affine map of ``mos``).

  Raises:
    ValueError: on shape mismatch, ``N < 2``, ``p`` or ``q`` not positive, or (when
      ``mos`` is concrete, not traced) constant or non-finite ``mos``.

  Example:
    >>> round(float(norm_in_norm_loss(jnp.array([1., 2.]), jnp.array([2., 1.]))), 4)
    1.0
  """
  pred = jnp.asarray(pred)
  mos_arr = mos
  mos = jnp.asarray(mos)
  if pred.ndim != 1:
    raise ValueError(f"pred must have shape (N,); got {pred.shape}.")
  if mos.shape != pred.shape:
    raise ValueError(f"mos must have the shape of pred {pred.shape}; got {mos.shape}.")
  n = pred.shape[0]
  if n < 2:
    raise ValueError(f"pred: norm-in-norm needs N >= 2 samples in a batch; got N = {n}.")
  if p <= 0 or q <= 0:
    raise ValueError(f"p and q must be > 0; got p={p}, q={q}.")
  if not isinstance(mos_arr, jax.core.Tracer):
    m = np.asarray(mos)
    if not np.all(np.isfinite(m)):
      raise ValueError("mos contains NaN or infinite values.")
    if np.ptp(m) == 0:
      raise ValueError("mos has zero spread (all labels equal); norm-in-norm is undefined.")
  if not jnp.issubdtype(pred.dtype, jnp.floating):
    pred = pred.astype(jnp.float32)
  mos = mos.astype(pred.dtype)

  def normalise(x):
    x = x - x.mean()
    return x / (eps + jnp.sum(jnp.abs(x) ** q) ** (1.0 / q))

  scale = 2.0 ** max(1.0, 1.0 / q) * n ** max(0.0, 1.0 / p - 1.0 / q)
  err = jnp.sum(jnp.abs(normalise(pred) - normalise(mos)) ** p) ** (1.0 / p)
  return (err / scale) ** p

"""GMC distribution regulator: per-image weights, LDS weights and Beta-model std.

The regulator down-weights images whose MOS lies in crowded parts of the MOS
distribution (arXiv 2601.21738, Sec. "distribution regulator"). With MOS ``y``
min-max scaled to ``m`` in [0, 100] and the std ``s`` scaled by the same
factor, the Gaussian-kernel density at the integer bins ``x = 0..100`` is
``E(x) = sum_k exp(-(x - m_k)^2 / (2 (s_k + 1e-8)^2))`` and ``w_i = 100 / E(floor(m_i))``.
Without a per-image std the reference uses label-distribution smoothing (LDS,
Yang et al. 2021): bin counts convolved with a 5-tap Gaussian window, truncated
to integers (the reference convolves an integer array), rescaled to sum to the
number of rows, ``w_i = 100 / smoothed(floor(m_i))``; and the surface's std
comes from a Beta model of the MOS, ``std = sqrt(mu (1 - mu) / (phi + 1)) * (max - min)``.
These formulas are specific to GMC, so they are written here by hand.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["gaussian_weights", "lds_weights", "beta_std", "regulator_weights", "LDS_WINDOW"]

NUM_BINS = 101  # integer bins 0..100 of the MOS scaled to [0, 100]
# gaussian_filter1d(unit impulse, sigma=2) over 5 taps, scaled to peak 1.
LDS_WINDOW = (0.85828524, 0.94582765, 1.0, 0.94582765, 0.85828524)


def _scaled(mos: jax.typing.ArrayLike) -> tuple[jax.Array, jax.Array]:
  mos = jnp.asarray(mos)
  lo, hi = jnp.min(mos), jnp.max(mos)
  scale = 100.0 / (hi - lo)
  return (mos - lo) * scale, scale


def gaussian_weights(mos: jax.typing.ArrayLike, std: jax.typing.ArrayLike) -> jax.Array:
  """Regulator weights from a Gaussian-kernel MOS density (per-image std known).

  Args:
    mos: (N,) mean opinion scores.
    std: (N,) per-image MOS standard deviations (same units as ``mos``).

  Returns:
    (N,) positive weights, large where the MOS distribution is sparse.

  Example:
    >>> w = gaussian_weights(jnp.array([1.0, 2.0, 2.1, 5.0]), jnp.full(4, 0.3))
    >>> bool(w[3] > w[1])
    True
  """
  m, scale = _scaled(mos)
  s = jnp.asarray(std) * scale
  bins = jnp.arange(NUM_BINS, dtype=m.dtype)
  density = jnp.sum(jnp.exp(-(bins[:, None] - m[None, :]) ** 2 / (2.0 * (s[None, :] + 1e-8) ** 2)), axis=1)
  return 100.0 / density[jnp.floor(m).astype(jnp.int32)]


def lds_weights(mos: jax.typing.ArrayLike) -> jax.Array:
  """Regulator weights by label-distribution smoothing (no per-image std).

  Args:
    mos: (N,) mean opinion scores.

  Returns:
    (N,) positive weights.

  Example:
    >>> w = lds_weights(jnp.array([1.0, 1.0, 1.0, 1.0, 5.0]))
    >>> bool(w[4] > w[0])
    True
  """
  m, _ = _scaled(mos)
  idx = jnp.floor(m).astype(jnp.int32)
  counts = jnp.zeros(NUM_BINS, m.dtype).at[idx].add(1.0)
  window = jnp.asarray(LDS_WINDOW, m.dtype)
  smoothed = jnp.floor(jnp.convolve(counts, window, mode="same"))
  smoothed = smoothed * (m.shape[0] / jnp.sum(smoothed))
  return 100.0 / smoothed[idx]


def beta_std(mos: jax.typing.ArrayLike, *, phi: float = 3.0) -> jax.Array:
  """Per-image MOS std estimated from the MOS by a Beta model with precision ``phi``.

  Example:
    >>> beta_std(jnp.array([0.0, 50.0, 100.0]), phi=3.0).tolist()
    [0.0, 25.0, 0.0]
  """
  if phi <= -1:
    raise ValueError(f"phi must be > -1, got {phi}.")
  mos = jnp.asarray(mos)
  lo, hi = jnp.min(mos), jnp.max(mos)
  mu = (mos - lo) / (hi - lo)
  return jnp.sqrt(mu * (1.0 - mu) / (phi + 1.0)) * (hi - lo)


def regulator_weights(mos: jax.typing.ArrayLike, std: jax.typing.ArrayLike | None = None) -> jax.Array:
  """Gaussian-kernel weights when ``std`` is given, LDS weights otherwise.

  Example:
    >>> regulator_weights(jnp.array([1.0, 2.0, 3.0])).shape
    (3,)
  """
  return lds_weights(mos) if std is None else gaussian_weights(mos, std)

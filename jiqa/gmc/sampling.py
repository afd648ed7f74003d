"""GMC sample points: seeded Latin-hypercube (Q, Qd) points, or points from a file.

Q (the quality level) ranges over [min MOS, max MOS] and Qd (the granularity,
a MOS difference) over [0, max - min]. A Latin hypercube puts exactly one point
in each of the n equal strata of each axis; it is three lines of JAX, so no
library is used.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["latin_hypercube", "sample_points", "check_points"]


def latin_hypercube(key: jax.Array, n: int, *, dims: int = 2) -> jax.Array:
  """(n, dims) points in [0, 1)^dims, one per stratum of width 1/n on every axis.

  Example:
    >>> u = latin_hypercube(jax.random.key(0), 5)
    >>> sorted((u[:, 0] * 5).astype(int).tolist())
    [0, 1, 2, 3, 4]
  """
  if n < 1:
    raise ValueError(f"n (number of sample points) must be >= 1, got {n}.")
  kperm, kuni = jax.random.split(key)
  perms = jax.vmap(lambda k: jax.random.permutation(k, n))(jax.random.split(kperm, dims))
  jitter = jax.random.uniform(kuni, (dims, n))
  return ((perms + jitter) / n).T


def sample_points(key: jax.Array, n: int, mos_range: tuple[float, float]) -> jax.Array:
  """n Latin-hypercube (Q, Qd) points over the MOS range.

  Example:
    >>> p = sample_points(jax.random.key(0), 4, (1.0, 5.0))
    >>> bool(jnp.all((p[:, 0] >= 1) & (p[:, 0] <= 5) & (p[:, 1] >= 0) & (p[:, 1] <= 4)))
    True
  """
  lo, hi = mos_range
  u = latin_hypercube(key, n)
  return jnp.stack([lo + u[:, 0] * (hi - lo), u[:, 1] * (hi - lo)], axis=1)


def check_points(points: jax.typing.ArrayLike, mos_range: tuple[float, float]) -> np.ndarray:
  """Validates user sample points: (K, 2) finite, Q within the MOS range, 0 <= Qd <= range.

  Example:
    >>> check_points([[2.0, 1.0]], (1.0, 5.0)).shape
    (1, 2)
  """
  p = np.asarray(points, np.float64)
  if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] < 1:
    raise ValueError(f"samples must have shape (K, 2) with columns Q, Qd; got {p.shape}.")
  if not np.all(np.isfinite(p)):
    raise ValueError("samples contain NaN or inf values.")
  lo, hi = mos_range
  tol = 1e-9 * max(1.0, abs(hi - lo))
  bad_q = (p[:, 0] < lo - tol) | (p[:, 0] > hi + tol)
  bad_d = (p[:, 1] < -tol) | (p[:, 1] > hi - lo + tol)
  if np.any(bad_q):
    k = int(np.flatnonzero(bad_q)[0])
    raise ValueError(f"sample point {k} has Q={p[k, 0]:g} outside the MOS range [{lo:g}, {hi:g}].")
  if np.any(bad_d):
    k = int(np.flatnonzero(bad_d)[0])
    raise ValueError(f"sample point {k} has Qd={p[k, 1]:g} outside [0, {hi - lo:g}] (max-min of MOS).")
  return p

"""KADID-10k's sharpness & contrast group: high sharpen and contrast change.

* ``high_sharpen`` (KADID #24): MATLAB's ``imsharpen`` as KADID calls it, an
  unsharp mask on CIELAB lightness, ``L + amount (L - G_sigma * L)`` with a
  replicate-padded Gaussian of ``2 ceil(2 sigma) + 1`` taps, L clipped to
  ``[0, 100]``; amount 1, 2, 3, 6, 12 at levels 0.2..1.0. The Gaussian's sigma is
  3 (13 taps): KADID's generator calls ``imsharpenHi(im, amount)``, whose radius
  defaults to 3 (``imsharpen(I, 'Radius', 3, 'Amount', amount)``, then clipped;
  two public copies of the KADIS-700k code agree; the project's KADID notes
  said 6).
* ``contrast_change`` (KADID #25): KADID's ``curves(x, [0.25 - a/4, 0.75 + a/4])``,
  i.e. MATLAB's ``spline`` (not-a-knot cubic) through ``(0, 0), (0.3, 0.25 - a/4),
  (0.5, 0.5), (0.7, 0.75 + a/4), (1, 1)``, clipped. The spline is linear in its
  values, and the values at ``a = -0.2`` lie on ``y = x``, so the curve is exactly
  ``x + (a + 0.2) S(x)`` with ``S`` the spline through ``(0, 0), (0.3, -1/4),
  (0.5, 0), (0.7, 1/4), (1, 0)``; its coefficients are solved once with numpy.
  The level is signed (+ = more contrast), ``a = -0.2 + 0.5 level`` for
  ``level > 0`` and ``a = -0.2 + 0.4 level`` below, so KADID's L1..L5
  (a = 0.3, 0.15, 0, -0.4, -0.6) sit at levels +1, +0.7, +0.4, -0.5, -1
  (:data:`CONTRAST_LEVELS`, its spec's ``kadid_levels``).

Example:
  >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
  >>> out = contrast_change(jax.random.key(0), image, -1.0)  # a = -0.6, flat and grey
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jiqa.distortions.blur import gaussian_filter, gaussian_radius
from jiqa.distortions.color import lab_change
from jiqa.distortions.colorspace import lab_planes
from jiqa.distortions.materialize import materialize
from jiqa.distortions.spec import DistortionSpec, distortion_op, kadid_param

SHARPEN_AMOUNTS = (1.0, 2.0, 3.0, 6.0, 12.0)
CONTRAST_AMOUNTS = (0.3, 0.15, 0.0, -0.4, -0.6)
CONTRAST_IDENTITY = -0.2
# The signed levels that reproduce KADID's L1..L5 parameters: contrast_change's
# spec carries them (DistortionSpec.kadid_levels, the one table of levels).
CONTRAST_LEVELS = (1.0, 0.7, 0.4, -0.5, -1.0)
KADID_SIGNED_LEVELS = {"contrast_change": CONTRAST_LEVELS}  # alias; use get(name).kadid_levels


def _contrast_basis() -> np.ndarray:
  """Monomial coefficients (2, 4) of the not-a-knot spline ``S`` on [0, .5] and [.5, 1].

  Not-a-knot at 0.3 and 0.7 makes each pair of neighbouring pieces one cubic,
  so ``S`` is two cubics joined with C2 continuity at 0.5.
  """
  def row(x, der=0):
    powers = np.array([x ** k for k in range(4)])
    if der == 1:
      powers = np.array([0.0, 1.0, 2 * x, 3 * x * x])
    if der == 2:
      powers = np.array([0.0, 0.0, 2.0, 6 * x])
    return powers

  z = np.zeros(4)
  a = np.array([
      np.r_[row(0.0), z], np.r_[row(0.3), z], np.r_[row(0.5), z],
      np.r_[z, row(0.5)], np.r_[z, row(0.7)], np.r_[z, row(1.0)],
      np.r_[row(0.5, 1), -row(0.5, 1)], np.r_[row(0.5, 2), -row(0.5, 2)]])
  b = np.array([0.0, -0.25, 0.0, 0.0, 0.25, 0.0, 0.0, 0.0])
  return np.linalg.solve(a, b).reshape(2, 4)


_BASIS = _contrast_basis().tolist()


def contrast_amount(level: jax.typing.ArrayLike) -> jax.Array:
  """KADID's contrast parameter ``a`` at a signed ``level`` in ``[-1, 1]``.

  Example:
    >>> float(contrast_amount(0.4))  # KADID L3
    0.0
  """
  level = jnp.clip(jnp.asarray(level, jnp.float32), -1.0, 1.0)
  return CONTRAST_IDENTITY + jnp.where(level > 0, 0.5, 0.4) * level


def contrast_curve(x: jax.typing.ArrayLike, amount: jax.typing.ArrayLike) -> jax.Array:
  """KADID's contrast tone curve for parameter ``amount`` (``a``), clipped to [0, 1].

  Example:
    >>> round(float(contrast_curve(0.7, 0.3)), 6)  # 0.75 + 0.3 / 4
    0.825
  """
  x = jnp.asarray(x)

  def horner(c):
    return c[0] + x * (c[1] + x * (c[2] + x * c[3]))

  s = jnp.where(x < 0.5, horner(_BASIS[0]), horner(_BASIS[1]))
  return jnp.clip(x + (amount - CONTRAST_IDENTITY) * s, 0.0, 1.0)


@distortion_op(signed=True)
def contrast_change(key: jax.Array, image: jax.typing.ArrayLike, level: jax.typing.ArrayLike,
                    ) -> jax.Array:
  """KADID #25: contrast tone curve; signed level, + = more contrast.

  Args:
    key: unused.
    image: ``(H, W, 3)`` float image in ``[0, 1]``.
    level: signed severity in ``[-1, 1]`` (see :func:`contrast_amount`).

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = contrast_change(jax.random.key(0), image, 1.0)  # a = 0.3
  """
  del key
  return contrast_curve(image, contrast_amount(level))


@distortion_op()
def high_sharpen(key: jax.Array, image: jax.typing.ArrayLike, level: jax.typing.ArrayLike,
                 *, sigma: float = 3.0) -> jax.Array:
  """KADID #24: unsharp mask on CIELAB L, amount 1, 2, 3, 6, 12 at levels 0.2..1.0.

  Args:
    key: unused.
    image: ``(H, W, 3)`` float image in ``[0, 1]``.
    level: severity in ``[0, 1]``; the amount grows linearly from 0 (identity).
    sigma: static standard deviation of the unsharp mask's Gaussian.

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = high_sharpen(jax.random.key(0), image, 0.2)  # amount 1
  """
  del key
  amount = kadid_param(level, SHARPEN_AMOUNTS, 0.0)
  # The Lab planes and the blur are each computed once (inline, XLA recomputed
  # the colour conversion for every tap): 1.3-1.5x faster than the banded
  # matrix products, which cost the same whatever the radius.
  lab = materialize(lab_planes(image))
  blurred = materialize(gaussian_filter(lab[0][..., None], sigma, radius=gaussian_radius(sigma),
                                        direct=True)[..., 0])
  light = jnp.clip(lab[0] + amount * (lab[0] - blurred), 0.0, 100.0)
  light = jnp.where(amount > 0, light, lab[0])
  return lab_change(image, lab, (light, lab[1], lab[2]))


SPECS: tuple[DistortionSpec, ...] = (
    DistortionSpec("high_sharpen", "sharpness_contrast", high_sharpen, SHARPEN_AMOUNTS,
                   identity_param=0.0, direction=1, axis="sharpness", kadid_index=24),
    DistortionSpec("contrast_change", "sharpness_contrast", contrast_change, CONTRAST_AMOUNTS,
                   identity_param=CONTRAST_IDENTITY, direction=0, axis="contrast",
                   kadid_index=25, kadid_levels=CONTRAST_LEVELS),
)

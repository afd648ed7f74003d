"""KADID-10k's brightness group: brighten, darken and mean shift, in pure JAX.

KADID's MATLAB generator changes brightness with ``curves(x, c)``: MATLAB's
``spline`` through ``(0, 0), (0.5, c), (1, 1)``, which for three points is the
parabola through them, ``y = x + (4c - 2) x (1 - x)``, clipped to ``[0, 1]``.
``imbrighten`` uses ``c = 0.5 + a/2`` on the RGB channels and on CIELAB ``L / 100``
and mixes the two results 2:1 (``(2 J_rgb + clip(lab2rgb(...))) / 3``);
``imdarken`` uses ``c = 0.5 - a/2`` on RGB only; ``immeanshift`` adds ``a``.

Every image of KADID's generator (``imdist_generator.m``) passes through
``mapmm`` at the end, a min-max stretch of the whole image (all channels) to
``[0, 1]``. For the tone curves (which keep 0 and 1) that changes nothing, but
it undoes most of a mean shift: ``clip(x + a)`` loses its lower range and is
stretched back, so KADID's mean shift is ``min(x, 1 - a) / (1 - a)`` for
``a > 0`` (an exposure gain with clipped highlights) and ``max(x + a, 0) / (1 + a)``
for ``a < 0``. ``mean_shift`` does exactly this within the image's own range
``[lo, hi]`` (shift by ``a (hi - lo)``, clip to ``[lo, hi]``, stretch back to
``[lo, hi]``), which is KADID's op for the full-range images KADID stretches
its inputs to, and the identity at level 0 for any image. KADID's own PSNR
confirms the stretch: at ``a = 0.15`` its median over the 81 contents is 22.0 dB,
while a bare shift gives at most 16.5 dB wherever fewer than a few per cent of
the pixels clip.
For large ``a`` the parabola is not monotone near the far end, as in KADID; the
clip makes it flat there.

``mean_shift`` takes a *signed* level in ``[-1, 1]`` (positive = brighter),
ordered by severity ``|level|``. KADID's five values (L1..L5 = 0.15, 0.08, 0,
-0.08, -0.15) sit at the signed levels of :data:`MEAN_SHIFT_LEVELS`
(``+1, +0.5, 0, -0.5, -1``, its spec's ``kadid_levels``); in between, the
shift is piecewise linear in ``|level|`` through ``(0, 0), (0.5, 0.08),
(1, 0.15)``, see :func:`mean_shift_amount`.

Example:
  >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
  >>> out = brighten(jax.random.key(0), image, 1.0)  # a = 1.1
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jiqa.distortions.colorspace import lab_planes, rgb_planes
from jiqa.distortions.spec import DistortionSpec, distortion_op, interp, kadid_param

BRIGHTEN_AMOUNTS = (0.1, 0.2, 0.4, 0.7, 1.1)
DARKEN_AMOUNTS = (0.05, 0.1, 0.2, 0.4, 0.8)
MEAN_SHIFTS = (0.15, 0.08, 0.0, -0.08, -0.15)
# The signed levels that reproduce KADID's L1..L5 shifts: mean_shift's spec
# carries them (DistortionSpec.kadid_levels, the one table of levels).
MEAN_SHIFT_LEVELS = (1.0, 0.5, 0.0, -0.5, -1.0)
KADID_SIGNED_LEVELS = {"mean_shift": MEAN_SHIFT_LEVELS}  # alias; use get(name).kadid_levels


def tone_curve(x: jax.typing.ArrayLike, mid: jax.typing.ArrayLike) -> jax.Array:
  """KADID's ``curves(x, mid)``: the parabola through (0,0), (0.5, mid), (1,1), clipped.

  Example:
    >>> round(float(tone_curve(0.5, 0.7)), 6)
    0.7
  """
  x = jnp.asarray(x)
  return jnp.clip(x + (4 * mid - 2) * x * (1 - x), 0.0, 1.0)


@distortion_op()
def brighten(key: jax.Array, image: jax.typing.ArrayLike, level: jax.typing.ArrayLike,
             ) -> jax.Array:
  """KADID #16: tone curve through ``(0.5, 0.5 + a/2)``, ``a`` = 0.1 ... 1.1.

  The curve is applied to RGB and to CIELAB lightness, and the results are mixed
  2:1 as in KADID's ``imbrighten``. The Lab branch adds its RGB change to the
  input, so ``a = 0`` (level 0) returns the input exactly.

  Args:
    key: unused.
    image: ``(H, W, 3)`` float image in ``[0, 1]``.
    level: severity in ``[0, 1]``.

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = brighten(jax.random.key(0), image, 0.6)  # a = 0.4
  """
  del key
  mid = 0.5 + kadid_param(level, BRIGHTEN_AMOUNTS, 0.0) / 2
  j_rgb = tone_curve(image, mid)
  lab = lab_planes(image)
  new = rgb_planes((100 * tone_curve(lab[0] / 100, mid), lab[1], lab[2]))
  old = rgb_planes(lab)
  j_lab = image + jnp.stack([jnp.clip(n, 0, 1) - jnp.clip(o, 0, 1) for n, o in zip(new, old)],
                            axis=-1)
  return jnp.clip((2 * j_rgb + j_lab) / 3, 0.0, 1.0)


@distortion_op()
def darken(key: jax.Array, image: jax.typing.ArrayLike, level: jax.typing.ArrayLike,
           ) -> jax.Array:
  """KADID #17: tone curve through ``(0.5, 0.5 - a/2)`` on RGB, ``a`` = 0.05 ... 0.8.

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = darken(jax.random.key(0), image, 1.0)  # a = 0.8: everything below ~0.375 goes black
  """
  del key
  return tone_curve(image, 0.5 - kadid_param(level, DARKEN_AMOUNTS, 0.0) / 2)


def mean_shift_amount(level: jax.typing.ArrayLike) -> jax.Array:
  """The constant :func:`mean_shift` adds at a signed ``level`` in ``[-1, 1]``.

  ``sign(level) * interp(|level|, [0, 0.5, 1], [0, 0.08, 0.15])``: KADID's L1..L5
  (0.15, 0.08, 0, -0.08, -0.15) at levels +1, +0.5, 0, -0.5, -1.

  Example:
    >>> round(float(mean_shift_amount(-0.5)), 6)
    -0.08
  """
  level = jnp.clip(jnp.asarray(level, jnp.float32), -1.0, 1.0)
  mag = interp((0.0, 0.5, 1.0), (0.0, MEAN_SHIFTS[1], MEAN_SHIFTS[0]), jnp.abs(level))
  return jnp.sign(level) * mag


@distortion_op(signed=True)
def mean_shift(key: jax.Array, image: jax.typing.ArrayLike, level: jax.typing.ArrayLike,
               ) -> jax.Array:
  """KADID #18: shift, clip and stretch back to the image's range; + is brighter.

  With ``[lo, hi]`` the image's range (over all channels) and ``a`` the shift,
  ``clip(x + a (hi - lo), lo, hi)`` is stretched so that its minimum and maximum
  are ``lo`` and ``hi`` again (KADID's ``immeanshift`` followed by its
  generator's final ``mapmm``). A constant image is returned unchanged.

  Args:
    key: unused.
    image: ``(H, W, 3)`` float image in ``[0, 1]``.
    level: signed severity in ``[-1, 1]`` (see :func:`mean_shift_amount`).

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = mean_shift(jax.random.key(0), image, -1.0)  # a = -0.15
    >>> x = jnp.array([0.0, 0.5, 0.9, 1.0])[:, None, None] * jnp.ones((4, 1, 3))
    >>> [round(v, 4) for v in mean_shift(jax.random.key(0), x, 1.0)[:, 0, 0].tolist()]
    [0.0, 0.5882, 1.0, 1.0]
  """
  del key
  lo, hi = jnp.min(image), jnp.max(image)
  span = hi - lo
  shift = mean_shift_amount(level).astype(image.dtype) * span
  moved = jnp.clip(image + shift, lo, hi)
  # The range of `moved` is [lo + shift, hi] (a > 0) or [lo, hi + shift] (a < 0).
  new_lo, new_hi = lo + jnp.maximum(shift, 0), hi + jnp.minimum(shift, 0)
  scale = span / jnp.maximum(new_hi - new_lo, jnp.finfo(image.dtype).tiny)
  out = lo + (moved - new_lo) * scale
  return jnp.where(span > 0, jnp.clip(out, lo, hi), image)


SPECS: tuple[DistortionSpec, ...] = (
    DistortionSpec("brighten", "brightness", brighten, BRIGHTEN_AMOUNTS, identity_param=0.0,
                   direction=1, axis="brightness", kadid_index=16),
    DistortionSpec("darken", "brightness", darken, DARKEN_AMOUNTS, identity_param=0.0,
                   direction=-1, axis="brightness", kadid_index=17),
    DistortionSpec("mean_shift", "brightness", mean_shift, MEAN_SHIFTS, identity_param=0.0,
                   direction=0, axis="brightness", kadid_index=18,
                   kadid_levels=MEAN_SHIFT_LEVELS),
)

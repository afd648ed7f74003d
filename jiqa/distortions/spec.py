"""What every distortion op of jiqa is: a :class:`DistortionSpec`, and the level scale.

Every op has one signature, ``op(key, image, level) -> image``:

* ``key``: a ``jax.random`` key (ops without randomness ignore it);
* ``image``: float32 ``(H, W, 3)`` in ``[0, 1]``, RGB, channels last (see
  :mod:`jiqa.images`); ops are written for one image and batched with ``vmap``;
* ``level``: a traced scalar. For most ops it is a severity in ``[0, 1]``:
  0 is the identity and 0.2, 0.4, 0.6, 0.8, 1.0 reproduce KADID-10k's five level
  parameters exactly, with the parameter interpolated in between
  (:func:`kadid_param`). Ops whose KADID levels go both ways (``mean_shift``,
  ``contrast_change``) take a signed level in ``[-1, 1]``; its sign is the
  direction (brighter / more contrast is positive).
* the output has the input's shape and dtype and is clipped to ``[0, 1]``.

Every public op is wrapped by :func:`distortion_op`, which checks its inputs
before any work: the image by jiqa's one pixel rule (``uint8`` / ``uint16``
divided by 255 / 65535, other integer types rejected, see
:func:`jiqa.images.as_float_images`), and a concrete ``level`` must be finite
and in ``[0, 1]`` (``[-1, 1]`` for signed-level ops), else ``ValueError``.
Under ``jit`` or ``vmap`` the level is traced and cannot be checked: an
out-of-range level is clipped to the range, and a NaN level gives an
all-NaN image, in every op.

Static options (kernel sizes, iteration counts) are keyword-only arguments with
defaults, so ``functools.partial`` can fix them.

The *direction* of a type says what sign its channel of a dense distortion map
carries (:mod:`jiqa.distortions.triplets`): the map value of type ``t`` at a
pixel is ``direction_t * level * mask`` (for signed-level ops, ``level * mask``),
i.e. the signed strength of the distortion of the distorted image relative to
the reference. Swapping the roles of the two images negates every channel.

Example:
  >>> fn = lambda key, image, level: image
  >>> spec = DistortionSpec("gaussian_blur", "blur", fn, (0.1, 0.5, 1, 2, 5),
  ...                       identity_param=0.0, direction=-1, axis="sharpness")
  >>> round(float(kadid_param(0.2, spec.kadid_params, spec.identity_param)), 6)
  0.1
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jiqa import images as images_lib

GROUPS = ("blur", "color", "compression", "noise", "brightness", "spatial",
          "sharpness_contrast")
AXES = ("brightness", "contrast", "saturation", "sharpness")
KADID_LEVELS = (0.2, 0.4, 0.6, 0.8, 1.0)


@dataclasses.dataclass(frozen=True)
class DistortionSpec:
  """One distortion type of the bank.

  Attributes:
    name: snake_case name, e.g. ``"gaussian_blur"``.
    group: one of :data:`GROUPS` (KADID-10k's seven groups).
    fn: ``fn(key, image, level) -> image`` as described in the module docstring.
    kadid_params: KADID-10k's parameter values at levels L1..L5, in KADID's order.
    identity_param: the parameter value at which the op is the identity, if any
      (``None`` when none exists; the op then blends towards the input near 0).
    direction: +1 or -1, the fixed sign of this type on its signed ``axis``
      (e.g. darken is -1 on brightness); +1 for unsigned types (the map's sign
      then only says which image is the distorted one); 0 for ops that take a
      signed level (``mean_shift``, ``contrast_change``).
    axis: one of :data:`AXES` for signed types, ``None`` for unsigned ones.
    differentiable: whether gradients with respect to the image are meaningful
      (finite and non-trivially non-zero).
    kadid_index: KADID-10k's type number (1..25), or ``None`` for extra types.
    kadid_levels: the levels at which the op reproduces KADID's L1..L5
      parameters (the one table of them): :data:`KADID_LEVELS` for every op
      but the signed-level ones, which set their own signed levels.
  """

  name: str
  group: str
  fn: Callable[[jax.Array, jax.Array, jax.Array], jax.Array]
  kadid_params: tuple[float, ...]
  identity_param: float | None = None
  direction: int = 1
  axis: str | None = None
  differentiable: bool = True
  kadid_index: int | None = None
  kadid_levels: tuple[float, ...] = KADID_LEVELS

  def __post_init__(self):
    if self.group not in GROUPS:
      raise ValueError(f"group: {self.group!r} is not one of {GROUPS}.")
    if self.axis is not None and self.axis not in AXES:
      raise ValueError(f"axis: {self.axis!r} is not one of {AXES}.")
    if self.direction not in (-1, 0, 1):
      raise ValueError(f"direction: must be -1, 0 or 1; got {self.direction}.")
    lo, _ = level_range(self.direction == 0)
    if len(self.kadid_levels) != 5 or not all(lo <= v <= 1 for v in self.kadid_levels):
      raise ValueError(f"kadid_levels: expected five levels in [{lo:g}, 1]; "
                       f"got {self.kadid_levels}.")
    if self.direction != 0 and tuple(self.kadid_levels) != KADID_LEVELS:
      raise ValueError(f"kadid_levels: an unsigned op sits at {KADID_LEVELS}; "
                       f"got {self.kadid_levels}.")

  @property
  def signed_level(self) -> bool:
    """True when ``level`` itself is signed in ``[-1, 1]``."""
    return self.direction == 0


def check_image(image: jax.typing.ArrayLike, name: str = "image") -> jax.Array:
  """Returns ``image`` as a float array after checking it is one RGB ``(H, W, 3)`` image.

  :func:`jiqa.images.as_float_images` with ``ndim=3``: ``uint8`` / ``uint16``
  are divided by 255 / 65535, other integer types are rejected, concrete float
  values must be finite and in ``[0, 1]``. Every op calls it first (through
  :func:`distortion_op`; dtype and shape are static, so it costs nothing under jit).

  Example:
    >>> check_image(jnp.zeros((4, 4, 3))).shape
    (4, 4, 3)
  """
  return images_lib.as_float_images(image, name=name, ndim=3)


def level_range(signed: bool) -> tuple[float, float]:
  """The allowed levels: ``(-1, 1)`` for signed-level ops, ``(0, 1)`` for the others.

  Example:
    >>> level_range(True)
    (-1.0, 1.0)
  """
  return (-1.0, 1.0) if signed else (0.0, 1.0)


def check_level(level: jax.typing.ArrayLike, *, signed: bool = False,
                name: str = "level") -> jax.Array:
  """Returns ``level`` as float32 after checking a concrete one is finite and in range.

  A traced level (under ``jit`` or ``vmap``) cannot be checked: ops clip it to
  :func:`level_range`, and a NaN level gives an all-NaN image
  (:func:`nan_if_nan_level`).

  Raises:
    ValueError: for a concrete NaN / infinite level, or one outside
      ``[-1, 1]`` (signed) or ``[0, 1]`` (the others).

  Example:
    >>> float(check_level(0.5))
    0.5
  """
  if not isinstance(level, jax.core.Tracer):
    values = np.asarray(level, np.float64)
    lo, hi = level_range(signed)
    if not np.all(np.isfinite(values)) or np.any(values < lo) or np.any(values > hi):
      kind = "signed level" if signed else "level"
      bad = values.ravel()[~(np.isfinite(values.ravel()) & (values.ravel() >= lo)
                             & (values.ravel() <= hi))][0]
      raise ValueError(f"{name}: got {bad}; this op takes a {kind} in [{lo:g}, {hi:g}] "
                       "(a finite number).")
  return jnp.asarray(level, jnp.float32)


def nan_if_nan_level(out: jax.Array, level: jax.Array) -> jax.Array:
  """``out``, or all NaN where ``level`` is NaN: one rule for every op under ``jit``.

  Example:
    >>> bool(jnp.isnan(nan_if_nan_level(jnp.zeros((2, 2, 3)), jnp.float32(jnp.nan))).all())
    True
  """
  return jnp.where(jnp.isnan(level), jnp.asarray(jnp.nan, out.dtype), out)


def distortion_op(*, signed: bool = False) -> Callable[[Callable], Callable]:
  """Decorates ``fn(key, image, level, **options)`` as a public op of the bank.

  The op checks ``image`` (:func:`check_image`) and ``level``
  (:func:`check_level`, signed or not) before any work, and returns an all-NaN
  image for a NaN level. The signature (key, image, level, keyword-only
  options) is kept, so ``inspect.signature`` shows the function's own.

  Example:
    >>> @distortion_op()
    ... def invert(key, image, level):
    ...   return image + level * (1 - 2 * image)
    >>> float(invert(None, jnp.zeros((1, 1, 3)), 1.0)[0, 0, 0])
    1.0
  """
  def wrap(fn):
    @functools.wraps(fn)
    def op(key, image, level, **options):
      image = check_image(image)
      level = check_level(level, signed=signed)
      return nan_if_nan_level(fn(key, image, level, **options), level)
    return op
  return wrap


def kadid_param(level: jax.typing.ArrayLike, params: Sequence[float],
                identity: float | None) -> jax.Array:
  """Piecewise-linear parameter at ``level``: KADID's L1..L5 at 0.2..1.0.

  Between 0 and 0.2 the parameter goes linearly from ``identity`` to L1 (or
  stays at L1 when ``identity`` is ``None``; such ops blend with the input
  instead, see :func:`blend_from_identity`).

  Args:
    level: severity in ``[0, 1]`` (clipped).
    params: the five KADID values L1..L5.
    identity: the identity parameter, or ``None``.

  Returns:
    The interpolated parameter as a float32 scalar (or array, if ``level`` is one).

  Example:
    >>> float(kadid_param(0.5, (1, 2, 4, 6, 8), 0.0))
    3.0
  """
  if len(params) != 5:
    raise ValueError(f"params: expected the five KADID values; got {len(params)}.")
  first = params[0] if identity is None else identity
  return interp((0.0,) + KADID_LEVELS, (first,) + tuple(params),
                jnp.clip(jnp.asarray(level, jnp.float32), 0.0, 1.0))


def interp(xp: Sequence[float], fp: Sequence[float], x: jax.typing.ArrayLike) -> jax.Array:
  """``jnp.interp(x, xp, fp)`` for short static tables, without gathers.

  ``jnp.interp`` indexes the tables with a traced position (a gather); on XLA's
  CPU backend an unbatched scalar gather is fused into every pixel loop that
  uses the parameter and stops it from being vectorised (measured: ``brighten``
  on one 512x384 image 9x slower than per image in a batch of 4; the batched
  engine runs many ops on sub-batches of one). Here the segment is chosen by
  selects between constants, with ``jnp.interp``'s formula and constant
  extrapolation outside ``xp``; values agree with ``jnp.interp`` to 1 ulp (XLA
  turns the division by a constant ``dx`` into a multiplication) and exactly at
  the nodes ``xp``.

  Example:
    >>> float(interp((0.0, 1.0), (2.0, 4.0), 0.25))
    2.5
  """
  xp = np.asarray(xp, np.float32)
  fp = np.asarray(fp, np.float32)
  x = jnp.asarray(x, jnp.float32)
  f = jnp.full(x.shape, fp[0], jnp.float32)
  for i in range(1, len(xp)):
    # Segment i (xp[i-1] <= x < xp[i]; the last one also takes x == xp[-1]),
    # as jnp.interp: i = clip(searchsorted(xp, x, side="right"), 1, n - 1).
    seg = fp[i - 1] + ((x - xp[i - 1]) / (xp[i] - xp[i - 1])) * (fp[i] - fp[i - 1])
    f = jnp.where(x >= xp[i - 1], seg, f)
  f = jnp.where(x < xp[0], fp[0], f)
  return jnp.where(x > xp[-1], fp[-1], f)


def blend_from_identity(image: jax.Array, distorted: jax.Array,
                        level: jax.typing.ArrayLike) -> jax.Array:
  """``image`` at level 0, ``distorted`` from level 0.2 on, linear in between.

  For ops with no identity parameter (JPEG's quality 100 is not lossless), this
  makes level 0 exactly the identity and keeps the op continuous in ``level``.

  Example:
    >>> image, distorted = jnp.zeros((2, 2, 3)), jnp.ones((2, 2, 3))
    >>> float(blend_from_identity(image, distorted, 0.1)[0, 0, 0])  # half-way blend
    0.5
  """
  t = jnp.clip(jnp.asarray(level, image.dtype) / KADID_LEVELS[0], 0.0, 1.0)
  return image + t * (distorted - image)


def restretch(out: jax.Array, image: jax.Array) -> jax.Array:
  """``out`` mapped affinely so that its minimum and maximum are ``image``'s.

  KADID's generator ends every distortion with ``mapmm``, a min-max stretch of
  the whole image (all channels) to ``[0, 1]``; its inputs span ``[0, 1]``. This
  is that stretch to the input's own range, so it is the identity when ``out``
  has the range of ``image`` (level 0). A flat ``out`` is returned as it is.

  Example:
    >>> x = jnp.array([[[0.0, 0.5, 1.0]]])
    >>> restretch(jnp.array([[[-0.1, 0.5, 1.1]]]), x).tolist()
    [[[0.0, 0.5, 1.0]]]
  """
  lo, hi = jnp.min(image), jnp.max(image)
  o_lo, o_hi = jnp.min(out), jnp.max(out)
  span = o_hi - o_lo
  scaled = lo + (out - o_lo) * ((hi - lo) / jnp.maximum(span, jnp.finfo(out.dtype).tiny))
  return jnp.where(span > 0, jnp.clip(scaled, lo, hi), out)

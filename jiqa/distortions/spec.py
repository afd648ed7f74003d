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

Static options (kernel sizes, iteration counts) are keyword-only arguments with
defaults, so ``functools.partial`` can fix them.

The *direction* of a type says what sign its channel of a dense distortion map
carries (:mod:`jiqa.distortions.triplets`): the map value of type ``t`` at a
pixel is ``direction_t * level * mask`` (for signed-level ops, ``level * mask``),
i.e. the signed strength of the distortion of the distorted image relative to
the reference. Swapping the roles of the two images negates every channel.

Example:
  >>> spec = DistortionSpec("gaussian_blur", "blur", fn, (0.1, 0.5, 1, 2, 5),
  ...                       identity_param=0.0, direction=-1, axis="sharpness")
  >>> float(kadid_param(0.2, spec.kadid_params, spec.identity_param))
  0.1
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

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

  def __post_init__(self):
    if self.group not in GROUPS:
      raise ValueError(f"group: {self.group!r} is not one of {GROUPS}.")
    if self.axis is not None and self.axis not in AXES:
      raise ValueError(f"axis: {self.axis!r} is not one of {AXES}.")
    if self.direction not in (-1, 0, 1):
      raise ValueError(f"direction: must be -1, 0 or 1; got {self.direction}.")

  @property
  def signed_level(self) -> bool:
    """True when ``level`` itself is signed in ``[-1, 1]``."""
    return self.direction == 0


def check_image(image: jax.typing.ArrayLike, name: str = "image") -> jax.Array:
  """Returns ``image`` as an array after checking it is one float ``(H, W, 3)`` image.

  Every op calls this first (shapes are static, so it costs nothing under jit).

  Example:
    >>> check_image(jnp.zeros((4, 4, 3))).shape
    (4, 4, 3)
  """
  image = jnp.asarray(image)
  if image.ndim != 3 or image.shape[-1] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
    raise ValueError(f"{name}: expected one RGB image of shape (H, W, 3); got {image.shape}.")
  if not jnp.issubdtype(image.dtype, jnp.floating):
    raise ValueError(f"{name}: expected a float image in [0, 1]; got dtype {image.dtype}.")
  return image


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
    >>> out = blend_from_identity(img, jpeg_at_l1, 0.1)  # half-way blend
  """
  t = jnp.clip(jnp.asarray(level, image.dtype) / KADID_LEVELS[0], 0.0, 1.0)
  return image + t * (distorted - image)


def materialize(tree):
  """Returns ``tree``'s values, computed once into memory before their consumers run.

  Some ops read an intermediate many times (shifted windows, lifting steps).
  XLA fuses a cheap producer into each consumer and recomputes it there, which
  can cost far more than storing it. ``jax.lax.optimization_barrier`` prevents
  that on GPU and TPU, but XLA:CPU expands the barrier away before fusion, so
  on the CPU backend the values go through a ``lax.cond`` (the operands of a
  conditional are materialised). Its predicate, a value ``p`` of the tree
  compared with itself, is false only if ``p`` is NaN; that branch adds
  ``0 * p`` to every leaf, so NaN input gives NaN output either way, and the
  two branches differ, which stops XLA from folding the conditional away.
  Hand-written: no library offers it.

  Example:
    >>> noisy = materialize(jnp.clip(image + noise, 0, 1))  # read 25 times below
  """
  if jax.default_backend() != "cpu":
    return jax.lax.optimization_barrier(tree)
  leaves = jax.tree.leaves(tree)
  if not leaves:
    return tree
  probe = jnp.ravel(leaves[0])[0]

  def poisoned(t):
    return jax.tree.map(lambda leaf: leaf + (0 * probe).astype(leaf.dtype), t)

  return jax.lax.cond(probe == probe, lambda t: t, poisoned, tree)

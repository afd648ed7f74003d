"""Local registration of an image pair: forgive displacements of at most a pixel.

A small translation of content is not a structural change to a viewer, who
still sees every detail; content that is gone is (the principle of complex
wavelet SSIM, Wang & Simoncelli 2005, "Translation insensitive image
similarity in complex wavelet domain"). A pixel-aligned deviation cannot tell
the two apart: nearest-neighbour resampling (KADID-10k's pixelate) moves
65-70% of the pixels by one at its mild levels and *fewer* at a stronger one,
so every pixel-aligned score misorders its levels
(``experiments/pixelate_order``).

:func:`register` moves each pixel of ``b`` by at most ``radius`` pixels, to
where the ``patch x patch`` neighbourhood of ``b`` best matches that of ``a``:
block matching, as motion-compensated video quality measures do. The match is
the *variance* of the luma difference over the patch (zero-mean SSD), so

* a displacement is chosen on the evidence of a whole patch, not of one
  pixel: independent noise is not "matched away" (a pixel's own noisy value
  never decides), and
* a change of brightness or contrast offset does not bias the match (a
  constant difference has variance 0 at every displacement),

and among equally good displacements (up to float rounding) no move wins, so
``register(a, a) = a`` exactly and the choice does not depend on the backend.
With ``residual < 1`` a move must also be decisive: it is taken only where it
leaves less than ``residual`` times the unmoved patch's mismatch. Content that
moved matches almost exactly once moved back; a noisy patch's chance match at a
neighbour removes a little of its mismatch, so noise is moved far less (on a
test texture with multiplicative noise, 0.78 of the pixels stay against 0.34
at ``residual=1``; ``docs/decisions.md``). :func:`jiqa.models.deviations.deviation_features` with
``tolerance=1`` measures the deviations of both registered orderings of a pair.
Hand-written: neither dm-pix nor optax has block matching.

Example:
  >>> a = jax.random.uniform(jax.random.key(0), (1, 16, 16, 3))
  >>> moved = jnp.roll(a, 1, axis=2)             # every column one to the right
  >>> back = register(a, moved)
  >>> float(jnp.abs(back - a)[:, 2:-2, 2:-2].max())   # inside the border: undone
  0.0
  >>> bool(jnp.all(register(a, a) == a))
  True
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jiqa.distortions.colorspace import rgb_to_ycbcr
from jiqa.models.pair_stats import box_mean

# A displacement replaces the best one so far only if its mismatch is lower by more than
# TIE_ABSOLUTE + TIE_RELATIVE * max(E[d^2] of both) (squared 8-bit luma; float32 rounds the
# variance E[d^2] - E[d]^2 to about 1e-6 E[d^2]): equal matches keep the earlier one (no
# move first), whatever the backend, batch or fusion.
TIE_ABSOLUTE = 1e-3
TIE_RELATIVE = 1e-5


def displacements(radius: int) -> list[tuple[int, int]]:
  """The ``(dy, dx)`` of at most ``radius`` in each axis, no move first.

  Example:
    >>> displacements(1)[:3], len(displacements(1))
    ([(0, 0), (-1, -1), (-1, 0)], 9)
  """
  r = range(-radius, radius + 1)
  return [(0, 0)] + [(i, j) for i in r for j in r if (i, j) != (0, 0)]


def register(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike, *, radius: int = 1,
             patch: int = 3, residual: float = 1.0) -> jax.Array:
  """``b`` with each pixel taken from at most ``radius`` pixels away, to match ``a``.

  For each pixel ``p`` and displacement ``t`` (``|t_y|, |t_x| <= radius``),
  the mismatch is the variance over the ``patch x patch`` window around ``p``
  of ``Y_b(q + t) - Y_a(q)`` (8-bit luma, edges replicated); the output pixel
  is ``b(p + t*)``, ``t*`` found by a running minimum over
  :func:`displacements` (no move first) in which a displacement replaces the
  best so far only if its mismatch is lower by more than ``TIE_ABSOLUTE +
  TIE_RELATIVE * max(E[d^2])`` of the two: ties, up to float rounding, keep
  the earlier displacement, and (``residual < 1``) only if its mismatch is
  below ``residual`` times the unmoved one. Not symmetric (``b`` moves onto
  ``a``); deviations use both orderings.

  Args:
    a: ``(N, H, W, 3)`` RGB images in ``[0, 1]``, the frame to match.
    b: ``(N, H, W, 3)``, the images to move.
    radius: the largest displacement per axis, in pixels (0: ``b`` itself).
    patch: the odd side of the matching window.
    residual: a move is taken only where it leaves less than this share of
      the unmoved mismatch, in ``(0, 1]`` (``1``: any strictly better match).

  Returns:
    ``(N, H, W, 3)``: every pixel is one of ``b``'s.

  Raises:
    ValueError: for mismatched shapes, a negative ``radius``, an even ``patch``
      or a ``residual`` outside ``(0, 1]``.

  Example:
    >>> a = jnp.zeros((1, 8, 8, 3)).at[:, :, 4:].set(1.0)   # an edge at column 4
    >>> b = jnp.zeros((1, 8, 8, 3)).at[:, :, 5:].set(1.0)   # the same edge at column 5
    >>> register(a, b)[0, 4, :, 0].tolist()
    [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    >>> register(a, b, residual=0.5)[0, 4, :, 0].tolist()   # the move undoes it all
    [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
  """
  a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
  if a.shape != b.shape or a.ndim != 4 or a.shape[-1] != 3:
    raise ValueError(f"a, b: expected two (N, H, W, 3) batches of equal shape; got {a.shape} "
                     f"and {b.shape}.")
  if radius < 0:
    raise ValueError(f"radius: expected a displacement >= 0 pixels; got {radius}.")
  if patch < 1 or patch % 2 == 0:
    raise ValueError(f"patch: expected an odd window side >= 1; got {patch}.")
  if not 0.0 < residual <= 1.0:
    raise ValueError(f"residual: expected a share of the unmoved mismatch in (0, 1]; got "
                     f"{residual!r}.")
  if radius == 0:
    return b
  h, w = b.shape[1:3]
  padded = jnp.pad(b, ((0, 0), (radius, radius), (radius, radius), (0, 0)), mode="edge")
  luma_b = 255.0 * rgb_to_ycbcr(padded)[..., :1]
  luma_a = 255.0 * rgb_to_ycbcr(a)[..., :1]
  moves = displacements(radius)
  diff = jnp.concatenate([luma_b[:, radius + i:radius + i + h, radius + j:radius + j + w]
                          - luma_a for i, j in moves])               # (M N, H, W, 1)
  second = box_mean(diff * diff, patch).reshape(len(moves), -1, h, w)
  # E[d^2] - E[d]^2 rounds with an error of a few float32 ulps of E[d^2]: the tie margin
  # scales with it, so that equal matches never move a pixel by rounding alone.
  mismatch = jnp.maximum(second - box_mean(diff, patch).reshape(second.shape)**2, 0.0)
  best, scale, index = mismatch[0], second[0], jnp.zeros(mismatch.shape[1:], jnp.int32)
  for k in range(1, len(moves)):
    better = mismatch[k] < best - TIE_ABSOLUTE - TIE_RELATIVE * jnp.maximum(second[k], scale)
    if residual < 1.0:  # (at 1 implied: best never exceeds the unmoved mismatch)
      better &= mismatch[k] < residual * mismatch[0]
    best = jnp.where(better, mismatch[k], best)
    scale = jnp.where(better, second[k], scale)
    index = jnp.where(better, k, index)
  # One gather from the padded image: the source row and column of every output pixel.
  dy, dx = (jnp.asarray([m[c] for m in moves], jnp.int32)[index] for c in (0, 1))
  rows = radius + jnp.arange(h, dtype=jnp.int32)[None, :, None] + dy
  cols = radius + jnp.arange(w, dtype=jnp.int32)[None, None, :] + dx
  batch = jnp.arange(b.shape[0], dtype=jnp.int32)[:, None, None]
  return padded[batch, rows, cols]

"""Local relational statistics of an ordered image pair, and a scorer stem built on them.

For a pair ``(a, b)`` converted to full-range YCbCr
(:func:`jiqa.distortions.colorspace.rgb_to_ycbcr`),
at ``num_scales`` scales (1, 1/2, 1/4, ... by 2x2 average pooling), with local
means over 3x3 windows (``mu``, ``var``, ``cov`` as in SSIM, Wang et al. 2004),
:func:`pair_statistics` gives per pixel and channel four statistics of ``b``
relative to ``a``:

* ``mu_b - mu_a``: local mean shift (brightness, colour cast),
* ``log((var_b + c) / (var_a + c))``: log local contrast ratio (negative for
  blur and flattening, positive for noise and sharpening),
* ``(2 cov + c) / (var_a + var_b + c)``: SSIM's contrast-structure term,
* ``log(c + mean((b - a)^2))``: log local error energy,

so 12 channels per scale. The first two change sign when ``a`` and ``b`` are
swapped, the last two do not: the direction of a difference is kept, and
magnitudes are on a log scale. For ``a == b`` every pixel gets the same
constant vector (0, 0, 1, ``log c``), whatever the image: the reference-anchored
scorer uses this to compute its baseline once.

:class:`StatsStem` turns them into pooled features with a learned per-pixel
MLP per scale (1x1 convolutions), pooled by the spatial mean and the log mean
square. Hand-written: dm-pix's SSIM returns only the product of SSIM's terms,
not the signed component maps.

For the per-pixel map predictor, :func:`relational_maps` stacks these at full
resolution (coarse scales repeated back up) with three more signed statistics
per scale and two per 8x8 block: the log ratio of local high-frequency energy
(luma minus its 3x3 mean, squared and averaged: blur and denoising lower it,
noise and sharpening raise it), the log ratio of local chroma magnitude
(saturation), and the change of JPEG-style blockiness (the log ratio of the
luma gradient on the 8x8 grid's boundary columns / rows to the gradient inside
the blocks), all of ``b`` relative to ``a`` and negated when ``a`` and ``b``
are swapped. :data:`NUM_RELATIONAL` counts them for ``num_scales=3``.

Example:
  >>> a = jnp.full((1, 16, 16, 3), 0.5)
  >>> [s.shape for s in pair_statistics(a, a * 0.9, num_scales=2)]
  [(1, 16, 16, 12), (1, 8, 8, 12)]
  >>> relational_maps(a, a * 0.9).shape
  (1, 16, 16, 44)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jiqa.distortions.colorspace import rgb_to_ycbcr


def box_mean(x: jax.Array, k: int = 3) -> jax.Array:
  """``k x k`` local mean of each channel of ``(N, H, W, C)`` (``k`` odd), edges replicated.

  Separable sums of shifted copies (no convolution: XLA:CPU runs these faster
  on small images). The one local mean of the models' hand-made statistics.

  Example:
    >>> x = jnp.arange(9.0).reshape(1, 3, 3, 1)   # [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    >>> float(box_mean(x)[0, 1, 1, 0]), round(float(box_mean(x)[0, 0, 0, 0]) * 9)  # 0+0+1+0+0+1+3+3+4
    (4.0, 12)
  """
  p = k // 2
  x = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="edge")
  h, w = x.shape[1] - 2 * p, x.shape[2] - 2 * p
  rows = sum(x[:, i:i + h] for i in range(k))
  return sum(rows[:, :, j:j + w] for j in range(k)) / (k * k)


def pair_statistics(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike, *, num_scales: int = 3,
                    c: float = 1e-4) -> list[jax.Array]:
  """The 12 statistics of ``b`` relative to ``a`` at each scale (see the module docstring).

  Args:
    a, b: ``(N, H, W, 3)`` RGB images in ``[0, 1]``.
    num_scales: number of scales (each halves ``H`` and ``W``).
    c: stabilising constant of the ratios and logarithms.

  Returns:
    A list of ``num_scales`` arrays ``(N, H / 2**s, W / 2**s, 12)``.

  Example:
    >>> stats = pair_statistics(jnp.zeros((2, 8, 8, 3)), jnp.ones((2, 8, 8, 3)))
  """
  a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
  if a.shape != b.shape or a.ndim != 4 or a.shape[-1] != 3:
    raise ValueError(f"a, b: expected two (N, H, W, 3) batches of equal shape; got {a.shape} "
                     f"and {b.shape}.")
  if num_scales < 1 or min(a.shape[1:3]) < 2**(num_scales - 1):
    raise ValueError(f"num_scales: expected 1 <= num_scales with 2**(num_scales-1) <= "
                     f"min(H, W); got {num_scales} for {a.shape[1:3]}.")
  a, b = rgb_to_ycbcr(a), rgb_to_ycbcr(b)
  out = []
  for s in range(num_scales):
    if s:
      a, b = nnx.avg_pool(a, (2, 2), (2, 2)), nnx.avg_pool(b, (2, 2), (2, 2))
    mu_a, mu_b = box_mean(a), box_mean(b)
    # Not clamped at 0: rounding can make a flat region's variance about -1e-8, far
    # below c, and unclamped terms keep (a, a) exactly at (0, 0, 1, log c).
    var_a = box_mean(a * a) - mu_a**2
    var_b = box_mean(b * b) - mu_b**2
    cov = box_mean(a * b) - mu_a * mu_b
    out.append(jnp.concatenate([
        mu_b - mu_a, jnp.log((var_b + c) / (var_a + c)),
        (2.0 * cov + c) / (var_a + var_b + c), jnp.log(c + box_mean((b - a)**2))], axis=-1))
  return out


def _up(x: jax.Array, factor: int) -> jax.Array:
  return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2) if factor > 1 else x


def blockiness(luma: jax.Array, *, block: int = 8, c: float = 1e-3) -> jax.Array:
  """Per-pixel log ratio of the boundary to the interior gradient of each ``block`` grid cell.

  Args:
    luma: ``(N, H, W, 1)``; ``H``, ``W`` are edge-padded to multiples of ``block``.
    block: the grid (JPEG's 8).
    c: stabilising constant.

  Returns:
    ``(N, H, W, 2)``: columns (horizontal gradient) and rows, each constant
    over a cell: ``log((mean |grad| on the cell's last column + c) / (mean
    |grad| on its other columns + c))``.

  Example:
    >>> blockiness(jnp.zeros((1, 8, 8, 1))).shape
    (1, 8, 8, 2)
  """
  n, h, w, _ = luma.shape
  hp, wp = -(-h // block) * block, -(-w // block) * block
  y = jnp.pad(luma[..., 0], ((0, 0), (0, hp - h), (0, wp - w)), mode="edge")
  gx = jnp.abs(jnp.diff(y, axis=2, append=y[:, :, -1:])).reshape(n, hp, wp // block, block)
  gy = jnp.abs(jnp.diff(y, axis=1, append=y[:, -1:])).reshape(n, hp // block, block, wp)
  # Cells: columns pooled over block rows, rows pooled over block columns.
  gx = gx.reshape(n, hp // block, block, wp // block, block)
  gy = gy.reshape(n, hp // block, block, wp // block, block)
  bx = jnp.log((gx[..., -1].mean(2) + c) / (gx[..., :-1].mean((2, 4)) + c))
  by = jnp.log((gy[:, :, -1].mean(-1) + c) / (gy[:, :, :-1].mean((2, 4)) + c))
  out = _up(jnp.stack([bx, by], -1), block)
  return out[:, :h, :w]


NUM_RELATIONAL = 44


def relational_maps(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike, *, num_scales: int = 3,
                    c: float = 1e-4) -> jax.Array:
  """Full-resolution signed relational statistics of ``b`` relative to ``a`` (module docstring).

  Per scale the 12 :func:`pair_statistics` (rescaled to about unit range: mean
  shifts x4, log contrast ratios / 2, the structure term minus 1, the log error
  energy ``(x + 4.6) / 2.3``), the log high-frequency energy ratio and the log
  chroma ratio (each / 2), repeated back to full resolution; then the change of
  :func:`blockiness` of the luma. ``12 + 2`` per scale ``+ 2`` channels.

  Args:
    a, b: ``(N, H, W, 3)`` RGB images in ``[0, 1]``; ``H``, ``W`` multiples of
      ``2**(num_scales - 1)``.
    num_scales: number of scales.
    c: stabilising constant of the ratios.

  Returns:
    ``(N, H, W, 14 * num_scales + 2)``.

  Example:
    >>> x = jnp.full((1, 8, 8, 3), 0.5)
    >>> float(jnp.abs(relational_maps(x, x)[..., 12]).max())  # no HF change on (a, a)
    0.0
  """
  a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
  if a.shape != b.shape or a.ndim != 4 or a.shape[-1] != 3:
    raise ValueError(f"a, b: expected two (N, H, W, 3) batches of equal shape; got {a.shape} "
                     f"and {b.shape}.")
  f = 2**(num_scales - 1)
  if num_scales < 1 or a.shape[1] % f or a.shape[2] % f:
    raise ValueError(f"a: height and width must be multiples of 2**(num_scales - 1) = {f}; "
                     f"got {a.shape[1:3]}.")
  feats = []
  for s, x in enumerate(pair_statistics(a, b, num_scales=num_scales, c=c)):
    x = jnp.concatenate([4.0 * x[..., :3], x[..., 3:6] / 2.0, x[..., 6:9] - 1.0,
                         (x[..., 9:] + 4.6) / 2.3], axis=-1)
    feats.append(_up(x, 2**s))
  ya, yb = rgb_to_ycbcr(a), rgb_to_ycbcr(b)
  for s in range(num_scales):
    if s:
      ya, yb = nnx.avg_pool(ya, (2, 2), (2, 2)), nnx.avg_pool(yb, (2, 2), (2, 2))
    la, lb = ya[..., :1] - box_mean(ya[..., :1], 3), yb[..., :1] - box_mean(yb[..., :1], 3)
    hf = jnp.log((box_mean(lb * lb, 3) + c) / (box_mean(la * la, 3) + c))
    chroma = lambda y: box_mean(jnp.sqrt(jnp.sum((y[..., 1:] - 0.5)**2, -1, keepdims=True) + 1e-6), 3)  # noqa: E731
    cr = jnp.log((chroma(yb) + 1e-2) / (chroma(ya) + 1e-2))
    feats.append(_up(jnp.concatenate([hf, cr], axis=-1) / 2.0, 2**s))
  ya, yb = rgb_to_ycbcr(a)[..., :1], rgb_to_ycbcr(b)[..., :1]
  feats.append(blockiness(yb) - blockiness(ya))
  return jnp.concatenate(feats, axis=-1)


class StatsStem(nnx.Module):
  """Pooled features of an ordered pair from :func:`pair_statistics`.

  Per scale a per-pixel MLP ``12 -> hidden -> hidden`` (GELU), then the spatial
  mean and ``log(1e-3 + mean(h**2))`` of its output: ``2 * hidden * num_scales``
  features per pair.

  Example:
    >>> stem = StatsStem(hidden=8, rngs=nnx.Rngs(0))
    >>> stem(jnp.zeros((2, 16, 16, 3)), jnp.ones((2, 16, 16, 3))).shape
    (2, 48)
  """

  def __init__(self, *, hidden: int = 32, num_scales: int = 3, rngs: nnx.Rngs):
    self.num_scales = num_scales
    self.features = 2 * hidden * num_scales
    self.layer1 = nnx.List([nnx.Linear(12, hidden, rngs=rngs) for _ in range(num_scales)])
    self.layer2 = nnx.List([nnx.Linear(hidden, hidden, rngs=rngs) for _ in range(num_scales)])

  def __call__(self, a: jax.Array, b: jax.Array) -> jax.Array:
    pooled = []
    for f, l1, l2 in zip(pair_statistics(a, b, num_scales=self.num_scales),
                         self.layer1, self.layer2):
      h = l2(jax.nn.gelu(l1(f)))
      pooled += [h.mean(axis=(1, 2)), jnp.log(1e-3 + (h**2).mean(axis=(1, 2)))]
    return jnp.concatenate(pooled, axis=-1)

"""Perceptual deviations of an image pair: multi-scale gradient, chroma and luminance similarity.

Each deviation ``d_k(a, b)`` is a pooled dissimilarity of two images, grounded
in a published perceptual principle, with two exact properties that a learned
stem does not have:

* ``d_k(r, r) = 0`` exactly, for every image ``r``, and
* ``d_k(a, b) >= 0`` exactly: each ``1 - (2 x y + T) / (x^2 + y^2 + T)`` is
  computed as ``(x - y)^2 / (x^2 + y^2 + T)``, which float rounding cannot make
  negative,

so a score ``-g(d)`` with ``g`` non-decreasing and ``g(0) = 0`` ranks a
pristine image above every distortion of it, and stays monotone in each
deviation whatever ``g`` learns (:class:`jiqa.models.DeviationScorer`).

At ``num_scales`` scales (scale 0 is GMSD's: the 8-bit luma ``255 (0.299 R +
0.587 G + 0.114 B)`` after 2x2 average pooling; each further scale pools 2x2
again, a coarser viewing distance), four deviations per scale:

* ``gms_std``: the standard deviation of the gradient-magnitude similarity map
  (Prewitt gradients, ``T = 170``), GMSD (Xue et al. 2014) at that scale;
* ``gms_mean``: ``1 - mean`` of the same map (its mean pooling, as in GMSM);
* ``chroma``: ``1 - mean`` of the chroma similarity ``S_Cb * S_Cr`` on the
  8-bit full-range chroma centred at 0 (``T = 200``, the chroma constant of
  FSIM_C, Zhang et al. 2011), so pure colour changes, to which a luma
  gradient is blind, are not ties with the pristine;
* ``luminance``: ``1 - mean`` of SSIM's luminance term on 3x3 local means
  (``C1 = (0.01 * 255)^2``, Wang et al. 2004): mean shifts, to which gradients
  are blind.

Square roots are taken as ``sqrt(x + eps) - sqrt(eps)`` (exactly 0 at 0, finite
gradients on identical pairs, where ``sqrt`` alone gives NaN). Edges are replicated (not zero-padded as in GMSD's MATLAB code): a border is
not image content, and zero padding turns a mean shift into border gradients.
Hand-written: dm-pix has SSIM only, no gradient or chroma similarity.

``tolerance=1`` forgives displacements of one pixel: the deviations of each
image against the other's pixels moved onto it by block matching
(:mod:`jiqa.models.registration`), averaged over both orderings. The shipped
scorer uses it: pixel-aligned deviations cannot order KADID's pixelate levels,
whose nearest-neighbour resampling moves fewer pixels at one level than at the
level below (``experiments/pixelate_order``).

Example:
  >>> a = jax.random.uniform(jax.random.key(0), (2, 32, 32, 3))
  >>> d = deviation_features(a, a * 0.8, num_scales=2)
  >>> d.shape, bool(jnp.all(d > 0))
  ((2, 8), True)
  >>> float(jnp.abs(deviation_features(a, a, num_scales=2)).max())
  0.0
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jiqa.distortions.colorspace import rgb_to_ycbcr
from jiqa.models.pair_stats import box_mean

DEVIATIONS = ("gms_std", "gms_mean", "chroma", "luminance")
# "pooled": the same four, plus the GMSD principle (standard-deviation pooling)
# applied to the chroma and luminance maps and to the gradient-chroma map
# 1 - S_G S_C (FSIM_C's and MDSI's joint similarity).
FEATURE_SETS = {"base": DEVIATIONS,
                "pooled": DEVIATIONS + ("chroma_std", "luminance_std", "joint_std")}
GMS_T = 170.0        # GMSD's constant for 8-bit luma.
CHROMA_T = 200.0     # FSIM_C's constant for 8-bit chroma.
LUMINANCE_C1 = (0.01 * 255.0)**2
_EPS = 1e-8        # in squared 8-bit gradient units
_EPS_STD = 1e-12   # in squared similarity units (bias 1e-6)


def _pool2(x: jax.Array) -> jax.Array:
  """2x2 average pooling of ``(N, H, W, C)`` (``H``, ``W`` even)."""
  n, h, w, c = x.shape
  return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def _shifted(x: jax.Array) -> jax.Array:
  """``(N, H, W, C)`` edge-padded by 1 on both spatial sides."""
  return jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")


def _gradient_magnitude(y: jax.Array) -> jax.Array:
  """Prewitt gradient magnitude (``/3`` normalised, as GMSD) of ``(N, H, W, 1)``, edges replicated."""
  p = _shifted(y)
  h, w = y.shape[1:3]
  cols = p[:, :, :-2] - p[:, :, 2:]                      # x[j-1] - x[j+1] (correlation [1, 0, -1])
  gx = (cols[:, :-2] + cols[:, 1:-1] + cols[:, 2:])[:, :h, :w] / 3.0
  rows = p[:, :-2] - p[:, 2:]
  gy = (rows[:, :, :-2] + rows[:, :, 1:-1] + rows[:, :, 2:])[:, :h, :w] / 3.0
  # sqrt(. + eps) - sqrt(eps): 0 on flat regions, with a finite gradient there.
  return jnp.sqrt(gx**2 + gy**2 + _EPS) - _EPS**0.5


def _dissimilarity(x: jax.Array, y: jax.Array, t: float) -> jax.Array:
  """``1 - (2 x y + t) / (x^2 + y^2 + t)``, written as ``(x - y)^2 / (x^2 + y^2 + t)``.

  The same value, but exactly 0 for ``x == y`` and never negative in floats
  (the quotient form rounds to ``1 +- 1e-7`` when fused differently).
  """
  return (x - y)**2 / (x * x + y * y + t)


def _std(m: jax.Array) -> jax.Array:
  """Standard deviation (ddof=1) of each map of ``(N, H, W, 1)``, exactly 0 for a constant map.

  From the centred map, with ``sqrt(v + eps) - sqrt(eps)``: finite gradient at identical pairs.
  """
  n = m.shape[1] * m.shape[2]
  mean = m.mean(axis=(1, 2, 3))
  var = jnp.sum((m - mean[:, None, None, None])**2, axis=(1, 2, 3)) / max(n - 1, 1)
  return jnp.sqrt(var + _EPS_STD) - _EPS_STD**0.5


def deviation_features(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike, *,
                       num_scales: int = 4, feature_set: str = "base",
                       tolerance: int = 0, residual: float = 1.0) -> jax.Array:
  """The ``K * num_scales`` deviations of ``b`` from ``a`` (see the module docstring).

  Symmetric in ``a`` and ``b``, zero on identical pairs, non-negative.

  Args:
    a, b: ``(N, H, W, 3)`` RGB images in ``[0, 1]``; ``H`` and ``W`` multiples
      of ``2**num_scales``.
    num_scales: number of scales (the first is at half resolution, as GMSD's).
    feature_set: ``"base"`` (``K = 4``: ``gms_std, gms_mean, chroma,
      luminance``) or ``"pooled"`` (``K = 7``: also the standard deviations of
      the chroma map, of the luminance map and of the joint map ``1 - S_G S_C``).
    tolerance: displacements forgiven, in full-resolution pixels. ``0``: the
      pixel-aligned deviations. ``t > 0``: the mean of the deviations of ``(a,
      register(a, b))`` and ``(b, register(b, a))``
      (:func:`jiqa.models.registration.register`, ``radius=t``): content moved by
      at most ``t`` pixels costs nothing, content that is gone still does. Still
      symmetric, zero on identical pairs and non-negative.
    residual: with ``tolerance > 0``, a move is taken only where it leaves
      less than this share of the unmoved mismatch (``register``'s
      ``residual``; ``1``: any strictly better match).

  Returns:
    ``(N, K * num_scales)``, scale-major: the ``K`` deviations of scale 0, then
    of scale 1, ... (:func:`feature_names`).

  Example:
    >>> x = jnp.full((1, 16, 16, 3), 0.5)
    >>> deviation_features(x, x, num_scales=1).tolist()
    [[0.0, 0.0, 0.0, 0.0]]
  """
  a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
  if a.shape != b.shape or a.ndim != 4 or a.shape[-1] != 3:
    raise ValueError(f"a, b: expected two (N, H, W, 3) batches of equal shape; got {a.shape} "
                     f"and {b.shape}.")
  if feature_set not in FEATURE_SETS:
    raise ValueError(f"feature_set: expected one of {sorted(FEATURE_SETS)}; got {feature_set!r}.")
  f = 2**num_scales
  if num_scales < 1 or a.shape[1] % f or a.shape[2] % f:
    raise ValueError(f"a: height and width must be multiples of 2**num_scales = {f} "
                     f"(num_scales >= 1); got {a.shape[1:3]} with num_scales={num_scales}.")
  if not isinstance(tolerance, int) or tolerance < 0:
    raise ValueError(f"tolerance: expected a displacement >= 0 pixels (an int); got {tolerance!r}.")
  if not 0.0 < residual <= 1.0 or (residual < 1.0 and not tolerance):
    raise ValueError(f"residual: expected a share in (0, 1], below 1 only with tolerance > 0; got "
                     f"residual={residual!r} with tolerance={tolerance!r}.")
  if tolerance:
    from jiqa.models.registration import register

    def moved(x, y):
      return register(x, y, radius=tolerance, residual=residual)

    return 0.5 * (_aligned(a, moved(a, b), num_scales, feature_set)
                  + _aligned(b, moved(b, a), num_scales, feature_set))
  return _aligned(a, b, num_scales, feature_set)


def _aligned(a: jax.Array, b: jax.Array, num_scales: int, feature_set: str) -> jax.Array:
  """The pixel-aligned deviations of :func:`deviation_features`."""
  offset = jnp.asarray([0.0, 0.5, 0.5], jnp.float32)
  ya, yb = 255.0 * (rgb_to_ycbcr(a) - offset), 255.0 * (rgb_to_ycbcr(b) - offset)
  out = []
  for _ in range(num_scales):
    ya, yb = _pool2(ya), _pool2(yb)
    # 1 - similarity maps, each >= 0 and exactly 0 where the pair agrees.
    gms = _dissimilarity(_gradient_magnitude(ya[..., :1]), _gradient_magnitude(yb[..., :1]),
                         GMS_T)
    u = _dissimilarity(ya[..., 1:2], yb[..., 1:2], CHROMA_T)
    v = _dissimilarity(ya[..., 2:3], yb[..., 2:3], CHROMA_T)
    chroma = u + v * (1.0 - u)                     # 1 - S_Cb S_Cr
    lum = _dissimilarity(box_mean(ya[..., :1]), box_mean(yb[..., :1]), LUMINANCE_C1)
    out += [_std(gms), gms.mean(axis=(1, 2, 3)), chroma.mean(axis=(1, 2, 3)),
            lum.mean(axis=(1, 2, 3))]
    if feature_set == "pooled":
      joint = gms + chroma * (1.0 - gms)             # 1 - S_G S_C
      out += [_std(chroma), _std(lum), _std(joint)]
  return jnp.stack(out, axis=-1)


def lost_content(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike) -> jax.Array:
  """Shift-tolerant luma deviation at full resolution: content lost, not content moved, ``(N,)``.

  For each pixel of ``a``, the smallest SSIM-luminance dissimilarity ``(x - y)^2 /
  (x^2 + y^2 + C1)`` (8-bit luma, ``C1 = (0.01 * 255)^2``) to a pixel of ``b``
  displaced by at most one pixel (edges replicated), averaged over the image;
  plus the same from ``b`` to ``a``. Small translations are not seen as
  structural change (the principle of CW-SSIM, Wang & Simoncelli 2005): content
  moved by one pixel costs nothing, content that is gone (a row dropped by
  nearest-neighbour resampling, detail removed) does. Zero on identical pairs,
  non-negative and symmetric, like the deviations of :func:`deviation_features`;
  in none of its feature sets (``experiments/pixelate_order`` measures why).

  Args:
    a, b: ``(N, H, W, 3)`` RGB images in ``[0, 1]``.

  Example:
    >>> x = jnp.zeros((1, 12, 12, 3)).at[:, 3:8, 4:9].set(jnp.linspace(0.2, 1, 5)[:, None, None])
    >>> float(lost_content(x, x)[0]), float(lost_content(x, jnp.roll(x, 1, axis=1))[0])
    (0.0, 0.0)
    >>> bool(lost_content(x, x.at[:, 5].set(x[:, 4]))[0] > 0)   # row 5 lost
    True
  """
  a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
  if a.shape != b.shape or a.ndim != 4 or a.shape[-1] != 3:
    raise ValueError(f"a, b: expected two (N, H, W, 3) batches of equal shape; got {a.shape} "
                     f"and {b.shape}.")
  ya, yb = (255.0 * rgb_to_ycbcr(x)[..., 0] for x in (a, b))

  def one_way(x, y):
    h, w = x.shape[1:]
    p = jnp.pad(y, ((0, 0), (1, 1), (1, 1)), mode="edge")
    best = None
    for i in range(3):
      for j in range(3):
        d = _dissimilarity(x, p[:, i:i + h, j:j + w], LUMINANCE_C1)
        best = d if best is None else jnp.minimum(best, d)
    return best.mean(axis=(1, 2))

  return one_way(ya, yb) + one_way(yb, ya)


def feature_names(num_scales: int = 4, feature_set: str = "base") -> list[str]:
  """``["gms_std@0", "gms_mean@0", "chroma@0", "luminance@0", "gms_std@1", ...]``.

  Example:
    >>> feature_names(1)
    ['gms_std@0', 'gms_mean@0', 'chroma@0', 'luminance@0']
    >>> feature_names(1, "pooled")[4:]
    ['chroma_std@0', 'luminance_std@0', 'joint_std@0']
  """
  if feature_set not in FEATURE_SETS:
    raise ValueError(f"feature_set: expected one of {sorted(FEATURE_SETS)}; got {feature_set!r}.")
  return [f"{d}@{s}" for s in range(num_scales) for d in FEATURE_SETS[feature_set]]


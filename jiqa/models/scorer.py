"""The relational quality scorer ``s(x | r)`` and its pairwise preference.

``s(x | r)`` is the quality of image ``x`` relative to an image ``r`` of the same
content (a reference, or a companion). Higher is better. By default
(``antisymmetric=True``) the score is anti-symmetric by construction,

.. math::
   s(x \\mid r) = u(S, A) - u(S, -A), \\qquad s(r \\mid x) = -s(x \\mid r),
   \\qquad s(r \\mid r) = 0,

where ``S`` and ``A`` are symmetric and anti-symmetric pooled features of the
pair and ``u`` a small MLP. So the **baseline is the reference itself**: a
score of 0 means "as good as ``r``", negative "worse than ``r``", positive
"better" (possible when ``r`` is itself distorted). With a pristine reference
scores of distorted images are expected to be negative.

**Reference-anchored scores** (``backbone="stats", antisymmetric=False``, the
pipeline configs' default): ``s(x | r) = u(P(r -> x)) - u(P(r -> r))``, with
``P(r -> x)`` the pooled statistics of ``x`` relative to ``r``. The reference
is trusted as such, ``s(r | r) = 0`` (to float rounding of the spatial mean:
the baseline ``P(r -> r)`` is the same for every ``r`` and computed once), but
``s(r | x) != -s(x | r)`` in general. The anti-symmetric forms must also work out *which* image of the pair
is distorted, and magnitude features (error energy, structure loss) are
symmetric, so they only enter through products with direction cues; measured
on the same 64x64 mixed tiers (22 types, 400 steps, batch-wide pairwise loss),
held-out pairwise accuracy was 0.876 for this form against 0.665 for the
anti-symmetric stats form and 0.571 for the U-Net encoder form (PSNR 0.738,
SSIM 0.770 on those tiers). Companions mode and the reference-free preference
use its anti-symmetric part ``(s(a | b) - s(b | a)) / 2``.

With ``backbone="stats"`` (and ``antisymmetric=True``) the score is ``s(x | r) = q(x, r) - q(r, x)``, with
``q(a, b) = u(P(a, b))`` and ``P`` the pooled relational statistics of ``b``
relative to ``a`` (:class:`~jiqa.models.pair_stats.StatsStem`): ``q(x, r)``
reads how ``r`` differs from ``x`` (so ``s`` is anti-symmetric and
``s(r | r) = 0`` as well). 
Otherwise features come either from the scorer's own encoder (a backbone of
:mod:`jiqa.models.backbones` without decoder, run on both orderings of the
pair in one batched pass; ``S = mean[c(r,x) + c(x,r)] ++ mean|c(r,x) - c(x,r)|``,
``A = mean[c(r,x) - c(x,r)]``) or, with ``map_predictor=...``, from a
:class:`~jiqa.models.map_predictor.MapPredictor`: its symmetric and
anti-symmetric feature halves plus its maps (``A`` gains the per-type mean of
the signed maps, ``S`` the per-type mean absolute map and the presence logits).

Pairwise preference with a reference:
``P(a > b | r) = sigmoid(s(a | r) - s(b | r))``, so ``P(a>b) + P(b>a) = 1`` and
``P(a>b) > 1/2`` iff ``s(a|r) > s(b|r)``.

Without a reference ("companions" mode, :meth:`RelationalScorer.companion_scores`)
an image of a tier of ``n`` images of one content is scored by its mean
relation to the others, ``S_i = 1/(n-1) * sum_{j != i} s(x_i | x_j)`` (a Borda
count of the soft pairwise relations; the ``S_i`` sum to 0). For two images
this gives ``P(a > b) = sigmoid(S_a - S_b) = sigmoid(2 s(a | b))``.

Example:
  >>> from flax import nnx
  >>> scorer = RelationalScorer(width=8, depth=2, rngs=nnx.Rngs(0))
  >>> ref = jnp.full((32, 32, 3), 0.5)
  >>> imgs = jnp.stack([ref, ref * 0.9])
  >>> s = scorer(imgs, ref)
  >>> s.shape, float(s[0])
  ((2,), 0.0)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jiqa.models import backbones, pair_stats
from jiqa.models.map_predictor import MapPredictor, both_orderings, check_pair


class RelationalScorer(nnx.Module):
  """Anti-symmetric relational scorer (see the module docstring).

  Args:
    rngs: ``nnx.Rngs`` for parameter initialisation.
    backbone: ``"unet"`` (encoder half only), ``"vit"``, for the scorer's own
      encoder, or ``"stats"`` for :class:`~jiqa.models.pair_stats.StatsStem`
      (``width`` its hidden size, ``depth`` its number of scales); ignored when
      ``map_predictor`` is given.
    width, depth, patch_size, num_heads: backbone sizes (see
      :func:`jiqa.models.backbones.make_backbone`).
    hidden: width of the score MLP ``u``.
    norm: the own U-Net encoder's normalisation, ``"group"`` or ``"none"``.
    antisymmetric: ``False`` (only with ``backbone="stats"``) gives the
      reference-anchored score ``u(P(r -> x)) - u(P(r -> r))`` (see the module
      docstring).
    map_predictor: read features and maps from this
      :class:`~jiqa.models.map_predictor.MapPredictor` instead of an own
      encoder. It becomes a submodule: pass the same instance that you train
      with the map loss to share its weights (split one container holding both,
      or only the scorer, so NNX sees the sharing).
    stop_map_gradient: with ``map_predictor``, do not back-propagate the
      ranking loss into it (use it as a frozen feature extractor).

  Example:
    >>> f = MapPredictor(3, width=8, depth=2, rngs=nnx.Rngs(0))
    >>> scorer = RelationalScorer(map_predictor=f, rngs=nnx.Rngs(1))
    >>> x = jnp.zeros((2, 16, 16, 3))
    >>> scorer.preference(x, x, x).tolist()
    [0.5, 0.5]
  """

  def __init__(self, *, rngs: nnx.Rngs, backbone: str = "unet", width: int = 16,
               depth: int = 3, patch_size: int = 8, num_heads: int = 4, hidden: int = 64,
               map_predictor: MapPredictor | None = None, stop_map_gradient: bool = False,
               norm: str = "group", antisymmetric: bool = True):
    if not antisymmetric and (backbone != "stats" or map_predictor is not None):
      raise ValueError("antisymmetric=False is implemented for backbone='stats' without a "
                       f"map_predictor; got backbone={backbone!r}.")
    self.antisymmetric = antisymmetric
    self.map_predictor = map_predictor
    self.stop_map_gradient = stop_map_gradient
    self.stem = nnx.data(None)
    if map_predictor is None and backbone == "stats":
      self.encoder = None
      self.stem = pair_stats.StatsStem(hidden=width, num_scales=depth, rngs=rngs)
      self.stride = 2**(depth - 1)
      sym_dim, anti_dim = self.stem.features, 0
    elif map_predictor is None:
      self.encoder = backbones.make_backbone(
          backbone, 9, width=width, depth=depth, patch_size=patch_size,
          num_heads=num_heads, decoder=False, norm=norm, rngs=rngs)
      self.stride = self.encoder.stride
      c = self.encoder.coarse_channels
      sym_dim, anti_dim = 2 * c, c
    else:
      self.encoder = None
      self.stride = map_predictor.stride
      c = map_predictor.feature_channels // 2
      t = map_predictor.num_types
      sym_dim, anti_dim = 2 * c + 2 * t, c + t
    self.fc1 = nnx.Linear(sym_dim + anti_dim, hidden, rngs=rngs)
    self.fc2 = nnx.Linear(hidden, hidden, rngs=rngs)
    self.out = nnx.Linear(hidden, 1, rngs=rngs)

  def _pair_features(self, r: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Symmetric ``S`` and anti-symmetric ``A`` pooled features of the pair ``(r, x)``."""
    if self.map_predictor is None:
      _, _, c_rx, c_xr = both_orderings(self.encoder, r, x)
      sym, anti = c_rx + c_xr, c_rx - c_xr
      s = jnp.concatenate([sym.mean(axis=(1, 2)), jnp.abs(anti).mean(axis=(1, 2))], axis=-1)
      return s, anti.mean(axis=(1, 2))
    out = self.map_predictor(r, x)
    if self.stop_map_gradient:
      out = jax.tree.map(jax.lax.stop_gradient, out)
    c = out.features.shape[-1] // 2
    sym, anti = out.features[..., :c], out.features[..., c:]
    s = jnp.concatenate([sym.mean(axis=(1, 2)), jnp.abs(anti).mean(axis=(1, 2)),
                         jnp.abs(out.maps).mean(axis=(1, 2)), out.presence_logits], axis=-1)
    a = jnp.concatenate([anti.mean(axis=(1, 2)), out.maps.mean(axis=(1, 2))], axis=-1)
    return s, a

  def _u(self, z: jax.Array) -> jax.Array:
    z = jax.nn.gelu(self.fc1(z))
    z = jax.nn.gelu(self.fc2(z))
    return self.out(z)[..., 0]

  def relative(self, x: jax.typing.ArrayLike, r: jax.typing.ArrayLike) -> jax.Array:
    """``s(x | r)`` for equal-shape batches ``x, r`` of ``(N, H, W, 3)``; returns ``(N,)``."""
    r, x = check_pair(r, x, names=("reference", "images"))
    backbones.check_spatial(x, self.stride, name="images")
    n = x.shape[0]
    if self.stem is not None and not self.antisymmetric:  # u(P(r -> x)) - u(P(r -> r))
      # P(r -> r) is the same constant statistic for every r (pair_stats), so the
      # baseline is computed once, from a flat pair of r's size, not once per image.
      flat = jnp.zeros((1,) + r.shape[1:], r.dtype)
      return self._u(self.stem(r, x)) - self._u(self.stem(flat, flat))
    if self.stem is not None:  # q(x, r) - q(r, x) from the ordered pair's statistics
      q = self._u(self.stem(jnp.concatenate([x, r], 0), jnp.concatenate([r, x], 0)))
      return q[:n] - q[n:]
    s, a = self._pair_features(r, x)
    u = self._u(jnp.concatenate([jnp.concatenate([s, a], -1), jnp.concatenate([s, -a], -1)], 0))
    return u[:n] - u[n:]

  def antisymmetric_relative(self, x: jax.typing.ArrayLike, r: jax.typing.ArrayLike) -> jax.Array:
    """``(s(x | r) - s(r | x)) / 2``: :meth:`relative` itself when the scorer is anti-symmetric."""
    if self.antisymmetric:
      return self.relative(x, r)
    n = jnp.asarray(x).shape[0]
    both = self.relative(jnp.concatenate([x, r], 0), jnp.concatenate([r, x], 0))
    return 0.5 * (both[:n] - both[n:])

  def __call__(self, images: jax.typing.ArrayLike, reference: jax.typing.ArrayLike) -> jax.Array:
    """Scores ``images`` relative to ``reference`` (higher = better; ``s(r | r) = 0``).

    Args:
      images: ``(N, H, W, 3)`` images in ``[0, 1]``.
      reference: ``(N, H, W, 3)`` (one reference per image) or ``(H, W, 3)``
        (one reference for all).

    Returns:
      Scores of shape ``(N,)``.
    """
    images = jnp.asarray(images)
    reference = jnp.asarray(reference)
    if images.ndim != 4:
      raise ValueError(f"images must have shape (N, H, W, 3); got shape {images.shape}.")
    if reference.ndim == 3:
      reference = jnp.broadcast_to(reference[None], (images.shape[0],) + reference.shape)
    return self.relative(images, reference)

  def preference(self, a: jax.typing.ArrayLike, b: jax.typing.ArrayLike,
                 reference: jax.typing.ArrayLike | None = None) -> jax.Array:
    """``P(a better than b)``, ``(N,)``, for batches ``a, b`` of ``(N, H, W, 3)``.

    With a reference: ``sigmoid(s(a | r) - s(b | r))``. Without one: the
    companions score of the pair, ``sigmoid(S_a - S_b) = sigmoid(2 s(a | b))``.
    """
    a, b = check_pair(a, b)
    if reference is None:
      return jax.nn.sigmoid(2.0 * self.antisymmetric_relative(a, b))
    scores = self(jnp.concatenate([a, b], axis=0), _tile_reference(reference, a.shape[0]))
    n = a.shape[0]
    return jax.nn.sigmoid(scores[:n] - scores[n:])

  def companion_scores(self, images: jax.typing.ArrayLike) -> jax.Array:
    """Scores of images given each other, without a reference.

    Args:
      images: ``(n, H, W, 3)`` (one tier) or ``(B, n, H, W, 3)`` (``B`` tiers),
        ``n >= 2`` images of one content per tier.

    Returns:
      ``(n,)`` or ``(B, n)``: ``S_i = mean_{j != i} s(x_i | x_j)``; each tier's
      scores sum to 0.
    """
    images = jnp.asarray(images)
    single = images.ndim == 4
    if single:
      images = images[None]
    if images.ndim != 5 or images.shape[1] < 2:
      raise ValueError(
          "images must have shape (n, H, W, 3) or (B, n, H, W, 3) with n >= 2; "
          f"got shape {images.shape}.")
    bsz, n = images.shape[:2]
    ii, jj = jnp.triu_indices(n, k=1)
    xi = images[:, ii].reshape((-1,) + images.shape[2:])
    xj = images[:, jj].reshape((-1,) + images.shape[2:])
    s = self.antisymmetric_relative(xi, xj).reshape(bsz, -1)         # s(x_i | x_j), i < j
    m = jnp.zeros((bsz, n, n), s.dtype).at[:, ii, jj].set(s).at[:, jj, ii].set(-s)
    scores = m.sum(axis=2) / (n - 1)
    return scores[0] if single else scores


def _tile_reference(reference: jax.typing.ArrayLike, n: int) -> jax.Array:
  """``reference`` as ``(2n, H, W, 3)`` for the stacked ``[a; b]`` batch."""
  reference = jnp.asarray(reference)
  if reference.ndim == 3:
    return reference
  if reference.ndim != 4 or reference.shape[0] != n:
    raise ValueError(
        f"reference must have shape (H, W, 3) or (N, H, W, 3) with N = {n}; "
        f"got shape {reference.shape}.")
  return jnp.concatenate([reference, reference], axis=0)

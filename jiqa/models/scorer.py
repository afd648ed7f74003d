"""Relational quality scorers ``s(x | r)``: the interface, three of the models, make_scorer.

``s(x | r)`` is the quality of image ``x`` relative to an image ``r`` of the same
content (a reference, or a companion); higher is better. Every scorer is called
reference first, like a full-reference metric and like
:class:`~jiqa.models.MapPredictor` ``(a, b)`` ("``b`` relative to ``a``")::

  scorer(reference, images)            # s(images | reference), shape (N,)

and shares, through :class:`RelationalScorer`, a pairwise preference
``P(a > b | r) = sigmoid(s(a | r) - s(b | r))`` (so ``P(a>b) + P(b>a) = 1``) and
a reference-free "companions" mode: an image of a tier of ``n`` images of one
content is scored by its mean relation to the others, ``S_i = 1/(n-1) *
sum_{j != i} s_a(x_i | x_j)`` with ``s_a`` the anti-symmetric part
``(s(x | r) - s(r | x)) / 2`` (a Borda count; the ``S_i`` sum to 0).

The five models (:func:`make_scorer` builds one from ``config.model.scorer``):

* :class:`ReferenceAnchoredScorer` (``backbone="stats", antisymmetric=False``,
  the shipped configs' default until 2026-12-06, ``pipeline:stats``) — **not**
  anti-symmetric:
  ``s(x | r) = u(P(r -> x)) - u(P(r -> r))`` with ``P`` the pooled relational
  statistics of :class:`~jiqa.models.pair_stats.StatsStem` and ``u`` an MLP.
  The reference is trusted as such: ``s(r | r) = 0``, but ``s(r | x) != -s(x |
  r)`` in general. The baseline relies on the :class:`ConstantOnIdenticalPairs`
  property of the stem (``P(r -> r)`` is one constant for every ``r``), so it
  is computed once from a flat pair instead of once per reference.
* :class:`AntisymmetricStatsScorer` (``backbone="stats", antisymmetric=True``):
  ``s(x | r) = q(x, r) - q(r, x)``, ``q(a, b) = u(P(a -> b))``; anti-symmetric.
* :class:`~jiqa.models.feature_scorers.EncoderScorer` (``backbone="unet"`` or
  ``"vit"``) and :class:`~jiqa.models.feature_scorers.MapFeatureScorer`
  (``map_predictor=...``), in :mod:`jiqa.models.feature_scorers`: symmetric
  features ``S`` and anti-symmetric ``A`` of the pair, from their own encoder
  or from a :class:`~jiqa.models.MapPredictor`'s outputs;
  ``s = u(S, A) - u(S, -A)``; anti-symmetric.
* :class:`DeviationScorer` (``backbone="deviation", antisymmetric=False``):
  ``s(x | r) = -c * sum_k w_k d_k(r, x)`` on the perceptual deviations of
  :mod:`jiqa.models.deviations` with positive weights summing to 1: pristine
  best and monotone in every deviation by construction; symmetric. The
  shipped default since 2026-12-06 (issue 10: it orders KADID-10k's cells
  better than PSNR, SSIM and MS-SSIM; see ``jiqa/configs/pipeline.py``).

For the anti-symmetric models ``s(r | x) = -s(x | r)`` and ``s(r | r) = 0``: a
score of 0 means "as good as ``r``", negative "worse". Why the anchored form
was preferred to them: the anti-symmetric forms must also work out *which* image of
the pair is distorted, while magnitude features (error energy, structure loss)
are symmetric and enter only through products with direction cues (the measured
comparison is quoted in ``benchmarks/training.py``'s docstring).

Example:
  >>> scorer = make_scorer(backbone="stats", width=8, depth=2, antisymmetric=False,
  ...                      rngs=nnx.Rngs(0))
  >>> ref = jnp.full((32, 32, 3), 0.5)
  >>> s = scorer(ref, jnp.stack([ref, ref * 0.9]))
  >>> s.shape, abs(float(s[0])) < 1e-5, scorer.antisymmetric
  ((2,), True, False)
"""

from __future__ import annotations

from typing import Protocol

import jax
import jax.numpy as jnp
from flax import nnx

from jiqa.models import backbones, pair_stats


class ConstantOnIdenticalPairs(Protocol):
  """A pair stem ``stem(a, b) -> (N, F)`` with ``stem(r, r)`` the same for every image ``r``.

  :class:`~jiqa.models.pair_stats.StatsStem` has it: its statistics of
  ``(r, r)`` are the constant vector ``(0, 0, 1, log c)`` at every pixel
  (``tests/models/test_scorer.py`` checks it on random images). The
  reference-anchored baseline ``u(P(r -> r))`` is therefore computed from one
  flat pair of the reference's size.
  """

  def __call__(self, a: jax.Array, b: jax.Array) -> jax.Array: ...


class RelationalScorer(nnx.Module):
  """The interface of every scorer: ``scorer(reference, images)``, preference, companions.

  Subclasses set ``antisymmetric`` and ``stride`` and implement
  :meth:`relative`.
  """

  antisymmetric: bool = True
  # Symmetric scorers (s(r | x) = s(x | r)) measure how far an image is from a reference, not
  # which of two images is the distorted one: they have no reference-free mode.
  symmetric: bool = False
  stride: int = 1

  def _need_direction(self, what: str) -> None:
    if self.symmetric:
      raise ValueError(f"{what}: {type(self).__name__} is symmetric (s(r | x) = s(x | r)); it "
                       "needs a reference (pass reference=) and has no reference-free mode.")

  def _head(self, in_dim: int, hidden: int, rngs: nnx.Rngs) -> None:
    self.fc1 = nnx.Linear(in_dim, hidden, rngs=rngs)
    self.fc2 = nnx.Linear(hidden, hidden, rngs=rngs)
    self.out = nnx.Linear(hidden, 1, rngs=rngs)

  def _u(self, z: jax.Array) -> jax.Array:
    z = jax.nn.gelu(self.fc1(z))
    z = jax.nn.gelu(self.fc2(z))
    return self.out(z)[..., 0]

  def _check(self, reference, images) -> tuple[jax.Array, jax.Array]:
    r, x = backbones.check_pair(reference, images, names=("reference", "images"))
    backbones.check_spatial(x, self.stride, name="images")
    return r, x

  def relative(self, reference: jax.typing.ArrayLike, images: jax.typing.ArrayLike) -> jax.Array:
    """``s(images | reference)`` for equal-shape batches ``(N, H, W, 3)``; returns ``(N,)``."""
    raise NotImplementedError

  def antisymmetric_relative(self, reference: jax.typing.ArrayLike,
                             images: jax.typing.ArrayLike) -> jax.Array:
    """``(s(x | r) - s(r | x)) / 2``: :meth:`relative` itself when the scorer is anti-symmetric."""
    if self.antisymmetric:
      return self.relative(reference, images)
    r, x = jnp.asarray(reference), jnp.asarray(images)
    n = x.shape[0]
    both = self.relative(jnp.concatenate([r, x], 0), jnp.concatenate([x, r], 0))
    return 0.5 * (both[:n] - both[n:])

  def __call__(self, reference: jax.typing.ArrayLike, images: jax.typing.ArrayLike) -> jax.Array:
    """Scores ``images`` relative to ``reference`` (higher = better; ``s(r | r) = 0``).

    Args:
      reference: ``(N, H, W, 3)`` (one reference per image) or ``(H, W, 3)``
        (one reference for all).
      images: ``(N, H, W, 3)`` images in ``[0, 1]``.

    Returns:
      Scores of shape ``(N,)``.
    """
    images = jnp.asarray(images)
    reference = jnp.asarray(reference)
    if images.ndim != 4:
      raise ValueError(f"images must have shape (N, H, W, 3); got shape {images.shape}.")
    if reference.ndim == 3:
      reference = jnp.broadcast_to(reference[None], (images.shape[0],) + reference.shape)
    return self.relative(reference, images)

  def preference(self, a: jax.typing.ArrayLike, b: jax.typing.ArrayLike, *,
                 reference: jax.typing.ArrayLike | None = None) -> jax.Array:
    """``P(a better than b)``, ``(N,)``, for batches ``a, b`` of ``(N, H, W, 3)``.

    With a reference: ``sigmoid(s(a | r) - s(b | r))``. Without one: the
    companions score of the pair, ``sigmoid(S_a - S_b) = sigmoid(2 s_a(a | b))``.
    """
    a, b = backbones.check_pair(a, b)
    if reference is None:
      self._need_direction("reference")
      return jax.nn.sigmoid(2.0 * self.antisymmetric_relative(b, a))
    scores = self(_tile_reference(reference, a.shape[0]), jnp.concatenate([a, b], axis=0))
    n = a.shape[0]
    return jax.nn.sigmoid(scores[:n] - scores[n:])

  def companion_scores(self, images: jax.typing.ArrayLike) -> jax.Array:
    """Scores of images given each other, without a reference.

    Args:
      images: ``(n, H, W, 3)`` (one tier) or ``(B, n, H, W, 3)`` (``B`` tiers),
        ``n >= 2`` images of one content per tier.

    Returns:
      ``(n,)`` or ``(B, n)``: ``S_i = mean_{j != i} s_a(x_i | x_j)``; each
      tier's scores sum to 0.
    """
    self._need_direction("companion_scores")
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
    s = self.antisymmetric_relative(xj, xi).reshape(bsz, -1)         # s_a(x_i | x_j), i < j
    m = jnp.zeros((bsz, n, n), s.dtype).at[:, ii, jj].set(s).at[:, jj, ii].set(-s)
    scores = m.sum(axis=2) / (n - 1)
    return scores[0] if single else scores


class ReferenceAnchoredScorer(RelationalScorer):
  """``s(x | r) = u(P(r -> x)) - u(P(r -> r))``: not anti-symmetric (see the module docstring).

  Args:
    rngs: ``nnx.Rngs`` for parameter initialisation.
    width: hidden size of the :class:`~jiqa.models.pair_stats.StatsStem`.
    depth: its number of scales (the input side must be a multiple of ``2**(depth-1)``).
    hidden: width of the score MLP ``u``.

  Example:
    >>> s = ReferenceAnchoredScorer(width=4, depth=1, rngs=nnx.Rngs(0))
    >>> r = jnp.full((2, 8, 8, 3), 0.5)
    >>> bool(jnp.abs(s(r, r)).max() < 1e-5)
    True
  """

  antisymmetric = False

  def __init__(self, *, rngs: nnx.Rngs, width: int = 32, depth: int = 3, hidden: int = 64):
    self.stem: ConstantOnIdenticalPairs = pair_stats.StatsStem(
        hidden=width, num_scales=depth, rngs=rngs)
    self.stride = 2**(depth - 1)
    self._head(self.stem.features, hidden, rngs)

  def relative(self, reference, images):
    r, x = self._check(reference, images)
    # The stem is ConstantOnIdenticalPairs: P(r -> r) is one vector for every r, so the
    # baseline is computed once, from a flat pair of r's size, not once per image. The flat
    # pair is r[:1] * 0 rather than a literal zeros array: XLA constant-folds a literal through
    # the whole stem at compile time (seconds at 512x512), and x * 0 is not folded for floats.
    flat = r[:1] * 0.0
    return self._u(self.stem(r, x)) - self._u(self.stem(flat, flat))


class AntisymmetricStatsScorer(RelationalScorer):
  """``s(x | r) = u(P(x -> r)) - u(P(r -> x))``: anti-symmetric, on the pair statistics.

  Args: as :class:`ReferenceAnchoredScorer`.

  Example:
    >>> s = AntisymmetricStatsScorer(width=4, depth=1, rngs=nnx.Rngs(0))
    >>> r, x = jnp.full((1, 8, 8, 3), 0.5), jnp.full((1, 8, 8, 3), 0.3)
    >>> bool(jnp.allclose(s(r, x), -s(x, r)))
    True
  """

  def __init__(self, *, rngs: nnx.Rngs, width: int = 32, depth: int = 3, hidden: int = 64):
    self.stem = pair_stats.StatsStem(hidden=width, num_scales=depth, rngs=rngs)
    self.stride = 2**(depth - 1)
    self._head(self.stem.features, hidden, rngs)

  def relative(self, reference, images):
    r, x = self._check(reference, images)
    n = x.shape[0]
    q = self._u(self.stem(jnp.concatenate([x, r], 0), jnp.concatenate([r, x], 0)))
    return q[:n] - q[n:]


class DeviationScorer(RelationalScorer):
  """``s(x | r) = -exp(log_scale) * sum_k w_k d_k(r, x)``, ``w = softmax(theta)``: monotone by
  construction.

  ``d`` are the perceptual deviations of :mod:`jiqa.models.deviations`
  (multi-scale gradient-magnitude, chroma and luminance similarity), each
  ``>= 0`` and exactly 0 on identical pairs; the weights are positive and sum
  to 1. So, whatever is learned:

  * ``s(r | r) = 0`` and ``s(x | r) <= 0``: a pristine image is never ranked
    below one of its distortions (ties only where every deviation is 0);
  * the score is non-increasing in every deviation, so a distortion that
    grows every deviation with its level is ordered by level;
  * ``theta = 0`` (the initialisation, kept by weight decay) is the prior:
    the plain mean of the deviations over kinds and scales;
    ``log_scale`` only sets the loss's temperature, never the order.

  Not anti-symmetric: the deviations are *symmetric*, ``s(r | x) = s(x | r)``,
  so :meth:`antisymmetric_relative` is 0: it cannot tell which image of a pair
  is the distorted one, and the reference-free preference and companion
  scores raise ``ValueError`` (``symmetric = True``) instead of returning 1/2.

  Args:
    rngs: unused (every scorer takes it); the parameters start at the prior.
    num_scales: scales of the deviations (the input side must be a multiple
      of ``2**num_scales``).
    feature_set: which deviations (``"base"`` or ``"pooled"``, see
      :func:`jiqa.models.deviations.deviation_features`).
    init_scale: the initial ``exp(log_scale)``.
    tolerance: displacements the deviations forgive, in pixels (``0``:
      pixel-aligned; see :func:`jiqa.models.deviations.deviation_features`).
    residual: with ``tolerance``, the share of a patch's mismatch a move may
      leave (:func:`jiqa.models.registration.register`; ``1``: any better match).

  Example:
    >>> s = DeviationScorer(num_scales=2, rngs=nnx.Rngs(0))
    >>> r = jax.random.uniform(jax.random.key(0), (1, 16, 16, 3))
    >>> sc = s(r[0], jnp.concatenate([r, r * 0.9, r * 0.5]))
    >>> bool(sc[0] == 0), bool(sc[0] > sc[1] > sc[2])
    (True, True)
  """

  antisymmetric = False
  symmetric = True

  def __init__(self, *, rngs: nnx.Rngs, num_scales: int = 4, feature_set: str = "base",
               init_scale: float = 50.0, tolerance: int = 0, residual: float = 1.0):
    del rngs
    from jiqa.models import deviations

    if not isinstance(tolerance, int) or tolerance < 0:
      raise ValueError(f"tolerance: expected a displacement >= 0 pixels (an int); got "
                       f"{tolerance!r}.")
    if not 0.0 < residual <= 1.0 or (residual < 1.0 and not tolerance):
      raise ValueError(f"residual: expected a share in (0, 1], below 1 only with tolerance > 0; "
                       f"got residual={residual!r} with tolerance={tolerance!r}.")
    self.num_scales = num_scales
    self.feature_set = feature_set
    self.tolerance = tolerance
    self.residual = float(residual)
    self.stride = 2**num_scales
    self.feature_names = tuple(deviations.feature_names(num_scales, feature_set))
    self.theta = nnx.Param(jnp.zeros((len(self.feature_names),), jnp.float32))
    self.log_scale = nnx.Param(jnp.log(jnp.asarray(init_scale, jnp.float32)))

  def weights(self) -> jax.Array:
    """The positive weights ``softmax(theta)`` of the deviations (they sum to 1)."""
    return jax.nn.softmax(self.theta[...])

  def relative(self, reference, images):
    from jiqa.models import deviations

    r, x = self._check(reference, images)
    d = deviations.deviation_features(r, x, num_scales=self.num_scales,
                                      feature_set=self.feature_set, tolerance=self.tolerance,
                                      residual=self.residual)
    return 0.0 - jnp.exp(self.log_scale[...]) * (d @ self.weights())  # +0.0 on r == x


def make_scorer(*, rngs: nnx.Rngs, backbone: str = "unet", antisymmetric: bool = True,
                map_predictor: nnx.Module | None = None, stop_map_gradient: bool = False,
                width: int = 16, depth: int = 3, patch_size: int = 8, num_heads: int = 4,
                hidden: int = 64, norm: str = "group",
                feature_set: str = "base", tolerance: int = 0,
                residual: float = 1.0) -> RelationalScorer:
  """The scorer that ``config.model.scorer``'s keys name.

  ``map_predictor`` given: :class:`~jiqa.models.feature_scorers.MapFeatureScorer`;
  ``backbone="stats"``: :class:`ReferenceAnchoredScorer` (``antisymmetric=False``)
  or :class:`AntisymmetricStatsScorer`; ``"unet"``/``"vit"``:
  :class:`~jiqa.models.feature_scorers.EncoderScorer`; ``"deviation"`` (with ``antisymmetric=False``; ``depth`` is its number of
  scales, ``feature_set`` its deviations, ``tolerance`` the displacements they
  forgive, ``residual`` how decisive a move must be): :class:`DeviationScorer`.

  Raises:
    ValueError: for ``antisymmetric=False`` with anything but the stats stem.

  Example:
    >>> type(make_scorer(backbone="stats", width=4, depth=1, rngs=nnx.Rngs(0))).__name__
    'AntisymmetricStatsScorer'
  """
  if backbone == "deviation":
    if antisymmetric or map_predictor is not None:
      raise ValueError("backbone='deviation' is symmetric: it needs antisymmetric=False and no "
                       "map_predictor.")
    return DeviationScorer(num_scales=depth, feature_set=feature_set, tolerance=tolerance,
                           residual=residual, rngs=rngs)
  if tolerance or residual != 1.0:
    raise ValueError(f"tolerance, residual: only backbone='deviation' forgives displacements; "
                     f"got tolerance={tolerance!r}, residual={residual!r} with "
                     f"backbone={backbone!r}.")
  if not antisymmetric and (backbone != "stats" or map_predictor is not None):
    raise ValueError("antisymmetric=False is implemented for backbone='stats' without a "
                     f"map_predictor; got backbone={backbone!r}.")
  # Imported here, not at the top: feature_scorers subclasses this module's RelationalScorer.
  from jiqa.models.feature_scorers import EncoderScorer, MapFeatureScorer

  if map_predictor is not None:
    return MapFeatureScorer(map_predictor, hidden=hidden, stop_map_gradient=stop_map_gradient,
                            rngs=rngs)
  if backbone == "stats":
    cls = AntisymmetricStatsScorer if antisymmetric else ReferenceAnchoredScorer
    return cls(width=width, depth=depth, hidden=hidden, rngs=rngs)
  return EncoderScorer(backbone=backbone, width=width, depth=depth, patch_size=patch_size,
                       num_heads=num_heads, hidden=hidden, norm=norm, rngs=rngs)


def tier_scores(scorer: RelationalScorer, reference: jax.Array, images: jax.Array) -> jax.Array:
  """Scores ``(B, n)`` of tier images ``(B, n, H, W, 3)`` against references ``(B, H, W, 3)``.

  Example:
    >>> s = ReferenceAnchoredScorer(width=4, depth=1, rngs=nnx.Rngs(0))
    >>> tier_scores(s, jnp.zeros((2, 8, 8, 3)), jnp.zeros((2, 4, 8, 8, 3))).shape
    (2, 4)
  """
  b, n = images.shape[:2]
  flat = images.reshape((b * n,) + images.shape[2:])
  refs = jnp.repeat(reference, n, axis=0)
  return scorer(refs, flat).reshape(b, n)


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

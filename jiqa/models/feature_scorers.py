"""Anti-symmetric scorers on learned pair features: ``s = u(S, A) - u(S, -A)``.

Two of the five :class:`~jiqa.models.RelationalScorer` models (the interface,
the stats-stem and deviation models and :func:`~jiqa.models.make_scorer` are
in :mod:`jiqa.models.scorer`). Both compute, for a pair ``(r, x)``, features
``S`` that are symmetric under swapping ``r`` and ``x`` and features ``A``
that change sign, and score ``s(x | r) = u(S, A) - u(S, -A)`` with ``u`` an
MLP; so ``s(r | x) = -s(x | r)`` and ``s(r | r) = 0`` whatever the weights:

* :class:`EncoderScorer` (``backbone="unet"`` or ``"vit"``): its own encoder
  (a backbone of :mod:`jiqa.models.backbones` without decoder, on both
  orderings of the pair in one pass) gives ``S`` (the sum of the two
  orderings' coarse features, and the mean absolute difference) and ``A``
  (the mean difference).
* :class:`MapFeatureScorer` (``map_predictor=...``): the same form on a
  :class:`~jiqa.models.MapPredictor`'s outputs (``A`` gains the per-type mean
  of the signed maps, ``S`` the mean absolute map and the presence logits).

Neither is the shipped default (:class:`~jiqa.models.ReferenceAnchoredScorer`):
an anti-symmetric form must also work out *which* image of the pair is
distorted (see :mod:`jiqa.models.scorer`).

Example:
  >>> s = EncoderScorer(width=4, depth=1, hidden=8, rngs=nnx.Rngs(0))
  >>> r, x = jnp.full((1, 8, 8, 3), 0.5), jnp.full((1, 8, 8, 3), 0.3)
  >>> bool(jnp.allclose(s(r, x), -s(x, r), atol=1e-6)), s.antisymmetric
  (True, True)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jiqa.models import backbones
from jiqa.models.scorer import RelationalScorer


class _SymmetricAntisymmetricScorer(RelationalScorer):
  """``s = u(S, A) - u(S, -A)`` from symmetric ``S`` and anti-symmetric ``A`` pair features."""

  def _pair_features(self, r: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    raise NotImplementedError

  def relative(self, reference, images):
    r, x = self._check(reference, images)
    n = x.shape[0]
    s, a = self._pair_features(r, x)
    u = self._u(jnp.concatenate([jnp.concatenate([s, a], -1), jnp.concatenate([s, -a], -1)], 0))
    return u[:n] - u[n:]


class EncoderScorer(_SymmetricAntisymmetricScorer):
  """Anti-symmetric scorer on its own encoder's features (see the module docstring).

  Args:
    rngs: ``nnx.Rngs``.
    backbone: ``"unet"`` (encoder half) or ``"vit"``.
    width, depth, patch_size, num_heads, norm: backbone sizes
      (:func:`jiqa.models.backbones.make_backbone`).
    hidden: width of the score MLP ``u``.

  Example:
    >>> s = EncoderScorer(width=4, depth=1, hidden=8, rngs=nnx.Rngs(0))
    >>> abs(float(s(jnp.zeros((1, 8, 8, 3)), jnp.zeros((1, 8, 8, 3)))[0])) < 1e-6
    True
  """

  def __init__(self, *, rngs: nnx.Rngs, backbone: str = "unet", width: int = 16,
               depth: int = 3, patch_size: int = 8, num_heads: int = 4, hidden: int = 64,
               norm: str = "group"):
    self.encoder = backbones.make_backbone(
        backbone, 9, width=width, depth=depth, patch_size=patch_size,
        num_heads=num_heads, decoder=False, norm=norm, rngs=rngs)
    self.stride = self.encoder.stride
    c = self.encoder.coarse_channels
    self._head(3 * c, hidden, rngs)

  def _pair_features(self, r, x):
    _, _, c_rx, c_xr = backbones.both_orderings(self.encoder, r, x)
    sym, anti = c_rx + c_xr, c_rx - c_xr
    s = jnp.concatenate([sym.mean(axis=(1, 2)), jnp.abs(anti).mean(axis=(1, 2))], axis=-1)
    return s, anti.mean(axis=(1, 2))


class MapFeatureScorer(_SymmetricAntisymmetricScorer):
  """Anti-symmetric scorer on a :class:`~jiqa.models.MapPredictor`'s features and maps.

  Args:
    map_predictor: the map predictor to read (only its ``__call__``). It
      becomes a submodule: pass the instance you train with the map loss to
      share its weights.
    rngs: ``nnx.Rngs``.
    hidden: width of the score MLP ``u``.
    stop_map_gradient: do not back-propagate into ``map_predictor`` (use it
      as a frozen feature extractor).

  Example:
    >>> from jiqa.models import MapPredictor
    >>> f = MapPredictor(3, width=4, depth=1, rngs=nnx.Rngs(0))
    >>> s = MapFeatureScorer(f, hidden=8, rngs=nnx.Rngs(1))
    >>> x = jnp.zeros((2, 8, 8, 3))
    >>> s.preference(x, x).tolist()
    [0.5, 0.5]
  """

  def __init__(self, map_predictor: nnx.Module, *, rngs: nnx.Rngs, hidden: int = 64,
               stop_map_gradient: bool = False):
    self.map_predictor = map_predictor
    self.stop_map_gradient = stop_map_gradient
    self.stride = int(getattr(map_predictor, "stride", 1))
    # Feature sizes from the predictor's output shapes (no reliance on its attributes).
    side = 2 * self.stride
    graphdef, state = nnx.split(map_predictor)
    out = jax.eval_shape(lambda st: nnx.merge(graphdef, st)(*(jnp.zeros((1, side, side, 3)),) * 2),
                         state)
    c, t = out.features.shape[-1] // 2, out.maps.shape[-1]
    self._head(3 * c + 3 * t, hidden, rngs)

  def _pair_features(self, r, x):
    out = self.map_predictor(r, x)
    if self.stop_map_gradient:
      out = jax.tree.map(jax.lax.stop_gradient, out)
    c = out.features.shape[-1] // 2
    sym, anti = out.features[..., :c], out.features[..., c:]
    s = jnp.concatenate([sym.mean(axis=(1, 2)), jnp.abs(anti).mean(axis=(1, 2)),
                         jnp.abs(out.maps).mean(axis=(1, 2)), out.presence_logits], axis=-1)
    a = jnp.concatenate([anti.mean(axis=(1, 2)), out.maps.mean(axis=(1, 2))], axis=-1)
    return s, a

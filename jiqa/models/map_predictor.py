"""The anti-symmetric distortion-map predictor ``f(A, B)``.

Given two images of one content, ``f(A, B)`` returns per pixel the signed
strength of every distortion type of ``B`` relative to ``A`` (the channels of
the engine's maps, :func:`jiqa.distortions.names` order), plus per-type
presence logits. It is anti-symmetric **by construction**:

.. math::
   f(A, B) = \\tfrac12\\,[\\tanh g(A, B) - \\tanh g(B, A)],

with one shared network ``g`` (a backbone from :mod:`jiqa.models.backbones`
and a 1x1 convolution head). Hence ``f(B, A) = -f(A, B)`` and ``f(A, A) = 0``
(IEEE subtraction is exactly anti-commutative, ``x - x = +0``), and the maps lie
in ``[-1, 1]`` like the engine's. ``g(A, B)`` and ``g(B, A)`` are computed in one
batched pass over ``concat([pair(A, B), pair(B, A)])``; every backbone layer is
per-sample, so the two halves do not interact.

The input of ``g`` is the 9-channel stack ``[2A - 1, 2B - 1, B - A]``.

Presence logits are symmetric: ``p(A, B) = h(A, B) + h(B, A)`` with ``h`` a
linear head on the mean- and max-pooled coarse features of ``g``.

Features for the relational scorer are the coarse grids of both orderings
split into a symmetric and an anti-symmetric half,
``features = concat([c(A, B) + c(B, A), c(A, B) - c(B, A)], -1)`` of shape
``(N, H / stride, W / stride, 2 * C)``: swapping the inputs keeps the first
half and negates the second.

Example:
  >>> from flax import nnx
  >>> f = MapPredictor(25, width=8, depth=2, rngs=nnx.Rngs(0))
  >>> a = jnp.zeros((1, 32, 32, 3)); b = jnp.ones((1, 32, 32, 3))
  >>> out = f(a, b)
  >>> out.maps.shape, out.presence_logits.shape, out.features.shape
  ((1, 32, 32, 25), (1, 25), (1, 8, 8, 64))
  >>> bool(jnp.all(f(b, a).maps == -out.maps))
  True
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from jiqa.models import backbones


class MapOutput(NamedTuple):
  """What :class:`MapPredictor` returns.

  Attributes:
    maps: ``(N, H, W, T)`` signed strengths in ``[-1, 1]`` of ``b`` relative
      to ``a``; exactly anti-symmetric in ``(a, b)``.
    presence_logits: ``(N, T)`` logits that type ``t`` is present anywhere;
      symmetric in ``(a, b)``.
    features: ``(N, h, w, 2C)`` coarse features, first ``C`` channels
      symmetric, last ``C`` anti-symmetric in ``(a, b)``.
  """
  maps: jax.Array
  presence_logits: jax.Array
  features: jax.Array


def check_pair(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike, *,
               names: tuple[str, str] = ("a", "b")) -> tuple[jax.Array, jax.Array]:
  """Checks two image batches of equal shape ``(N, H, W, 3)``; returns them as float32 arrays."""
  a, b = jnp.asarray(a), jnp.asarray(b)
  for x, n in zip((a, b), names):
    if x.ndim != 4 or x.shape[-1] != 3:
      raise ValueError(
          f"{n} must be a batch of RGB images of shape (N, H, W, 3); got shape {x.shape}.")
  if a.shape != b.shape:
    raise ValueError(
        f"{names[0]} and {names[1]} must have the same shape; got {a.shape} and {b.shape}.")
  return a.astype(jnp.float32), b.astype(jnp.float32)


def pair_input(a: jax.Array, b: jax.Array) -> jax.Array:
  """The 9-channel input of ``g(a, b)``: ``[2a - 1, 2b - 1, b - a]``."""
  return jnp.concatenate([2.0 * a - 1.0, 2.0 * b - 1.0, b - a], axis=-1)


def both_orderings(backbone: nnx.Module, a: jax.Array, b: jax.Array):
  """Runs ``backbone`` on ``pair(a, b)`` and ``pair(b, a)`` in one batched pass.

  Returns:
    ``(pix_ab, pix_ba, coarse_ab, coarse_ba)``; the ``pix`` are ``None`` for an
    encoder-only backbone.
  """
  n = a.shape[0]
  pix, coarse = backbone(jnp.concatenate([pair_input(a, b), pair_input(b, a)], axis=0))
  if pix is None:
    return None, None, coarse[:n], coarse[n:]
  return pix[:n], pix[n:], coarse[:n], coarse[n:]


class MapPredictor(nnx.Module):
  """Anti-symmetric distortion-map predictor ``f(a, b)`` (see the module docstring).

  Args:
    num_types: number of distortion types ``T`` (the engine's map channels).
    backbone: ``"unet"`` (default) or ``"vit"``.
    width: U-Net base channels, or ViT token dimension.
    depth: U-Net downsamplings (stride ``2**depth``), or ViT blocks.
    patch_size: ViT patch size (its stride).
    num_heads: ViT attention heads.
    norm: U-Net normalisation, ``"group"`` or ``"none"`` (see
      :class:`~jiqa.models.backbones.ConvBlock`).
    rngs: ``nnx.Rngs`` for parameter initialisation.

  Example:
    >>> f = MapPredictor(4, backbone="vit", width=32, depth=1, rngs=nnx.Rngs(1))
    >>> f.stride
    8
  """

  def __init__(self, num_types: int, *, backbone: str = "unet", width: int = 16,
               depth: int = 3, patch_size: int = 8, num_heads: int = 4, norm: str = "group",
               rngs: nnx.Rngs):
    if num_types < 1:
      raise ValueError(f"num_types must be >= 1; got {num_types}.")
    self.num_types = num_types
    self.backbone_name = backbone
    self.backbone = backbones.make_backbone(
        backbone, 9, width=width, depth=depth, patch_size=patch_size,
        num_heads=num_heads, norm=norm, rngs=rngs)
    self.stride = self.backbone.stride
    self.feature_channels = 2 * self.backbone.coarse_channels
    self.map_head = nnx.Conv(self.backbone.pixel_channels, num_types, (1, 1), rngs=rngs)
    self.presence_head = nnx.Linear(2 * self.backbone.coarse_channels, num_types, rngs=rngs)

  def __call__(self, a: jax.typing.ArrayLike, b: jax.typing.ArrayLike) -> MapOutput:
    """Predicts the maps of ``b`` relative to ``a``.

    Args:
      a: ``(N, H, W, 3)`` images in ``[0, 1]``; ``H, W`` multiples of ``self.stride``.
      b: same shape as ``a``, same content.

    Returns:
      A :class:`MapOutput`.
    """
    a, b = check_pair(a, b)
    backbones.check_spatial(a, self.stride, name="a")
    pix_ab, pix_ba, c_ab, c_ba = both_orderings(self.backbone, a, b)
    n = a.shape[0]
    g = jnp.tanh(self.map_head(jnp.concatenate([pix_ab, pix_ba], axis=0)))
    maps = 0.5 * (g[:n] - g[n:])
    pooled = jnp.concatenate([c_ab.mean(axis=(1, 2)), c_ab.max(axis=(1, 2)),
                              c_ba.mean(axis=(1, 2)), c_ba.max(axis=(1, 2))], axis=-1)
    k = c_ab.shape[-1]
    h = self.presence_head(jnp.concatenate([pooled[:, :2 * k], pooled[:, 2 * k:]], axis=0))
    presence = h[:n] + h[n:]
    features = jnp.concatenate([c_ab + c_ba, c_ab - c_ba], axis=-1)
    return MapOutput(maps=maps, presence_logits=presence, features=features)

  def features(self, a: jax.typing.ArrayLike, b: jax.typing.ArrayLike) -> jax.Array:
    """Only the coarse ``(N, h, w, 2C)`` features of :meth:`__call__` (see :class:`MapOutput`)."""
    return self(a, b).features

"""The anti-symmetric distortion-map predictor ``f(A, B)``: presence and signed strength.

Given two images of one content, ``f(A, B)`` says per pixel and per distortion
type (the engine's map channels, :func:`jiqa.distortions.names` order)

* whether type ``t`` acts there: a **presence** logit ``q_t(A, B) = v_t(A, B)
  + v_t(B, A)``, symmetric in ``(A, B)`` (a distortion is present between two
  images whichever is named first);
* how strongly and which way: a **signed strength** in ``[-1, 1]``,
  ``s_t(A, B) = sign(d) tanh(|d|)`` with ``d = u_t(A, B) - u_t(B, A)``, the
  odd part of the network; ``sign`` and ``|.|`` are exact, and IEEE
  subtraction is exactly anti-commutative, and both calls run one canonical
  batch (the ordering with ``sum(B - A) >= 0`` first; ``d = 0`` for identical
  images), so ``s(B, A) = -s(A, B)`` and ``s(A, A) = 0`` bit for bit, jitted or
  not;

and the map ``maps = sigmoid(q) * s`` (even times odd: anti-symmetric, in the
engine's ``[-1, 1]`` scale, about 0 where no type acts). The image-level
presence logit is the log-mean-exp of ``q`` over the pixels (between the mean
and the maximum, so a small region can still switch a type on) plus a head on
the pooled features of both orderings, summed (symmetric; the whole image's
texture tells types apart better than a pixel): ``image_head="linear"`` reads
the mean- and max-pooled pixel features, ``"mlp"`` also the coarse grid's,
through one GELU layer, and ``"signature"`` also the hand statistics of both
orderings pooled where the images differ (:mod:`jiqa.models.map_signature`)
through two: the types of KADID-10k have distinct signatures (blur loses high
frequencies, noise adds uncorrelated energy, JPEG adds 8x8 blockiness, ...), and
a logistic regression on these signatures alone names the type of held-out
single-distortion pairs (top-1 among 25) 0.83 of the time, where the
``"mlp"`` head reached 0.34 in the same 300 steps and the ``"signature"``
head 0.54 (measured for issue 9 on fixed engine data; see the pipeline
config's ``type_head``).

``u`` and ``v`` are two 1x1-convolution heads on one network ``g`` (a backbone
of :mod:`jiqa.models.backbones`) run on both orderings in one batched pass;
every backbone layer is per-sample, so the halves do not interact. The input of
``g(A, B)`` is ``[2A - 1, 2B - 1, B - A]`` and, with ``inputs="relational"``
(the default), the 44 signed multi-scale statistics of
:func:`jiqa.models.pair_stats.relational_maps` (mean shift, contrast,
structure and error energy, high-frequency energy and chroma ratios,
blockiness), which make the relation between the images visible to a small
network; ``inputs="residual"`` adds the 20 residual statistics of
:func:`jiqa.models.map_inputs.residual_maps` (high-pass residual energy per
channel, its share of the error, kurtosis, correlation with the reference's
detail, hue rotation, peak error), which tell the *types* apart. Any features
of the ordered pair keep exactness: it comes from running ``g`` on both
orderings, not from the features.
Why the former design (one ``tanh``-difference head, Huber loss on all 25
channels) collapsed to ``maps = 0`` is measured in :mod:`jiqa.losses.maps`.

Features for the relational scorer are the coarse grids of both orderings
split into a symmetric and an anti-symmetric half,
``features = concat([c(A, B) + c(B, A), c(A, B) - c(B, A)], -1)`` of shape
``(N, H / stride, W / stride, 2 * C)``.

A per-image summary in words ("gaussian_blur, strong, blurrier, left half")
is :func:`jiqa.models.map_summary.summarize_output` of the output.

Example:
  >>> from flax import nnx
  >>> f = MapPredictor(25, width=8, depth=2, rngs=nnx.Rngs(0))
  >>> a = jnp.zeros((1, 32, 32, 3)); b = jnp.ones((1, 32, 32, 3))
  >>> out = f(a, b)
  >>> out.maps.shape, out.presence_logits.shape, out.features.shape
  ((1, 32, 32, 25), (1, 25), (1, 8, 8, 64))
  >>> bool(jnp.all(f(b, a).strength == -out.strength)), bool(jnp.all(f(a, a).maps == 0))
  (True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jiqa.models import backbones, map_inputs, map_signature, pair_stats


class MapOutput(NamedTuple):
  """What :class:`MapPredictor` returns.

  Attributes:
    maps: ``(N, H, W, T)`` maps of ``b`` relative to ``a`` in ``[-1, 1]``,
      ``sigmoid(pixel_presence_logits) * strength``; exactly anti-symmetric.
    presence_logits: ``(N, T)`` logits that type ``t`` is present anywhere;
      symmetric in ``(a, b)``.
    features: ``(N, h, w, 2C)`` coarse features, first ``C`` channels
      symmetric, last ``C`` anti-symmetric in ``(a, b)``.
    strength: ``(N, H, W, T)`` signed strength in ``[-1, 1]``, exactly
      anti-symmetric (``None`` when built by hand with three fields).
    pixel_presence_logits: ``(N, H, W, T)`` per-pixel presence logits,
      symmetric (``None`` likewise).
  """
  maps: jax.Array
  presence_logits: jax.Array
  features: jax.Array
  strength: jax.Array | None = None
  pixel_presence_logits: jax.Array | None = None


INPUTS = ("pixels", "relational", "residual", "context")
IMAGE_HEADS = ("linear", "mlp", "signature")


def pair_input(a: jax.Array, b: jax.Array, *, inputs: str = "pixels") -> jax.Array:
  """The input of ``g(a, b)``: ``[2a - 1, 2b - 1, b - a]`` (9 channels), then for
  ``inputs="relational"`` the 44 :func:`~jiqa.models.pair_stats.relational_maps`, and for
  ``inputs="residual"`` those and the 20 :func:`~jiqa.models.map_inputs.residual_maps`,
  for ``inputs="context"`` those and the 10 wide-window
  :func:`~jiqa.models.map_inputs.context_maps`."""
  x = jnp.concatenate([2.0 * a - 1.0, 2.0 * b - 1.0, b - a], axis=-1)
  if inputs in ("relational", "residual", "context"):
    x = jnp.concatenate([x, pair_stats.relational_maps(a, b)], axis=-1)
  if inputs in ("residual", "context"):
    x = jnp.concatenate([x, map_inputs.residual_maps(a, b)], axis=-1)
  if inputs == "context":
    x = jnp.concatenate([x, map_inputs.context_maps(a, b)], axis=-1)
  return x


def input_channels(inputs: str) -> int:
  """Channels of :func:`pair_input` for ``inputs``; raises ``ValueError`` for an unknown one."""
  if inputs not in INPUTS:
    raise ValueError(f"inputs must be one of {INPUTS}; got {inputs!r}.")
  return (9 + (pair_stats.NUM_RELATIONAL if inputs != "pixels" else 0)
          + (map_inputs.NUM_RESIDUAL if inputs in ("residual", "context") else 0)
          + (map_inputs.NUM_CONTEXT if inputs == "context" else 0))


def both_orderings(backbone: nnx.Module, a: jax.Array, b: jax.Array, *,
                   inputs: str = "pixels", return_input: bool = False):
  """Runs ``backbone`` on ``pair(a, b)`` and ``pair(b, a)`` in one batched pass.

  Returns:
    ``(pix_ab, pix_ba, coarse_ab, coarse_ba)``; the ``pix`` are ``None`` for an
    encoder-only backbone. With ``return_input``, also the ``(2N, H, W, C)``
    input of both orderings (``pair(a, b)`` first).
  """
  n = a.shape[0]
  x = jnp.concatenate([pair_input(a, b, inputs=inputs), pair_input(b, a, inputs=inputs)], axis=0)
  pix, coarse = backbone(x)
  out = ((None, None) if pix is None else (pix[:n], pix[n:])) + (coarse[:n], coarse[n:])
  return out + (x,) if return_input else out


def check_windows(windows: int | Sequence[int], num_types: int) -> int | tuple[int, ...]:
  """``windows`` (one, or one per type; each 0 or odd) as an int or a tuple, else ValueError.

  Example:
    >>> check_windows([0, 9, 17], 3)
    (0, 9, 17)
  """
  many = not isinstance(windows, (int, np.integer))
  ws = tuple(int(w) for w in windows) if many else (int(windows),)
  if many and len(ws) != num_types:
    raise ValueError(f"strength_smooth must be one window or {num_types} (one per type); got "
                     f"{len(ws)}.")
  if any(w < 0 or (w and w % 2 == 0) for w in ws):
    raise ValueError(f"strength_smooth must be 0 or an odd window (per type); got {windows}.")
  return ws if many else ws[0]


def smooth_strength(d: jax.Array, windows: int | tuple[int, ...]) -> jax.Array:
  """Box mean of each channel of ``d`` ``(N, H, W, T)`` over its window (0: as is).

  Odd in ``d`` bit for bit, like :func:`~jiqa.models.pair_stats.box_mean`.

  Example:
    >>> d = jnp.arange(8.0).reshape(1, 2, 2, 2)
    >>> smooth_strength(d, (0, 3))[0, :, :, 0].tolist(), float(smooth_strength(d, (0, 3))[0, 0, 0, 1])
    ([[0.0, 2.0], [4.0, 6.0]], 3.0)
  """
  if isinstance(windows, int) or len(set(windows)) == 1:
    w = windows if isinstance(windows, int) else windows[0]
    return pair_stats.box_mean(d, w) if w else d
  groups = sorted(set(windows))
  idx = [np.flatnonzero(np.asarray(windows) == w) for w in groups]
  parts = [d[..., i] if w == 0 else pair_stats.box_mean(d[..., i], w) for w, i in zip(groups, idx)]
  return jnp.concatenate(parts, -1)[..., np.argsort(np.concatenate(idx))]  # back in type order


class MapPredictor(nnx.Module):
  """Anti-symmetric distortion-map predictor ``f(a, b)`` (see the module docstring).

  Args:
    num_types: number of distortion types ``T`` (the engine's map channels).
    backbone: ``"unet"`` (default) or ``"vit"``.
    width: U-Net base channels, or ViT token dimension.
    depth: U-Net downsamplings (stride ``2**depth``), or ViT blocks.
    patch_size: ViT patch size (its stride).
    num_heads: ViT attention heads.
    norm: U-Net normalisation, ``"none"`` (default: GroupNorm removes a
      per-sample offset such as a uniform brightness change, and hides how
      strong a difference is) or ``"group"`` (see
      :class:`~jiqa.models.backbones.ConvBlock`).
    inputs: ``"relational"`` (pixels and relational statistics), ``"residual"``
      (those and the residual statistics of :mod:`jiqa.models.map_inputs`) or
      ``"pixels"``, or ``"context"`` (those and the wide-window statistics
      of :func:`~jiqa.models.map_inputs.context_maps`, for the strength).
    image_head: the image-level head on the pooled features of each ordering:
      ``"linear"`` (mean- and max-pooled pixel features), ``"mlp"`` (a GELU
      layer of ``2 * pixel_channels`` units on the mean- and max-pooled pixel
      *and* coarse features; the coarse grid sees more context) or
      ``"signature"`` (two GELU layers of ``signature_hidden`` units on those
      and on the :func:`~jiqa.models.map_signature.signature` of the input
      statistics and :func:`~jiqa.models.map_signature.extra_maps` of *both*
      orderings, pooled where the images differ).
    signature_hidden: hidden units of the ``"signature"`` head.
    signature_linear: also add a linear map of the signature to the
      ``"signature"`` head's logits (a logistic-regression path beside the MLP).
    pixel_image_logits: add the log-mean-exp of the pixel presence logits to
      the image-level logits (``True``, the former design) or not.
    gate_pixels: add the image-level logit of each type to its pixel presence
      logits (only with ``pixel_image_logits=False``), so the per-pixel maps
      follow the image-level identification of the type.
    strength_stats: hidden units of a per-pixel GELU MLP on the input
      statistics whose output is added to ``u`` (0: none); the strength then
      reads the hand statistics directly, not only through the backbone.
    strength_by_type: make ``u`` a type-conditioned linear map of the pixel
      features, ``u_t = pix . (W_t + sum_k p_k V_kt)`` with ``p`` the softmax of
      the (symmetric) image-level logits, gradient stopped, so each channel's
      strength can be calibrated for the type the image is identified as.
    strength_image: hidden units of a GELU MLP on each ordering's signature
      (``image_head="signature"`` only) whose ``T`` outputs are added to
      ``u`` at every pixel (0: none): an image-level estimate of each type's
      level, read from statistics pooled over the whole change rather than a
      pixel's window.
    strength_image_gate: multiply that image-level term by a per-pixel gate
      ``e / (e + mean(e))``, ``e`` the 17x17 local mean squared error
      (symmetric in ``(a, b)``, about 0 where nothing changed, towards 1 where
      the change is strong), so the level acts where the image changed and
      the maps stay about 0 elsewhere (``False``: the same term everywhere,
      which lowered localisation AUC from 0.95 to 0.90 in 700 steps).
    strength_smooth: box-average the strength's odd part ``d`` over
      ``strength_smooth x strength_smooth`` pixels (odd; 0: none) before the
      ``tanh``: a linear filter of an odd function is odd, bit for bit (a
      sum of negated numbers is the negated sum), and the engine's masks are
      smooth over tens of pixels. A call with ``smooth=False`` skips it (the
      training loss may, so the box mean is an inference-time smoothing: see
      :class:`jiqa.training.steps.StepOptions`'s ``map_smooth``). A sequence
      of ``num_types`` windows gives each type's channel its own (types whose
      evidence is sparse, e.g. pasted colour blocks, gain from wider ones).
    rngs: ``nnx.Rngs`` for parameter initialisation.

  Example:
    >>> f = MapPredictor(4, backbone="vit", width=32, depth=1, inputs="pixels",
    ...                  rngs=nnx.Rngs(1))
    >>> f.stride
    8
  """

  def __init__(self, num_types: int, *, backbone: str = "unet", width: int = 16,
               depth: int = 3, patch_size: int = 8, num_heads: int = 4, norm: str = "none",
               inputs: str = "relational", image_head: str = "linear",
               signature_hidden: int = 128, signature_linear: bool = False,
               pixel_image_logits: bool = True,
               gate_pixels: bool = False, strength_stats: int = 0,
               strength_by_type: bool = False, strength_image: int = 0,
               strength_image_gate: bool = True, strength_smooth: int | Sequence[int] = 0,
               rngs: nnx.Rngs):
    if num_types < 1:
      raise ValueError(f"num_types must be >= 1; got {num_types}.")
    self.num_types = num_types
    self.backbone_name = backbone
    self.inputs = inputs
    self.backbone = backbones.make_backbone(
        backbone, input_channels(inputs), width=width, depth=depth, patch_size=patch_size,
        num_heads=num_heads, norm=norm, rngs=rngs)
    self.stride = self.backbone.stride
    self.feature_channels = 2 * self.backbone.coarse_channels
    self.strength_head = nnx.Conv(self.backbone.pixel_channels, num_types, (1, 1), rngs=rngs)
    self.presence_head = nnx.Conv(self.backbone.pixel_channels, num_types, (1, 1), rngs=rngs)
    if image_head not in IMAGE_HEADS:
      raise ValueError(f"image_head must be one of {IMAGE_HEADS}; got {image_head!r}.")
    self.image_head_kind = image_head
    pc, cc = self.backbone.pixel_channels, self.backbone.coarse_channels
    self.pixel_image_logits = pixel_image_logits
    if gate_pixels and pixel_image_logits:
      raise ValueError("gate_pixels needs pixel_image_logits=False (the image logits would "
                       "read the gated pixel logits).")
    self.gate_pixels = gate_pixels
    self.strength_stats = strength_stats
    if strength_stats:
      self.stats_hidden = nnx.Linear(input_channels(inputs), strength_stats, rngs=rngs)
      self.stats_out = nnx.Linear(strength_stats, num_types, rngs=rngs)
    self.strength_by_type = strength_by_type
    if strength_by_type:
      self.type_strength = nnx.Param(jnp.zeros(
          (num_types, self.backbone.pixel_channels, num_types), jnp.float32))
    self.strength_image = strength_image
    self.strength_smooth = check_windows(strength_smooth, num_types)
    self.strength_image_gate = strength_image_gate
    if strength_image and image_head != "signature":
      raise ValueError(f"strength_image needs image_head='signature'; got {image_head!r}.")
    if image_head == "linear":
      self.image_head = nnx.Linear(2 * pc, num_types, rngs=rngs)
    elif image_head == "signature":
      sig = 2 * (3 * (input_channels(inputs) + map_signature.NUM_EXTRA) + map_signature.NUM_GLOBAL)
      self.image_hidden = nnx.Linear(sig + 2 * (pc + cc), signature_hidden, rngs=rngs)
      self.image_hidden2 = nnx.Linear(signature_hidden, signature_hidden, rngs=rngs)
      self.image_head = nnx.Linear(signature_hidden, num_types, rngs=rngs)
      self.signature_linear = (nnx.Linear(sig, num_types, rngs=rngs) if signature_linear
                               else None)
      if strength_image:
        self.image_strength_hidden = nnx.Linear(sig, strength_image, rngs=rngs)
        self.image_strength_out = nnx.Linear(strength_image, num_types, rngs=rngs)
    else:
      self.image_hidden = nnx.Linear(2 * (pc + cc), 2 * pc, rngs=rngs)
      self.image_head = nnx.Linear(2 * pc, num_types, rngs=rngs)

  def _pooled(self, pix: jax.Array, coarse: jax.Array, sig: jax.Array | None = None
              ) -> jax.Array:
    """Image-level logits of each ordering's pooled features (summed over the two outside)."""
    x = [pix.mean(axis=(1, 2)), pix.max(axis=(1, 2))]
    if self.image_head_kind == "linear":
      return self.image_head(jnp.concatenate(x, -1))
    x += [coarse.mean(axis=(1, 2)), coarse.max(axis=(1, 2))]
    if self.image_head_kind == "mlp":
      return self.image_head(jax.nn.gelu(self.image_hidden(jnp.concatenate(x, -1))))
    h = jax.nn.gelu(self.image_hidden(jnp.concatenate(x + [sig], -1)))
    out = self.image_head(jax.nn.gelu(self.image_hidden2(h)))
    return out if self.signature_linear is None else out + self.signature_linear(sig)

  def _signatures(self, x: jax.Array, y: jax.Array, inp: jax.Array) -> jax.Array:
    """``(2N, S)``: per ordering, its own signature then the other ordering's."""
    n = x.shape[0]
    a2, b2 = jnp.concatenate([x, y], 0), jnp.concatenate([y, x], 0)
    stats = jnp.concatenate([inp, map_signature.extra_maps(a2, b2)], axis=-1)
    s = map_signature.signature(stats, a2, b2)
    return jnp.concatenate([s, jnp.concatenate([s[n:], s[:n]], 0)], axis=-1)

  def __call__(self, a: jax.typing.ArrayLike, b: jax.typing.ArrayLike, *,
               smooth: bool = True) -> MapOutput:
    """Predicts the maps of ``b`` relative to ``a``.

    Args:
      a: ``(N, H, W, 3)`` images in ``[0, 1]``; ``H, W`` multiples of ``self.stride``.
      b: same shape as ``a``, same content.
      smooth: apply the ``strength_smooth`` box mean (static; ``False``: the
        strength before it, as if ``strength_smooth`` were 0).

    Returns:
      A :class:`MapOutput`.
    """
    a, b = backbones.check_pair(a, b)
    backbones.check_spatial(a, self.stride, name="a")
    n = a.shape[0]
    # Canonical order per sample: the ordering with sum(b - a) >= 0 goes first (that sum is
    # exactly negated by a swap), so f(a, b) and f(b, a) run the very same batch and a
    # sample's result never depends on its batch position (eager CPU convolutions can
    # differ by ~1e-7 between positions); identical pairs get d = 0 explicitly.
    first = (jnp.sum(b - a, axis=(1, 2, 3)) >= 0)[:, None, None, None]
    same = jnp.all(a == b, axis=(1, 2, 3))[:, None, None, None]
    x, y = jnp.where(first, a, b), jnp.where(first, b, a)
    pix_xy, pix_yx, c_xy, c_yx, inp = both_orderings(self.backbone, x, y, inputs=self.inputs,
                                                     return_input=True)
    pix = jnp.concatenate([pix_xy, pix_yx], axis=0)
    u, v = self.strength_head(pix), self.presence_head(pix)
    sig = self._signatures(x, y, inp) if self.image_head_kind == "signature" else None
    pooled = self._pooled(pix, jnp.concatenate([c_xy, c_yx], axis=0), sig)
    q = v[:n] + v[n:]
    image = pooled[:n] + pooled[n:]  # a + b == b + a exactly
    if self.pixel_image_logits:
      image = (jax.nn.logsumexp(q, axis=(1, 2)) - jnp.log(float(q.shape[1] * q.shape[2]))
               + image)
    if self.strength_stats:
      u = u + self.stats_out(jax.nn.gelu(self.stats_hidden(inp)))
    if self.strength_image:
      level = self.image_strength_out(jax.nn.gelu(self.image_strength_hidden(sig)))[:, None, None]
      if self.strength_image_gate:
        e = pair_stats.box_mean(jnp.mean((y - x) ** 2, axis=-1, keepdims=True), 17)
        gate = e / (e + jnp.mean(e, axis=(1, 2), keepdims=True) + 1e-8)
        level = level * jnp.concatenate([gate, gate], axis=0)
      u = u + level
    if self.strength_by_type:
      p = jax.lax.stop_gradient(jax.nn.softmax(image, axis=-1))
      w = jnp.einsum("nk,kct->nct", jnp.concatenate([p, p], 0), self.type_strength[...])
      u = u + jnp.einsum("nhwc,nct->nhwt", pix, w)
    pick = lambda t, c: (jnp.where(c, t[:n], t[n:]), jnp.where(c, t[n:], t[:n]))  # noqa: E731
    u_ab, u_ba = pick(u, first)
    d = jnp.where(same, 0.0, u_ab - u_ba)
    if smooth:
      d = smooth_strength(d, self.strength_smooth)
    strength = jnp.sign(d) * jnp.tanh(jnp.abs(d))
    if self.gate_pixels:
      q = q + image[:, None, None, :]
    c_ab, c_ba = pick(jnp.concatenate([c_xy, c_yx], axis=0), first)
    c_diff = jnp.where(same, 0.0, c_ab - c_ba)
    maps = jax.nn.sigmoid(q) * strength
    features = jnp.concatenate([c_xy + c_yx, c_diff], axis=-1)
    return MapOutput(maps=maps, presence_logits=image, features=features, strength=strength,
                     pixel_presence_logits=q)

  def features(self, a: jax.typing.ArrayLike, b: jax.typing.ArrayLike) -> jax.Array:
    """Only the coarse ``(N, h, w, 2C)`` features of :meth:`__call__` (see :class:`MapOutput`)."""
    return self(a, b).features

"""Backbones for the relational models: a small U-Net (default) and a small ViT.

Both take a batch of stacked images ``(N, H, W, C_in)`` (channels last, the
pair inputs built by :mod:`jiqa.models.map_predictor`) and return a pair

* ``pixel``: per-pixel features ``(N, H, W, pixel_channels)`` (``None`` when
  built with ``decoder=False``, for encoders that only need the coarse grid),
* ``coarse``: the coarse grid ``(N, H / stride, W / stride, coarse_channels)``.

``H`` and ``W`` must be multiples of ``stride`` (``2 ** depth`` for the U-Net,
``patch_size`` for the ViT); :func:`check_spatial` raises a ``ValueError``
naming the argument otherwise.

Every layer works on one sample at a time (group / layer normalisation, no
batch statistics, no dropout), so a sample's output does not depend on the
other samples of the batch. The map predictor relies on this to be
anti-symmetric: it runs ``g(a, b)`` and ``g(b, a)`` in one batched pass.

Flax has no ready-made U-Net or ViT module, so these are written here from
``nnx.Conv``, ``nnx.GroupNorm``, ``nnx.LayerNorm`` and
``nnx.MultiHeadAttention``; the ViT uses fixed 2-D sine-cosine position
embeddings (Dosovitskiy et al. 2021; MAE's 2-D form) so it runs on any grid.

Example:
  >>> from flax import nnx
  >>> net = UNet(9, width=16, depth=3, rngs=nnx.Rngs(0))
  >>> pix, coarse = net(jnp.zeros((2, 64, 64, 9)))
  >>> pix.shape, coarse.shape
  ((2, 64, 64, 16), (2, 8, 8, 128))
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

BACKBONES = ("unet", "vit")
NORMS = ("group", "none")


def check_spatial(x: jax.Array, stride: int, *, name: str = "images") -> None:
  """Raises ``ValueError`` unless ``x`` is ``(N, H, W, C)`` with ``H, W`` multiples of ``stride``."""
  if x.ndim != 4:
    raise ValueError(f"{name} must have shape (N, H, W, C); got shape {x.shape}.")
  h, w = x.shape[1], x.shape[2]
  if h % stride or w % stride or h == 0 or w == 0:
    raise ValueError(
        f"{name}: height and width must be positive multiples of the backbone's total "
        f"stride {stride}; got {h}x{w}. Crop or resize the images, or use a shallower "
        "backbone (smaller depth / patch_size).")


def check_pair(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike, *,
               names: tuple[str, str] = ("a", "b")) -> tuple[jax.Array, jax.Array]:
  """Checks two image batches of equal shape ``(N, H, W, 3)``; returns them as float32 arrays.

  Integer images follow :func:`jiqa.images.integer_scale` (``uint8`` / 255, ``uint16`` / 65535,
  other integer types refused), so a model never reads 0..255 values as if they were [0, 1].

  Example:
    >>> check_pair(jnp.zeros((1, 4, 4, 3)), jnp.zeros((2, 4, 4, 3)))
    Traceback (most recent call last):
    ...
    ValueError: a and b must have the same shape; got (1, 4, 4, 3) and (2, 4, 4, 3).
  """
  from jiqa import images  # The one pixel rule: uint8 / 255, uint16 / 65535, other ints refused.

  out = []
  for x, n in zip((a, b), names):
    x = x if isinstance(x, jax.Array) else jnp.asarray(x)
    scale = images.integer_scale(x.dtype, name=n)
    if x.ndim != 4 or x.shape[-1] != 3:
      raise ValueError(
          f"{n} must be a batch of RGB images of shape (N, H, W, 3); got shape {x.shape}.")
    x = x.astype(jnp.float32)
    out.append(x if scale is None else x / scale)
  if out[0].shape != out[1].shape:
    raise ValueError(f"{names[0]} and {names[1]} must have the same shape; got "
                     f"{out[0].shape} and {out[1].shape}.")
  return out[0], out[1]


def pair_input(a: jax.Array, b: jax.Array) -> jax.Array:
  """The 9-channel input of a pair network ``g(a, b)``: ``[2a - 1, 2b - 1, b - a]``.

  Example:
    >>> pair_input(jnp.zeros((1, 2, 2, 3)), jnp.ones((1, 2, 2, 3)))[0, 0, 0].tolist()
    [-1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
  """
  return jnp.concatenate([2.0 * a - 1.0, 2.0 * b - 1.0, b - a], axis=-1)


def both_orderings(backbone: nnx.Module, a: jax.Array, b: jax.Array):
  """Runs ``backbone`` on ``pair_input(a, b)`` and ``pair_input(b, a)`` in one batched pass.

  Returns:
    ``(pix_ab, pix_ba, coarse_ab, coarse_ba)``; the ``pix`` are ``None`` for an
    encoder-only backbone.
  """
  n = a.shape[0]
  pix, coarse = backbone(jnp.concatenate([pair_input(a, b), pair_input(b, a)], axis=0))
  if pix is None:
    return None, None, coarse[:n], coarse[n:]
  return pix[:n], pix[n:], coarse[:n], coarse[n:]


def _groups(channels: int) -> int:
  """The largest of 8, 4, 2, 1 that divides ``channels`` (GroupNorm groups)."""
  for g in (8, 4, 2, 1):
    if channels % g == 0:
      return g
  return 1


def _avg_pool2(x: jax.Array) -> jax.Array:
  n, h, w, c = x.shape
  return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def _upsample2(x: jax.Array) -> jax.Array:
  return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def check_norm(norm: str) -> str:
  """Returns ``norm`` if it is one of :data:`NORMS`; raises ``ValueError`` otherwise."""
  if norm not in NORMS:
    raise ValueError(f"norm must be one of {NORMS}; got {norm!r}.")
  return norm


class ConvBlock(nnx.Module):
  """Two 3x3 convolutions, each followed by GroupNorm (``norm="group"``) and GELU.

  ``norm="none"`` drops the normalisation. GroupNorm divides each sample's
  features by their spread, which hides *how strong* a difference between
  two images is (a noise of twice the amplitude gives nearly the same
  normalised features); the relational models need that magnitude.
  """

  def __init__(self, in_channels: int, out_channels: int, *, norm: str = "group",
               rngs: nnx.Rngs):
    self.conv1 = nnx.Conv(in_channels, out_channels, (3, 3), padding="SAME", rngs=rngs)
    self.conv2 = nnx.Conv(out_channels, out_channels, (3, 3), padding="SAME", rngs=rngs)
    if check_norm(norm) == "group":
      self.norm1 = nnx.GroupNorm(out_channels, num_groups=_groups(out_channels), rngs=rngs)
      self.norm2 = nnx.GroupNorm(out_channels, num_groups=_groups(out_channels), rngs=rngs)
    else:
      self.norm1 = self.norm2 = None

  def __call__(self, x: jax.Array) -> jax.Array:
    x = self.conv1(x)
    x = jax.nn.gelu(x if self.norm1 is None else self.norm1(x))
    x = self.conv2(x)
    return jax.nn.gelu(x if self.norm2 is None else self.norm2(x))


class UNet(nnx.Module):
  """A U-Net (Ronneberger et al. 2015) with ``depth`` 2x average-pool downsamplings.

  Channels double at each level (``width * 2**level``); the decoder upsamples
  by nearest neighbour, concatenates the skip connection and applies a
  :class:`ConvBlock`. Total stride ``2 ** depth``.

  Example:
    >>> net = UNet(9, width=8, depth=2, rngs=nnx.Rngs(0))
    >>> net.stride, net.pixel_channels, net.coarse_channels
    (4, 8, 32)
  """

  def __init__(self, in_channels: int, *, width: int = 16, depth: int = 3,
               decoder: bool = True, norm: str = "group", rngs: nnx.Rngs):
    if depth < 1 or width < 1:
      raise ValueError(f"depth and width must be >= 1; got depth={depth}, width={width}.")
    chans = [width * 2**i for i in range(depth + 1)]
    self.depth = depth
    self.stride = 2**depth
    self.pixel_channels = chans[0]
    self.coarse_channels = chans[-1]
    self.has_decoder = decoder
    self.encoder = nnx.List(
        [ConvBlock(in_channels if i == 0 else chans[i - 1], chans[i], norm=norm, rngs=rngs)
         for i in range(depth + 1)])
    self.decoder = nnx.List(
        [ConvBlock(chans[i + 1] + chans[i], chans[i], norm=norm, rngs=rngs)
         for i in range(depth)]
        if decoder else [])

  def __call__(self, x: jax.Array) -> tuple[jax.Array | None, jax.Array]:
    check_spatial(x, self.stride, name="backbone input")
    skips = []
    for i, block in enumerate(self.encoder):
      if i > 0:
        x = _avg_pool2(x)
      x = block(x)
      skips.append(x)
    coarse = x
    if not self.has_decoder:
      return None, coarse
    for i in reversed(range(self.depth)):
      x = self.decoder[i](jnp.concatenate([_upsample2(x), skips[i]], axis=-1))
    return x, coarse


def sincos_2d(h: int, w: int, dim: int) -> jax.Array:
  """Fixed 2-D sine-cosine position embeddings ``(h * w, dim)`` (MAE's form).

  Half of ``dim`` encodes the row, half the column, each as sin/cos pairs of
  geometrically spaced frequencies. ``dim`` must be a multiple of 4.
  """
  if dim % 4:
    raise ValueError(f"width (ViT embedding dim) must be a multiple of 4; got {dim}.")
  quarter = dim // 4
  omega = 1.0 / (10000.0 ** (jnp.arange(quarter, dtype=jnp.float32) / quarter))
  yy, xx = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32), jnp.arange(w, dtype=jnp.float32),
                        indexing="ij")
  ang_y = yy.reshape(-1, 1) * omega[None]
  ang_x = xx.reshape(-1, 1) * omega[None]
  return jnp.concatenate(
      [jnp.sin(ang_y), jnp.cos(ang_y), jnp.sin(ang_x), jnp.cos(ang_x)], axis=1)


class TransformerBlock(nnx.Module):
  """Pre-norm transformer block: LN -> self-attention -> LN -> GELU MLP."""

  def __init__(self, dim: int, *, num_heads: int, mlp_ratio: int, rngs: nnx.Rngs):
    self.norm1 = nnx.LayerNorm(dim, rngs=rngs)
    self.attn = nnx.MultiHeadAttention(num_heads, dim, decode=False, rngs=rngs)
    self.norm2 = nnx.LayerNorm(dim, rngs=rngs)
    self.fc1 = nnx.Linear(dim, dim * mlp_ratio, rngs=rngs)
    self.fc2 = nnx.Linear(dim * mlp_ratio, dim, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    x = x + self.attn(self.norm1(x))
    return x + self.fc2(jax.nn.gelu(self.fc1(self.norm2(x))))


class SmallViT(nnx.Module):
  """A small Vision Transformer with a pixel decoder.

  Non-overlapping ``patch_size`` patches are embedded to ``width`` channels,
  given 2-D sine-cosine positions, and passed through ``depth`` transformer
  blocks; the token grid is the coarse output. The pixel output unpatchifies
  each token to ``patch_size**2 * pixel_channels`` values (depth-to-space) and
  refines them with a 3x3 convolution that also sees the input, which removes
  patch seams. Total stride ``patch_size``.

  Example:
    >>> net = SmallViT(9, width=32, depth=2, patch_size=8, rngs=nnx.Rngs(0))
    >>> pix, coarse = net(jnp.zeros((1, 32, 48, 9)))
    >>> pix.shape, coarse.shape
    ((1, 32, 48, 16), (1, 4, 6, 32))
  """

  def __init__(self, in_channels: int, *, width: int = 64, depth: int = 4,
               patch_size: int = 8, num_heads: int = 4, mlp_ratio: int = 2,
               pixel_channels: int = 16, decoder: bool = True, rngs: nnx.Rngs):
    if width % num_heads or width % 4:
      raise ValueError(
          f"width must be a multiple of num_heads and of 4; got width={width}, "
          f"num_heads={num_heads}.")
    self.stride = patch_size
    self.patch_size = patch_size
    self.width = width
    self.pixel_channels = pixel_channels
    self.coarse_channels = width
    self.has_decoder = decoder
    self.embed = nnx.Conv(in_channels, width, (patch_size, patch_size),
                          strides=(patch_size, patch_size), padding="VALID", rngs=rngs)
    self.blocks = nnx.List([
        TransformerBlock(width, num_heads=num_heads, mlp_ratio=mlp_ratio, rngs=rngs)
        for _ in range(depth)])
    self.norm = nnx.LayerNorm(width, rngs=rngs)
    if decoder:
      self.unpatch = nnx.Linear(width, patch_size * patch_size * pixel_channels, rngs=rngs)
      self.refine = nnx.Conv(pixel_channels + in_channels, pixel_channels, (3, 3),
                             padding="SAME", rngs=rngs)

  def __call__(self, x: jax.Array) -> tuple[jax.Array | None, jax.Array]:
    check_spatial(x, self.stride, name="backbone input")
    n, h, w, _ = x.shape
    gh, gw = h // self.patch_size, w // self.patch_size
    tokens = self.embed(x).reshape(n, gh * gw, self.width)
    tokens = tokens + sincos_2d(gh, gw, self.width)[None]
    for block in self.blocks:
      tokens = block(tokens)
    coarse = self.norm(tokens).reshape(n, gh, gw, self.width)
    if not self.has_decoder:
      return None, coarse
    p, c = self.patch_size, self.pixel_channels
    pix = self.unpatch(coarse).reshape(n, gh, gw, p, p, c)
    pix = pix.transpose(0, 1, 3, 2, 4, 5).reshape(n, h, w, c)
    pix = jax.nn.gelu(self.refine(jnp.concatenate([jax.nn.gelu(pix), x], axis=-1)))
    return pix, coarse


def make_backbone(name: str, in_channels: int, *, width: int, depth: int,
                  patch_size: int = 8, num_heads: int = 4, decoder: bool = True,
                  norm: str = "group", rngs: nnx.Rngs) -> UNet | SmallViT:
  """Builds the backbone called ``name`` (one of :data:`BACKBONES`).

  For ``"unet"`` ``width`` is the first level's channels and ``depth`` the
  number of downsamplings; for ``"vit"`` ``width`` is the token dimension
  (a multiple of 4 and of ``num_heads``) and ``depth`` the number of
  transformer blocks, with 16 pixel channels. ``norm`` (:data:`NORMS`) is the
  U-Net's normalisation; the ViT always uses LayerNorm.

  Example:
    >>> make_backbone("vit", 9, width=32, depth=2, rngs=nnx.Rngs(0)).stride
    8
  """
  if name == "unet":
    return UNet(in_channels, width=width, depth=depth, decoder=decoder, norm=norm, rngs=rngs)
  if name == "vit":
    return SmallViT(in_channels, width=width, depth=depth, patch_size=patch_size,
                    num_heads=num_heads, decoder=decoder, rngs=rngs)
  raise ValueError(f"backbone must be one of {BACKBONES}; got {name!r}.")


def total_stride(name: str, *, depth: int, patch_size: int = 8) -> int:
  """The spatial stride of backbone ``name``: ``2**depth`` (U-Net) or ``patch_size`` (ViT)."""
  if name == "unet":
    return 2**depth
  if name == "vit":
    return patch_size
  raise ValueError(f"backbone must be one of {BACKBONES}; got {name!r}.")

"""KADID-10k's noise group (types 11-15) as pure JAX ops.

Hand-written: dm-pix has no noise models and no denoiser. Every op follows
:mod:`jiqa.distortions.spec`: ``op(key, image, level)`` on one float32
``(H, W, 3)`` image in ``[0, 1]``, level 0 is the identity, KADID's level
parameters are reproduced exactly at levels 0.2, ..., 1.0.

Randomness comes only from ``key``, and is drawn once per call *independently of
the level*: the Gaussian ops scale one fixed standard-normal draw by
``sqrt(variance(level))``, and impulse noise thresholds one fixed uniform draw at
``density(level)``. So for a fixed key the output is continuous in ``level`` and
the set of corrupted pixels only grows with it.

* ``white_noise``: ``x + sqrt(v) n`` on RGB (MATLAB ``imnoise(x, 'gaussian', 0, v)``).
* ``white_noise_color``: the same noise added to the three components of
  MATLAB's YCbCr, as KADID's ``imnoisecolorcomp`` does (``ycbcr2rgb(imnoise(
  rgb2ycbcr(I), 'gaussian', 0, v))``). MATLAB's ``rgb2ycbcr`` is studio swing
  (ITU-R BT.601: Y spans 219/255 of the range, Cb and Cr 224/255), so a noise of
  variance ``v`` there is the full-range (JFIF,
  :func:`jiqa.distortions.colorspace.rgb_to_ycbcr`) noise scaled by 255/219 on Y
  and 255/224 on Cb and Cr: about 15 % more RGB noise than the same variance in
  full-range YCbCr (ARNIQA's reading). MATLAB's ``imnoise`` also clips in YCbCr
  to ``[0, 1]``, which studio swing leaves 16/255 of headroom for; only the RGB
  result is clipped here.
* ``impulse_noise``: salt and pepper of density ``d`` per element (pixel and
  channel), half salt, half pepper, as ``imnoise(x, 'salt & pepper', d)``.
* ``multiplicative_noise``: ``x + x n`` with ``n`` Gaussian of variance ``v``
  (as the KADID notes and ARNIQA; MATLAB's ``'speckle'`` draws ``n`` uniform with
  the same variance).
* ``denoise``: KADID's parameter (0.01 ... 0.15) is the *variance* of the
  noise, as in KADID's ``imdenoise.m`` (``imnoise(I, 'gaussian', 0, var)``, then
  MATLAB's pretrained DnCNN on each channel): noise standard deviations of 0.1
  ... 0.39 (25 ... 99 grey levels of 8 bits), mostly beyond what a denoiser
  removes, so the distortion is over-smoothed texture plus much residual noise.
  The op adds Gaussian noise of that variance, clips to ``[0, 1]`` and denoises
  with non-local means (Buades et al. 2005) instead of the learned DnCNN, which
  jiqa cannot ship: ``3 x 3`` colour patches, a ``(2 s + 1)^2`` search
  window (``search_radius`` s, default 2), weights
  ``exp(-max(d^2 - 2 sigma^2, 0) / h^2)`` with ``h = h_factor * sigma``
  (default ``h = sigma``; the noise-variance correction is that of
  scikit-image's ``denoise_nl_means``, whose output it matches to about
  35-48 dB PSNR). The distortion is the mix of over-smoothed texture and
  residual noise.

All five are differentiable with respect to the image. Impulse noise has zero
gradient at the replaced elements (their output does not depend on the input)
and identity gradient elsewhere; the others have ordinary gradients (the clip to
``[0, 1]`` zeroes them where it saturates).

Example:
  >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
  >>> out = white_noise(jax.random.key(0), image, 0.6)   # variance 0.003
  >>> keys = jax.random.split(jax.random.key(0), 2)
  >>> batch, levels = jnp.stack([image, image]), jnp.array([0.2, 1.0])
  >>> jax.jit(jax.vmap(denoise))(keys, batch, levels).shape
  (2, 32, 32, 3)

References:
  Lin, Hosu, Saupe, "KADID-10k: A Large-scale Artificially Distorted IQA
  Database", QoMEX 2019. Buades, Coll, Morel, "A non-local algorithm for image
  denoising", CVPR 2005.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jiqa.distortions import colorspace
from jiqa.distortions.counter_random import normal, uniform_bits
from jiqa.distortions.materialize import materialize
from jiqa.distortions.spec import DistortionSpec, distortion_op, kadid_param

WHITE_NOISE_VARIANCES = (0.001, 0.002, 0.003, 0.005, 0.01)
WHITE_NOISE_COLOR_VARIANCES = (0.0001, 0.0005, 0.001, 0.002, 0.003)
IMPULSE_DENSITIES = (0.001, 0.005, 0.01, 0.02, 0.03)
MULTIPLICATIVE_VARIANCES = (0.001, 0.005, 0.01, 0.02, 0.05)
DENOISE_VARIANCES = (0.01, 0.03, 0.05, 0.1, 0.15)
# a[c, o]: weight of YCbCr channel c in RGB channel o (the linear part of ycbcr_to_rgb).
_YCC_TO_RGB_LINEAR = colorspace.YCBCR_TO_RGB.T
# Studio-swing (MATLAB rgb2ycbcr, BT.601) units per full-range unit of Y, Cb, Cr.
_STUDIO_SCALE = (255.0 / 219.0, 255.0 / 224.0, 255.0 / 224.0)


def _param(level, params):
  return kadid_param(level, params, 0.0)


_bits = uniform_bits  # counter-hash words: see jiqa.distortions.counter_random



@distortion_op()
def white_noise(key: jax.Array, image: jax.typing.ArrayLike,
                level: jax.typing.ArrayLike) -> jax.Array:
  """Additive white Gaussian noise on RGB with KADID's variance at ``level``.

  Example:
    >>> float(white_noise(jax.random.key(0), jnp.full((8, 8, 3), 0.5), 1.0).std()) < 0.2  # ~0.1
    True
  """
  var = _param(level, WHITE_NOISE_VARIANCES)
  noise = normal(key, image.shape, image.dtype)
  return jnp.clip(image + jnp.sqrt(var).astype(image.dtype) * noise, 0.0, 1.0)


@distortion_op()
def white_noise_color(key: jax.Array, image: jax.typing.ArrayLike,
                      level: jax.typing.ArrayLike) -> jax.Array:
  """White Gaussian noise of KADID's variance added to studio-swing Y, Cb and Cr.

  The conversion is affine, so the RGB result is ``x + A S n`` with ``A`` the
  linear part of :func:`~jiqa.distortions.colorspace.ycbcr_to_rgb` and ``S`` the
  studio-swing scale (255/219, 255/224, 255/224); it is
  computed as ``A n`` on three noise planes: one colour conversion of the noise
  instead of a round trip of the image (3x cheaper, and level 0 returns the
  input bit for bit).

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = white_noise_color(jax.random.key(0), image, 0.2)   # variance 1e-4
  """
  var = _param(level, WHITE_NOISE_COLOR_VARIANCES)
  height, width, _ = image.shape
  noise = normal(key, (3, height, width), image.dtype) * jnp.sqrt(var).astype(image.dtype)
  # ycbcr_to_rgb(noise + black) - ycbcr_to_rgb(black) = A noise, A its linear part,
  # written out per plane (XLA's CPU dot with a contraction of 3 is slow).
  a = _YCC_TO_RGB_LINEAR
  delta = jnp.stack([sum(float(a[c, o] * _STUDIO_SCALE[c]) * noise[c]
                         for c in range(3) if a[c, o] != 0)
                     for o in range(3)], axis=-1)
  return jnp.clip(image + delta, 0.0, 1.0)


@distortion_op()
def impulse_noise(key: jax.Array, image: jax.typing.ArrayLike,
                  level: jax.typing.ArrayLike) -> jax.Array:
  """Salt and pepper noise: each element is replaced with probability ``d``.

  A replaced element is 0 or 1 with equal probability, independently per
  channel, as MATLAB's ``imnoise(x, 'salt & pepper', d)``. One 32-bit draw per
  element: its top 24 bits are a uniform ``u`` that decides *whether*
  (``u < d``), its lowest bit *what*, so raising ``d`` only adds corrupted
  elements.

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = impulse_noise(jax.random.key(0), image, 1.0)   # 3 % of elements
  """
  density = _param(level, IMPULSE_DENSITIES)
  bits = _bits(key, image.size).reshape(image.shape)
  u = (bits >> 8).astype(jnp.float32) * (1.0 / 2**24)   # uniform in [0, 1)
  salt = (bits & 1).astype(image.dtype)                  # independent of u
  return jnp.where(u < density, salt, image)


@distortion_op()
def multiplicative_noise(key: jax.Array, image: jax.typing.ArrayLike,
                         level: jax.typing.ArrayLike) -> jax.Array:
  """Speckle noise ``x + x n``, ``n`` Gaussian with KADID's variance.

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = multiplicative_noise(jax.random.key(0), image, 0.4)  # variance 0.005
  """
  var = _param(level, MULTIPLICATIVE_VARIANCES)
  noise = normal(key, image.shape, image.dtype)
  return jnp.clip(image + image * jnp.sqrt(var).astype(image.dtype) * noise, 0.0, 1.0)


def nl_means(image: jax.typing.ArrayLike, sigma: jax.typing.ArrayLike,
             h: jax.typing.ArrayLike, *, search_radius: int = 2,
             patch_radius: int = 1) -> jax.Array:
  """Non-local means of a colour image with a small fixed search window.

  ``out(p) = sum_q w(p, q) x(q) / sum_q w(p, q)`` over the ``(2 s + 1)^2``
  pixels ``q`` around ``p``, ``w = exp(-max(d^2 - 2 sigma^2, 0) / h^2)``,
  ``d^2`` the mean squared difference of the ``(2 r + 1)^2`` colour patches
  around ``p`` and ``q``; borders are reflected. Two things keep it fast on a
  CPU: ``w(p, p + o) = w(p + o, p)``, so each weight map is computed once for a
  pair of offsets ``(o, -o)`` (on a slightly larger domain), and the channels
  are handled as separate planes (XLA vectorises ``(H, W)`` planes far better
  than a minor axis of 3). The offsets are a static Python unroll.

  Args:
    image: ``(H, W, C)`` float array, ``H, W > 2 s + r``.
    sigma: noise standard deviation (traced scalar).
    h: filtering parameter (traced scalar; ``h -> 0`` leaves the image as is).
    search_radius: ``s``, static.
    patch_radius: ``r``, static.

  Returns:
    The denoised ``(H, W, C)`` image (not clipped).

  Example:
    >>> noisy = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> nl_means(noisy, 0.05, 0.04).shape
    (32, 32, 3)
  """
  x = jnp.asarray(image)
  height, width, n_chan = x.shape
  s, r = search_radius, patch_radius
  if s < 1 or r < 0:
    raise ValueError(f"search_radius must be >= 1 and patch_radius >= 0; got {s}, {r}.")
  pad = 2 * s + r
  if min(height, width) <= pad:
    raise ValueError(f"image: needs height and width > {pad} for this window; "
                     f"got {x.shape}.")
  planes = [jnp.pad(x[..., c], pad, mode="reflect") for c in range(n_chan)]
  planes = materialize(planes)   # read many times: materialise once
  h2 = jnp.maximum(jnp.asarray(h, x.dtype) ** 2, 1e-12)
  var2 = 2 * jnp.asarray(sigma, x.dtype) ** 2
  norm = 1.0 / ((2 * r + 1) ** 2 * n_chan)
  # Weight maps live on the image grown by s on each side (rows -s .. H+s-1):
  # padded index a + i is the first patch pixel of grown-domain row i.
  a, rows, cols = s, height + 2 * s + 2 * r, width + 2 * s + 2 * r
  num = [x[..., c] for c in range(n_chan)]   # offset (0, 0) has weight 1
  den = jnp.ones((height, width), x.dtype)
  for dy in range(0, s + 1):
    for dx in range(-s, s + 1):
      if dy == 0 and dx <= 0:
        continue
      d2 = sum((p[a:a + rows, a:a + cols] - p[a + dy:a + dy + rows, a + dx:a + dx + cols]) ** 2
               for p in planes)
      # Each intermediate is stored once (materialize): fused, XLA recomputed
      # the squared differences under every tap of the box (together with the
      # weights' materialisation 1.2-1.4x faster at 512x384, same values).
      d2 = materialize(d2)
      box = materialize(sum(d2[i:i + height + 2 * s] for i in range(2 * r + 1)))
      box = sum(box[:, j:j + width + 2 * s] for j in range(2 * r + 1)) * norm
      w = materialize(jnp.exp(-jnp.maximum(box - var2, 0.0) / h2))
      w_plus = w[s:s + height, s:s + width]                      # w(p, p + o)
      w_minus = w[s - dy:s - dy + height, s - dx:s - dx + width]  # w(p, p - o)
      num = [n + w_plus * p[pad + dy:pad + dy + height, pad + dx:pad + dx + width]
             + w_minus * p[pad - dy:pad - dy + height, pad - dx:pad - dx + width]
             for n, p in zip(num, planes)]
      den = den + w_plus + w_minus
  return jnp.stack([n / den for n in num], axis=-1)


@distortion_op()
def denoise(key: jax.Array, image: jax.typing.ArrayLike, level: jax.typing.ArrayLike,
            *, search_radius: int = 2, h_factor: float = 1.0) -> jax.Array:
  """Noise of KADID's strength, then non-local means tuned to that noise.

  Args:
    key: PRNG key of the noise.
    image: ``(H, W, 3)`` float image in ``[0, 1]``.
    level: severity in ``[0, 1]``; the noise variance is 0.01 ... 0.15 at 0.2 ... 1.0.
    search_radius: static half-width of the NLM search window (2: 5 x 5).
    h_factor: static; the NLM filtering parameter is ``h_factor * sigma``.

  Returns:
    The denoised image, clipped to ``[0, 1]``; the input itself at level 0.

  Example:
    >>> image = jax.random.uniform(jax.random.key(1), (32, 32, 3))
    >>> out = denoise(jax.random.key(0), image, 0.8)   # variance 0.1
  """
  sigma = jnp.sqrt(_param(level, DENOISE_VARIANCES)).astype(image.dtype)
  # jax.random.normal (not counter_random.normal): the tests rebuild this exact noisy image.
  noise = jax.random.normal(key, image.shape, image.dtype)
  noisy = jnp.clip(image + sigma * noise, 0.0, 1.0)
  # Materialise the noisy image: otherwise XLA fuses the noise generation into
  # each of the many shifted reads of nl_means and recomputes it (2x slower).
  noisy = materialize(noisy)
  out = nl_means(noisy, sigma, h_factor * sigma, search_radius=search_radius)
  return jnp.where(sigma > 0, jnp.clip(out, 0.0, 1.0), image)


SPECS: tuple[DistortionSpec, ...] = (
    DistortionSpec("white_noise", "noise", white_noise, WHITE_NOISE_VARIANCES,
                   identity_param=0.0, kadid_index=11),
    DistortionSpec("white_noise_color", "noise", white_noise_color,
                   WHITE_NOISE_COLOR_VARIANCES, identity_param=0.0, kadid_index=12),
    DistortionSpec("impulse_noise", "noise", impulse_noise, IMPULSE_DENSITIES,
                   identity_param=0.0, kadid_index=13),
    DistortionSpec("multiplicative_noise", "noise", multiplicative_noise,
                   MULTIPLICATIVE_VARIANCES, identity_param=0.0, kadid_index=14),
    DistortionSpec("denoise", "noise", denoise, DENOISE_VARIANCES, identity_param=0.0,
                   kadid_index=15),
)

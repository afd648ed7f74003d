"""Full-reference image quality baselines: PSNR, SSIM, MS-SSIM and GMSD.

Every metric takes two images in jiqa's convention (RGB, channels last; float
in ``[0, 1]``, or ``uint8`` / ``uint16``, which are divided by 255 / 65535 as
:func:`jiqa.images.as_float_images` says), either single ``(H, W, 3)`` (returns
a scalar) or batched ``(N, H, W, 3)`` (returns ``(N,)``; an empty batch is a
``ValueError``), and is jit-able (shapes and dtypes are checked while tracing,
values where they are concrete). PSNR, SSIM and MS-SSIM are similarities (higher = better); **GMSD is
a distortion (lower = better; 0 for identical images)**.

* :func:`psnr` is ``dm_pix.psnr`` (data range 1; ``inf`` for identical images).
* :func:`ssim` is ``dm_pix.ssim`` (11x11 Gaussian window, sigma 1.5, K1 = 0.01,
  K2 = 0.03, "valid" filtering, averaged over pixels and channels).
* :func:`ms_ssim` is written here (dm_pix has no MS-SSIM): Wang, Simoncelli &
  Bovik 2003, five scales with weights (0.0448, 0.2856, 0.3001, 0.2363,
  0.1333), the same Gaussian window as SSIM, 2x2 average downsampling (an odd
  last row/column is averaged with itself, as MATLAB's ``'symmetric'`` filter
  of the reference code does); contrast-structure terms at the four finer
  scales and the full SSIM at the coarsest, ``prod_j mcs_j^w_j * mssim_5^w_5``.
  Per channel, then averaged over the channels; negative ``mcs`` are clipped
  to 0 (as TensorFlow's and pytorch-msssim's implementations do) so the power
  is defined. Needs ``H, W >= 161`` (11 pixels at the fifth scale).
* :func:`gmsd` is written here (no JAX library has it): Xue, Zhang, Mou &
  Bovik 2014, following the authors' MATLAB code: luma ``Y = 0.299R + 0.587G +
  0.114B`` on ``[0, 255]``, 2x2 average then keep every other pixel, Prewitt
  gradients ``[1 0 -1]/3`` with zero padding ("same"), the gradient magnitude
  similarity ``(2 m_a m_b + c) / (m_a^2 + m_b^2 + c)`` with ``c = 170``, and the
  standard deviation (``N - 1`` normalised, MATLAB's ``std2``) of that map.

Example:
  >>> a = jnp.full((2, 176, 176, 3), 0.5); b = a.at[:, ::7].set(0.6)
  >>> [m(a, b).shape for m in (psnr, ssim, ms_ssim, gmsd)]
  [(2,), (2,), (2,), (2,)]
"""

from __future__ import annotations

import dm_pix
import jax
import jax.numpy as jnp
import numpy as np

from jiqa.images import as_float_images

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_K1, _K2, _WIN, _SIGMA = 0.01, 0.03, 11, 1.5


def _check(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike) -> tuple[jax.Array, jax.Array, bool]:
  """Returns ``(a, b, single)`` as float32 ``(N, H, W, 3)``; raises ``ValueError`` on bad input.

  The pixel rule is :func:`jiqa.images.as_float_images`: ``uint8`` / ``uint16``
  are divided by 255 / 65535, floats must be in ``[0, 1]``, other types and
  empty batches are rejected.
  """
  a = as_float_images(a, name="a")
  b = as_float_images(b, name="b")
  if a.shape != b.shape:
    raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}.")
  single = a.ndim == 3
  if single:
    a, b = a[None], b[None]
  return a.astype(jnp.float32), b.astype(jnp.float32), single


def _out(x: jax.Array, single: bool) -> jax.Array:
  return x[0] if single else x


def psnr(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike) -> jax.Array:
  """Peak signal-to-noise ratio in dB for data range 1 (``dm_pix.psnr``); higher = better.

  Example:
    >>> round(float(psnr(jnp.zeros((4, 4, 3)), jnp.full((4, 4, 3), 0.1))), 3)
    20.0
  """
  a, b, single = _check(a, b)
  return _out(dm_pix.psnr(a, b), single)


def ssim(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike) -> jax.Array:
  """Structural similarity (Wang et al. 2004) as ``dm_pix.ssim`` with ``max_val=1``; higher = better.

  Needs ``H, W >= 11``.

  Example:
    >>> float(ssim(jnp.full((16, 16, 3), 0.3), jnp.full((16, 16, 3), 0.3)))
    1.0
  """
  a, b, single = _check(a, b)
  if min(a.shape[1:3]) < _WIN:
    raise ValueError(f"a: SSIM needs height and width >= {_WIN}; got {a.shape[1]}x{a.shape[2]}.")
  return _out(dm_pix.ssim(a, b, max_val=1.0), single)


def _gaussian_window() -> np.ndarray:
  x = np.arange(_WIN, dtype=np.float64) - (_WIN - 1) / 2
  g = np.exp(-0.5 * (x / _SIGMA) ** 2)
  return (g / g.sum()).astype(np.float32)


def _filter_valid(x: jax.Array) -> jax.Array:
  """Separable 11-tap Gaussian, "valid", over axes 1 and 2 of ``(M, H, W, C)``."""
  w = jnp.asarray(_gaussian_window())
  n = _WIN
  x = sum(w[i] * x[:, i:x.shape[1] - n + 1 + i] for i in range(n))
  return sum(w[i] * x[:, :, i:x.shape[2] - n + 1 + i] for i in range(n))


def _ssim_terms(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Per-channel means over pixels of the SSIM map and the contrast-structure map: ``(N, C)`` each."""
  c1, c2 = _K1**2, _K2**2
  mu_a, mu_b = _filter_valid(a), _filter_valid(b)
  var_a = _filter_valid(a * a) - mu_a**2
  var_b = _filter_valid(b * b) - mu_b**2
  cov = _filter_valid(a * b) - mu_a * mu_b
  cs = (2 * cov + c2) / (var_a + var_b + c2)
  lum = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
  return (lum * cs).mean(axis=(1, 2)), cs.mean(axis=(1, 2))


def _downsample2(x: jax.Array) -> jax.Array:
  """2x2 average and keep every other pixel; an odd last row/column is replicated first."""
  _, h, w, _ = x.shape
  x = jnp.pad(x, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
  n, h, w, c = x.shape
  return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def ms_ssim(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike) -> jax.Array:
  """Multi-scale SSIM (Wang, Simoncelli & Bovik 2003), five scales; higher = better.

  See the module docstring for the exact recipe. Needs ``H, W >= 161``.

  References:
    Z. Wang, E. P. Simoncelli, A. C. Bovik, "Multiscale structural similarity
    for image quality assessment", Asilomar 2003.

  Example:
    >>> x = jax.random.uniform(jax.random.key(0), (176, 176, 3))
    >>> round(float(ms_ssim(x, x)), 6)
    1.0
  """
  a, b, single = _check(a, b)
  size = min(a.shape[1:3])
  for _ in range(len(MS_SSIM_WEIGHTS) - 1):
    size = -(-size // 2)
  if size < _WIN:
    raise ValueError(
        f"a: MS-SSIM needs height and width >= 161 (an {_WIN}-pixel window at the fifth "
        f"scale); got {a.shape[1]}x{a.shape[2]}.")
  weights = jnp.asarray(MS_SSIM_WEIGHTS, jnp.float32)
  factors = []
  for j in range(len(MS_SSIM_WEIGHTS)):
    if j:
      a, b = _downsample2(a), _downsample2(b)
    mssim, mcs = _ssim_terms(a, b)
    last = j == len(MS_SSIM_WEIGHTS) - 1
    factors.append(jnp.maximum(mssim if last else mcs, 0.0) ** weights[j])
  per_channel = jnp.prod(jnp.stack(factors), axis=0)        # (N, C)
  return _out(per_channel.mean(axis=-1), single)


def _conv_same(x: jax.Array, kernel: np.ndarray) -> jax.Array:
  """2-D "same" correlation with zero padding of ``(N, H, W)`` with a small odd kernel."""
  k = jnp.asarray(kernel, jnp.float32)[:, :, None, None]
  y = jax.lax.conv_general_dilated(x[..., None], k, (1, 1), "SAME",
                                   dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                   precision=jax.lax.Precision.HIGHEST)
  return y[..., 0]


def gmsd(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike, *, c: float = 170.0) -> jax.Array:
  """Gradient Magnitude Similarity Deviation (Xue et al. 2014); **lower = better** (0 = identical).

  Args:
    a: reference image(s), ``(H, W, 3)`` or ``(N, H, W, 3)`` in ``[0, 1]``.
    b: distorted image(s), same shape.
    c: the stability constant for 8-bit luma (the paper's 170).

  Returns:
    Scalar or ``(N,)`` GMSD.

  References:
    W. Xue, L. Zhang, X. Mou, A. C. Bovik, "Gradient Magnitude Similarity
    Deviation: A Highly Efficient Perceptual Image Quality Index", IEEE TIP 2014.

  Example:
    >>> x = jax.random.uniform(jax.random.key(0), (32, 32, 3))
    >>> float(gmsd(x, x))
    0.0
  """
  a, b, single = _check(a, b)
  if min(a.shape[1:3]) < 4:
    raise ValueError(f"a: GMSD needs height and width >= 4; got {a.shape[1]}x{a.shape[2]}.")
  luma = jnp.asarray([0.299, 0.587, 0.114], jnp.float32)
  prewitt = np.array([[1, 0, -1]] * 3, np.float32) / 3.0

  def magnitude(x):
    y = 255.0 * jnp.einsum("nhwc,c->nhw", x, luma, precision=jax.lax.Precision.HIGHEST)
    _, h, w = y.shape
    y = jnp.pad(y, ((0, 0), (0, h % 2), (0, w % 2)))            # MATLAB conv2 'same' zero pad
    n, h, w = y.shape
    y = y.reshape(n, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
    gx, gy = _conv_same(y, prewitt), _conv_same(y, prewitt.T)
    return jnp.sqrt(gx**2 + gy**2)

  ma, mb = magnitude(a), magnitude(b)
  gms = (2 * ma * mb + c) / (ma**2 + mb**2 + c)
  return _out(jnp.std(gms, axis=(1, 2), ddof=1), single)

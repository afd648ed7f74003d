"""Full-reference metrics against independent implementations.

* PSNR and SSIM: scikit-image (``peak_signal_noise_ratio``; ``structural_similarity`` with
  Gaussian weights, sigma 1.5, population covariance, data range 1).
* MS-SSIM: (i) a numpy/scipy re-implementation written here from Wang et al. 2003 and the
  authors' MATLAB ``msssim.m`` (imfilter 'symmetric' 2x2 averaging), float64; (ii) values of
  ``pytorch_msssim.ms_ssim`` 1.0.0 (torch 2.13.0 CPU, float64) recorded below.
* GMSD: (i) a numpy/scipy re-implementation of the authors' MATLAB ``GMSD.m`` (conv2 'same',
  std2); (ii) values of ``piq.gmsd`` 0.8.0 recorded below. piq takes the population standard
  deviation (ddof 0) where MATLAB's std2 (and jiqa) use ddof 1: the test rescales by
  sqrt((M - 1) / M).

The recorded values were produced by running, in a venv with torch==2.13.0, pytorch-msssim and
piq, the same ``_inputs()`` as below and printing
``pytorch_msssim.ms_ssim(a, b, data_range=1, size_average=False)`` and
``piq.gmsd(a, b, reduction="none", data_range=1)`` on float64 NCHW tensors (the 3rd number on
the 191x255 top-left crop, an odd size).
"""

import jax
import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal
import skimage.data
import skimage.metrics

from jiqa.metrics import gmsd, ms_ssim, psnr, ssim

# Jitted once per module (eager MS-SSIM is hundreds of small ops, each compiled on first use).
JIT = {m.__name__: jax.jit(m) for m in (psnr, ssim, ms_ssim, gmsd)}

# name: (pytorch_msssim MS-SSIM, piq GMSD (ddof 0), piq GMSD on the 191x255 crop)
RECORDED = {
    "astronaut/noise": (0.911211, 0.054811, 0.054570),
    "astronaut/blur": (0.975158, 0.067546, 0.066990),
    "astronaut/bright": (0.997219, 0.028554, 0.032149),
    "coffee/noise": (0.904358, 0.053584, 0.053192),
    "coffee/blur": (0.965060, 0.067439, 0.067324),
    "coffee/bright": (0.989422, 0.049376, 0.048104),
}


def _inputs():
  out = {}
  for name in ("astronaut", "coffee"):
    x = (getattr(skimage.data, name)()[:192, 64:320] / 255.0).astype(np.float32)
    rng = np.random.default_rng(0)
    out[name + "/noise"] = (x, np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1).astype(np.float32))
    out[name + "/blur"] = (x, ndi.gaussian_filter(x, (1.5, 1.5, 0)).astype(np.float32))
    out[name + "/bright"] = (x, np.clip(x + 0.1, 0, 1).astype(np.float32))
  return out


INPUTS = _inputs()
NAMES = sorted(INPUTS)


def _batch():
  a = np.stack([INPUTS[n][0] for n in NAMES])
  b = np.stack([INPUTS[n][1] for n in NAMES])
  return a, b


# ---- independent numpy references ---------------------------------------------------------

def _ref_ms_ssim_gray(x, y):
  """Wang et al. 2003 / msssim.m on one float64 channel."""
  g = np.exp(-0.5 * ((np.arange(11) - 5) / 1.5) ** 2)
  win = np.outer(g, g) / np.outer(g, g).sum()
  c1, c2 = 0.01**2, 0.03**2
  weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
  out = 1.0
  for j, w in enumerate(weights):
    filt = lambda z: scipy.signal.correlate2d(z, win, mode="valid")   # noqa: E731
    mx, my = filt(x), filt(y)
    vx, vy, cxy = filt(x * x) - mx**2, filt(y * y) - my**2, filt(x * y) - mx * my
    cs = (2 * cxy + c2) / (vx + vy + c2)
    if j < 4:
      out *= max(cs.mean(), 0.0) ** w
      down = lambda z: (lambda p: ((p[:-1, :-1] + p[1:, :-1] + p[:-1, 1:] + p[1:, 1:]) / 4)[::2, ::2])(  # noqa: E731
          np.pad(z, ((0, 1), (0, 1)), mode="symmetric"))
      x, y = down(x), down(y)
    else:
      out *= max(((2 * mx * my + c1) / (mx**2 + my**2 + c1) * cs).mean(), 0.0) ** w
  return out


def _ref_ms_ssim(a, b):
  return np.mean([_ref_ms_ssim_gray(a[..., c].astype(np.float64), b[..., c].astype(np.float64))
                  for c in range(3)])


def _ref_gmsd(a, b):
  """The authors' GMSD.m: conv2 'same' averaging, Prewitt/3, c = 170, std2."""
  def prep(im):
    y = 255.0 * (0.299 * im[..., 0] + 0.587 * im[..., 1] + 0.114 * im[..., 2]).astype(np.float64)
    full = scipy.signal.convolve2d(y, np.ones((2, 2)) / 4, mode="full")
    ave = full[1:y.shape[0] + 1, 1:y.shape[1] + 1]               # MATLAB 'same', even kernel
    y = ave[::2, ::2]
    dx = np.array([[1, 0, -1]] * 3) / 3.0
    gx = scipy.signal.convolve2d(y, dx, mode="same")
    gy = scipy.signal.convolve2d(y, dx.T, mode="same")
    return np.sqrt(gx**2 + gy**2)
  m1, m2 = prep(a), prep(b)
  gms = (2 * m1 * m2 + 170) / (m1**2 + m2**2 + 170)
  return np.std(gms, ddof=1), gms.size


# ---- tests ---------------------------------------------------------------------------------

def test_psnr_matches_skimage():
  a, b = _batch()
  want = [skimage.metrics.peak_signal_noise_ratio(x, y, data_range=1) for x, y in zip(a, b)]
  np.testing.assert_allclose(JIT['psnr'](a, b), want, rtol=1e-5)
  np.testing.assert_allclose(psnr(a[0], b[0]), want[0], rtol=1e-5)


def test_ssim_matches_skimage():
  a, b = _batch()
  want = [skimage.metrics.structural_similarity(
      x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=-1,
      data_range=1) for x, y in zip(a, b)]
  np.testing.assert_allclose(JIT['ssim'](a, b), want, atol=2e-4)


def test_ms_ssim_matches_numpy_reference_and_pytorch_msssim():
  a, b = _batch()
  got = np.asarray(JIT['ms_ssim'](a, b))
  np.testing.assert_allclose(got, [_ref_ms_ssim(x, y) for x, y in zip(a, b)], atol=2e-5)
  np.testing.assert_allclose(got, [RECORDED[n][0] for n in NAMES], atol=5e-5)
  # Odd sizes: the numpy reference of msssim.m's 'symmetric' averaging.
  a_odd, b_odd = a[0, :177, :171], b[0, :177, :171]
  np.testing.assert_allclose(JIT['ms_ssim'](a_odd, b_odd), _ref_ms_ssim(a_odd, b_odd), atol=2e-5)


def test_gmsd_matches_numpy_reference_and_piq():
  a, b = _batch()
  got = np.asarray(JIT['gmsd'](a, b))
  refs = [_ref_gmsd(x, y) for x, y in zip(a, b)]
  np.testing.assert_allclose(got, [r[0] for r in refs], atol=2e-5)
  m = refs[0][1]
  np.testing.assert_allclose(got * np.sqrt((m - 1) / m), [RECORDED[n][1] for n in NAMES],
                             atol=5e-6)
  # Odd size (zero-padded 2x2 averaging in both MATLAB's code and piq).
  a_odd, b_odd = a[:, :191, :255], b[:, :191, :255]
  got_odd = np.asarray(JIT['gmsd'](a_odd, b_odd))
  ref0, m_odd = _ref_gmsd(a_odd[0], b_odd[0])
  np.testing.assert_allclose(got_odd[0], ref0, atol=2e-5)
  np.testing.assert_allclose(got_odd * np.sqrt((m_odd - 1) / m_odd),
                             [RECORDED[n][2] for n in NAMES], atol=5e-6)


def test_known_values_on_identical_images():
  a, _ = _batch()
  assert np.all(np.isinf(np.asarray(JIT["psnr"](a, a))))
  np.testing.assert_allclose(JIT["ssim"](a, a), 1.0, atol=1e-6)
  np.testing.assert_allclose(JIT["ms_ssim"](a, a), 1.0, atol=1e-6)
  np.testing.assert_allclose(JIT["gmsd"](a, a), 0.0, atol=1e-6)


def test_ordering_directions():
  """More noise: PSNR, SSIM, MS-SSIM fall; GMSD rises."""
  x = INPUTS["astronaut/noise"][0]
  rng = np.random.default_rng(1)
  noise = rng.normal(size=x.shape).astype(np.float32)
  b = np.stack([np.clip(x + s * noise, 0, 1) for s in (0.0, 0.01, 0.02, 0.05, 0.1, 0.2)])
  a = np.broadcast_to(x, b.shape)                    # same shape as _batch(): no recompile
  for name, sign in (("psnr", -1), ("ssim", -1), ("ms_ssim", -1), ("gmsd", 1)):
    vals = np.asarray(JIT[name](a, b))
    assert np.all(sign * np.diff(vals[1:]) > 0), (name, vals)


def test_jit_and_batch_equals_single():
  a, b = _batch()
  for name, metric in JIT.items():
    batched = metric(a, b)
    assert batched.shape == (6,)
    single = metric(a[3], b[3])                      # the (H, W, 3) path, jitted
    assert single.shape == ()
    np.testing.assert_allclose(single, batched[3], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("metric", [psnr, ssim, ms_ssim, gmsd])
def test_bad_inputs_raise(metric):
  a, b = _batch()
  with pytest.raises(ValueError, match="same shape"):
    metric(a[0], b[1, :, :128])
  with pytest.raises(ValueError, match="RGB"):
    metric(a[0, ..., 0], b[0, ..., 0])
  with pytest.raises(ValueError, match="RGB"):
    metric(a[0, ..., :2], b[0, ..., :2])


def test_too_small_for_windows_raise():
  x = np.zeros((64, 64, 3), np.float32)
  with pytest.raises(ValueError, match="161"):
    ms_ssim(x, x)
  with pytest.raises(ValueError, match="11"):
    ssim(x[:8], x[:8])


def test_uint8_inputs_give_the_numbers_of_the_float_inputs_over_255():
  # One pixel rule (jiqa.images.as_float_images): uint8 is x / 255, not raw 0..255.
  a, b = _batch()
  a8, b8 = np.round(a * 255).astype(np.uint8), np.round(b * 255).astype(np.uint8)
  for name, fn in JIT.items():
    got = np.asarray(fn(a8, b8))
    want = np.asarray(fn(a8.astype(np.float32) / 255, b8.astype(np.float32) / 255))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)
  # The astronaut + noise pair, as a user would pass it: about 26 dB, not -22 dB.
  x = skimage.data.astronaut()[:64, :64]
  noisy = np.clip(x + np.random.default_rng(0).normal(0, 12.75, x.shape), 0, 255).astype(np.uint8)
  want = skimage.metrics.peak_signal_noise_ratio(x, noisy, data_range=255)
  assert 20 < want < 35
  np.testing.assert_allclose(float(psnr(x, noisy)), want, rtol=1e-4)
  u16 = a8.astype(np.uint16) * 257
  np.testing.assert_allclose(JIT["psnr"](u16, b8.astype(np.uint16) * 257), JIT["psnr"](a8, b8),
                             rtol=1e-5)


@pytest.mark.parametrize("metric", [psnr, ssim, ms_ssim, gmsd])
def test_empty_batches_and_other_integer_types_raise(metric):
  empty = np.zeros((0, 176, 176, 3), np.float32)
  with pytest.raises(ValueError, match="^a: the batch is empty"):
    metric(empty, empty)
  ints = np.zeros((176, 176, 3), np.int64)
  with pytest.raises(ValueError, match="^a: .*uint8"):
    metric(ints, ints)
  with pytest.raises(ValueError, match=r"^b: .*\[0, 1\]"):
    metric(np.zeros((176, 176, 3), np.float32), np.full((176, 176, 3), 255.0, np.float32))

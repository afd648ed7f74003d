"""map_signature: the extra per-pixel statistics and the pooled signature against numpy/scipy."""

import numpy as np
import pytest
from scipy import ndimage

from jiqa.models.map_signature import NUM_EXTRA, change_weights, extra_maps, signature

Y = np.array([0.299, 0.587, 0.114])


def _box(x, k):
  return ndimage.uniform_filter(x, size=(1, k, k), mode="nearest")


def _pair(seed=0):
  rng = np.random.default_rng(seed)
  a = rng.uniform(0.2, 0.8, (2, 16, 20, 3)).astype(np.float32)
  return a, rng


def test_identical_pairs_give_zero_and_shapes():
  a, _ = _pair()
  e = np.asarray(extra_maps(a, a))
  assert e.shape == (2, 16, 20, NUM_EXTRA)
  np.testing.assert_allclose(e, 0.0, atol=1e-6)


def test_flat_share_and_chroma_share_against_numpy():
  a, rng = _pair(1)
  a = ndimage.gaussian_filter(a, (0, 3, 3, 0)).astype(np.float32)    # smooth content
  # b: a quantised to 8 levels per channel (flattens the smooth regions).
  b = (np.round(a * 8) / 8).astype(np.float32)
  got = np.asarray(extra_maps(a, b))
  la, lb = a.astype(np.float64) @ Y, b.astype(np.float64) @ Y

  def flat(l):
    p = np.pad(l, ((0, 0), (0, 1), (0, 1)), mode="edge")
    gx, gy = p[:, :-1, 1:] - p[:, :-1, :-1], p[:, 1:, :-1] - p[:, :-1, :-1]
    return ((np.abs(gx) < 1 / 255) & (np.abs(gy) < 1 / 255)).astype(np.float64)

  want = _box(flat(lb) - flat(la), 5)
  np.testing.assert_allclose(got[..., 0], want, atol=1e-5)
  assert got[..., 0].mean() > 0.05                           # quantising flattens
  # Chroma vs luma error share (BT.601 full range: Cb, Cr rows).
  m = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
  d = (b.astype(np.float64) - a) @ m.T
  e_y, e_c = _box(d[..., 0] ** 2, 3), _box(d[..., 1] ** 2 + d[..., 2] ** 2, 3)
  np.testing.assert_allclose(got[..., 2], np.log((e_c + 1e-4) / (e_y + 1e-4)) / 4, atol=2e-4)


def test_directional_and_tone_statistics_move_the_right_way():
  a, rng = _pair(2)
  a = ndimage.uniform_filter(rng.uniform(size=(1, 32, 32, 3)), size=(1, 1, 1, 1)).astype(np.float32)
  horiz = ndimage.uniform_filter(a, size=(1, 1, 7, 1), mode="nearest").astype(np.float32)
  iso = ndimage.uniform_filter(a, size=(1, 3, 3, 1), mode="nearest").astype(np.float32)
  # Blur along one direction is more anisotropic than the same blur in both.
  assert float(extra_maps(a, horiz)[..., 1].mean()) > float(extra_maps(a, iso)[..., 1].mean())
  # A contrast stretch about mid-grey: positive slope and tone_lin; a shift: ~0 slope.
  stretch = np.clip(0.5 + 1.3 * (a - 0.5), 0, 1).astype(np.float32)
  shift = np.clip(a + 0.05, 0, 1).astype(np.float32)
  s, t = np.asarray(extra_maps(a, stretch)), np.asarray(extra_maps(a, shift))
  assert s[..., 3].mean() > 0.2 and abs(t[..., 3].mean()) < 0.05
  assert s[..., 4].mean() > 0 and t[..., 5].mean() > 0


def test_signature_is_the_error_weighted_mean_std_and_mean():
  a, rng = _pair(3)
  b = a.copy()
  b[:, :8] = np.clip(b[:, :8] + 0.1 * rng.standard_normal(b[:, :8].shape), 0, 1)
  stats = rng.standard_normal((2, 16, 20, 4)).astype(np.float32)
  got = np.asarray(signature(stats, a, b))
  assert got.shape == (2, 3 * 4 + 2)
  e = _box(np.sum((b.astype(np.float64) - a) ** 2, -1), 5) + 1e-10
  w = e / e.sum(axis=(1, 2), keepdims=True)
  wm = np.einsum("nhw,nhwc->nc", w, stats)
  wsd = np.sqrt(np.einsum("nhw,nhwc->nc", w, stats ** 2) - wm ** 2)
  np.testing.assert_allclose(got[:, :4], wm, atol=1e-5)
  np.testing.assert_allclose(got[:, 4:8], wsd, atol=1e-3)
  np.testing.assert_allclose(got[:, 8:12], stats.mean(axis=(1, 2)), atol=1e-6)
  np.testing.assert_allclose(got[:, 12], (np.log(1e-6 + (e - 1e-10).mean(axis=(1, 2))) + 6) / 3,
                             atol=1e-4)
  # The weights are symmetric in (a, b) and sit on the changed half.
  np.testing.assert_array_equal(np.asarray(change_weights(a, b)), np.asarray(change_weights(b, a)))
  assert float(np.asarray(change_weights(a, b))[:, :10].sum()) > 0.999 * 2  # 5x5 reach


def test_errors():
  a, _ = _pair()
  with pytest.raises(ValueError, match="equal shape"):
    extra_maps(a, a[:, :8])

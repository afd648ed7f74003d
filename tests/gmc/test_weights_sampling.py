"""Regulator weights (LDS, Beta std) and Latin-hypercube sampling against independent references."""

import jax
import numpy as np
import pytest
import scipy.ndimage
import scipy.stats

from jiqa.gmc import sampling, weights


def test_lds_weights_match_integer_convolution():
  rng = np.random.default_rng(0)
  mos = rng.beta(2, 3, 500) * 80 + 10
  m = (mos - mos.min()) / (mos.max() - mos.min()) * 100
  bins = np.floor(m).astype(int)
  counts = np.bincount(bins, minlength=101)
  window = scipy.ndimage.gaussian_filter1d(np.eye(5)[2], sigma=2)
  window = window / window.max()
  smoothed = scipy.ndimage.convolve1d(counts, window, mode="constant")  # integer in, integer out
  smoothed = smoothed * len(mos) / smoothed.sum()
  with jax.enable_x64(True):
    np.testing.assert_allclose(np.asarray(weights.lds_weights(mos)), 100 / smoothed[bins], rtol=1e-7)
  np.testing.assert_allclose(weights.LDS_WINDOW, window, rtol=1e-7)


def test_beta_std_is_the_std_of_a_beta_with_precision_phi():
  mos = np.array([10.0, 25.0, 40.0, 55.0, 90.0])
  for phi in (3.0, 8.0):
    mu = (mos - 10) / 80
    inner = mu[1:-1]
    expected = scipy.stats.beta(inner * phi, (1 - inner) * phi).std() * 80
    with jax.enable_x64(True):
      got = np.asarray(weights.beta_std(mos, phi=phi))
    np.testing.assert_allclose(got[1:-1], expected, rtol=1e-12)
    assert got[0] == 0 and got[-1] == 0


def test_gaussian_weights_shape_and_positive():
  with jax.enable_x64(True):
    w = np.asarray(weights.gaussian_weights(np.linspace(1, 5, 50), np.full(50, 0.5)))
  assert w.shape == (50,) and np.all(w > 0)


def test_latin_hypercube_one_point_per_stratum_and_seeded():
  a = np.asarray(sampling.latin_hypercube(jax.random.key(3), 100))
  for d in range(2):
    assert sorted(np.floor(a[:, d] * 100).astype(int).tolist()) == list(range(100))
  b = np.asarray(sampling.latin_hypercube(jax.random.key(3), 100))
  c = np.asarray(sampling.latin_hypercube(jax.random.key(4), 100))
  np.testing.assert_array_equal(a, b)
  assert not np.allclose(a, c)
  pts = np.asarray(sampling.sample_points(jax.random.key(0), 50, (1.0, 5.0)))
  assert pts[:, 0].min() >= 1 and pts[:, 0].max() <= 5 and pts[:, 1].min() >= 0 and pts[:, 1].max() <= 4


@pytest.mark.parametrize("points,message", [
    ([[0.5, 1.0]], "outside the MOS range"), ([[2.0, 4.5]], "outside \\[0, 4\\]"),
    ([[2.0, float("nan")]], "NaN"), ([1.0, 2.0], "shape"),
])
def test_check_points_errors(points, message):
  with pytest.raises(ValueError, match=message):
    sampling.check_points(points, (1.0, 5.0))

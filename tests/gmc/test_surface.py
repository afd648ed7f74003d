"""Pairwise surface: brute-force agreement, std-0 rows, dtypes, mesh sharding, gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jiqa.gmc import surface
from tests.gmc._reference import brute_force


def _data(n=150, seed=0, zero_std=0):
  rng = np.random.default_rng(seed)
  y = np.round(rng.uniform(1, 5, n), 1)  # many MOS ties
  s = rng.uniform(0.3, 1.0, n)
  s[:zero_std] = 0.0
  w = rng.uniform(0.5, 2.0, n)
  preds = {"close": np.round(y + rng.normal(0, 0.4, n), 1), "far": rng.normal(size=n)}
  pts = np.stack([rng.uniform(1, 5, 7), rng.uniform(0, 4, 7)], axis=1)
  return y, s, w, preds, pts


# float64 pair weights agree with the brute force to rounding; the default float32 pair weights
# (relative error ~1e-7 each, float64 sums) move a correlation by ~1e-8 (module docstring).
@pytest.mark.parametrize("pair_dtype,atol", [("float64", 1e-10), ("float32", 1e-7)])
@pytest.mark.parametrize("block", [16, 64, 7])
@pytest.mark.parametrize("zero_std", [0, 3])
def test_matches_brute_force(block, zero_std, pair_dtype, atol):
  y, s, w, preds, pts = _data(zero_std=zero_std)
  out = surface.surface(y, preds, pts, std=s, weights=w, block=block, pair_dtype=pair_dtype)
  for name, p in preds.items():
    for k, (q, qd) in enumerate(pts):
      ref = brute_force(y, s, w, p, q, qd)
      for method in surface.METHODS:
        assert abs(out[name][method][k] - ref[method]) < atol, (name, method, k)


def test_zero_std_row_at_its_own_mos_is_finite():
  y, s, w, preds, _ = _data(zero_std=2)
  pts = np.array([[y[0], 1.0], [y[1], 0.0]])  # Q exactly at the MOS of std-0 rows
  out = surface.surface(y, preds, pts, std=s, weights=w)
  for name in preds:
    for method in surface.METHODS:
      assert np.all(np.isfinite(out[name][method]))


def test_float32_close_to_float64():
  y, s, w, preds, pts = _data(n=700)
  a = surface.surface(y, preds, pts, std=s, weights=w, dtype="float64")
  b = surface.surface(y, preds, pts, std=s, weights=w, dtype="float32")
  for name in preds:
    for method in surface.METHODS:
      np.testing.assert_allclose(b[name][method], a[name][method], atol=1e-5)


def test_eight_device_mesh_equals_one_device():
  assert len(jax.devices()) == 8, "conftest sets 8 fake CPU devices"
  y, s, w, preds, pts = _data(n=300)
  pts = np.concatenate([pts, pts[:4] * [1, 0.5]])  # 11 points: padded to 16 for 8 devices
  mesh = jax.make_mesh((8,), ("data",))
  one = surface.surface(y, preds, pts, std=s, weights=w)
  with jax.set_mesh(mesh):
    eight = surface.surface(y, preds, pts, std=s, weights=w, mesh=mesh)
  for name in preds:
    for method in surface.METHODS:
      np.testing.assert_allclose(eight[name][method], one[name][method], rtol=0, atol=1e-12)


def test_plcc_surface_matches_and_gradient_equals_finite_differences():
  y, s, w, preds, pts = _data(n=40, zero_std=1)
  p = preds["close"] + np.linspace(0, 0.01, 40)  # no ties needed for PLCC, keep it generic
  with jax.enable_x64(True):
    f = lambda q: jnp.mean(surface.plcc_surface(jnp.asarray(y), q, jnp.asarray(pts), std=jnp.asarray(s),
                                                weights=jnp.asarray(w), block=16))
    f = jax.jit(f)
    values = surface.plcc_surface(jnp.asarray(y), jnp.asarray(p), jnp.asarray(pts), std=jnp.asarray(s),
                                  weights=jnp.asarray(w), block=16)
    ref = surface.surface(y, {"p": p}, pts, std=s, weights=w, methods=("PLCC",))["p"]["PLCC"]
    np.testing.assert_allclose(np.asarray(values), ref, atol=1e-12)
    grad = np.asarray(jax.grad(f)(jnp.asarray(p)))
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)
    eps = 1e-6
    fd = np.array([(f(jnp.asarray(p + eps * e)) - f(jnp.asarray(p - eps * e))) / (2 * eps)
                   for e in np.eye(40)])
  np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-8)


def test_zero_weight_point_is_an_error():
  y, s, w, preds, _ = _data()
  with pytest.raises(ValueError, match="zero total pair weight"):  # every std 0: no pair weight
    surface.surface(y, preds, [[1.03, 0.5], [4.0, 2.0]], std=np.zeros_like(s), weights=w)

"""Norm-in-Norm loss (Li et al. 2020) against the paper's equations and PLCC (scipy)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jiqa.losses import norm_in_norm_loss

PRED = np.array([1.0, 2.0, 3.0, 5.0])
MOS = np.array([2.0, 1.0, 4.0, 3.0])


def test_hand_computed_p1_q2():
  # Paper's eqs. by hand: centre, divide by the L2 norm, L1 error / (2 * sqrt(N)).
  # pred - mean = [-1.75, -0.75, 0.25, 2.25], norm = sqrt(8.75)
  # mos  - mean = [-0.5, -1.5, 1.5, 0.5],     norm = sqrt(5)
  ph = np.array([-1.75, -0.75, 0.25, 2.25]) / np.sqrt(8.75)
  yh = np.array([-0.5, -1.5, 1.5, 0.5]) / np.sqrt(5.0)
  want = np.abs(ph - yh).sum() / (2 * np.sqrt(4))
  np.testing.assert_allclose(want, 0.4772, atol=1e-4)          # 1.9086 / 4, by hand
  np.testing.assert_allclose(norm_in_norm_loss(PRED, MOS), want, rtol=1e-5)


def test_p2_q2_equals_half_one_minus_plcc():
  # With p = q = 2, ||p_hat - y_hat||^2 = 2 - 2 rho and c = 2, so l = (1 - rho) / 2.
  rng = np.random.default_rng(0)
  pred, mos = rng.normal(size=50), rng.uniform(1, 5, size=50)
  rho = stats.pearsonr(pred, mos).statistic
  np.testing.assert_allclose(norm_in_norm_loss(pred, mos, p=2, q=2), (1 - rho) / 2, rtol=1e-4)


def test_affine_invariance_and_range():
  np.testing.assert_allclose(norm_in_norm_loss(3 * MOS - 1, MOS), 0.0, atol=1e-6)
  np.testing.assert_allclose(norm_in_norm_loss(-MOS, MOS, p=2, q=2), 1.0, atol=1e-6)
  np.testing.assert_allclose(norm_in_norm_loss(10 * PRED + 4, MOS), norm_in_norm_loss(PRED, MOS),
                             rtol=1e-5)


def test_jit_and_gradients():
  f = jax.jit(norm_in_norm_loss)
  np.testing.assert_allclose(f(PRED, MOS), norm_in_norm_loss(PRED, MOS), rtol=1e-6)
  g = jax.grad(norm_in_norm_loss)(jnp.asarray(PRED), jnp.asarray(MOS))
  assert np.all(np.isfinite(g))
  np.testing.assert_allclose(float(g.sum()), 0.0, atol=1e-5)       # shift-invariant


def test_bad_inputs_raise():
  with pytest.raises(ValueError, match="zero spread"):
    norm_in_norm_loss(PRED, np.full(4, 3.0))
  with pytest.raises(ValueError, match="mos must have the shape"):
    norm_in_norm_loss(PRED, MOS[:3])
  with pytest.raises(ValueError, match="N >= 2"):
    norm_in_norm_loss(PRED[:1], MOS[:1])
  with pytest.raises(ValueError, match="NaN"):
    norm_in_norm_loss(PRED, np.array([1.0, np.nan, 2.0, 3.0]))
  with pytest.raises(ValueError, match="p and q"):
    norm_in_norm_loss(PRED, MOS, p=0)

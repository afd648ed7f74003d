"""Spatial masks: range, shape, determinism, and each kind's geometry against numpy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jiqa.distortions import masks

KEYS = jax.random.split(jax.random.key(0), 12)


@pytest.mark.parametrize("kind", masks.MASK_KINDS)
def test_range_shape_determinism_and_traced_kind(kind):
  ix = masks.kind_index(kind)
  for key in KEYS[:4]:
    m = np.asarray(masks.mask(key, ix, 40, 56))
    assert m.shape == (40, 56) and m.dtype == np.float32
    assert m.min() >= 0.0 and m.max() <= 1.0
    np.testing.assert_array_equal(m, masks.mask(key, ix, 40, 56))
    traced = jax.jit(masks.mask, static_argnums=(2, 3))(key, jnp.int32(ix), 40, 56)
    np.testing.assert_allclose(traced, m, atol=1e-6)


@pytest.mark.parametrize("kind", ["smooth", "blobs", "rectangle", "gradient"])
def test_partial_masks_vary_in_space_and_with_the_key(kind):
  ms = np.stack([masks.mask(k, masks.kind_index(kind), 64, 64) for k in KEYS])
  assert np.mean([m.max() - m.min() > 0.3 for m in ms]) > 0.7   # spatially varying
  assert np.abs(ms[0] - ms[1]).max() > 0.05                      # key-dependent
  # Resolution-independent: the 128x128 mask box-downsampled is close to the 64x64 one.
  big = np.asarray(masks.mask(KEYS[2], masks.kind_index(kind), 128, 128))
  small = big.reshape(64, 2, 64, 2).mean((1, 3))
  assert np.abs(small - ms[2]).mean() < 0.02


def test_full_mask_is_one():
  np.testing.assert_array_equal(masks.mask(KEYS[0], 0, 8, 9), np.ones((8, 9)))


def test_rectangle_is_a_soft_box():
  m = np.asarray(masks.rectangle_mask(KEYS[3], 100, 100, softness=1e-6))
  inside = m > 0.5
  rows, cols = np.where(inside.any(1))[0], np.where(inside.any(0))[0]
  # A hard box: exactly the outer product of its row and column indicators, 20-80 % a side.
  np.testing.assert_array_equal(inside, np.outer(inside.any(1), inside.any(0)))
  assert 18 <= len(rows) <= 82 and 18 <= len(cols) <= 82
  assert rows[-1] - rows[0] + 1 == len(rows) and cols[-1] - cols[0] + 1 == len(cols)


def test_gradient_is_a_clipped_linear_ramp():
  m = np.asarray(masks.gradient_mask(KEYS[5], 80, 80), np.float64)
  assert m.min() == 0.0 and m.max() > 0.9
  # Where not clipped, a plane: fit a*x + b*y + c by least squares, residual ~ 0.
  yy, xx = np.mgrid[:80, :80]
  sel = (m > 0.01) & (m < 0.99)
  a = np.stack([xx[sel], yy[sel], np.ones(sel.sum())], 1)
  coef, *_ = np.linalg.lstsq(a, m[sel], rcond=None)
  assert np.abs(a @ coef - m[sel]).max() < 1e-4


def test_bad_kind_raises():
  with pytest.raises(ValueError, match="kind"):
    masks.mask(KEYS[0], 7, 4, 4)
  with pytest.raises(ValueError, match="mask kind"):
    masks.kind_index("circle")


def test_mask_switch_equals_mask_for_every_kind():
  key = jax.random.key(11)
  switch = jax.jit(lambda k, kind: masks.mask_switch(k, kind, 48, 40))
  for kind in range(len(masks.MASK_KINDS)):
    np.testing.assert_allclose(switch(key, jnp.int32(kind)), masks.mask(key, kind, 48, 40),
                               atol=1e-6)
  # Out-of-range kinds are clamped, as by mask().
  np.testing.assert_allclose(switch(key, jnp.int32(9)), masks.mask(key, jnp.int32(9), 48, 40),
                             atol=1e-6)

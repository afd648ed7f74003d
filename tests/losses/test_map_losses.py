"""map_loss: sparse presence + strength-on-support, and Huber / L1 regression + presence BCE,
against numpy formulas."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jiqa.losses import map_loss, map_loss_terms, presence_targets
from jiqa.models import MapOutput


def _case(seed=0):
  rng = np.random.default_rng(seed)
  true = np.zeros((2, 4, 5, 3), np.float32)
  true[0, :2, :, 0] = 0.7                 # type 0 present in sample 0
  true[1, 1, 1, 2] = -0.05                # type 2 present (one pixel) in sample 1
  pred = MapOutput(maps=rng.uniform(-1, 1, true.shape).astype(np.float32),
                   presence_logits=rng.normal(size=(2, 3)).astype(np.float32),
                   features=np.zeros((2, 1, 1, 2), np.float32))
  return pred, true


def _bce(logits, target):
  p = 1 / (1 + np.exp(-logits))
  return float(np.mean(-(target * np.log(p) + (1 - target) * np.log(1 - p))))


def test_presence_targets():
  _, true = _case()
  np.testing.assert_array_equal(presence_targets(true), [[1, 0, 0], [0, 0, 1]])
  np.testing.assert_array_equal(presence_targets(true, presence_eps=0.1), [[1, 0, 0], [0, 0, 0]])


@pytest.mark.parametrize("kind,delta", [("huber", 0.1), ("huber", 0.5), ("l1", None)])
def test_matches_numpy(kind, delta):
  pred, true = _case()
  d = np.abs(pred.maps - true).astype(np.float64)
  if kind == "huber":
    reg = np.where(d <= delta, 0.5 * d**2, delta * (d - 0.5 * delta)).mean()
    got = map_loss(pred, true, kind=kind, delta=delta, presence_weight=0.5)
  else:
    reg = d.mean()
    got = map_loss(pred, true, kind=kind, presence_weight=0.5)
  pres = _bce(pred.presence_logits.astype(np.float64), np.array([[1, 0, 0], [0, 0, 1]]))
  np.testing.assert_allclose(got, reg + 0.5 * pres, rtol=1e-5)
  terms = map_loss_terms(pred, true, kind=kind, delta=delta or 0.1)
  np.testing.assert_allclose(terms["map"], reg, rtol=1e-5)
  np.testing.assert_allclose(terms["presence"], pres, rtol=1e-5)


def test_zero_at_perfect_prediction_and_jit_grad():
  _, true = _case()
  perfect = MapOutput(jnp.asarray(true), jnp.asarray([[30., -30, -30], [-30, -30, 30]]),
                      jnp.zeros((2, 1, 1, 1)))
  assert float(map_loss(perfect, true)) < 1e-10
  pred, _ = _case(1)
  f = jax.jit(lambda m, l: map_loss(MapOutput(m, l, pred.features), true))
  np.testing.assert_allclose(f(pred.maps, pred.presence_logits), map_loss(pred, true), rtol=1e-6)
  gm, gl = jax.grad(lambda m, l: map_loss(MapOutput(m, l, pred.features), true), argnums=(0, 1))(
      jnp.asarray(pred.maps), jnp.asarray(pred.presence_logits))
  assert np.all(np.isfinite(gm)) and np.all(np.isfinite(gl))


def test_bad_inputs_raise():
  pred, true = _case()
  with pytest.raises(ValueError, match="true_maps must have the predicted maps' shape"):
    map_loss(pred, true[..., :2])
  with pytest.raises(ValueError, match="presence_logits"):
    map_loss(pred._replace(presence_logits=pred.presence_logits[:, :2]), true)
  with pytest.raises(ValueError, match="kind"):
    map_loss(pred, true, kind="l2")
  with pytest.raises(ValueError, match="delta"):
    map_loss(pred, true, delta=0.0)


def _sparse_case(seed=0):
  rng = np.random.default_rng(seed)
  pred, true = _case(seed)
  return pred._replace(strength=rng.uniform(-1, 1, true.shape).astype(np.float32),
                       pixel_presence_logits=rng.normal(size=true.shape).astype(np.float32)), true


def _balanced_bce(logits, y, axes):
  logits, y = np.asarray(logits, np.float64), np.asarray(y, np.float64)
  b = -(y * np.log(1 / (1 + np.exp(-logits))) + (1 - y) * np.log(1 - 1 / (1 + np.exp(-logits))))
  pos = (b * y).sum(axes) / np.maximum(y.sum(axes), 1)
  neg = (b * (1 - y)).sum(axes) / np.maximum((1 - y).sum(axes), 1)
  return float(np.mean(pos + neg))


def test_sparse_matches_numpy():
  pred, true = _sparse_case()
  sup = (np.abs(true) > 0).astype(np.float64)
  pres = _balanced_bce(pred.pixel_presence_logits, sup, (0, 1, 2))
  image = _balanced_bce(pred.presence_logits, [[1, 0, 0], [0, 0, 1]], (0,))
  # Strength: type 0 over its 10 support pixels, type 2 over its one pixel; type 1 absent.
  e0 = np.abs(pred.strength[0, :2, :, 0] - 0.7).mean()
  e2 = abs(pred.strength[1, 1, 1, 2] + 0.05)
  terms = map_loss_terms(pred, true, kind="sparse")
  np.testing.assert_allclose(terms["presence"], pres, rtol=1e-5)
  np.testing.assert_allclose(terms["image"], image, rtol=1e-5)
  np.testing.assert_allclose(terms["strength"], (e0 + e2) / 2, rtol=1e-5)
  got = map_loss(pred, true, kind="sparse", presence_weight=0.5, strength_weight=3.0)
  np.testing.assert_allclose(got, 0.5 * (pres + image) + 3.0 * (e0 + e2) / 2, rtol=1e-5)


def test_sparse_ignores_strength_off_the_support_and_balances_types():
  pred, true = _sparse_case(1)
  sup = np.abs(true) > 0
  moved = pred._replace(strength=np.where(sup, pred.strength, 5.0 - pred.strength))
  np.testing.assert_allclose(map_loss(moved, true, kind="sparse"),
                             map_loss(pred, true, kind="sparse"), rtol=1e-6)
  # A one-pixel type weighs as much as a ten-pixel one: the perfect strength on type 0
  # alone leaves half the strength error.
  fixed = pred._replace(strength=np.where(sup[..., :1].repeat(3, -1) & (np.arange(3) == 0),
                                          true, pred.strength))
  t = map_loss_terms(fixed, true, kind="sparse")["strength"]
  np.testing.assert_allclose(t, abs(pred.strength[1, 1, 1, 2] + 0.05) / 2, rtol=1e-5)


def test_sparse_needs_the_new_outputs():
  pred, true = _case()
  with pytest.raises(ValueError, match="strength and pixel_presence_logits"):
    map_loss(pred, true, kind="sparse")
  spred, _ = _sparse_case()
  with pytest.raises(ValueError, match="true maps' shape"):
    map_loss(spred._replace(strength=spred.strength[..., :2]), true, kind="sparse")


def test_type_cross_entropy_matches_numpy_and_weights_the_total():
  from jiqa.losses.maps import type_cross_entropy

  pred, true = _sparse_case()
  logits = np.asarray(pred.presence_logits, np.float64)
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  want = (-logp[0, 0] - logp[1, 2]) / 2  # one present type per sample
  terms = map_loss_terms(pred, true, kind="sparse")
  np.testing.assert_allclose(terms["type"], want, rtol=1e-5)
  base = map_loss(pred, true, kind="sparse")
  np.testing.assert_allclose(map_loss(pred, true, kind="sparse", type_weight=0.5),
                             base + 0.5 * want, rtol=1e-5)
  # Two present types share the target; a pristine image is skipped.
  t = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
  l2 = np.array([[0.3, -1.0, 2.0], [5.0, 0.0, 0.0]])
  lp = l2[0] - np.log(np.exp(l2[0]).sum())
  np.testing.assert_allclose(type_cross_entropy(l2, t), -(lp[0] + lp[1]) / 2, rtol=1e-5)
  assert float(type_cross_entropy(l2, np.zeros((2, 3)))) == 0.0


def test_balanced_type_cross_entropy_weighs_each_type_equally():
  """balanced=True: images of a type seen k times in the batch weigh 1/k (numpy by hand)."""
  from scipy.special import log_softmax

  from jiqa.losses.maps import type_cross_entropy
  rng = np.random.default_rng(0)
  logits = rng.standard_normal((5, 4))
  t = np.zeros((5, 4))
  t[[0, 1, 2], 0] = 1.0      # type 0 three times
  t[3, 2] = 1.0              # type 2 once
  # image 4 is pristine: skipped
  ce = -log_softmax(logits, axis=-1)
  w = np.array([1 / 3, 1 / 3, 1 / 3, 1.0])
  want = np.sum(w * ce[[0, 1, 2, 3], [0, 0, 0, 2]]) / w.sum()
  np.testing.assert_allclose(type_cross_entropy(logits, t, balanced=True), want, rtol=1e-5)
  plain = np.mean(ce[[0, 1, 2, 3], [0, 0, 0, 2]])
  np.testing.assert_allclose(type_cross_entropy(logits, t), plain, rtol=1e-5)

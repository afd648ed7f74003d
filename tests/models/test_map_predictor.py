"""MapPredictor: exact anti-symmetry, f(A, A) = 0, symmetric presence, jit, errors, trainability."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from jiqa.losses import map_loss
from jiqa.models import MapPredictor

T = 5
CONFIGS = {
    "unet": dict(backbone="unet", width=8, depth=2),
    "vit": dict(backbone="vit", width=16, depth=2, patch_size=8, num_heads=2),
}


def rngs(seed=0):
  """Parameter rngs on the "rbg" PRNG: its initialisers compile ~8x faster than threefry's on CPU."""
  return nnx.Rngs(jax.random.key(seed, impl="rbg"))


def _pair(seed=0, n=3, h=32, w=48):
  ka, kb = jax.random.split(jax.random.key(seed))
  return jax.random.uniform(ka, (n, h, w, 3)), jax.random.uniform(kb, (n, h, w, 3))


class Jitted:
  """A predictor and its functional, jitted application ``apply(a, b)``."""

  def __init__(self, model):
    self.model = model
    self.graphdef, self.state = nnx.split(model)
    self._apply = jax.jit(lambda state, a, b: nnx.merge(self.graphdef, state)(a, b))
    self.stride = model.stride
    self.feature_channels = model.feature_channels

  def __call__(self, a, b):
    return self._apply(self.state, a, b)


@pytest.fixture(scope="module", params=list(CONFIGS))
def predictor(request):
  return Jitted(MapPredictor(T, rngs=rngs(request.param == "vit"), **CONFIGS[request.param]))


def test_exact_antisymmetry_and_zero_on_identical_pairs(predictor):
  a, b = _pair()
  ab, ba, aa = predictor(a, b), predictor(b, a), predictor(a, a)
  assert ab.maps.shape == (3, 32, 48, T) and ab.presence_logits.shape == (3, T)
  assert ab.maps.dtype == jnp.float32
  np.testing.assert_allclose(np.asarray(ab.maps), -np.asarray(ba.maps), rtol=0, atol=1e-6)
  np.testing.assert_allclose(np.asarray(aa.maps), 0.0, rtol=0, atol=1e-6)
  # Non-trivial output, inside the engine's range.
  assert float(jnp.abs(ab.maps).max()) > 1e-3
  assert float(jnp.abs(ab.maps).max()) <= 1.0


def test_presence_symmetric_and_features_split(predictor):
  a, b = _pair(seed=1)
  ab, ba = predictor(a, b), predictor(b, a)
  np.testing.assert_allclose(ab.presence_logits, ba.presence_logits, rtol=0, atol=1e-6)
  c = ab.features.shape[-1] // 2
  assert ab.features.shape == (3, 32 // predictor.stride, 48 // predictor.stride, 2 * c)
  np.testing.assert_allclose(ab.features[..., :c], ba.features[..., :c], rtol=0, atol=1e-6)
  np.testing.assert_allclose(ab.features[..., c:], -ba.features[..., c:], rtol=0, atol=1e-6)
  assert c * 2 == predictor.feature_channels


def test_per_sample_outputs_do_not_depend_on_the_rest_of_the_batch(predictor):
  a, b = _pair(seed=2)
  c, d = _pair(seed=5)
  full = predictor(a, b)
  mixed = predictor(a.at[0].set(c[0]).at[2].set(c[2]), b.at[0].set(d[0]).at[2].set(d[2]))
  np.testing.assert_allclose(full.maps[1], mixed.maps[1], atol=1e-6)
  np.testing.assert_allclose(full.presence_logits[1], mixed.presence_logits[1], atol=1e-6)


def test_bad_inputs_raise(predictor):
  a, b = _pair()
  predictor = predictor.model      # errors are raised while tracing, before any computation
  with pytest.raises(ValueError, match="same shape"):
    predictor(a, b[:, :16])
  with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
    predictor(a[0], b[0])
  with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
    predictor(a[..., :2], b[..., :2])
  with pytest.raises(ValueError, match="multiples of the backbone's total stride"):
    predictor(a[:, :30], b[:, :30])


def test_constructor_errors():
  with pytest.raises(ValueError, match="backbone"):
    MapPredictor(3, backbone="resnet", rngs=rngs())
  with pytest.raises(ValueError, match="num_types"):
    MapPredictor(0, rngs=rngs())
  with pytest.raises(ValueError, match="multiple"):
    MapPredictor(3, backbone="vit", width=18, num_heads=4, rngs=rngs())


@pytest.mark.slow
def test_training_reduces_map_loss_with_finite_gradients():
  """A few Adam steps on one fixed pair with a known signed map lower the loss."""
  f = MapPredictor(2, width=4, depth=2, rngs=rngs())
  a, _ = _pair(seed=4, n=2, h=16, w=16)
  b = jnp.clip(a + 0.3, 0, 1)                       # b brighter than a everywhere
  true = jnp.zeros((2, 16, 16, 2)).at[..., 0].set(0.6)
  graphdef, state = nnx.split(f)
  opt = optax.adam(1e-2)
  opt_state = opt.init(state)

  @jax.jit
  def step(state, opt_state):
    def loss_fn(state):
      return map_loss(nnx.merge(graphdef, state)(a, b), true)
    loss, grads = jax.value_and_grad(loss_fn)(state)
    updates, opt_state = opt.update(grads, opt_state, state)
    return optax.apply_updates(state, updates), opt_state, loss, grads

  losses = []
  for i in range(20):
    state, opt_state, loss, grads = step(state, opt_state)
    if i == 0:
      assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))
    losses.append(float(loss))
  assert losses[-1] < 0.5 * losses[0], losses
  out = nnx.merge(graphdef, state)(a, b)
  assert float(out.maps[..., 0].mean()) > 0.15         # learned the sign
  assert float(out.presence_logits[:, 0].min()) > float(out.presence_logits[:, 1].max())

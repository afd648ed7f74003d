"""The feature scorers (jiqa.models.feature_scorers): an EncoderScorer learns to rank.

Their shared properties (anti-symmetry, preference, companions) are tested with
every scorer in tests/models/test_scorer.py.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from jiqa.losses import ranking_loss
from jiqa.models import EncoderScorer


def rngs(seed=0):
  """Parameter rngs on the "rbg" PRNG: its initialisers compile ~8x faster than threefry's on CPU."""
  return nnx.Rngs(jax.random.key(seed, impl="rbg"))


@pytest.mark.slow
def test_ranking_training_orders_a_noise_tier():
  """Adam on the ranking loss learns to rank a tier of increasingly noisy images."""
  scorer = EncoderScorer(width=4, depth=2, hidden=8, rngs=rngs(4))
  key = jax.random.key(8)
  ref = jax.random.uniform(key, (2, 16, 16, 3)) * 0.5 + 0.25
  noise = jax.random.normal(jax.random.fold_in(key, 1), (2, 1, 16, 16, 3))
  sev = jnp.array([0.0, 0.05, 0.1, 0.2])
  tiers = jnp.clip(ref[:, None] + sev[None, :, None, None, None] * noise, 0, 1)   # (2, 4, ...)
  images = tiers.reshape(-1, 16, 16, 3)
  refs = jnp.repeat(ref, 4, axis=0)
  severity = jnp.tile(sev, (2, 1))
  graphdef, state = nnx.split(scorer)
  opt = optax.adam(1e-2)
  opt_state = opt.init(state)

  @jax.jit
  def step(state, opt_state):
    def loss_fn(state):
      return ranking_loss(nnx.merge(graphdef, state)(refs, images).reshape(2, 4), severity)
    loss, grads = jax.value_and_grad(loss_fn)(state)
    updates, opt_state = opt.update(grads, opt_state, state)
    return optax.apply_updates(state, updates), opt_state, loss, grads

  first = None
  for i in range(25):
    state, opt_state, loss, grads = step(state, opt_state)
    if first is None:
      first = float(loss)
      assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))
  assert float(loss) < first
  scores = np.asarray(nnx.merge(graphdef, state)(refs, images)).reshape(2, 4)
  assert np.all(np.diff(scores, axis=1) < 0), scores      # strictly worse with more noise

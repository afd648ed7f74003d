"""jiqa.training.state: per-model gradient clipping against optax's global-norm clipping."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from jiqa.training import state as state_lib


def _grads(seed, scale_a, scale_b):
  k = jax.random.split(jax.random.key(seed), 3)
  return {"map_predictor": {"conv": {"w": scale_a * jax.random.normal(k[0], (3, 3, 4)),
                                     "b": scale_a * jax.random.normal(k[1], (4,))}},
          "scorer": {"theta": scale_b * jax.random.normal(k[2], (16,))}}


@pytest.mark.parametrize("scales", [(10.0, 0.01), (0.01, 10.0), (5.0, 5.0), (0.01, 0.02)])
def test_each_model_is_clipped_as_optax_clips_it_alone(scales):
  g = _grads(0, *scales)
  got, _ = state_lib.clip_by_model_norm(1.0).update(g, optax.EmptyState())
  clip = optax.clip_by_global_norm(1.0)
  for name in g:  # the reference: optax on each model's gradient alone
    want, _ = clip.update(g[name], clip.init(g[name]))
    for a, b in zip(jax.tree.leaves(got[name]), jax.tree.leaves(want)):
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


def test_a_model_s_update_does_not_depend_on_the_other_model():
  small, large = _grads(1, 3.0, 0.01), _grads(1, 3.0, 50.0)
  a, _ = state_lib.clip_by_model_norm(1.0).update(small, optax.EmptyState())
  b, _ = state_lib.clip_by_model_norm(1.0).update(large, optax.EmptyState())
  for x, y in zip(jax.tree.leaves(a["map_predictor"]), jax.tree.leaves(b["map_predictor"])):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
  # ... whereas one global norm lets the scorer's gradient shrink the map predictor's step.
  c, _ = optax.clip_by_global_norm(1.0).update(large, optax.EmptyState())
  assert float(optax.tree.norm(c["map_predictor"])) < 0.5 * float(optax.tree.norm(
      a["map_predictor"]))


def test_bad_max_norm_is_refused():
  with pytest.raises(ValueError, match="max_norm"):
    state_lib.clip_by_model_norm(0.0)


def test_optimizer_uses_per_model_clipping_only_when_configured():
  def cfg(per_model):
    c = ml_collections.ConfigDict({"optim": {"learning_rate": 1.0, "warmup_steps": 1,
                                             "weight_decay": 0.0, "clip_norm": 1.0}})
    if per_model is not None:
      c.optim.clip_per_model = per_model
    return c
  # Two steps, the same map gradient, a large then a zero scorer gradient: one global norm
  # scales the map's two gradients differently (Adam sees it), per-model clipping does not.
  g1 = _grads(2, 3.0, 50.0)
  g2 = {"map_predictor": g1["map_predictor"], "scorer": jax.tree.map(jnp.zeros_like,
                                                                     g1["scorer"])}
  params = jax.tree.map(jnp.zeros_like, g1)
  second = {}
  for per_model in (None, False, True):
    tx = state_lib.make_optimizer(cfg(per_model), total_steps=10)
    _, st = tx.update(g1, tx.init(params), params)
    second[per_model], _ = tx.update(g2, st, params)
  def flat(t):
    return np.concatenate([np.ravel(x) for x in jax.tree.leaves(t["map_predictor"])])
  np.testing.assert_array_equal(flat(second[None]), flat(second[False]))
  assert np.abs(flat(second[None]) - flat(second[True])).max() > 1e-3
  alone = {"map_predictor": g1["map_predictor"]}  # the map predictor trained alone
  tx = state_lib.make_optimizer(cfg(True), total_steps=10)
  p1 = {"map_predictor": params["map_predictor"]}
  _, st = tx.update(alone, tx.init(p1), p1)
  want, _ = tx.update(alone, st, p1)
  np.testing.assert_allclose(flat(second[True]), flat(want), rtol=1e-6)

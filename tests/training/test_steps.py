"""One train step gives the same loss and parameters on 1 device as on 8."""

import jax
import jax.numpy as jnp
import pytest
import numpy as np

from jiqa.training import loop, mesh as mesh_lib, steps


def _one_step(config, num_devices):
  m = mesh_lib.make_mesh(num_devices)
  pool = loop.load_pool(config)
  with jax.set_mesh(m):
    graphdef, state, engine, tx = loop.setup(config, m)
    step = steps.make_train_step(graphdef, config, engine, tx, mesh=m)
    state, metrics = step(state, mesh_lib.replicate(pool.train, m),
                          mesh_lib.replicate(jax.random.key(0), m))
    return jax.device_get(state["params"]), jax.device_get(metrics)


@pytest.mark.slow  # compiles the engine + models: minutes on 2 shared cores
def test_one_step_same_on_1_and_8_devices(tiny_config):
  p1, m1 = _one_step(tiny_config, 1)
  p8, m8 = _one_step(tiny_config, 8)
  np.testing.assert_allclose(m1["loss"], m8["loss"], rtol=1e-5)
  assert np.isfinite(m1["loss"]) and m1["loss"] > 0
  for a, b in zip(jax.tree.leaves(p1), jax.tree.leaves(p8)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # compiles the engine + models: minutes on 2 shared cores
def test_batch_is_sharded_and_uses_training_types_only(tiny_config):
  m = mesh_lib.make_mesh(8)
  pool = loop.load_pool(tiny_config)
  engine = steps.engine_config(tiny_config)
  assert "white_noise" not in engine.types and "darken" in engine.types
  with jax.set_mesh(m):
    batch = jax.jit(lambda k, p: steps.make_batch(k, p, config=tiny_config, engine=engine,
                                                  mesh=m))(jax.random.key(1), pool.train)
  from jiqa import distortions
  wn = distortions.names().index("white_noise")
  assert float(np.abs(np.asarray(batch["maps"])[..., wn]).max()) == 0.0
  assert batch["tier_images"].shape == (8, 3, 16, 16, 3)
  assert np.all(np.diff(np.asarray(batch["tier_severity"]), axis=1) > 0)


def test_ranking_scope_batch_compares_across_tiers():
  # Two tiers, each ordered right within itself; across tiers the score of tier 0's
  # worst image (severity 0.9) is above tier 1's best (severity 0.1).
  scores = jnp.array([[2.0, 1.0], [0.0, -1.0]])
  severity = jnp.array([[0.5, 0.9], [0.1, 0.2]])
  within = steps.ranking_loss(scores, severity, kind="pairwise", scope="tier")
  across = steps.ranking_loss(scores, severity, kind="pairwise", scope="batch")
  # Within tiers: both pairs right by margin 1, softplus(-1) each.
  assert abs(float(within) - float(jax.nn.softplus(-1.0))) < 1e-6
  assert float(across) > float(within)
  with pytest.raises(ValueError, match="ranking_scope"):
    steps.ranking_loss(scores, severity, kind="pairwise", scope="content")

"""The map predictor trains as it would alone, whatever the scorer (per-model clipping): the
default config and ``pipeline:aligned`` differ only in the scorer's deviations, and their map
predictors are bit for bit the same after the same steps (slow: two main-job compilations)."""

import jax
import numpy as np
import pytest

from jiqa.configs import pipeline
from jiqa.training import loop, mesh as mesh_lib, steps as steps_lib


def _map_params_after(name, n):
  config = pipeline.get_config(name)
  mesh = mesh_lib.make_mesh(1)
  pool = loop.load_pool(config)
  with jax.set_mesh(mesh):
    graphdef, state, engine, tx = loop.setup(config, mesh)
    pool_dev = mesh_lib.replicate(pool.train, mesh)
    key = mesh_lib.replicate(jax.random.key(int(config.seed)), mesh)
    step_fn = steps_lib.make_train_step(graphdef, config, engine, tx, mesh=mesh)
    for _ in range(n):
      state, metrics = step_fn(state, pool_dev, key)
    return (jax.tree.map(np.asarray, jax.device_get(state["params"]["map_predictor"])),
            jax.tree.map(np.asarray, jax.device_get(state["params"]["scorer"])))


@pytest.mark.slow
def test_map_predictor_is_the_same_with_tolerant_and_aligned_scorers():
  tolerant_map, tolerant_scorer = _map_params_after("", 10)
  aligned_map, aligned_scorer = _map_params_after("aligned", 10)
  for a, b in zip(jax.tree.leaves(tolerant_map), jax.tree.leaves(aligned_map)):
    np.testing.assert_array_equal(a, b)
  # ... while the scorers did see different deviations.
  assert any(not np.array_equal(a, b) for a, b in
             zip(jax.tree.leaves(tolerant_scorer), jax.tree.leaves(aligned_scorer)))

"""make_batch(single_size=...): the last triplets carry exactly one distortion; StepOptions reads
train.map_type_weight."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jiqa import distortions
from jiqa.training import steps


def test_single_size_gives_one_type_per_triplet_at_the_end():
  eng = distortions.EngineConfig(types=("darken", "white_noise"), max_distortions=2,
                                 min_distortions=2, pristine_prob=0.0)
  pool = jnp.asarray(np.random.default_rng(0).uniform(size=(2, 40, 40, 3)), jnp.float32)
  b = steps.make_batch(jax.random.key(0), pool, engine=eng, crop_size=16, batch_size=4,
                       single_size=2)
  assert b["reference"].shape == (4, 16, 16, 3) and b["maps"].shape[0] == 4
  present = np.any(np.abs(np.asarray(b["maps"])) > 0, axis=(1, 2)).sum(-1)
  np.testing.assert_array_equal(present, [2, 2, 1, 1])
  with pytest.raises(ValueError, match="single_size"):
    steps.make_batch(jax.random.key(0), pool, engine=eng, crop_size=16, batch_size=2,
                     single_size=3)


def test_step_options_and_batch_sizes_read_the_new_keys():
  c = ml_collections.ConfigDict({"task": "map", "train": {"map_type_weight": 0.5},
                                 "data": {"crop_size": 16, "batch_size": 8, "single_size": 4,
                                          "tier_batch_size": 0}})
  assert steps.StepOptions.from_config(c).map_type_weight == 0.5
  assert steps.batch_sizes(c)["single_size"] == 4

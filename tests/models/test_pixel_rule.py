"""The models follow jiqa's one pixel rule: uint8 is x / 255, uint16 x / 65535, other ints refused."""

import jax
import numpy as np
import pytest
from flax import nnx

from jiqa import models


@pytest.fixture(scope="module")
def pair():
  rng = np.random.default_rng(0)
  ref = rng.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
  dist = np.clip(ref.astype(int) + rng.integers(-30, 30, ref.shape), 0, 255).astype(np.uint8)
  return ref, dist


def test_scorer_reads_uint8_as_x_over_255(pair):
  ref, dist = pair
  scorer = models.make_scorer(backbone="stats", antisymmetric=False, width=8, depth=2,
                              rngs=nnx.Rngs(0))
  np.testing.assert_allclose(scorer(ref, dist), scorer(ref / 255.0, dist / 255.0), atol=1e-6)
  np.testing.assert_allclose(scorer(ref.astype(np.uint16) * 257, dist),
                             scorer(ref / 255.0, dist / 255.0), atol=1e-6)
  with pytest.raises(ValueError, match="ambiguous scale"):
    scorer(ref.astype(np.int64), dist)


def test_map_predictor_reads_uint8_as_x_over_255(pair):
  ref, dist = pair
  f = models.MapPredictor(25, width=4, depth=2, rngs=nnx.Rngs(jax.random.key(1)))
  np.testing.assert_allclose(f(ref, dist).maps, f(ref / 255.0, dist / 255.0).maps, atol=1e-5)

"""The pairs of the map figures (jiqa.evaluation.map_pairs): the single-distortion engine."""

import jax
import numpy as np
import pytest

from jiqa import distortions
from jiqa.evaluation import map_pairs


def test_single_engine():
  e = map_pairs.single_engine(distortions.EngineConfig())
  assert (e.min_distortions, e.max_distortions, e.pristine_prob) == (1, 1, 0.0)
  assert "full" not in e.mask_kinds and abs(sum(e.mask_probs) - 1) < 1e-9


def test_make_single_pairs_rejects_bad_images():
  with pytest.raises(ValueError, match="images must be a non-empty"):
    map_pairs.make_single_pairs(jax.random.key(0), np.zeros((0, 8, 8, 3)),
                                engine=distortions.EngineConfig(), crop_size=8, pairs_per_image=1)

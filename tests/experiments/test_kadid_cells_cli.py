"""experiments/kadid_cells: the scorer adapter takes either call order; the printed
tables carry the figures of the result."""

import jax.numpy as jnp
import numpy as np
import pytest

from experiments import kadid_cells as exp


class ReferenceFirst:
  def __call__(self, reference, images):
    return jnp.mean(images - 2 * reference, axis=(1, 2, 3))


class ImagesFirst:
  def __call__(self, images, reference):
    return jnp.mean(images - 2 * reference, axis=(1, 2, 3))


def test_scorer_adapter_follows_the_signature():
  rng = np.random.default_rng(0)
  ref, dist = rng.random((2, 3, 8, 8, 3)).astype(np.float32)
  want = np.mean(dist - 2 * ref, axis=(1, 2, 3))          # numpy by hand
  for scorer in (ReferenceFirst(), ImagesFirst()):
    np.testing.assert_allclose(exp.scorer_predictor(scorer)(ref, dist), want, rtol=1e-5)

  class Unclear:
    def __call__(self, a, b):
      return a

  with pytest.raises(ValueError, match="call order"):
    exp.scorer_predictor(Unclear())


def test_tables_print_the_figures():
  wt = {"mean_spearman": 0.875, "strict_share": 0.5, "spearman": {}, "strict_types": []}
  result = {"num_images": 2, "images": ["a", "b"], "size": [384, 512], "num_cells": 10,
            "gmc": {"samples": [[0, 0]] * 7},
            "predictors": {"psnr": {"spearman": 0.6712, "pearson": 0.5, "kendall": None,
                                    "gmc": {"PLCC": 0.1, "SRCC": 0.2, "KRCC": 0.3},
                                    "within_type": {"mos": wt, "severity": wt}}},
            "fidelity": {"jpeg": {"mean_abs_gap": 1.234, "gap": [1, -1, 2, 0, 0.5]}}}
  text = exp.tables(result)
  assert "| psnr | 0.671 | 0.500 |   n/a | 0.100 | 0.200 | 0.300 | 0.875 | 0.50 |" in text
  assert "| jpeg | 1.23 | +1.00 -1.00 +2.00 +0.00 +0.50 |" in text
  assert "7 sample points" in text


def test_matched_gaps_pick_the_nearest_contents_by_hand():
  from experiments import engine_fidelity

  kadid = np.broadcast_to(np.arange(81.0)[:, None, None], (81, 3, 5)).copy()
  kadid[:, 2] += 5.0                                  # a non-anchor type 5 dB above
  engine = np.full((1, 3, 5), 10.2)
  m = engine_fidelity.matched_gaps(engine, kadid, [0, 1], k=3)
  assert sorted(m["neighbours"][0]) == [9, 10, 11]
  np.testing.assert_allclose(m["gap"][0], 0.2)       # 10.2 - mean(9, 10, 11)
  np.testing.assert_allclose(m["gap"][2], 0.2 - 5.0)
  np.testing.assert_allclose(m["mean_abs_gap"], [0.2, 0.2, 4.8])

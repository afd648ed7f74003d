"""The run yardstick: a scorer's predictor equals the scorer, skips and bad options explained."""

import numpy as np
import pytest

from jiqa.evaluation import kadid_cells
from jiqa.evaluation import kadid_yardstick as ky


def _noisy_photo():
  rng = np.random.default_rng(0)
  return np.clip(0.4 + 0.2 * rng.standard_normal((32, 32, 3)), 0, 1).astype(np.float32)


def test_scorer_predictor_equals_the_scorer_and_summary_lines():
  import ml_collections
  from flax import nnx

  from jiqa.models import DeviationScorer

  s = DeviationScorer(num_scales=2, rngs=nnx.Rngs(0))
  r = np.stack([_noisy_photo()] * 2)
  d = np.clip(r + 0.1, 0, 1).astype(np.float32)
  np.testing.assert_allclose(ky.scorer_predictor(s)(r, d), np.asarray(s(r, d)), rtol=1e-4)
  cfg = ml_collections.ConfigDict({"data": {"holdout_images": ()}, "eval": {}})
  res = ky.run_yardstick(cfg, s)
  assert "skipped" in res and ky.summary_lines(res)[0].startswith("KADID-10k cells: skipped")


def test_run_yardstick_refuses_unknown_metrics():
  import ml_collections

  from jiqa.models import DeviationScorer
  from flax import nnx

  if not kadid_cells.default_reference().is_file():
    pytest.skip("KADID-10k reference file not available")
  cfg = ml_collections.ConfigDict({"data": {"holdout_images": ("chelsea",)},
                                   "eval": {"kadid_metrics": "psnr,vif"}})
  with pytest.raises(ValueError, match="kadid_metrics"):
    ky.run_yardstick(cfg, DeviationScorer(num_scales=1, rngs=nnx.Rngs(0)))


def test_untrained_baseline_is_measured_and_differenced_on_the_same_cells():
  import ml_collections
  from flax import nnx

  from jiqa.models import DeviationScorer

  if not kadid_cells.default_reference().is_file():
    pytest.skip("KADID-10k reference file not available")
  cfg = ml_collections.ConfigDict({"data": {"holdout_images": ("chelsea",)},
                                   "eval": {"kadid_metrics": "psnr", "kadid_size": (32, 48),
                                            "kadid_gmc_samples": 3}})
  trained = DeviationScorer(num_scales=2, rngs=nnx.Rngs(0))
  trained.theta[...] = trained.theta[...].at[0].set(3.0)   # most weight on GMS std, scale 0
  prior = DeviationScorer(num_scales=2, rngs=nnx.Rngs(0))
  res = ky.run_yardstick(cfg, trained, untrained=prior)
  p = res["predictors"]
  assert set(p) == {"scorer", "psnr", "untrained"}
  assert p["untrained"]["cell_means"] != p["scorer"]["cell_means"]  # two different weightings
  assert "untrained" not in res["differences"]      # a baseline, not compared itself
  d = res["differences"]["scorer"]["untrained"]
  np.testing.assert_allclose(d["difference"], p["scorer"]["spearman"] - p["untrained"]["spearman"],
                             atol=1e-12)
  assert d["low"] <= d["difference"] <= d["high"]
  assert "untrained" in ky.summary_lines(res)[-1]
  # The same scorer as its own baseline: every cell equal, a zero difference.
  same = ky.run_yardstick(cfg, prior, untrained=prior)
  z = same["differences"]["scorer"]["untrained"]
  assert z["difference"] == 0.0 and z["low"] == 0.0 and z["high"] == 0.0

"""experiments/engine_fidelity: its Otsu thresholds against scikit-image, the matched gaps."""

import numpy as np
import pytest
from skimage.filters import threshold_multiotsu

from experiments import engine_fidelity


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_otsu_thresholds_partition_like_scikit_image(seed, n):
  # MATLAB's multithresh is Otsu's criterion; scikit-image searches it exhaustively.
  rng = np.random.default_rng(seed)
  x = np.clip(np.concatenate([rng.normal(m, 0.06, 4000) for m in rng.random(4)]), 0, 1)
  x8 = np.round(x * 255).astype(np.uint8)
  ours = np.digitize(x8 / 255.0, engine_fidelity._otsu_thresholds(x8 / 255.0, n), right=True)
  ref = np.digitize(x8, threshold_multiotsu(x8, classes=n + 1), right=True)
  # Equal partitions (thresholds may differ inside an empty run of bins: a tie).
  assert np.mean(ours == ref) > 0.995


def test_matched_gaps_against_the_nearest_contents():
  rng = np.random.default_rng(0)
  kadid = rng.uniform(20, 40, (10, 4, 5))
  engine = kadid[[3, 7]] + np.array([0.0, 0.0, 0.0, 1.5])[None, :, None]
  m = engine_fidelity.matched_gaps(engine, kadid, [0, 1, 2], k=1)
  assert m["neighbours"] == [[3], [7]]
  np.testing.assert_allclose(m["gap"][:3], 0.0, atol=1e-12)
  np.testing.assert_allclose(m["gap"][3], 1.5)
  np.testing.assert_allclose(m["mean_abs_gap"], [0, 0, 0, 1.5], atol=1e-12)
  with pytest.raises(ValueError, match="k"):
    engine_fidelity.matched_gaps(engine, kadid, [0], k=11)

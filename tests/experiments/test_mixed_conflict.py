"""experiments.mixed_conflict: argument checks before any work; the metric deviations against
scikit-image's SSIM and numpy's MSE."""

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from experiments import mixed_conflict as mc


@pytest.mark.parametrize("flag,bad", [("--tiers", "100"), ("--tiers", "0"), ("--steps", "0"),
                                      ("--eval_crops", "0")])
def test_bad_arguments_are_refused_before_any_work(tmp_path, flag, bad):
  with pytest.raises(SystemExit, match=flag):
    mc.main(["--out", str(tmp_path / "out"), flag, bad])
  assert not (tmp_path / "out").exists()


def test_an_output_path_that_is_a_file_is_refused(tmp_path):
  (tmp_path / "file").write_text("x")
  with pytest.raises(SystemExit, match="--out"):
    mc.main(["--out", str(tmp_path / "file")])


def _skimage_ssim(a, b):
  return structural_similarity(a, b, data_range=1.0, channel_axis=-1, gaussian_weights=True,
                               sigma=1.5, use_sample_covariance=False)


def test_metric_deviations_match_scikit_image_and_numpy():
  rng = np.random.default_rng(0)
  refs = rng.uniform(size=(3, 48, 64, 3)).astype(np.float32)
  noisy = np.clip(refs + rng.normal(0, [[[[0.02]]], [[[0.1]]], [[[0.3]]]], refs.shape), 0, 1)
  noisy = noisy.astype(np.float32)
  got = np.asarray(mc.metric_deviations(refs, noisy))
  half = lambda z: z.reshape(24, 2, 32, 2, 3).mean((1, 3))  # noqa: E731
  for i in range(3):
    np.testing.assert_allclose(got[i, 0], 1 - _skimage_ssim(refs[i], noisy[i]), atol=2e-5)
    np.testing.assert_allclose(got[i, 1], 1 - _skimage_ssim(half(refs[i]), half(noisy[i])),
                               atol=2e-5)
    np.testing.assert_allclose(got[i, 2], 10 * np.mean((refs[i] - noisy[i]).astype(np.float64)**2),
                               rtol=1e-5)
  assert np.all(np.diff(got, axis=0) > 0)  # more noise, larger deviations
  np.testing.assert_array_equal(np.asarray(mc.metric_deviations(refs, refs)), 0.0)

"""The engine's KADID cells and their scores, against references computed here by hand:
``distortions.apply`` one level at a time and numpy, the signed tables of brightness and
sharpness, PIL-free crops. Nothing here reads KADID's MOS."""

import jax
import numpy as np
import pytest

from jiqa import distortions
from jiqa.distortions import brightness, sharpness
from jiqa.evaluation import kadid_engine as ke

TYPES = ("white_noise", "mean_shift", "jpeg")  # one random, one signed, one deterministic


def test_signed_levels_give_kadid_parameters():
  levels = ke.cell_levels()
  assert levels.shape == (25, 5)
  ms = [float(brightness.mean_shift_amount(v)) for v in levels[17]]
  np.testing.assert_allclose(ms, [0.15, 0.08, 0.0, -0.08, -0.15], atol=1e-7)
  # sharpness' docstring: a = -0.2 + 0.5 level (level > 0), -0.2 + 0.4 level below.
  a = [-0.2 + (0.5 if v > 0 else 0.4) * v for v in levels[24]]
  np.testing.assert_allclose(a, [0.3, 0.15, 0.0, -0.4, -0.6], atol=1e-7)
  f32 = lambda v: np.asarray(v, np.float32)  # noqa: E731
  np.testing.assert_array_equal(levels[17], f32(brightness.KADID_SIGNED_LEVELS["mean_shift"]))
  np.testing.assert_array_equal(levels[24], f32(sharpness.KADID_SIGNED_LEVELS["contrast_change"]))
  np.testing.assert_array_equal(levels[0], f32([0.2, 0.4, 0.6, 0.8, 1.0]))


def test_kadid_like_crops_the_centre_and_keeps_exact_sizes():
  rng = np.random.default_rng(1)
  img = (rng.integers(0, 256, (384, 600, 3)) / 255.0).astype(np.float32)
  np.testing.assert_array_equal(ke.kadid_like(img), img[:, 44:556])  # no resize needed
  assert ke.kadid_like(img.transpose(1, 0, 2)).shape == (512, 384, 3)  # portrait kept
  with pytest.raises(ValueError, match="image"):
    ke.kadid_like(img[..., 0])


def test_cell_scores_are_the_documented_cells_scored_by_hand():
  rng = np.random.default_rng(2)
  photos = [rng.uniform(size=(30, 40, 3)).astype(np.float32),
            rng.uniform(size=(40, 30, 3)).astype(np.float32)]  # one portrait
  sel = [distortions.index(n) for n in TYPES]
  neg_mse = lambda r, d: -np.mean((np.asarray(d) - r) ** 2, axis=(1, 2, 3))  # noqa: E731
  got = ke.cell_scores(photos, {"neg_mse": neg_mse}, size=(24, 32), seed=5, types=sel,
                       batch_cells=10, progress=False)["neg_mse"]
  assert got.shape == (2, 3, 5) and got.dtype == np.float64
  for i, p in enumerate(photos):
    ref = ke.kadid_like(p, size=(24, 32))
    assert ref.shape == ((24, 32, 3) if i == 0 else (32, 24, 3))
    for j, (name, t) in enumerate(zip(TYPES, sel)):
      k = jax.random.fold_in(jax.random.fold_in(jax.random.key(5), i), t)
      for lv_i, lv in enumerate(ke.cell_levels()[t]):
        d = np.asarray(distortions.apply(name, jax.random.fold_in(k, lv_i), ref, lv))
        d = np.round(d * 255) / 255
        assert got[i, j, lv_i] == pytest.approx(-np.mean((d - ref) ** 2), rel=1e-5, abs=1e-9)


def test_cell_scores_bad_arguments_are_refused():
  grey = np.full((24, 32, 3), 0.5, np.float32)
  zero = {"zero": lambda r, d: np.zeros(len(d))}
  with pytest.raises(ValueError, match="photos"):
    ke.cell_scores([], zero)
  with pytest.raises(ValueError, match="predictors"):
    ke.cell_scores([grey], {"x": 3})
  with pytest.raises(ValueError, match="types"):
    ke.cell_scores([grey], zero, types=[25])
  with pytest.raises(ValueError, match="types"):
    ke.cell_scores([grey], zero, types=[1, 1])
  nan = {"nan": lambda r, d: np.full(len(d), np.nan)}
  with pytest.raises(ValueError, match="'nan' returned non-finite"):
    ke.cell_scores([grey], nan, size=(24, 32), types=[17], progress=False)

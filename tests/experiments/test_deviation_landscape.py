"""experiments.deviation_landscape: argument checks before any work; the vectorised
correlations and accuracies against scipy and by hand."""

import json

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from experiments import deviation_landscape as dl


@pytest.mark.parametrize("args, match", [
    (["--samples", "0"], "--samples"),
    (["--kadid_size", "384"], "--kadid_size"),
    (["--kadid_size", "a,b"], "--kadid_size"),
    (["--fits", "no_equals"], "--fits"),
    (["--model", "name=/no/such/folder"], "--model"),
    (["--size", "smoke"], None),  # argparse: exit 2 before any work
])
def test_bad_arguments_are_refused_before_any_work(tmp_path, args, match):
  with pytest.raises(SystemExit, match=match):
    dl.main(["--out", str(tmp_path / "out"), *args])
  assert not (tmp_path / "out").exists()


def test_fits_file_must_hold_a_fits_table(tmp_path):
  bad = tmp_path / "bad.json"
  bad.write_text(json.dumps({"kadid": {}}))
  with pytest.raises(SystemExit, match="no 'fits' table"):
    dl.main(["--out", str(tmp_path / "out"), "--fits", f"x={bad}"])
  empty = tmp_path / "empty.json"
  empty.write_text("")
  with pytest.raises(SystemExit, match="no 'fits' table"):
    dl.main(["--out", str(tmp_path / "out"), "--fits", f"x={empty}"])


def test_out_and_eval_dir_must_not_be_files(tmp_path):
  f = tmp_path / "file"
  f.write_text("x")
  with pytest.raises(SystemExit, match="--out"):
    dl.main(["--out", str(f)])
  with pytest.raises(SystemExit, match="--eval_dir"):
    dl.main(["--out", str(tmp_path / "out"), "--eval_dir", str(f)])
  assert not (tmp_path / "out").exists()


def test_draw_weights_lie_on_the_simplex_and_follow_the_seed():
  w = dl.draw_weights(3, 50)
  assert w.shape == (150, 16)
  np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-12)
  assert (w >= 0).all()
  np.testing.assert_array_equal(w, dl.draw_weights(3, 50))
  # Concentration 0.1 is sparse (one weight dominates), 1.0 is not.
  assert np.median(w[:50].max(1)) > np.median(w[100:].max(1)) + 0.2


def test_cell_spearman_matches_scipy_with_ties():
  rng = np.random.default_rng(0)
  cells = np.round(rng.normal(size=(125, 16)), 1)   # rounding makes ties
  w = dl.draw_weights(1, 5)
  w[0] = np.eye(16)[2]
  mos = np.round(rng.normal(size=125), 1)
  got = dl.cell_spearman(cells, w, mos)
  want = [stats.spearmanr(cells @ v, mos)[0] for v in w]
  np.testing.assert_allclose(got, want, rtol=1e-12)


def test_engine_criterion_by_hand():
  # One tier per split, 3 images, 2 deviations. Weights (1, 0) read deviation 0 only.
  # Scaled tier: severities 0 < 1 < 2 with deviation 0 = 0.1, 0.3, 0.2 -> pairs (0,1) and
  # (0,2) right, (1,2) wrong: 2/3. Nested: image 0 ranked above its nested copy (deviation
  # 0.5 > 0.1: right), image 1 equal (tie, 1/2), image 2 unchanged (not counted): 3/4.
  d_scaled = np.array([[[0.1, 1.0], [0.3, 0.0], [0.2, 2.0]]])
  d_mixed = np.array([[[0.1, 0.0], [0.2, 0.0], [0.3, 0.0]]])
  d_nested = np.array([[[0.5, 0.0], [0.2, 0.0], [0.3, 0.0]]])
  split = {"scaled": d_scaled, "mixed": d_mixed, "nested": d_nested,
           "scaled_sev": np.array([[0.0, 1.0, 2.0]]), "mixed_sev": np.array([[0.0, 1.0, 2.0]]),
           "changed": np.array([[True, True, False]])}
  e, mixed = dl.engine_criterion_many({"seen_types": split, "heldout_types": split},
                                      np.array([[1.0, 0.0], [0.0, 1.0]]))
  np.testing.assert_allclose(e[0], (2 / 3 + 3 / 4) / 2)
  np.testing.assert_allclose(mixed[0], [1.0, 1.0])  # 0.1 < 0.2 < 0.3 follows the severity
  # Weights (0, 1): scaled 1.0, 0.0, 2.0 -> (0,1) wrong, (0,2) right, (1,2) right: 2/3;
  # nested: all three deviations 0 in both -> ties (1/2) on the two changed images.
  np.testing.assert_allclose(e[1], (2 / 3 + 1 / 2) / 2)
  np.testing.assert_allclose(mixed[1], [0.5, 0.5])  # every pair tied


def test_aligned_scorer_weights_and_tolerant_models_refused(tmp_path):
  w = np.asarray(dl.ALIGNED_SCORER_WEIGHTS)
  assert w.shape == (16,) and (w > 0).all()
  np.testing.assert_allclose(w.sum(), 1.0, rtol=1e-6)
  np.testing.assert_array_equal(dl.named_weights([])["shipped"], w)
  # An exported aligned model's weights are read back; a tolerant one is refused (the
  # experiment's deviations are pixel-aligned).
  from flax import nnx

  from jiqa import pretrained
  from jiqa.configs import pipeline
  from jiqa.training import state

  for tolerance in (0, 1):
    cfg = pipeline.get_config("aligned,smoke" if tolerance == 0 else "smoke")
    models = state.build_models(cfg, num_types=25, rngs=nnx.Rngs(0))
    models.scorer.theta[...] = jnp.asarray(np.log(w), jnp.float32)
    out = tmp_path / f"t{tolerance}"
    pretrained.export(models, cfg, str(out))
    if tolerance == 0:
      np.testing.assert_allclose(dl.scorer_weights(str(out), "m"), w, rtol=1e-5)
    else:
      with pytest.raises(SystemExit, match="tolerance"):
        dl.scorer_weights(str(out), "m")

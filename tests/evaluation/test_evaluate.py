"""evaluation.predict: the models' outputs, with the weights as arguments (not constants) of
the compiled functions; run_engine_config's splits."""

import importlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from flax import nnx

from jiqa.distortions import compose
from jiqa.models import MapPredictor, ReferenceAnchoredScorer
from jiqa.training import mesh as mesh_lib, state as state_lib

# The module (jiqa.evaluation.evaluate is also the name of its main function).
evaluate_lib = importlib.import_module("jiqa.evaluation.evaluate")


def _data(rng, n=8, size=8):
  crops = rng.uniform(0.2, 0.8, (n, size, size, 3)).astype(np.float32)
  tiers = np.stack([crops, crops * 0.9, crops * 0.5], axis=1)
  return {"reference": crops, "distorted": crops * 0.8, "crops": crops, "tier_images": tiers}


def test_predict_equals_direct_calls_and_compiles_once_for_new_weights():
  rngs = nnx.Rngs(jax.random.key(0, impl="rbg"))
  models = state_lib.Models(MapPredictor(3, width=4, depth=1, rngs=rngs),
                            ReferenceAnchoredScorer(width=4, depth=1, hidden=8, rngs=rngs))
  data = _data(np.random.default_rng(0))
  evaluate_lib._tier_scores.clear_cache()
  preds = evaluate_lib.predict(models, data)
  flat = data["tier_images"].reshape(-1, 8, 8, 3)
  want = models.scorer(np.repeat(data["crops"], 3, axis=0), flat).reshape(8, 3)
  np.testing.assert_allclose(preds["tier_scores"], want, rtol=1e-5, atol=1e-5)
  out = models.map_predictor(data["reference"], data["distorted"])
  # Jitted vs eager convolutions differ by up to ~1e-3 on XLA:CPU.
  np.testing.assert_allclose(preds["maps"], out.maps, atol=2e-3)
  # The exactness checks run on the first quarter of the chunk, f(a, b) and f(b, a) at one
  # batch shape: exactly opposite; f(a, a) = 0.
  k = len(data["reference"]) // evaluate_lib.CHECK_FRACTION
  assert preds["swapped_maps"].shape == preds["checked_maps"].shape == (k, 8, 8, 3)
  np.testing.assert_array_equal(preds["swapped_maps"], -preds["checked_maps"])
  np.testing.assert_allclose(preds["checked_maps"], preds["maps"][:k], atol=1e-5)
  assert preds["self_maps"].shape[0] == k and not np.any(preds["self_maps"])
  # Other weights, same shapes: no new compilation (weights are arguments, not constants).
  graphdef, state = nnx.split(models)
  state = jax.tree.map(lambda x: x * 1.5, state)
  again = evaluate_lib.predict(nnx.merge(graphdef, state), data)
  assert not np.allclose(again["tier_scores"], preds["tier_scores"])
  assert evaluate_lib._tier_scores._cache_size() == 1


@pytest.mark.slow  # compiles the models again for the 8-device mesh
def test_predict_under_a_mesh_gives_the_same_numbers():
  rngs = nnx.Rngs(jax.random.key(0, impl="rbg"))
  models = state_lib.Models(None, ReferenceAnchoredScorer(width=4, depth=1, hidden=8, rngs=rngs))
  data = _data(np.random.default_rng(0))
  preds = evaluate_lib.predict(models, data)
  m = mesh_lib.make_mesh(8)  # chunks of 8 split over "data"
  with jax.set_mesh(m):
    sharded = evaluate_lib.predict(models, data, mesh=m)
  np.testing.assert_allclose(sharded["tier_scores"], preds["tier_scores"], rtol=1e-5, atol=1e-5)


def test_run_engine_config_splits_types_and_checks_names():
  run = ml_collections.ConfigDict({"engine": {"types": ["jpeg", "darken", "gaussian_blur"],
                                              "max_distortions": 3},
                                   "eval": {"holdout_types": ["darken"]}})
  seen, held = compose.run_engine_config(run), compose.run_engine_config(run, heldout=True)
  assert seen.types == ("jpeg", "gaussian_blur") and held.types == ("darken",)
  assert held.max_distortions == 1  # one group in the split
  run.eval.holdout_types = ["no_such_type"]
  with pytest.raises(ValueError, match="holdout_types"):
    compose.run_engine_config(run)
  run.eval.holdout_types = []
  run.engine.typo = 1
  with pytest.raises(ValueError, match="config.engine.typo"):
    compose.run_engine_config(run)


def test_evaluate_split_puts_the_untrained_scorer_beside_the_trained_one(monkeypatch):
  from jiqa.models import DeviationScorer

  rng = np.random.default_rng(1)
  n, size = 48, 16
  crops = rng.uniform(0.2, 0.8, (n, size, size, 3)).astype(np.float32)
  # Three images per tier that two weightings can order differently: a colour shift, noise
  # and a darkening, in that order of severity (continuous, as the engine's; GMC needs spread).
  shift = np.clip(crops + np.array([0.08, 0.0, -0.08], np.float32), 0, 1)
  noise = np.clip(crops + rng.normal(0, 0.05, crops.shape).astype(np.float32), 0, 1)
  tiers = np.stack([shift, noise, crops * 0.7], axis=1)
  severity = np.sort(rng.uniform(0.0, 2.0, (n, 3)), axis=1)
  data = {"crops": crops, "tier_images": tiers, "tier_severity": severity,
          "reference": crops, "distorted": crops, "maps": np.zeros((n, size, size, 1))}
  monkeypatch.setattr(evaluate_lib, "fr_scores", lambda x, r: {
      "psnr": -np.abs(np.asarray(x) - np.asarray(r)).mean(axis=(1, 2, 3))})
  trained = DeviationScorer(num_scales=1, rngs=nnx.Rngs(0))
  trained.theta[...] = jnp.array([0.0, 0.0, 4.0, 0.0])   # mostly chroma
  prior = DeviationScorer(num_scales=1, rngs=nnx.Rngs(0))
  res = evaluate_lib.evaluate_split(state_lib.Models(None, trained), data, types=("x",),
                                    gmc_samples=10, seed=0, untrained_scorer=prior)
  assert set(res["tiers"]) == {"scorer", "untrained", "psnr"} == set(res["gmc"])

  def accuracy(scorer):  # by hand: the share of the 3 pairs per tier ordered as the severity
    s = np.asarray(scorer(np.repeat(crops, 3, axis=0), tiers.reshape(-1, size, size, 3)))
    s = s.reshape(n, 3)
    pairs = [(0, 1), (0, 2), (1, 2)]
    return np.mean([[s[t, i] > s[t, j] for i, j in pairs] for t in range(n)])

  for name, scorer in (("scorer", trained), ("untrained", prior)):
    np.testing.assert_allclose(res["tiers"][name]["pairwise_accuracy"], accuracy(scorer),
                               atol=1e-12)
  assert "nested" not in res
  assert accuracy(trained) != accuracy(prior)   # the two weightings differ on these tiers
  without = evaluate_lib.evaluate_split(state_lib.Models(None, trained), data, types=("x",),
                                        gmc_samples=10, seed=0)
  assert "untrained" not in without["tiers"]


def test_nested_pairs_accuracy_by_hand(monkeypatch):
  from jiqa.models import DeviationScorer

  rng = np.random.default_rng(2)
  n, size = 48, 16
  crops = rng.uniform(0.2, 0.8, (n, size, size, 3)).astype(np.float32)
  tiers = np.stack([crops * 0.95, crops * 0.9, crops * 0.8], axis=1)
  # On top of each tier image: more darkening (certainly worse) for the first two, the
  # identity for the third (not a pair).
  nested = np.stack([tiers[:, 0] * 0.9, np.clip(tiers[:, 1] + rng.normal(
      0, 0.03, tiers[:, 1].shape).astype(np.float32), 0, 1), tiers[:, 2]], axis=1)
  data = {"crops": crops, "tier_images": tiers, "nested": nested,
          "tier_severity": np.sort(rng.uniform(0.0, 2.0, (n, 3)), axis=1),
          "reference": crops, "distorted": crops, "maps": np.zeros((n, size, size, 1))}
  monkeypatch.setattr(evaluate_lib, "fr_scores", lambda x, r: {
      "psnr": -np.abs(np.asarray(x) - np.asarray(r)).mean(axis=(1, 2, 3))})
  scorer = DeviationScorer(num_scales=1, rngs=nnx.Rngs(0))
  res = evaluate_lib.evaluate_split(state_lib.Models(None, scorer), data, types=("x",),
                                    gmc_samples=10, seed=0)
  assert set(res["nested"]) == {"scorer", "psnr"}

  def by_hand(fn):
    refs = np.repeat(crops, 3, axis=0)
    s = np.asarray(fn(refs, tiers.reshape(-1, size, size, 3))).reshape(n, 3)[:, :2]
    sn = np.asarray(fn(refs, nested.reshape(-1, size, size, 3))).reshape(n, 3)[:, :2]
    return np.mean(np.where(s > sn, 1.0, np.where(s == sn, 0.5, 0.0)))

  assert res["nested"]["scorer"]["pairs"] == 2 * n
  np.testing.assert_allclose(res["nested"]["scorer"]["accuracy"], by_hand(scorer), atol=1e-12)
  psnr_like = lambda r, x: -np.abs(x - r).mean(axis=(1, 2, 3))  # noqa: E731
  np.testing.assert_allclose(res["nested"]["psnr"]["accuracy"], by_hand(psnr_like), atol=1e-12)
  d = res["nested_differences"]["psnr"]
  np.testing.assert_allclose(d["difference"], by_hand(scorer) - by_hand(psnr_like), atol=1e-12)
  assert d["low"] <= d["difference"] <= d["high"]


def test_make_eval_data_nested_leaves_the_other_arrays_as_they_were():
  from jiqa.configs import pipeline

  cfg = pipeline.get_config("smoke")
  cfg.engine.types = ("gaussian_blur", "darken")
  eng = compose.run_engine_config(cfg)
  images = np.random.default_rng(0).uniform(0, 1, (1, 40, 40, 3)).astype(np.float32)
  kw = dict(engine=eng, crop_size=32, crops_per_image=2, tier_size=3)
  plain = evaluate_lib.make_eval_data(jax.random.key(3), images, **kw)
  with_nested = evaluate_lib.make_eval_data(jax.random.key(3), images, nested=True, **kw)
  assert "nested" not in plain
  for k, v in plain.items():
    np.testing.assert_array_equal(with_nested[k], v)
  assert with_nested["nested"].shape == plain["tier_images"].shape
  changed = np.abs(with_nested["nested"] - plain["tier_images"]).reshape(6, -1).max(-1) > 0
  assert changed.any()

"""jiqa.api (jiqa.load / jiqa.Model): any input type and size, batch-independent, one rule for integers."""

import numpy as np
import pytest
from PIL import Image

import jiqa
from jiqa import api, pretrained


def _exported(tmp_path_factory, spec):
  """A small random model of ``spec``, exported and loaded back like shipped weights."""
  import jax
  from flax import nnx

  from jiqa.configs import load_config_file
  from jiqa.training import state as state_lib

  cfg = load_config_file(spec)
  models = state_lib.build_models(cfg, num_types=25, rngs=nnx.Rngs(jax.random.key(7, impl="rbg")))
  folder = tmp_path_factory.mktemp("weights")
  pretrained.export(models, cfg, folder)
  return jiqa.load(folder)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
  """The shipped kind of model (the pipeline's default: a symmetric deviation scorer)."""
  return _exported(tmp_path_factory, "pipeline:smoke")


@pytest.fixture(scope="module")
def stats_model(tmp_path_factory):
  """The reference-anchored stats scorer (``pipeline:stats``), which has a reference-free mode."""
  return _exported(tmp_path_factory, "pipeline:stats,smoke")


@pytest.fixture(scope="module")
def pair():
  rng = np.random.default_rng(0)
  ref = jiqa.images.bundled_images(["astronaut"])["astronaut"][100:137, 200:251]  # 37 x 51
  noisy = np.clip(ref + 0.08 * rng.normal(size=ref.shape), 0, 1).astype(np.float32)
  return ref, noisy


def test_export_load_round_trip_keeps_every_weight(model, tmp_path):
  from flax import nnx

  pretrained.export(nnx.merge(model._graphdef, model._state), model.config, tmp_path)
  again = jiqa.load(tmp_path)
  a = pretrained._flat(model._state)
  b = pretrained._flat(again._state)
  assert a.keys() == b.keys() and len(a) > 10
  for k in a:
    np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]))


def test_score_does_not_depend_on_batch_and_handles_odd_sizes(model, pair):
  ref, noisy = pair
  assert ref.shape[0] % model.stride and ref.shape[1] % model.stride  # not a multiple
  alone = model.score(noisy, ref)
  assert isinstance(alone, float)
  rng = np.random.default_rng(1)
  batch = np.stack([np.clip(ref + s * rng.normal(size=ref.shape), 0, 1) for s in
                    (0.02, 0.05, 0.1, 0.15, 0.2, 0.3)] + [noisy]).astype(np.float32)
  scores = model.score(batch, ref)
  assert scores.shape == (7,)
  np.testing.assert_allclose(scores[-1], alone, atol=1e-6)
  np.testing.assert_allclose(model.score(batch[2], ref), scores[2], atol=1e-6)


def test_integer_and_pil_inputs_follow_one_rule(model, pair):
  ref, noisy = pair
  ref8 = np.round(ref * 255).astype(np.uint8)
  noisy8 = np.round(noisy * 255).astype(np.uint8)
  as_float = model.score(noisy8.astype(np.float32) / 255, ref8.astype(np.float32) / 255)
  np.testing.assert_allclose(model.score(noisy8, ref8), as_float, atol=1e-6)
  np.testing.assert_allclose(model.score(Image.fromarray(noisy8), Image.fromarray(ref8)),
                             as_float, atol=1e-6)
  ref16 = (ref8.astype(np.uint16) * 257)  # 16-bit: x * 257 / 65535 == x / 255
  np.testing.assert_allclose(model.score(noisy8, ref16), as_float, atol=1e-6)
  with pytest.raises(ValueError, match="reference"):
    model.score(noisy, ref * 255.0)  # float outside [0, 1]


@pytest.mark.parametrize("which", ["model", "stats_model"])
def test_identity_scores_zero_and_preference_is_consistent(which, pair, request):
  model = request.getfixturevalue(which)
  ref, noisy = pair
  assert abs(model.score(ref, ref)) < 1e-6
  with_ref = model.preference(noisy, ref, reference=ref)
  expected = 1 / (1 + np.exp(-(model.score(noisy, ref) - model.score(ref, ref))))
  np.testing.assert_allclose(with_ref, expected, atol=1e-6)
  if model.symmetric:  # a deviation from a reference: s(a | b) = s(b | a)
    with pytest.raises(ValueError, match="reference"):
      model.preference(noisy, ref)
    return
  p = model.preference(noisy, ref)
  q = model.preference(ref, noisy)
  assert 0.0 <= p <= 1.0
  np.testing.assert_allclose(p + q, 1.0, atol=1e-6)


def test_shipped_kind_is_symmetric_and_ranks_noise_levels(model, stats_model, pair):
  """The deviation scorer (even at its prior) orders noise levels; the stats one is not."""
  ref, _ = pair
  assert model.symmetric and not stats_model.symmetric
  rng = np.random.default_rng(2)
  noise = rng.normal(size=ref.shape)
  batch = np.stack([np.clip(ref + s * noise, 0, 1) for s in (0.01, 0.05, 0.1, 0.2)])
  scores = model.score(batch.astype(np.float32), ref)
  assert np.all(np.diff(scores) < 0) and scores[0] < 0


def test_maps_are_named_cropped_back_and_antisymmetric(model, pair):
  ref, noisy = pair
  fwd = model.maps(ref, noisy)
  bwd = model.maps(noisy, ref)
  assert set(fwd.strength) == set(jiqa.distortions.names())
  m = fwd.maps["jpeg"]
  assert m.shape == ref.shape[:2]
  np.testing.assert_allclose(bwd.maps["jpeg"], -m, atol=1e-5)  # exact within one call
  assert fwd.presence == pytest.approx(bwd.presence, abs=1e-6)
  assert isinstance(fwd.describe(), list) and fwd.to_json()["presence"]


@pytest.mark.parametrize("bad, match", [
    (np.zeros((4, 5, 3), np.int64), "int"),
    (np.full((8, 8, 3), np.nan, np.float32), "NaN"),
    (np.zeros((2, 3, 8, 8, 3), np.float32), "shape"),
    ([], "empty"),
])
def test_bad_inputs_are_refused_with_the_argument_named(model, pair, bad, match):
  ref, _ = pair
  with pytest.raises(ValueError, match=match):
    model.score(bad, ref)


def test_mismatched_sizes_and_counts_are_refused(model, pair):
  ref, noisy = pair
  with pytest.raises(ValueError, match="same size"):
    model.score(noisy[:-1], ref)
  with pytest.raises(ValueError, match="equal counts"):
    model.score(np.stack([noisy] * 3), np.stack([ref] * 2))


def test_load_refuses_what_is_not_a_model(tmp_path):
  with pytest.raises(ValueError, match="not a folder"):
    jiqa.load(tmp_path / "missing")
  with pytest.raises(ValueError, match="neither"):
    jiqa.load(tmp_path)


def test_pad_to_mirrors_like_numpy():
  x = np.arange(2 * 5 * 3 * 1, dtype=np.float32).reshape(2, 5, 3, 1)
  y = api.pad_to(x, 4)
  assert y.shape == (2, 8, 4, 1)
  np.testing.assert_array_equal(y[:, :5, :3], x)
  np.testing.assert_array_equal(y[:, 5, :3], x[:, 4])   # symmetric: the edge row repeats
  np.testing.assert_array_equal(y[:, :5, 3], x[:, :, 2])

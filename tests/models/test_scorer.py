"""The scorers: s(r|r)=0, anti-symmetry where claimed, preference consistent with scores,
companions mode, the stats stem's constant on identical pairs, make_scorer's choice."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jiqa.models import (AntisymmetricStatsScorer, EncoderScorer, MapFeatureScorer, MapPredictor,
                         ReferenceAnchoredScorer, RelationalScorer, make_scorer, pair_stats)


def rngs(seed=0):
  """Parameter rngs on the "rbg" PRNG: its initialisers compile ~8x faster than threefry's on CPU."""
  return nnx.Rngs(jax.random.key(seed, impl="rbg"))


def _make(kind):
  if kind == "unet":
    return EncoderScorer(width=8, depth=2, hidden=16, rngs=rngs(0))
  if kind == "vit":
    return EncoderScorer(backbone="vit", width=16, depth=1, num_heads=2, hidden=16, rngs=rngs(1))
  if kind == "stats":
    return AntisymmetricStatsScorer(width=8, depth=2, hidden=16, rngs=rngs(5))
  if kind == "anchored":
    return ReferenceAnchoredScorer(width=8, depth=2, hidden=16, rngs=rngs(6))
  f = MapPredictor(3, width=8, depth=2, rngs=rngs(2))
  return MapFeatureScorer(f, hidden=16, rngs=rngs(3))


class Jitted:
  """The scorer's methods, applied functionally under jax.jit (as a train step would)."""

  def __init__(self, model):
    self.model = model
    graphdef, self.state = nnx.split(model)

    def method(name):
      if name == "preference":
        return jax.jit(lambda state, a, b, r: nnx.merge(graphdef, state).preference(
            a, b, reference=r))
      return jax.jit(lambda state, *args: getattr(nnx.merge(graphdef, state), name)(*args))

    self._call, self._rel = method("__call__"), method("relative")
    self._pref, self._comp = method("preference"), method("companion_scores")

  def __call__(self, reference, images):
    return self._call(self.state, reference, images)

  def relative(self, r, x):
    return self._rel(self.state, r, x)

  def preference(self, a, b, reference=None):
    return self._pref(self.state, a, b, reference)

  def companion_scores(self, images):
    return self._comp(self.state, images)


@pytest.fixture(scope="module", params=["unet", "vit", "stats", "map_predictor", "anchored"])
def scorer(request):
  return Jitted(_make(request.param))


def _images(seed, n=4, h=16, w=16):
  return jax.random.uniform(jax.random.key(seed), (n, h, w, 3))


def test_reference_scores_zero_and_antisymmetry_where_claimed(scorer):
  x, r = _images(0), _images(1)
  s_xr, s_rx = scorer.relative(r, x), scorer.relative(x, r)   # s(x | r), s(r | x)
  assert s_xr.shape == (4,)
  if scorer.model.antisymmetric:
    np.testing.assert_allclose(s_xr, -s_rx, rtol=0, atol=1e-6)
  else:  # the reference-anchored scorer says so, and is not
    assert float(jnp.abs(s_xr + s_rx).max()) > 1e-4
  np.testing.assert_allclose(scorer.relative(r, r), 0.0, rtol=0, atol=1e-5)
  assert float(jnp.abs(s_xr).max()) > 1e-5          # not trivially zero


def test_stats_stem_is_constant_on_identical_pairs():
  # The invariant ReferenceAnchoredScorer's baseline relies on (ConstantOnIdenticalPairs).
  stem = pair_stats.StatsStem(hidden=8, num_scales=3, rngs=rngs(9))
  r = _images(11, n=3, h=32, w=32)
  flat = jnp.zeros((1, 32, 32, 3))
  np.testing.assert_allclose(stem(r, r), jnp.broadcast_to(stem(flat, flat), (3, stem.features)),
                             rtol=1e-5, atol=1e-5)
  # ... and the anchored score is u(P(r -> x)) - u(P(r -> r)) with the per-image baseline.
  s = ReferenceAnchoredScorer(width=8, depth=3, hidden=16, rngs=rngs(10))
  x = _images(12, n=3, h=32, w=32)
  want = s._u(s.stem(r, x)) - s._u(s.stem(r, r))
  np.testing.assert_allclose(s(r, x), want, atol=1e-5)


def test_make_scorer_builds_the_named_model():
  f = MapPredictor(3, width=4, depth=1, rngs=rngs(0))
  cases = [({"backbone": "stats", "antisymmetric": False}, ReferenceAnchoredScorer, False),
           ({"backbone": "stats"}, AntisymmetricStatsScorer, True),
           ({"backbone": "unet"}, EncoderScorer, True),
           ({"map_predictor": f}, MapFeatureScorer, True)]
  for kwargs, cls, anti in cases:
    m = make_scorer(width=4, depth=1, hidden=8, rngs=rngs(1), **kwargs)
    assert type(m) is cls and isinstance(m, RelationalScorer) and m.antisymmetric is anti
  with pytest.raises(ValueError, match="antisymmetric=False"):
    make_scorer(backbone="unet", antisymmetric=False, rngs=rngs(0))


def test_broadcast_reference_equals_tiled(scorer):
  x, r = _images(2), _images(3, n=1)[0]
  np.testing.assert_allclose(scorer(r, x), scorer(jnp.broadcast_to(r, x.shape), x), atol=1e-6)


def test_preference_consistent_with_scores(scorer):
  a, b, r = _images(4), _images(5), _images(6, n=1)[0]
  p_ab, p_ba = scorer.preference(a, b, r), scorer.preference(b, a, r)
  s_a, s_b = scorer(r, a), scorer(r, b)
  np.testing.assert_allclose(p_ab + p_ba, 1.0, atol=1e-6)
  np.testing.assert_allclose(p_ab, 1 / (1 + np.exp(-(np.asarray(s_a) - np.asarray(s_b)))), atol=1e-6)
  np.testing.assert_array_equal(np.asarray(p_ab) > 0.5, np.asarray(s_a) > np.asarray(s_b))
  # Without a reference: the companions score of the pair.
  q = scorer.preference(a, b)
  np.testing.assert_allclose(q + scorer.preference(b, a), 1.0, atol=1e-6)
  s_ab = np.asarray(scorer.relative(b, a) - scorer.relative(a, b)) / 2   # s_a(a | b)
  np.testing.assert_allclose(q, 1 / (1 + np.exp(-2 * s_ab)), atol=1e-6)


def test_companion_scores_are_mean_relations(scorer):
  tiers = jax.random.uniform(jax.random.key(7), (2, 3, 16, 16, 3))
  got = np.asarray(scorer.companion_scores(tiers))
  assert got.shape == (2, 3)
  np.testing.assert_allclose(got.sum(axis=1), 0.0, atol=1e-6)
  pairs = [(t, i, j) for t in range(2) for i in range(3) for j in range(3) if j != i]
  xi = jnp.stack([tiers[t, i] for t, i, _ in pairs])
  xj = jnp.stack([tiers[t, j] for t, _, j in pairs])
  rel = (np.asarray(scorer.relative(xj, xi)) - np.asarray(scorer.relative(xi, xj))) / 2
  want = rel.reshape(2, 3, 2).mean(axis=2)          # mean over j != i of s_a(x_i | x_j)
  np.testing.assert_allclose(got, want, atol=1e-5)
  np.testing.assert_allclose(scorer.companion_scores(tiers[1]), got[1], atol=1e-6)


def test_bad_inputs_raise():
  s = _make("unet")
  x = _images(0)
  with pytest.raises(ValueError, match="same shape"):
    s(x, x[:2])
  with pytest.raises(ValueError, match="images must have shape"):
    s(x[0], x[0])
  with pytest.raises(ValueError, match="stride"):
    s(x[0, :10], x[:, :10])
  with pytest.raises(ValueError, match="n >= 2"):
    s.companion_scores(x[:1])
  with pytest.raises(ValueError, match="reference must have shape"):
    s.preference(x, x, reference=x[:2])

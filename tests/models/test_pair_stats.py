"""Relational pair statistics against scipy's local means (uniform_filter, replicated edges)
and the anti-symmetric stats scorer."""

import jax
import numpy as np
import pytest
from flax import nnx
from scipy import ndimage

from jiqa import images
from jiqa.models import make_scorer
from jiqa.models.pair_stats import StatsStem, box_mean, pair_statistics


def _reference(a, b, scales, c=1e-4):
  # JFIF YCbCr (ITU-T T.871); the chroma offset cancels in every statistic.
  m = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5],
                [0.5, -0.418688, -0.081312]])
  a = np.einsum("nhwc,kc->nhwk", a.astype(np.float64), m)
  b = np.einsum("nhwc,kc->nhwk", b.astype(np.float64), m)
  box = lambda x: ndimage.uniform_filter(x, size=(1, 3, 3, 1), mode="nearest")  # noqa: E731
  out = []
  for s in range(scales):
    if s:
      pool = lambda x: x.reshape(x.shape[0], x.shape[1] // 2, 2, x.shape[2] // 2, 2, 3).mean((2, 4))  # noqa: E731
      a, b = pool(a), pool(b)
    ma, mb = box(a), box(b)
    va, vb = box(a * a) - ma**2, box(b * b) - mb**2
    cov = box(a * b) - ma * mb
    out.append(np.concatenate([mb - ma, np.log((vb + c) / (va + c)),
                               (2 * cov + c) / (va + vb + c), np.log(c + box((b - a)**2))], -1))
  return out


@pytest.fixture(scope="module")
def pair():
  ref = images.bundled_images(("astronaut",))["astronaut"][100:164, 200:264][None]
  noisy = np.clip(ref + 0.05 * np.random.default_rng(0).standard_normal(ref.shape), 0, 1)
  return ref.astype(np.float32), noisy.astype(np.float32)


def test_statistics_match_scipy(pair):
  a, b = pair
  got = pair_statistics(a, b, num_scales=3)
  for g, want in zip(got, _reference(a, b, 3)):
    assert g.shape == want.shape
    np.testing.assert_allclose(np.asarray(g), want, atol=2e-3, rtol=2e-3)
  # Direction: noise raises b's local contrast; swapping flips the signed statistics.
  assert float(np.mean(got[0][..., 3])) > 0
  swapped = np.asarray(pair_statistics(b, a, num_scales=1)[0])
  np.testing.assert_allclose(swapped[..., :6], -np.asarray(got[0])[..., :6], atol=1e-4)
  np.testing.assert_allclose(swapped[..., 6:], np.asarray(got[0])[..., 6:], atol=1e-4)


def test_bad_inputs(pair):
  a, b = pair
  with pytest.raises(ValueError, match="a, b"):
    pair_statistics(a, b[..., :2])
  with pytest.raises(ValueError, match="num_scales"):
    pair_statistics(a[:, :4, :4], b[:, :4, :4], num_scales=4)


def test_stats_scorer_is_antisymmetric(pair):
  a, b = pair
  scorer = make_scorer(backbone="stats", width=8, depth=3, rngs=nnx.Rngs(0))
  ab, ba = np.asarray(scorer(a[0], b)), np.asarray(scorer(b[0], a))
  np.testing.assert_allclose(ab, -ba, atol=1e-6)
  assert float(np.abs(scorer(a[0], a)).max()) == 0.0
  assert StatsStem(hidden=8, rngs=nnx.Rngs(1))(a, b).shape == (1, 48)
  grads = nnx.grad(lambda m: m(a[0], b).sum())(scorer)
  assert all(np.all(np.isfinite(np.asarray(g))) for g in jax.tree.leaves(grads))


def test_reference_anchored_scorer(pair):
  a, b = pair
  scorer = make_scorer(backbone="stats", width=8, depth=2, antisymmetric=False,
                       rngs=nnx.Rngs(0))
  assert float(np.abs(scorer(a[0], a)).max()) < 1e-5                  # s(r | r) = 0
  # The constant baseline: statistics of (r, r) are the same for any r.
  same = pair_statistics(a, a, num_scales=2)
  for st in same:
    np.testing.assert_array_equal(np.asarray(st)[..., :6], 0.0)
    np.testing.assert_array_equal(np.asarray(st)[..., 6:9], 1.0)
  x = np.concatenate([a, b])
  s = np.asarray(scorer(a[0], x))
  p = np.asarray(scorer.preference(a, b, reference=a[0]))
  np.testing.assert_allclose(p, 1 / (1 + np.exp(-(s[0] - s[1]))), rtol=1e-5)
  # Without a reference the anti-symmetric part is used: P(a>b) + P(b>a) = 1, companions sum to 0.
  np.testing.assert_allclose(scorer.preference(a, b) + scorer.preference(b, a), 1.0, atol=1e-6)
  comp = np.asarray(scorer.companion_scores(np.stack([a[0], b[0], (a[0] + b[0]) / 2])))
  assert abs(comp.sum()) < 1e-5
  with pytest.raises(ValueError, match="antisymmetric"):
    make_scorer(backbone="unet", antisymmetric=False, rngs=nnx.Rngs(0))


@pytest.mark.parametrize("k", [3, 5])
def test_box_mean_is_scipys_uniform_filter_with_nearest_edges(k):
  x = np.random.default_rng(k).normal(size=(2, 9, 13, 3)).astype(np.float32)
  want = ndimage.uniform_filter(x.astype(np.float64), size=(1, k, k, 1), mode="nearest")
  np.testing.assert_allclose(np.asarray(box_mean(jax.numpy.asarray(x), k)), want, atol=2e-6)

"""Ranking losses against hand-computed numpy values (Plackett-Luce, ListNet, RankNet) and the
pairwise accuracy against a loop over pairs."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jiqa.losses import pairwise_accuracy, ranking_loss, relevance

SCORES = np.array([[0.3, -1.2, 2.0, 0.1], [1.5, 0.2, -0.4, -2.0]], np.float32)
SEVERITY = np.array([[0.4, 0.9, 0.1, 0.6], [0.0, 0.2, 0.5, 0.7]], np.float32)


def _plackett_luce_nll(s, sev):
  order = sorted(range(len(s)), key=lambda i: sev[i])
  nll = 0.0
  for k, i in enumerate(order):
    rest = order[k:]
    nll -= math.log(math.exp(s[i]) / sum(math.exp(s[j]) for j in rest))
  return nll


def _listnet(s, sev):
  rel = np.array([1 + sum(sev[j] > sev[i] for j in range(len(s))) for i in range(len(s))], float)
  p = rel / rel.sum()
  logq = np.asarray(s, float) - math.log(sum(math.exp(v) for v in s))
  return -float(np.sum(p * logq))


def _ranknet(scores, severity):
  total, count = 0.0, 0
  for s, sev in zip(scores, severity):
    for i, j in itertools.permutations(range(len(s)), 2):
      if sev[i] < sev[j]:
        total += math.log1p(math.exp(-(s[i] - s[j])))
        count += 1
  return total / count


def test_listmle_matches_plackett_luce():
  want = np.mean([_plackett_luce_nll(s, v) for s, v in zip(SCORES, SEVERITY)])
  np.testing.assert_allclose(ranking_loss(SCORES, SEVERITY, kind="listmle"), want, rtol=1e-5)


def test_softmax_matches_listnet():
  want = np.mean([_listnet(s, v) for s, v in zip(SCORES, SEVERITY)])
  np.testing.assert_allclose(ranking_loss(SCORES, SEVERITY, kind="softmax"), want, rtol=1e-5)


def test_pairwise_matches_ranknet():
  np.testing.assert_allclose(ranking_loss(SCORES, SEVERITY, kind="pairwise"),
                             _ranknet(SCORES, SEVERITY), rtol=1e-5)


def test_relevance_counts_more_severe_items_and_ties():
  np.testing.assert_array_equal(relevance(SEVERITY), [[3, 1, 4, 2], [4, 3, 2, 1]])
  np.testing.assert_array_equal(relevance(np.array([[0.5, 0.5, 0.1]])), [[1, 1, 3]])


@pytest.mark.parametrize("kind", ["listmle", "softmax", "pairwise"])
def test_loss_lower_when_scores_agree_with_severity(kind):
  agree = -SEVERITY * 5            # higher score = less severe
  disagree = SEVERITY * 5
  assert float(ranking_loss(agree, SEVERITY, kind=kind)) < float(
      ranking_loss(disagree, SEVERITY, kind=kind))
  if kind != "softmax":
    assert float(ranking_loss(agree, SEVERITY, kind=kind)) < float(
        ranking_loss(SCORES, SEVERITY, kind=kind))
    # Scale-up of a correct order drives listmle / pairwise to 0.
    assert float(ranking_loss(agree * 100, SEVERITY, kind=kind)) < 1e-6
  else:
    # ListNet's optimum is softmax(s) = target, i.e. s = log(relevance) + c: zero gradient there.
    best = jnp.log(relevance(SEVERITY).astype(jnp.float32)) + 1.0
    g = jax.grad(lambda s: ranking_loss(s, SEVERITY, kind=kind))(best)
    np.testing.assert_allclose(g, 0.0, atol=1e-6)
    assert float(ranking_loss(best, SEVERITY, kind=kind)) < float(
        ranking_loss(SCORES, SEVERITY, kind=kind))


@pytest.mark.parametrize("kind", ["listmle", "softmax", "pairwise"])
def test_permutation_invariant_jittable_and_finite_gradients(kind):
  perm = np.array([2, 0, 3, 1])
  a = ranking_loss(SCORES, SEVERITY, kind=kind)
  b = ranking_loss(SCORES[:, perm], SEVERITY[:, perm], kind=kind)
  np.testing.assert_allclose(a, b, rtol=1e-6)
  f = jax.jit(lambda s, v: ranking_loss(s, v, kind=kind))
  np.testing.assert_allclose(f(SCORES, SEVERITY), a, rtol=1e-6)
  g = jax.grad(lambda s: ranking_loss(s, SEVERITY, kind=kind))(jnp.asarray(SCORES))
  assert np.all(np.isfinite(g)) and float(jnp.abs(g).sum()) > 0
  # Extreme scores stay finite.
  g = jax.grad(lambda s: ranking_loss(s, SEVERITY, kind=kind))(jnp.asarray(SCORES) * 1e4)
  assert np.all(np.isfinite(g))


def test_bad_inputs_raise():
  with pytest.raises(ValueError, match="severity must have the shape"):
    ranking_loss(SCORES, SEVERITY[:, :3])
  with pytest.raises(ValueError, match=r"scores must have shape \(B, n\)"):
    ranking_loss(SCORES[0], SEVERITY[0])
  with pytest.raises(ValueError, match="n >= 2"):
    ranking_loss(SCORES[:, :1], SEVERITY[:, :1])
  with pytest.raises(ValueError, match="kind"):
    ranking_loss(SCORES, SEVERITY, kind="lambdarank")


def _accuracy_by_hand(scores, severity):
  right = count = 0.0
  for s, v in zip(np.asarray(scores, float), np.asarray(severity, float)):
    for i, j in itertools.combinations(range(len(s)), 2):
      if v[i] == v[j]:
        continue
      count += 1
      better = i if v[i] < v[j] else j
      worse = j if better == i else i
      right += 1.0 if s[better] > s[worse] else 0.5 if s[better] == s[worse] else 0.0
  return right / count


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pairwise_accuracy_matches_a_loop_over_pairs_on_host_and_in_jit(seed):
  rng = np.random.default_rng(seed)
  scores = rng.integers(0, 3, (5, 4)).astype(np.float64)   # with score ties
  severity = rng.integers(0, 4, (5, 4)).astype(np.float64)  # with severity ties
  want = _accuracy_by_hand(scores, severity)
  assert float(pairwise_accuracy(scores, severity)) == pytest.approx(want, abs=1e-12)
  got = jax.jit(pairwise_accuracy)(jnp.asarray(scores, jnp.float32),
                                   jnp.asarray(severity, jnp.float32))
  assert float(got) == pytest.approx(want, abs=1e-6)
  assert float(pairwise_accuracy(np.ones((1, 3)), np.ones((1, 3)))) == 0.5  # no pair to order
  with pytest.raises(ValueError, match="shape"):
    pairwise_accuracy(scores[0], severity[0])

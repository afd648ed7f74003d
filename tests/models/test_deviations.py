"""Perceptual deviations and the DeviationScorer: against scipy references, exact properties."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from flax import nnx
from scipy import ndimage

from jiqa.models import DeviationScorer, deviations, make_scorer


def _images(seed=0, n=2, size=32):
  key = jax.random.key(seed)
  a = jax.random.uniform(key, (n, size, size, 3))
  a = jnp.asarray(ndimage.uniform_filter(np.asarray(a), (0, 3, 3, 0)))  # some structure
  noisy = jnp.clip(a + 0.08 * jax.random.normal(jax.random.fold_in(key, 1), a.shape), 0, 1)
  return a, noisy


def _ref_features(a, b, num_scales, feature_set="base"):
  """Independent numpy/scipy version (float64; ``ndimage.correlate``, edges 'nearest')."""
  m = np.array([[0.299, 0.587, 0.114], [-0.168735892, -0.331264108, 0.5],
                [0.5, -0.418687589, -0.081312411]])

  def ycc(x):
    return 255.0 * np.einsum("nhwc,kc->nhwk", np.asarray(x, np.float64), m)

  def pool(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))

  prewitt = np.array([[1.0, 0.0, -1.0]] * 3) / 3.0

  def grad(y):
    gx = np.stack([ndimage.correlate(i, prewitt, mode="nearest") for i in y])
    gy = np.stack([ndimage.correlate(i, prewitt.T, mode="nearest") for i in y])
    return np.sqrt(gx**2 + gy**2)

  sim = lambda x, y, t: (2 * x * y + t) / (x * x + y * y + t)  # noqa: E731
  box = lambda y: np.stack([ndimage.uniform_filter(i, 3, mode="nearest") for i in y])  # noqa: E731
  ya, yb = ycc(a), ycc(b)
  out = []
  for _ in range(num_scales):
    ya, yb = pool(ya), pool(yb)
    gms = sim(grad(ya[..., 0]), grad(yb[..., 0]), 170.0)
    chroma = sim(ya[..., 1], yb[..., 1], 200.0) * sim(ya[..., 2], yb[..., 2], 200.0)
    lum = sim(box(ya[..., 0]), box(yb[..., 0]), 6.5025)
    std = lambda m: m.reshape(len(m), -1).std(axis=1, ddof=1)  # noqa: E731
    out += [std(gms), 1 - gms.mean(axis=(1, 2)),
            1 - chroma.mean(axis=(1, 2)), 1 - lum.mean(axis=(1, 2))]
    if feature_set == "pooled":
      out += [std(chroma), std(lum), std(gms * chroma)]
  return np.stack(out, -1)


@pytest.mark.parametrize("num_scales,feature_set", [(1, "base"), (3, "base"), (2, "pooled")])
def test_matches_scipy_reference(num_scales, feature_set):
  a, b = _images()
  got = np.asarray(deviations.deviation_features(a, b, num_scales=num_scales,
                                                 feature_set=feature_set))
  assert got.shape[1] == len(deviations.feature_names(num_scales, feature_set))
  np.testing.assert_allclose(got, _ref_features(a, b, num_scales, feature_set), rtol=2e-3,
                             atol=2e-5)


def test_pooled_zero_on_identical_and_unknown_set_refused():
  a, _ = _images(3)
  np.testing.assert_array_equal(
      np.asarray(deviations.deviation_features(a, a, num_scales=2, feature_set="pooled")), 0)
  with pytest.raises(ValueError, match="feature_set"):
    deviations.deviation_features(a, a, num_scales=1, feature_set="mdsi")


def test_zero_on_identical_nonnegative_symmetric_finite_gradient():
  a, b = _images(1)
  np.testing.assert_array_equal(np.asarray(deviations.deviation_features(a, a, num_scales=2)), 0)
  d_ab = deviations.deviation_features(a, b, num_scales=2)
  assert bool(jnp.all(d_ab >= 0))
  np.testing.assert_allclose(d_ab, deviations.deviation_features(b, a, num_scales=2), rtol=1e-5,
                             atol=1e-7)
  g = jax.grad(lambda x: deviations.deviation_features(a, x, num_scales=2).sum())(a)
  assert bool(jnp.all(jnp.isfinite(g)))


def test_chroma_and_mean_shift_are_not_ties_with_the_pristine():
  a, _ = _images(2)
  grey = a.mean(-1, keepdims=True)
  desaturated = 0.5 * a + 0.5 * grey                          # luma unchanged
  shifted = jnp.clip(a + 0.1, 0, 1)
  d = deviations.deviation_features(jnp.concatenate([a, a]),
                                    jnp.concatenate([desaturated, shifted]), num_scales=1)
  assert float(d[0, 2]) > 1e-3 and float(d[2, 3]) > 1e-4     # chroma, luminance deviations


def test_bad_inputs_raise():
  with pytest.raises(ValueError, match="multiples of 2"):
    deviations.deviation_features(jnp.zeros((1, 12, 12, 3)), jnp.zeros((1, 12, 12, 3)),
                                  num_scales=3)
  with pytest.raises(ValueError, match="equal shape"):
    deviations.deviation_features(jnp.zeros((1, 8, 8, 3)), jnp.zeros((2, 8, 8, 3)))


def test_scorer_pristine_best_monotone_in_noise_and_weights():
  a, _ = _images(3, n=1)
  noise = jax.random.normal(jax.random.key(4), a.shape)
  levels = jnp.array([0.0, 0.02, 0.05, 0.1, 0.2])
  x = jnp.clip(a + levels[:, None, None, None] * noise, 0, 1)
  s = DeviationScorer(num_scales=2, rngs=nnx.Rngs(0))
  s.theta[...] = jax.random.normal(jax.random.key(5), s.theta.shape)  # any weights
  sc = np.asarray(s(a[0], x))
  assert sc[0] == 0 and np.all(np.diff(sc) < 0), sc
  np.testing.assert_allclose(float(s.weights().sum()), 1.0, rtol=1e-6)
  # Symmetric: s(r | x) = s(x | r), so the reference-free modes are refused, not 1/2.
  np.testing.assert_allclose(np.asarray(s(x[3:4], x[1:2])), np.asarray(s(x[1:2], x[3:4])),
                             rtol=1e-6)
  with pytest.raises(ValueError, match="reference"):
    s.preference(x[1:2], x[3:4])
  with pytest.raises(ValueError, match="companion_scores"):
    s.companion_scores(x[:3])
  p = np.asarray(s.preference(x[1:2], x[3:4], reference=a[0]))  # with the reference: fine
  assert p.shape == (1,) and p[0] > 0.5


def test_make_scorer_and_config():
  s = make_scorer(backbone="deviation", antisymmetric=False, depth=2, rngs=nnx.Rngs(0))
  assert isinstance(s, DeviationScorer) and s.stride == 4
  p = make_scorer(backbone="deviation", antisymmetric=False, depth=2, feature_set="pooled",
                  rngs=nnx.Rngs(0))
  assert p.theta.shape == (14,) and p.feature_names[4] == "chroma_std@0"
  with pytest.raises(ValueError, match="symmetric"):
    make_scorer(backbone="deviation", rngs=nnx.Rngs(0))
  from jiqa.configs import scorer as scorer_config
  c = scorer_config.get_config("deviation")
  assert c.model.scorer.backbone == "deviation" and c.data.tier_mode == "scaled"
  assert c.train.ranking_scope == "tier"
  pooled = scorer_config.get_config("deviation_pooled,smoke")
  assert pooled.model.scorer.feature_set == "pooled" and pooled.train.steps == 3
  with pytest.raises(ValueError, match="deviation_pooled"):
    scorer_config.get_config("deviation,smoke,full")
  main = scorer_config.get_config("pipeline_deviation,smoke")
  assert main.task == "pipeline" and main.train.rank_weight == 0.0
  assert main.model.scorer.backbone == "deviation" and main.train.map_weight > 0


def test_one_train_step_moves_the_weights():
  from jiqa.training import state as state_lib
  from jiqa.training import steps

  import optax
  cfg = ml_collections.ConfigDict({"task": "scorer", "seed": 0, "model": {"scorer": {
      "backbone": "deviation", "antisymmetric": False, "depth": 2}}})
  m = state_lib.build_models(cfg, num_types=25, rngs=nnx.Rngs(0))
  graphdef, params, rest = nnx.split(m, nnx.Param, ...)
  tx = optax.adam(1e-1)
  state = {"step": jnp.zeros((), jnp.int32), "params": params, "rest": rest,
           "opt_state": tx.init(params)}
  a, b = _images(6, n=2, size=16)
  batch = {"tier_reference": a, "tier_images": jnp.stack([a, b], 1),
           "tier_severity": jnp.array([[0.0, 1.0], [0.0, 1.0]])}
  new, metrics = steps.train_step(graphdef, state, batch, tx=tx,
                                  options=steps.StepOptions(task="scorer", ranking_kind="pairwise"))
  assert np.isfinite(float(metrics["loss"])) and float(metrics["pairwise_acc"]) == 1.0
  moved = jax.tree.map(lambda u, v: float(jnp.abs(u - v).max()), new["params"], params)
  assert max(jax.tree.leaves(moved)) > 0


def _lost_content_loops(a, b):
  """Brute force of deviations.lost_content for one pair (edges replicated)."""
  def luma(x):
    return 255.0 * (0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2])

  ya, yb = luma(a.astype(np.float64)), luma(b.astype(np.float64))
  h, w = ya.shape

  def one_way(x, y):
    total = 0.0
    for i in range(h):
      for j in range(w):
        best = np.inf
        for di in (-1, 0, 1):
          for dj in (-1, 0, 1):
            q = y[min(max(i + di, 0), h - 1), min(max(j + dj, 0), w - 1)]
            best = min(best, (x[i, j] - q)**2 / (x[i, j]**2 + q**2 + deviations.LUMINANCE_C1))
        total += best
    return total / (h * w)

  return one_way(ya, yb) + one_way(yb, ya)


def test_lost_content_matches_a_brute_force_loop_and_is_symmetric():
  rng = np.random.default_rng(0)
  a = rng.uniform(size=(2, 9, 7, 3)).astype(np.float32)
  b = np.clip(a + rng.normal(scale=0.1, size=a.shape), 0, 1).astype(np.float32)
  got = np.asarray(deviations.lost_content(a, b))
  want = [_lost_content_loops(a[n], b[n]) for n in range(2)]
  np.testing.assert_allclose(got, want, rtol=2e-4)
  np.testing.assert_allclose(got, np.asarray(deviations.lost_content(b, a)), rtol=1e-6)
  assert float(deviations.lost_content(a, a).max()) == 0.0


def test_lost_content_forgives_moved_content_and_charges_lost_rows():
  rng = np.random.default_rng(1)
  x = np.zeros((1, 16, 16, 3), np.float32)
  x[:, 4:12, 4:12] = rng.uniform(0.2, 1, size=(1, 8, 8, 1))
  assert float(deviations.lost_content(x, np.roll(x, 1, axis=2))[0]) == 0.0
  dropped = x.copy()
  dropped[:, 7] = x[:, 6]          # row 7 replaced by its neighbour: its content is gone
  dropped2 = dropped.copy()
  dropped2[:, 10] = x[:, 9]
  one, two = (float(deviations.lost_content(x, d)[0]) for d in (dropped, dropped2))
  assert 0 < one < two


def test_lost_content_refuses_mismatched_shapes():
  with pytest.raises(ValueError, match="a, b"):
    deviations.lost_content(np.zeros((1, 8, 8, 3)), np.zeros((1, 8, 9, 3)))

"""The train step: one step of every shipped config on a tiny hand-made batch (fast), the
batch maker, and (slow) the same loss and parameters on 1 device as on 8."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from jiqa import configs, losses
from jiqa.training import loop, mesh as mesh_lib, state as state_lib, steps

SIZE = 16


def _tiny(name):
  c = configs.load_config_file(f"{name}:smoke")
  c.model.map.update(width=4, depth=1)
  c.model.scorer.update(width=4, depth=1, hidden=8)
  return c


def _hand_made_batch(task, rng):
  """Triplets and tiers built by hand (no engine): a darker copy and a noisier copy."""
  num_types = len(__import__("jiqa.distortions", fromlist=["names"]).names())
  ref = rng.uniform(0.2, 0.8, (2, SIZE, SIZE, 3)).astype(np.float32)
  batch = {}
  if task in ("map", "pipeline"):
    maps = np.zeros((2, SIZE, SIZE, num_types), np.float32)
    maps[..., 0] = 0.3
    batch.update(reference=ref, distorted=ref * 0.7, maps=maps)
  if task in ("scorer", "pipeline"):
    noise = rng.normal(0, 1, ref.shape).astype(np.float32)
    imgs = np.stack([np.clip(ref + s * noise, 0, 1) for s in (0.0, 0.1, 0.3)], axis=1)
    batch.update(tier_images=imgs, tier_reference=ref,
                 tier_severity=np.tile(np.array([[0.0, 0.1, 0.3]], np.float32), (2, 1)))
  return jax.tree.map(jnp.asarray, batch)


@pytest.mark.parametrize("name", configs.SHIPPED)
def test_one_step_of_each_config_on_a_hand_made_batch(name):
  c = _tiny(name)
  graphdef, state = state_lib.create(c, num_types=_hand_made_batch("map", np.random.default_rng(0))
                                     ["maps"].shape[-1], total_steps=10)
  tx = optax.sgd(0.1)  # a plain step, so the update can be checked by hand
  state["opt_state"] = tx.init(state["params"])
  options = steps.StepOptions.from_config(c)
  batch = _hand_made_batch(c.task, np.random.default_rng(1))
  step = jax.jit(lambda s, b: steps.train_step(graphdef, s, b, tx=tx, options=options))
  before = jax.tree.map(np.asarray, state["params"])
  new, metrics = step(state, batch)
  assert int(new["step"]) == 1
  assert np.isfinite(float(metrics["loss"])) and float(metrics["grad_norm"]) > 0
  expected = {"map": {"map_loss", "map_mae"}, "scorer": {"rank_loss", "pairwise_acc"}}
  want = set().union(*(expected[t] for t in ("map", "scorer") if c.task in (t, "pipeline")))
  assert want | {"loss", "grad_norm"} == set(metrics)
  # The total is the weighted sum of its parts.
  total = (c.train.map_weight * float(metrics.get("map_loss", 0.0))
           + c.train.rank_weight * float(metrics.get("rank_loss", 0.0)))
  np.testing.assert_allclose(float(metrics["loss"]), total, rtol=1e-6)
  # SGD: new = old - 0.1 * grad, and the gradient's norm is the reported one.
  moved = [np.asarray(a) - b for a, b in zip(jax.tree.leaves(new["params"]),
                                             jax.tree.leaves(before))]
  np.testing.assert_allclose(np.sqrt(sum(np.sum(d.astype(np.float64) ** 2) for d in moved)),
                             0.1 * float(metrics["grad_norm"]), rtol=1e-4)


def test_train_step_rejects_a_batch_without_the_tasks_data():
  c = _tiny("pipeline")
  graphdef, state = state_lib.create(c, num_types=25, total_steps=2)
  tx = state_lib.make_optimizer(c, total_steps=2)
  batch = _hand_made_batch("scorer", np.random.default_rng(0))
  with pytest.raises(ValueError, match="batch: task 'pipeline' needs the keys \\['maps'\\]"):
    steps.train_step(graphdef, state, batch, tx=tx, options=steps.StepOptions.from_config(c))


def test_step_options_read_the_config_and_reject_unknown_values():
  c = ml_collections.ConfigDict({"task": "scorer", "train": {
      "map_weight": 2, "rank_weight": 0.5, "map_loss_kind": "l1", "ranking_kind": "softmax",
      "ranking_scope": "batch", "map_smooth": False}})
  o = steps.StepOptions.from_config(c)
  assert o == steps.StepOptions(task="scorer", map_weight=2.0, rank_weight=0.5,
                                map_loss_kind="l1", ranking_kind="softmax", ranking_scope="batch",
                                map_smooth=False)
  hash(o)  # frozen: usable as a static argument
  with pytest.raises(ValueError, match="task"):
    steps.StepOptions(task="regression")
  with pytest.raises(ValueError, match="ranking_kind"):
    steps.StepOptions(ranking_kind="lambdarank")
  with pytest.raises(ValueError, match="map_loss_kind"):
    steps.StepOptions(map_loss_kind="l2")


def test_batch_sizes_follow_the_task():
  for name, (b, t) in {"map_predictor": (8, 0), "scorer": (0, 8), "pipeline": (8, 8)}.items():
    s = steps.batch_sizes(configs.load_config_file(f"{name}:smoke"))
    assert (s["batch_size"] > 0, s["tier_batch_size"] > 0) == (b > 0, t > 0)
  with pytest.raises(ValueError, match="batch_size"):
    steps.make_batch(jax.random.key(0), jnp.zeros((1, 8, 8, 3)), engine=None, crop_size=4)


def test_ranking_scope_batch_compares_across_tiers():
  # Two tiers, each ordered right within itself; across tiers the score of tier 0's
  # worst image (severity 0.9) is above tier 1's best (severity 0.1).
  scores = jnp.array([[2.0, 1.0], [0.0, -1.0]])
  severity = jnp.array([[0.5, 0.9], [0.1, 0.2]])
  within = losses.ranking_loss(scores, severity, kind="pairwise", scope="tier")
  across = losses.ranking_loss(scores, severity, kind="pairwise", scope="batch")
  # Within tiers: both pairs right by margin 1, softplus(-1) each.
  assert abs(float(within) - float(jax.nn.softplus(-1.0))) < 1e-6
  assert float(across) > float(within)
  with pytest.raises(ValueError, match="scope"):
    losses.ranking_loss(scores, severity, kind="pairwise", scope="content")


def _one_step(config, num_devices):
  m = mesh_lib.make_mesh(num_devices)
  pool = loop.load_pool(config)
  with jax.set_mesh(m):
    graphdef, state, engine, tx = loop.setup(config, m)
    step = steps.make_train_step(graphdef, config, engine, tx, mesh=m)
    state, metrics = step(state, mesh_lib.replicate(pool.train, m),
                          mesh_lib.replicate(jax.random.key(0), m))
    return jax.device_get(state["params"]), jax.device_get(metrics)


@pytest.mark.slow  # compiles the engine + models: minutes on 2 shared cores
def test_one_step_same_on_1_and_8_devices(tiny_config):
  p1, m1 = _one_step(tiny_config, 1)
  p8, m8 = _one_step(tiny_config, 8)
  np.testing.assert_allclose(m1["loss"], m8["loss"], rtol=1e-5)
  assert np.isfinite(m1["loss"]) and m1["loss"] > 0
  for a, b in zip(jax.tree.leaves(p1), jax.tree.leaves(p8)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # compiles the engine + models: minutes on 2 shared cores
def test_batch_is_sharded_and_uses_training_types_only(tiny_config):
  m = mesh_lib.make_mesh(8)
  pool = loop.load_pool(tiny_config)
  engine = steps.engine_config(tiny_config)
  assert "white_noise" not in engine.types and "darken" in engine.types
  sizes = steps.batch_sizes(tiny_config)
  with jax.set_mesh(m):
    batch = jax.jit(lambda k, p: steps.make_batch(k, p, engine=engine, mesh=m, **sizes))(
        jax.random.key(1), pool.train)
  from jiqa import distortions
  wn = distortions.names().index("white_noise")
  assert float(np.abs(np.asarray(batch["maps"])[..., wn]).max()) == 0.0
  assert batch["tier_images"].shape == (8, 3, 16, 16, 3)
  assert np.all(np.diff(np.asarray(batch["tier_severity"]), axis=1) > 0)


def test_scaled_tiers_add_a_within_tier_pairwise_term():
  # A hand-made batch plus scaled tiers; the total with scaled_weight = 2 exceeds the one
  # without them by twice the mean RankNet loss over the scaled tiers' ordered pairs,
  # computed here in numpy from the scores (softplus(s_j - s_i), severity_i < severity_j).
  rng = np.random.default_rng(0)
  c = _tiny("scorer")
  graphdef, state = state_lib.create(c, num_types=2, total_steps=1)
  models = state_lib.merge(graphdef, state)
  batch = _hand_made_batch("scorer", rng)
  ref = np.asarray(batch["tier_reference"])
  noise = rng.normal(0, 1, ref.shape).astype(np.float32)
  imgs = np.stack([ref] + [np.clip(ref + s * noise, 0, 1) for s in (0.05, 0.2)], axis=1)
  sev = np.tile(np.array([[0.0, 0.4, 0.8]], np.float32), (2, 1))
  opts = steps.StepOptions(task="scorer", ranking_kind="pairwise", ranking_scope="batch",
                           scaled_weight=2.0)
  base, _ = steps.compute_losses(models, batch, options=opts)
  more = dict(batch, scaled_images=jnp.asarray(imgs), scaled_reference=jnp.asarray(ref),
              scaled_severity=jnp.asarray(sev))
  total, parts = steps.compute_losses(models, more, options=opts)
  s = np.asarray(models.scorer(jnp.asarray(np.repeat(ref, 3, 0)),
                               jnp.asarray(imgs.reshape(6, SIZE, SIZE, 3))),
                 np.float64).reshape(2, 3)
  terms = [np.logaddexp(0.0, s[b, j] - s[b, i]) for b in range(2)
           for i in range(3) for j in range(3) if sev[b, i] < sev[b, j]]
  np.testing.assert_allclose(float(total) - float(base), 2.0 * np.mean(terms), rtol=1e-4)
  assert "scaled_pairwise_acc" in parts
  # The batch sizes read the new keys; their defaults are today's (no scaled tiers).
  assert steps.batch_sizes(c)["scaled_tier_batch_size"] == 0
  c.data.scaled_tier_batch_size = 4
  assert steps.batch_sizes(c)["scaled_tier_batch_size"] == 4
  assert steps.StepOptions.from_config(c).scaled_weight == 1.0


def test_map_strength_weight_scales_the_strength_term_of_the_sparse_loss():
  """``train.map_strength_weight`` reaches jiqa.losses.map_loss: raising it by 4 adds 4 times
  the strength term (computed separately by map_loss_terms) to the map loss."""
  c = _tiny("pipeline")
  c.train.map_loss_kind = "sparse"
  graphdef, state = state_lib.create(c, num_types=_hand_made_batch("map", np.random.default_rng(0))
                                     ["maps"].shape[-1], total_steps=10)
  models = state_lib.merge(graphdef, state)
  batch = _hand_made_batch("map", np.random.default_rng(1))
  loss = {}
  for w in (2.0, 6.0):
    c.train.map_strength_weight = w
    options = steps.StepOptions.from_config(c)
    assert options.map_strength_weight == w
    loss[w], _ = steps.map_terms(models, batch, options=options)
  out = models.map_predictor(batch["reference"], batch["distorted"], smooth=options.map_smooth)
  strength = losses.map_loss_terms(out, batch["maps"], kind="sparse")["strength"]
  assert float(strength) > 0
  np.testing.assert_allclose(float(loss[6.0] - loss[2.0]), 4.0 * float(strength), rtol=1e-5)

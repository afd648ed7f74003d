"""jiqa.training.batches and the nested-pair term: B(x) is the engine's own make_triplets image,
the rest of the batch is unchanged, and the loss adds the RankNet term of x over B(x) by hand."""

import jax
import jax.numpy as jnp
import numpy as np

from jiqa import configs, distortions
from jiqa.training import batches, state as state_lib, steps

SIZE = 16


def test_batch_sizes_read_nested_pairs_for_the_scorer_tasks_only():
  c = configs.load_config_file("pipeline:smoke")
  assert batches.batch_sizes(c)["nested_pairs"] is False
  c.data.nested_pairs = True
  assert batches.batch_sizes(c)["nested_pairs"] is True
  c.task = "map"
  assert batches.batch_sizes(c)["nested_pairs"] is False
  # steps keeps the names its callers import.
  assert steps.make_batch is batches.make_batch and steps.batch_sizes is batches.batch_sizes


def test_nested_images_are_the_engines_triplets_of_the_tier_images():
  c = configs.load_config_file("pipeline:smoke")
  engine = steps.engine_config(c)
  pool = jax.random.uniform(jax.random.key(1), (2, 48, 48, 3))
  key = jax.random.key(3)
  kw = dict(engine=engine, crop_size=SIZE, tier_batch_size=2, tier_size=3, tier_mode="scaled")
  plain = batches.make_batch(key, pool, **kw)
  with_nested = batches.make_batch(key, pool, nested_pairs=True, **kw)
  assert set(with_nested) == set(plain) | {"tier_nested"}
  for k, v in plain.items():
    np.testing.assert_array_equal(np.asarray(v), np.asarray(with_nested[k]))
  flat = plain["tier_images"].reshape(-1, SIZE, SIZE, 3)
  want = distortions.make_triplets(jax.random.fold_in(key, 7), flat, config=engine)[1]
  np.testing.assert_array_equal(np.asarray(with_nested["tier_nested"]),
                                np.asarray(want).reshape(plain["tier_images"].shape))


def test_nested_pairs_add_a_pairwise_term_on_the_changed_pairs_only():
  rng = np.random.default_rng(0)
  c = configs.load_config_file("scorer:smoke")
  c.model.scorer.update(width=4, depth=1, hidden=8)
  graphdef, state = state_lib.create(c, num_types=2, total_steps=1)
  models = state_lib.merge(graphdef, state)
  ref = rng.uniform(0.2, 0.8, (2, SIZE, SIZE, 3)).astype(np.float32)
  noise = rng.normal(0, 1, ref.shape).astype(np.float32)
  imgs = np.stack([np.clip(ref + s * noise, 0, 1) for s in (0.0, 0.1, 0.3)], axis=1)
  nested = np.clip(imgs + 0.2 * rng.normal(0, 1, imgs.shape), 0, 1).astype(np.float32)
  nested[1, 2] = imgs[1, 2]                                   # B = identity: not a pair
  batch = {"tier_reference": ref, "tier_images": imgs,
           "tier_severity": np.tile(np.array([[0.0, 0.1, 0.3]], np.float32), (2, 1))}
  batch = jax.tree.map(jnp.asarray, batch)
  opts = steps.StepOptions(task="scorer", ranking_kind="pairwise", nested_weight=3.0)
  base, _ = steps.compute_losses(models, batch, options=opts)
  total, parts = steps.compute_losses(models, dict(batch, tier_nested=jnp.asarray(nested)),
                                      options=opts)

  def scores(x):
    return np.asarray(models.scorer(jnp.asarray(np.repeat(ref, 3, 0)),
                                    jnp.asarray(x.reshape(6, SIZE, SIZE, 3))),
                      np.float64).reshape(2, 3)

  s, sn = scores(imgs), scores(nested)
  pairs = [(b, i) for b in range(2) for i in range(3) if (b, i) != (1, 2)]
  terms = [np.logaddexp(0.0, sn[b, i] - s[b, i]) for b, i in pairs]
  np.testing.assert_allclose(float(total) - float(base), 3.0 * np.mean(terms), rtol=1e-4)
  acc = np.mean([1.0 if s[b, i] > sn[b, i] else 0.5 if s[b, i] == sn[b, i] else 0.0
                 for b, i in pairs])
  np.testing.assert_allclose(float(parts["nested_acc"]), acc, rtol=1e-6)
  assert steps.StepOptions.from_config(c).nested_weight == 1.0

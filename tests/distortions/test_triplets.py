"""Composition sampling, triplets and the map convention.

References used: ARNIQA's level probabilities (.29, .27, .21, .14, .08), the
table's ops called directly (``apply``), scikit-image's CIELAB and scipy's
Laplacian to measure each signed axis independently of the ops' declarations.
"""

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
import scipy.ndimage
import skimage.color

from jiqa import distortions, images
from jiqa.distortions import compose, execute, triplets

# A cheap subset spanning six groups keeps compilation short.
TYPES = ("gaussian_blur", "jpeg", "white_noise", "darken", "mean_shift", "pixelate",
         "contrast_change")
CFG = distortions.EngineConfig(types=TYPES, max_distortions=2)


@pytest.fixture(scope="module")
def photos():
  imgs = images.bundled_images(("astronaut", "chelsea", "coffee", "rocket"))
  out = []
  for v in imgs.values():
    v = v[::2, ::2]
    top, left = (v.shape[0] - 64) // 2, (v.shape[1] - 64) // 2
    out.append(v[top:top + 64, left:left + 64])
  return np.stack(out).astype(np.float32)


def _draw(config, b, n_keys, seed=0):
  f = jax.jit(jax.vmap(lambda k: compose.sample_compositions(k, b, config)))
  return jax.device_get(f(jax.random.split(jax.random.key(seed), n_keys)))


HELD_OUT = distortions.EngineConfig(types=tuple(n for n in distortions.names() if n != "jpeg"))


@pytest.fixture(scope="module")
def drawn():
  return _draw(HELD_OUT, 20, 200)


def test_sampler_distinct_groups_step_counts_and_static_caps(drawn):
  cfg, comp = HELD_OUT, drawn
  types = comp.types.reshape(-1, cfg.max_distortions)
  groups = np.array(distortions.groups())
  assert not np.any(types == distortions.index("jpeg"))          # held out
  for row in types:
    used = row[row >= 0]
    assert len(set(groups[used])) == len(used)                      # distinct groups
    assert len(used) == 0 or cfg.min_distortions <= len(used) <= cfg.max_distortions
  caps = np.asarray(distortions.capacities(20, cfg))
  for s in range(cfg.max_distortions):
    counts = np.stack([np.bincount(t[t >= 0], minlength=25) for t in comp.types[:, :, s]])
    assert np.all(counts <= caps[s][None]), f"step {s} exceeds its capacity"
  # Pristine images: expectation exactly B * p (20 * 0.05 = 1 per batch).
  pristine = (comp.types < 0).all(-1).sum(-1)
  assert abs(pristine.mean() - 1.0) < 0.12
  # Number of steps uniform in 1..4 among distorted images.
  steps = (types >= 0).sum(-1)
  freq = np.bincount(steps[steps > 0], minlength=5)[1:] / np.sum(steps > 0)
  np.testing.assert_allclose(freq, 0.25, atol=0.03)


def test_types_uniform_within_groups_and_groups_uniform(drawn):
  comp = drawn
  t = comp.types[comp.types >= 0]
  groups = np.array(distortions.groups())
  gfreq = np.array([np.mean(groups[t] == g) for g in distortions.GROUPS])
  np.testing.assert_allclose(gfreq, 1 / 7, atol=0.02)
  for g in distortions.GROUPS:
    members = [i for i, gg in enumerate(groups) if gg == g]
    f = np.bincount(t[np.isin(t, members)], minlength=25)[members]
    members = [m for m in members if m != distortions.index("jpeg")]
    f = f[f > 0]
    assert len(f) == len(members)
    np.testing.assert_allclose(f / f.sum(), 1 / len(members), atol=0.04)


def test_level_distributions_and_signs():
  comp = _draw(CFG, 32, 100, seed=2)
  active = comp.types >= 0
  lv = np.abs(comp.levels[active])
  assert lv.min() >= 0.1 and lv.max() <= 1.0
  nearest = np.clip(np.round(lv / 0.2), 1, 5).astype(int)
  freq = np.bincount(nearest, minlength=6)[1:] / len(lv)
  np.testing.assert_allclose(freq, (0.29, 0.27, 0.21, 0.14, 0.08), atol=0.025)  # ARNIQA
  signed = np.isin(comp.types, [distortions.index("mean_shift"), distortions.index("contrast_change")])
  assert np.all(comp.levels[active & ~signed] > 0)
  assert 0.4 < np.mean(comp.levels[signed] < 0) < 0.6
  disc = _draw(dataclasses.replace(CFG, level_distribution="kadid_discrete"), 16, 20)
  np.testing.assert_allclose(np.unique(np.abs(disc.levels[disc.types >= 0])),
                             distortions.KADID_LEVELS, atol=1e-6)
  uni = _draw(dataclasses.replace(CFG, level_distribution="uniform", level_min=0.3), 16, 20)
  u = np.abs(uni.levels[uni.types >= 0])
  assert u.min() >= 0.3 and abs(u.mean() - 0.65) < 0.03


@pytest.mark.parametrize("name", ["darken", "mean_shift", "jpeg", "gaussian_blur"])
def test_single_full_mask_step_is_the_op_and_the_map_its_signed_level(name, photos):
  cfg = distortions.EngineConfig(types=(name,), max_distortions=1, pristine_prob=0.0,
                                 mask_kinds=("full",), mask_probs=(1.0,))
  key = jax.random.key(3)
  ref, dist, maps = distortions.make_triplet(key, photos[0], config=cfg)
  comp = distortions.sample_compositions(key, 1, cfg)
  level = float(comp.levels[0, 0])
  expected = distortions.apply(name, comp.op_keys[0, 0], photos[0], level)
  np.testing.assert_allclose(dist, expected, atol=1e-5)
  np.testing.assert_array_equal(ref, photos[0])
  t = distortions.index(name)
  spec = distortions.get(name)
  value = level if spec.signed_level else spec.direction * level
  np.testing.assert_allclose(maps[..., t], value, atol=1e-6)
  assert np.all(np.delete(np.asarray(maps), t, axis=-1) == 0)


def test_batched_triplets_maps_convention_and_swap(photos):
  batch = np.concatenate([photos] * 4)                          # 16 images
  trip = distortions.make_triplets(jax.random.key(4), batch, config=CFG)
  maps, dist, ref = map(np.asarray, (trip.maps, trip.distorted, trip.reference))
  assert maps.shape == batch.shape[:3] + (25,) and maps.dtype == np.float32
  assert np.abs(maps).max() <= 1.0 and dist.min() >= 0 and dist.max() <= 1
  present = np.abs(maps).reshape(16, -1, 25).max(1) > 0
  assert not present[:, [distortions.index(n) for n in distortions.names() if n not in TYPES]].any()
  assert present.sum(1).max() <= CFG.max_distortions
  # Where no type acts, the image is untouched (masks are exact zeros there).
  untouched = np.all(maps == 0, axis=-1)
  np.testing.assert_array_equal(dist[untouched], ref[untouched])
  # Signs: darken channel <= 0, pixelate/blur channels <= 0 (less sharp), jpeg >= 0.
  for name, sign in (("darken", -1), ("gaussian_blur", -1), ("pixelate", -1), ("jpeg", 1)):
    assert np.all(sign * maps[..., distortions.index(name)] >= 0)
  swapped = distortions.swap(trip)
  np.testing.assert_array_equal(swapped.reference, trip.distorted)
  np.testing.assert_array_equal(swapped.distorted, trip.reference)
  np.testing.assert_array_equal(swapped.maps, -trip.maps)
  # Deterministic given the key; another key gives another batch.
  again = distortions.make_triplets(jax.random.key(4), batch, config=CFG)
  np.testing.assert_array_equal(again.maps, trip.maps)
  other = distortions.make_triplets(jax.random.key(5), batch, config=CFG)
  assert np.abs(np.asarray(other.distorted) - dist).max() > 0.01


@pytest.mark.parametrize("executor", ["batched", "per_image"])
def test_executors_equal_a_loop_of_single_images(photos, executor):
  batch = jnp.asarray(np.concatenate([photos, photos[::-1]]))   # 8 images
  comp = distortions.sample_compositions(jax.random.key(6), 8, CFG)
  dist, maps = jax.jit(lambda x, c: execute.run(x, c, config=CFG, executor=executor))(batch, comp)
  single = jax.jit(lambda x, c: distortions.apply_shared(x[None], c, config=CFG))
  for i in range(8):
    d1, m1 = single(batch[i], jax.tree.map(lambda a: a[i:i + 1], comp))
    np.testing.assert_allclose(dist[i], d1[0], atol=2e-5)
    np.testing.assert_allclose(maps[i], m1[0], atol=1e-6)


def test_per_image_executor_on_a_mesh_gives_the_same_sharded_batch(photos):
  from jiqa.training import mesh as mesh_lib
  batch = jnp.asarray(np.concatenate([photos, photos[::-1]]))   # 8 images, 8 fake devices
  plain = distortions.make_triplets(jax.random.key(7), batch, config=CFG, executor="per_image")
  mesh = mesh_lib.make_mesh()
  assert mesh.size == 8
  with jax.set_mesh(mesh):
    sharded = jax.device_put(batch, mesh_lib.batch_sharding(mesh))
    trip = distortions.make_triplets(jax.random.key(7), sharded, config=CFG, executor="per_image",
                                     mesh=mesh)
  assert trip.maps.sharding.spec == mesh_lib.batch_sharding(mesh).spec
  np.testing.assert_allclose(trip.distorted, plain.distorted, atol=2e-6)
  np.testing.assert_array_equal(trip.maps, plain.maps)
  with pytest.raises(ValueError, match="executor"):
    distortions.make_triplets(jax.random.key(7), batch, config=CFG, executor="gpu")
  with pytest.raises(ValueError, match="does not split"):
    distortions.make_triplets(jax.random.key(7), batch[:6], config=CFG, executor="per_image", mesh=mesh)


@pytest.mark.parametrize("maps", ["dense", "steps"])
def test_per_image_executor_on_an_explicit_axes_mesh(photos, maps):
  # jax.make_mesh's default axes are Explicit: the batch and the compositions drawn
  # inside make_triplets must be resharded to the mesh for shard_map (issue 14).
  batch = jnp.asarray(np.concatenate([photos, photos[::-1]]))   # 8 images, 8 fake devices
  plain = distortions.make_triplets(jax.random.key(7), batch, config=CFG, executor="per_image",
                                    maps=maps)
  mesh = jax.make_mesh((8,), ("b",))
  assert mesh.axis_types == (jax.sharding.AxisType.Explicit,)
  with jax.set_mesh(mesh):
    for x in (batch, jax.device_put(batch, jax.NamedSharding(mesh, jax.P("b")))):
      trip = distortions.make_triplets(jax.random.key(7), x, config=CFG, executor="per_image",
                                       mesh=mesh, maps=maps)
      assert trip.distorted.sharding.spec[0] == "b"
      np.testing.assert_allclose(trip.distorted, plain.distorted, atol=2e-6)
      for a, b in zip(jax.tree.leaves(trip.maps), jax.tree.leaves(plain.maps)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_single_triplet_equals_batch_of_one(photos):
  key = jax.random.key(8)
  one = distortions.make_triplet(key, photos[1], config=CFG)
  batch = distortions.make_triplets(key, photos[1:2], config=CFG)
  np.testing.assert_allclose(one.distorted, batch.distorted[0], atol=2e-5)
  np.testing.assert_allclose(one.maps, batch.maps[0], atol=1e-6)


@pytest.mark.slow  # vmap turns the switch into a select over every op: slow to compile
def test_single_triplet_works_under_vmap(photos):
  keys = jax.random.split(jax.random.key(9), 2)
  vm = jax.vmap(lambda k, x: distortions.make_triplet(k, x, config=CFG))(keys, jnp.asarray(photos[:2]))
  for i in range(2):
    np.testing.assert_allclose(vm.maps[i], distortions.make_triplet(keys[i], photos[i], config=CFG).maps,
                               atol=1e-6)


def test_config_dict_and_dataclass_agree_and_bad_input_raises(photos):
  cd = distortions.default_config()
  cd.types, cd.max_distortions = TYPES, 2
  assert isinstance(cd, ml_collections.ConfigDict)
  a = distortions.make_triplet(jax.random.key(1), photos[0], config=cd)
  b = distortions.make_triplet(jax.random.key(1), photos[0], config=CFG)
  np.testing.assert_array_equal(a.maps, b.maps)
  with pytest.raises(ValueError, match="unknown fields"):
    distortions.as_engine_config({"max_steps": 2})
  with pytest.raises(ValueError, match="max_distortions"):
    distortions.EngineConfig(types=("jpeg", "darken"), max_distortions=3)
  with pytest.raises(ValueError, match="unknown distortion"):
    distortions.EngineConfig(types=("blurr",))
  with pytest.raises(ValueError, match="image"):
    distortions.make_triplet(jax.random.key(0), photos, config=CFG)
  with pytest.raises(ValueError, match="images"):
    distortions.make_triplets(jax.random.key(0), (photos * 255).astype(np.uint8), config=CFG)


def _axis_measure(axis, img):
  img = np.asarray(img, np.float64)
  lab = skimage.color.rgb2lab(img)
  if axis == "brightness":
    return lab[..., 0].mean()
  if axis == "contrast":
    return lab[..., 0].std()
  if axis == "saturation":
    return np.hypot(lab[..., 1], lab[..., 2]).mean()
  # Sharpness: median |Laplacian| of L (the median ignores pixelate's sparse block edges).
  return np.median(np.abs(scipy.ndimage.laplace(lab[..., 0])))


@pytest.mark.parametrize("name", [n for n, s in zip(distortions.names(), distortions.signed_types())
                                  if s])
def test_map_sign_matches_the_measured_change_on_its_axis(name, photos):
  """The declared direction is what an independent measure of the axis sees."""
  spec = distortions.get(name)
  levels = (0.6, -0.6) if spec.signed_level else (0.6,)
  for level in levels:
    value = level if spec.signed_level else spec.direction * level
    change = np.mean([
        _axis_measure(spec.axis, distortions.apply(name, jax.random.key(0), img, level))
        - _axis_measure(spec.axis, img) for img in photos[:3]])
    assert np.sign(change) == np.sign(value), (name, level, change)


def test_executors_take_one_shape_and_refuse_compositions_over_capacity(photos):
  batch = jnp.asarray(np.concatenate([photos, photos]))         # 8 images
  comp = distortions.sample_compositions(jax.random.key(6), 8, CFG)
  # Every image gets the same type at step 0: over the batched executor's capacity.
  crowded = comp._replace(types=comp.types.at[:, 0].set(distortions.index("darken")))
  with pytest.raises(ValueError, match="capacity"):
    execute.apply_compositions(batch, crowded, config=CFG)
  # Under jit the check is in the graph: the images it could not distort come out NaN.
  dist, _ = jax.jit(lambda x, c: execute.apply_compositions(x, c, config=CFG))(batch, crowded)
  assert np.isnan(np.asarray(dist)).any()
  with pytest.raises(ValueError, match="one composition"):
    distortions.apply_shared(batch, comp, config=CFG)
  with pytest.raises(TypeError):
    distortions.make_triplets(jax.random.key(0), batch, CFG)  # config is keyword-only


def test_make_triplets_compiles_once_for_equal_configs(photos):
  batch = jnp.asarray(photos)
  a = distortions.EngineConfig(types=("darken", "white_noise"), max_distortions=2)
  b = distortions.EngineConfig(types=("darken", "white_noise"), max_distortions=2)
  assert a == b and a is not b
  fn = triplets._make_triplets
  fn.clear_cache()
  distortions.make_triplets(jax.random.key(0), batch, config=a)
  distortions.make_triplets(jax.random.key(1), batch, config=b)
  distortions.make_triplets(jax.random.key(2), batch, config={"types": ("darken", "white_noise"),
                                                              "max_distortions": 2})
  assert fn._cache_size() == 1


@pytest.mark.parametrize("executor", ["per_image", "batched"])
def test_step_layout_expands_to_the_dense_maps_bit_for_bit(executor, photos):
  batch = jnp.stack([p[:32, :32] for p in photos[:4]] * 2)
  key = jax.random.key(11)
  dense = distortions.make_triplets(key, batch, config=CFG, executor=executor)
  steps = distortions.make_triplets(key, batch, config=CFG, executor=executor, maps="steps")
  assert isinstance(steps.maps, distortions.StepMaps)
  n, k = batch.shape[0], CFG.max_distortions
  assert steps.maps.masks.shape[:2] == (n, steps.maps.types.shape[1]) and steps.maps.types.shape[1] <= k
  np.testing.assert_array_equal(steps.distorted, dense.distorted)
  np.testing.assert_array_equal(distortions.dense_maps(steps.maps), dense.maps)
  np.testing.assert_array_equal(distortions.dense_maps(distortions.swap(steps).maps),
                                -dense.maps)
  with pytest.raises(ValueError, match="maps"):
    distortions.make_triplets(key, batch, config=CFG, maps="sparse")

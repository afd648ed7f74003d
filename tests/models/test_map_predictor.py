"""MapPredictor: exact anti-symmetry of strength and maps, f(A, A) = 0, symmetric presence
(per pixel and per image), jit, errors, trainability."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from jiqa.losses import map_loss
from jiqa.models import MapPredictor

T = 5
CONFIGS = {
    "unet": dict(backbone="unet", width=8, depth=2),
    "unet_pixels": dict(backbone="unet", width=8, depth=2, inputs="pixels", norm="none"),
    "unet_residual": dict(backbone="unet", width=8, depth=2, inputs="residual", norm="none",
                          image_head="mlp"),
    "vit": dict(backbone="vit", width=16, depth=2, patch_size=8, num_heads=2),
}


def rngs(seed=0):
  """Parameter rngs on the "rbg" PRNG: its initialisers compile ~8x faster than threefry's on CPU."""
  return nnx.Rngs(jax.random.key(seed, impl="rbg"))


def _pair(seed=0, n=3, h=32, w=48):
  ka, kb = jax.random.split(jax.random.key(seed))
  return jax.random.uniform(ka, (n, h, w, 3)), jax.random.uniform(kb, (n, h, w, 3))


class Jitted:
  """A predictor and its functional, jitted application ``apply(a, b)``."""

  def __init__(self, model):
    self.model = model
    self.graphdef, self.state = nnx.split(model)
    self._apply = jax.jit(lambda state, a, b: nnx.merge(self.graphdef, state)(a, b))
    self.stride = model.stride
    self.feature_channels = model.feature_channels

  def __call__(self, a, b):
    return self._apply(self.state, a, b)


@pytest.fixture(scope="module", params=list(CONFIGS))
def predictor(request):
  return Jitted(MapPredictor(T, rngs=rngs(list(CONFIGS).index(request.param)),
                             **CONFIGS[request.param]))


def test_exact_antisymmetry_and_zero_on_identical_pairs(predictor):
  a, b = _pair()
  ab, ba, aa = predictor(a, b), predictor(b, a), predictor(a, a)
  assert ab.maps.shape == ab.strength.shape == (3, 32, 48, T)
  assert ab.presence_logits.shape == (3, T) and ab.pixel_presence_logits.shape == (3, 32, 48, T)
  assert ab.maps.dtype == jnp.float32
  # Exact, bit for bit: s(b, a) = -s(a, b), s(a, a) = 0 (odd part: sign(d) tanh|d|).
  np.testing.assert_array_equal(np.asarray(ab.strength), -np.asarray(ba.strength))
  np.testing.assert_array_equal(np.asarray(ab.maps), -np.asarray(ba.maps))
  np.testing.assert_array_equal(np.asarray(aa.strength), 0.0)
  np.testing.assert_array_equal(np.asarray(aa.maps), 0.0)
  # Non-trivial output, inside the engine's range.
  assert float(jnp.abs(ab.maps).max()) > 1e-3
  assert float(jnp.abs(ab.strength).max()) <= 1.0 and float(jnp.abs(ab.maps).max()) <= 1.0
  np.testing.assert_allclose(np.asarray(ab.maps), np.asarray(
      jax.nn.sigmoid(ab.pixel_presence_logits) * ab.strength), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("inputs,options", [
    ("relational", {}), ("residual", {}),
    ("residual", dict(image_head="signature", signature_hidden=16)),
    ("residual", dict(image_head="signature", signature_hidden=16, signature_linear=True,
                      pixel_image_logits=False, gate_pixels=True, strength_stats=8,
                      strength_by_type=True)),
    ("context", dict(image_head="signature", signature_hidden=16, pixel_image_logits=False,
                     strength_stats=8, strength_by_type=True, strength_image=8,
                     strength_smooth=5))])
def test_random_parameters_keep_exactness(inputs, options):
  """Exactness holds for any parameters, not only the initial ones: perturb every weight."""
  model = MapPredictor(T, width=8, depth=2, inputs=inputs, rngs=rngs(7), **options)
  graphdef, state = nnx.split(model)
  leaves, tree = jax.tree.flatten(state)
  keys = jax.random.split(jax.random.key(3), len(leaves))
  state = jax.tree.unflatten(tree, [x + 0.5 * jax.random.normal(k, x.shape, x.dtype)
                                    for x, k in zip(leaves, keys)])
  apply = jax.jit(lambda a, b: nnx.merge(graphdef, state)(a, b))
  a, b = _pair(seed=9, n=2, h=16, w=24)
  ab, ba, aa = apply(a, b), apply(b, a), apply(a, a)
  np.testing.assert_array_equal(np.asarray(ab.strength), -np.asarray(ba.strength))
  np.testing.assert_array_equal(np.asarray(aa.strength), 0.0)
  np.testing.assert_array_equal(np.asarray(ab.pixel_presence_logits),
                                np.asarray(ba.pixel_presence_logits))
  np.testing.assert_array_equal(np.asarray(ab.presence_logits), np.asarray(ba.presence_logits))
  assert float(jnp.abs(ab.strength).max()) > 0.1


def test_presence_symmetric_and_features_split(predictor):
  a, b = _pair(seed=1)
  ab, ba = predictor(a, b), predictor(b, a)
  np.testing.assert_array_equal(ab.presence_logits, ba.presence_logits)
  np.testing.assert_array_equal(ab.pixel_presence_logits, ba.pixel_presence_logits)
  c = ab.features.shape[-1] // 2
  assert ab.features.shape == (3, 32 // predictor.stride, 48 // predictor.stride, 2 * c)
  np.testing.assert_allclose(ab.features[..., :c], ba.features[..., :c], rtol=0, atol=1e-6)
  np.testing.assert_allclose(ab.features[..., c:], -ba.features[..., c:], rtol=0, atol=1e-6)
  assert c * 2 == predictor.feature_channels


def test_per_sample_outputs_do_not_depend_on_the_rest_of_the_batch(predictor):
  a, b = _pair(seed=2)
  c, d = _pair(seed=5)
  full = predictor(a, b)
  mixed = predictor(a.at[0].set(c[0]).at[2].set(c[2]), b.at[0].set(d[0]).at[2].set(d[2]))
  np.testing.assert_allclose(full.maps[1], mixed.maps[1], atol=1e-6)
  np.testing.assert_allclose(full.presence_logits[1], mixed.presence_logits[1], atol=1e-6)


def test_bad_inputs_raise(predictor):
  a, b = _pair()
  predictor = predictor.model      # errors are raised while tracing, before any computation
  with pytest.raises(ValueError, match="same shape"):
    predictor(a, b[:, :16])
  with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
    predictor(a[0], b[0])
  with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
    predictor(a[..., :2], b[..., :2])
  with pytest.raises(ValueError, match="multiples of the backbone's total stride"):
    predictor(a[:, :30], b[:, :30])


def test_constructor_errors():
  with pytest.raises(ValueError, match="backbone"):
    MapPredictor(3, backbone="resnet", rngs=rngs())
  with pytest.raises(ValueError, match="num_types"):
    MapPredictor(0, rngs=rngs())
  with pytest.raises(ValueError, match="multiple"):
    MapPredictor(3, backbone="vit", width=18, num_heads=4, rngs=rngs())
  with pytest.raises(ValueError, match="inputs"):
    MapPredictor(3, inputs="rgb", rngs=rngs())
  with pytest.raises(ValueError, match="image_head"):
    MapPredictor(3, image_head="deep", rngs=rngs())
  with pytest.raises(ValueError, match="gate_pixels"):
    MapPredictor(3, gate_pixels=True, rngs=rngs())
  with pytest.raises(ValueError, match="strength_image"):
    MapPredictor(3, image_head="mlp", strength_image=4, rngs=rngs())
  with pytest.raises(ValueError, match="strength_smooth"):
    MapPredictor(3, strength_smooth=4, rngs=rngs())
  with pytest.raises(ValueError, match="strength_smooth must be one window or 3"):
    MapPredictor(3, strength_smooth=(5, 5), rngs=rngs())
  with pytest.raises(ValueError, match="strength_smooth"):
    MapPredictor(3, strength_smooth=(5, 6, 0), rngs=rngs())


@pytest.mark.slow
def test_training_reduces_map_loss_with_finite_gradients():
  """A few Adam steps on one fixed pair with a known signed map lower the loss."""
  f = MapPredictor(2, width=4, depth=2, rngs=rngs())
  a, _ = _pair(seed=4, n=2, h=16, w=16)
  b = jnp.clip(a + 0.3, 0, 1)                       # b brighter than a everywhere
  true = jnp.zeros((2, 16, 16, 2)).at[..., 0].set(0.6)
  graphdef, state = nnx.split(f)
  opt = optax.adam(1e-2)
  opt_state = opt.init(state)

  @jax.jit
  def step(state, opt_state):
    def loss_fn(state):
      return map_loss(nnx.merge(graphdef, state)(a, b), true, kind="sparse")
    loss, grads = jax.value_and_grad(loss_fn)(state)
    updates, opt_state = opt.update(grads, opt_state, state)
    return optax.apply_updates(state, updates), opt_state, loss, grads

  losses = []
  for i in range(20):
    state, opt_state, loss, grads = step(state, opt_state)
    if i == 0:
      assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))
    losses.append(float(loss))
  assert losses[-1] < 0.5 * losses[0], losses
  out = nnx.merge(graphdef, state)(a, b)
  assert float(out.strength[..., 0].mean()) > 0.15     # learned the sign
  assert float(out.presence_logits[:, 0].min()) > float(out.presence_logits[:, 1].max())


def test_relational_maps_signed_statistics_against_numpy():
  """relational_maps: channels and signs by hand (numpy), swap negates the signed ones."""
  from scipy import ndimage

  from jiqa.models.pair_stats import NUM_RELATIONAL, blockiness, relational_maps
  rng = np.random.default_rng(0)
  a = rng.uniform(0.2, 0.8, (1, 16, 16, 3)).astype(np.float32)
  b = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1).astype(np.float32)  # noisier
  r = np.asarray(relational_maps(a, b))
  assert r.shape == (1, 16, 16, NUM_RELATIONAL)
  # Channel 36: log HF energy ratio at scale 1 (/ 2), by hand with scipy's 3x3 means.
  y = lambda x: x.astype(np.float64) @ np.array([0.299, 0.587, 0.114])  # noqa: E731
  box = lambda x: ndimage.uniform_filter(x, size=(1, 3, 3), mode="nearest")  # noqa: E731
  la, lb = y(a) - box(y(a)), y(b) - box(y(b))
  want = np.log((box(lb**2) + 1e-4) / (box(la**2) + 1e-4)) / 2
  np.testing.assert_allclose(r[..., 36], want, atol=2e-3)
  assert r[..., 36].mean() > 0                                   # noise raises HF energy
  swapped = np.asarray(relational_maps(b, a))
  for ch in (0, 36, 37, 42, 43):                                 # signed channels flip
    np.testing.assert_allclose(swapped[..., ch], -r[..., ch], atol=1e-5)
  # Blockiness by hand: an 8x8 grid of flat blocks has steps only on its boundaries.
  blocks = np.kron(rng.uniform(size=(2, 2)), np.ones((8, 8)))[None, ..., None]
  got = np.asarray(blockiness(blocks.astype(np.float32)))
  gx = np.abs(np.diff(blocks[0, ..., 0], axis=1, append=blocks[0, :, -1:, 0]))
  want = np.log((gx[:8, 7].mean() + 1e-3) / (gx[:8, :7].mean() + 1e-3))
  np.testing.assert_allclose(got[0, 0, 0, 0], want, rtol=1e-5)
  with pytest.raises(ValueError, match="multiples"):
    relational_maps(a[:, :15, :15], b[:, :15, :15])


def test_residual_maps_against_numpy():
  """Two of the residual statistics against a direct numpy formula, and (a, a) is constant."""
  from jiqa.distortions.colorspace import rgb_to_ycbcr
  from jiqa.models import map_inputs

  a, b = _pair(seed=4, n=1, h=8, w=8)
  got = np.asarray(map_inputs.residual_maps(a, b))
  assert got.shape == (1, 8, 8, map_inputs.NUM_RESIDUAL)
  ya, yb = (np.asarray(rgb_to_ycbcr(x), np.float64)[0] for x in (a, b))

  def box3(x):
    p = np.pad(x, ((1, 1), (1, 1), (0, 0)), mode="edge")
    return sum(p[i:i + 8, j:j + 8] for i in range(3) for j in range(3)) / 9.0

  d = yb - ya
  r = d - box3(d)
  c = 1e-4
  np.testing.assert_allclose(got[0, ..., :3], (np.log(c + box3(r * r)) + 4.6) / 2.3,
                             rtol=1e-4, atol=1e-4)
  p = np.pad(np.abs(d[..., :1]), ((1, 1), (1, 1), (0, 0)), mode="edge")
  peak = np.max([p[i:i + 8, j:j + 8] for i in range(3) for j in range(3)], axis=0)
  np.testing.assert_allclose(got[0, ..., 9:10], (np.log(c + peak) + 4.6) / 2.3, rtol=1e-4,
                             atol=1e-4)
  same = np.asarray(map_inputs.residual_maps(a, a))
  keep = [k for k in range(map_inputs.NUM_RESIDUAL) if k % map_inputs.PER_SCALE not in (6, 8)]
  same = same[..., keep]  # all but the two channels that read a's luma / chroma
  np.testing.assert_allclose(same, np.broadcast_to(same[:, :1, :1], same.shape), atol=1e-5)


def test_context_maps_against_scipy():
  """Wide-window statistics against scipy's uniform_filter (nearest edges), and their signs."""
  from scipy import ndimage

  from jiqa.distortions.colorspace import rgb_to_ycbcr
  from jiqa.models import map_inputs

  a, b = _pair(seed=6, n=1, h=24, w=24)
  got = np.asarray(map_inputs.context_maps(a, b))
  assert got.shape == (1, 24, 24, map_inputs.NUM_CONTEXT)
  ya, yb = (np.asarray(rgb_to_ycbcr(x), np.float64)[0] for x in (a, b))
  d = np.asarray(b, np.float64)[0] - np.asarray(a, np.float64)[0]
  c = 1e-4
  for i, k in enumerate(map_inputs.CONTEXT_WINDOWS):
    box = lambda x, k=k: ndimage.uniform_filter(x, size=k, mode="nearest")  # noqa: E731
    o = i * map_inputs.PER_WINDOW
    np.testing.assert_allclose(got[0, ..., o], (np.log(c + box((d * d).mean(-1))) + 4.6) / 2.3,
                               rtol=1e-4, atol=1e-4)
    dy = yb[..., 0] - ya[..., 0]
    np.testing.assert_allclose(got[0, ..., o + 3], 4.0 * box(dy), atol=1e-5)
    var = lambda y, box=box: box(y * y) - box(y) ** 2  # noqa: E731
    want = 0.5 * np.log((var(yb[..., 0]) + c) / (var(ya[..., 0]) + c))
    np.testing.assert_allclose(got[0, ..., o + 4], want, atol=2e-3)
  swapped = np.asarray(map_inputs.context_maps(b, a))
  signed = [o + j for o in (0, map_inputs.PER_WINDOW) for j in (3, 4)]
  np.testing.assert_allclose(swapped[..., signed], -got[..., signed], atol=1e-4)
  np.testing.assert_allclose(swapped[..., 0], got[..., 0], atol=1e-5)  # energy: symmetric


def test_strength_smooth_is_a_box_mean_of_the_odd_part_against_scipy():
  """``strength = tanh(box(d))``: scipy's uniform_filter (nearest edges) of atanh of the
  unsmoothed strength; presence untouched; ``smooth=False`` is the model without it."""
  from scipy import ndimage

  a, b = _pair(seed=8, n=2, h=24, w=24)
  model = MapPredictor(T, width=8, depth=2, inputs="residual", image_head="signature",
                       signature_hidden=16, strength_smooth=5, rngs=rngs(3))
  smooth, plain = model(a, b), model(a, b, smooth=False)
  d = np.arctanh(np.asarray(plain.strength, np.float64))
  assert np.abs(d).max() > 1e-3  # a non-trivial strength
  want = np.tanh(ndimage.uniform_filter(d, size=(1, 5, 5, 1), mode="nearest"))
  np.testing.assert_allclose(np.asarray(smooth.strength), want, atol=2e-5)
  assert not np.allclose(np.asarray(smooth.strength), np.asarray(plain.strength), atol=1e-4)
  np.testing.assert_array_equal(np.asarray(smooth.presence_logits),
                                np.asarray(plain.presence_logits))
  model.strength_smooth = 0
  np.testing.assert_array_equal(np.asarray(model(a, b).strength), np.asarray(plain.strength))


def test_per_type_strength_windows_against_scipy_and_exactly_antisymmetric():
  """One window per type: each channel is scipy's uniform_filter of ``d`` over its own
  window (0: untouched), and f(b, a) = -f(a, b), f(a, a) = 0 stay exact."""
  from scipy import ndimage

  a, b = _pair(seed=9, n=2, h=24, w=24)
  windows = (5, 0, 9) + (3,) * (T - 3)
  model = MapPredictor(T, width=8, depth=2, inputs="residual", image_head="signature",
                       signature_hidden=16, strength_smooth=windows, rngs=rngs(4))
  out, plain = model(a, b), model(a, b, smooth=False)
  d = np.arctanh(np.asarray(plain.strength, np.float64))
  for t, w in enumerate(windows):
    want = d[..., t] if w == 0 else ndimage.uniform_filter(d[..., t], size=(1, w, w),
                                                           mode="nearest")
    np.testing.assert_allclose(np.asarray(out.strength[..., t]), np.tanh(want), atol=2e-5)
  np.testing.assert_array_equal(np.asarray(model(b, a).strength), -np.asarray(out.strength))
  np.testing.assert_array_equal(np.asarray(model(a, a).maps), 0.0)

"""Local registration and the displacement-tolerant deviations: against a brute-force loop."""

import jax
import numpy as np
import pytest
from scipy import ndimage

from jiqa.distortions import apply
from jiqa.models import DeviationScorer, deviations, make_scorer, registration
from flax import nnx

LUMA = np.array([0.299, 0.587, 0.114])


def _register_loops(a, b, radius, patch, residual=1.0):
  """Independent numpy version (float64): per pixel, per displacement, the window variance
  of the luma difference (edges replicated); a displacement replaces the best so far only if
  lower by more than the tie margin and below ``residual`` times the unmoved one."""
  h, w, _ = a.shape
  ya, yb = 255.0 * a.astype(np.float64) @ LUMA, 255.0 * b.astype(np.float64) @ LUMA
  r, p = radius, patch // 2
  yb_pad = np.pad(yb, r, mode="edge")
  b_pad = np.pad(b, ((r, r), (r, r), (0, 0)), mode="edge")
  out = np.empty_like(b)
  for i in range(h):
    for j in range(w):
      best, pick = None, None
      for di, dj in registration.displacements(radius):
        diffs = []
        for u in range(i - p, i + p + 1):
          for v in range(j - p, j + p + 1):
            uu, vv = min(max(u, 0), h - 1), min(max(v, 0), w - 1)  # the window's edge
            diffs.append(yb_pad[uu + r + di, vv + r + dj] - ya[uu, vv])
        m = np.var(diffs)
        if best is None:
          unmoved = m
        if best is None or (m < best - registration.TIE_ABSOLUTE
                            - registration.TIE_RELATIVE * best and m < residual * unmoved):
          best, pick = m, b_pad[i + r + di, j + r + dj]
      out[i, j] = pick
  return out


def _photo_like(seed, size=32):
  rng = np.random.default_rng(seed)
  x = ndimage.uniform_filter(rng.uniform(size=(1, size, size, 3)), (0, 3, 3, 0))
  return x.astype(np.float32)


@pytest.mark.parametrize("radius,patch,residual", [(1, 3, 1.0), (1, 5, 1.0), (2, 3, 1.0),
                                                    (1, 3, 0.5), (1, 3, 0.25), (2, 5, 0.5)])
def test_register_matches_a_brute_force_loop(radius, patch, residual):
  a = _photo_like(0, 12)
  b = np.clip(np.roll(a, 1, axis=1) + np.random.default_rng(1).normal(0, 0.03, a.shape), 0, 1)
  b = b.astype(np.float32)
  got = np.asarray(registration.register(a, b, radius=radius, patch=patch, residual=residual))[0]
  want = _register_loops(a[0], b[0], radius, patch, residual)
  np.testing.assert_array_equal(got, want)
  if residual < 1.0:  # the condition bites: fewer pixels move than without it
    loose = _register_loops(a[0], b[0], radius, patch)
    assert np.all(want == b[0], -1).sum() > np.all(loose == b[0], -1).sum()


def test_decisive_moves_undo_translations_but_leave_noise_where_it_is():
  a = _photo_like(6)
  for shift in ((1, 0), (0, -1), (1, 1)):
    back = np.asarray(registration.register(a, np.roll(a, shift, axis=(1, 2)), residual=0.5))
    np.testing.assert_array_equal(back[:, 2:-2, 2:-2], a[:, 2:-2, 2:-2])
  rng = np.random.default_rng(7)
  noisy = np.clip(a * (1 + rng.normal(0, 0.2, a.shape)), 0, 1).astype(np.float32)  # multiplicative
  stay = {r: np.mean(np.all(np.asarray(registration.register(a, noisy, residual=r)) == noisy, -1))
          for r in (1.0, 0.5)}
  assert stay[0.5] > stay[1.0] + 0.3, stay  # (measured: 0.78 against 0.34 of the pixels)


def test_register_undoes_translations_and_keeps_identity_brightness_and_noise():
  a = _photo_like(2)
  assert np.array_equal(np.asarray(registration.register(a, a)), a)
  for shift in ((1, 0), (0, -1), (1, 1)):
    moved = np.roll(a, shift, axis=(1, 2))
    back = np.asarray(registration.register(a, moved))
    np.testing.assert_array_equal(back[:, 2:-2, 2:-2], a[:, 2:-2, 2:-2])
  # A brightness offset is not a displacement: nothing moves.
  brighter = np.clip(a + 0.1, 0, 1)
  assert np.array_equal(np.asarray(registration.register(a, brighter)), brighter)
  # Independent noise is not matched away: most pixels stay where they are.
  noisy = np.clip(a + np.random.default_rng(3).normal(0, 0.05, a.shape), 0, 1).astype(np.float32)
  kept = np.mean(np.all(np.asarray(registration.register(a, noisy)) == noisy, axis=-1))
  assert kept > 0.5, kept
  assert np.array_equal(np.asarray(registration.register(a, noisy, radius=0)), noisy)


def test_register_refuses_bad_arguments():
  a = np.zeros((1, 8, 8, 3), np.float32)
  with pytest.raises(ValueError, match="a, b"):
    registration.register(a, np.zeros((1, 8, 9, 3)))
  with pytest.raises(ValueError, match="radius"):
    registration.register(a, a, radius=-1)
  with pytest.raises(ValueError, match="patch"):
    registration.register(a, a, patch=4)
  for bad in (0.0, -0.5, 1.5, float("nan")):
    with pytest.raises(ValueError, match="residual"):
      registration.register(a, a, residual=bad)


def test_tolerant_deviations_symmetric_zero_and_forgive_moves_not_losses():
  a = _photo_like(4)
  noisy = np.clip(a + np.random.default_rng(5).normal(0, 0.08, a.shape), 0, 1).astype(np.float32)
  d = np.asarray(deviations.deviation_features(a, noisy, num_scales=2, tolerance=1))
  np.testing.assert_allclose(
      d, np.asarray(deviations.deviation_features(noisy, a, num_scales=2, tolerance=1)),
      rtol=1e-5, atol=1e-9)
  assert np.all(d > 0)
  np.testing.assert_array_equal(
      np.asarray(deviations.deviation_features(a, a, num_scales=2, tolerance=1)), 0)
  # By definition: the mean of the aligned deviations of both registered orderings.
  want = 0.5 * (deviations.deviation_features(a, registration.register(a, noisy), num_scales=2)
                + deviations.deviation_features(noisy, registration.register(noisy, a),
                                                num_scales=2))
  np.testing.assert_allclose(d, np.asarray(want), rtol=1e-6)
  # A one-pixel translation is nearly free (its lost last column only); a blur is not.
  moved = np.concatenate([a[:, :, :1], a[:, :, :-1]], axis=2)
  aligned = np.asarray(deviations.deviation_features(a, moved, num_scales=2)).sum()
  tolerant = np.asarray(deviations.deviation_features(a, moved, num_scales=2, tolerance=1)).sum()
  blurred = np.asarray(apply("gaussian_blur", jax.random.key(0), a[0], 0.6))[None]
  blur_tol = np.asarray(deviations.deviation_features(a, blurred, num_scales=2, tolerance=1)).sum()
  assert tolerant < 0.1 * aligned and tolerant < 0.1 * blur_tol, (tolerant, aligned, blur_tol)
  with pytest.raises(ValueError, match="tolerance"):
    deviations.deviation_features(a, a, num_scales=1, tolerance=-1)
  with pytest.raises(ValueError, match="residual"):  # no registration to make decisive
    deviations.deviation_features(a, a, num_scales=1, residual=0.5)
  decisive = deviations.deviation_features(a, noisy, num_scales=2, tolerance=1, residual=0.5)
  want = 0.5 * (deviations.deviation_features(
      a, registration.register(a, noisy, residual=0.5), num_scales=2)
      + deviations.deviation_features(noisy, registration.register(noisy, a, residual=0.5),
                                      num_scales=2))
  np.testing.assert_allclose(np.asarray(decisive), np.asarray(want), rtol=1e-6)


def test_pixelate_levels_ordered_by_the_tolerant_prior_not_the_aligned_one():
  """KADID's pixelate at its five levels (MATLAB's nearest resampling, 192x256): the aligned
  mean of the deviations dips at one step (fewer pixels moved), the tolerant one does not."""
  from jiqa import images
  from jiqa.evaluation import kadid_cells

  photo = kadid_cells.kadid_like(images.bundled_images(["astronaut"])["astronaut"],
                                 size=(192, 256))
  cells = np.stack([np.asarray(apply("pixelate", jax.random.key(0), photo, lv))
                    for lv in (0.2, 0.4, 0.6, 0.8, 1.0)])
  refs = np.broadcast_to(photo, cells.shape)
  aligned = np.asarray(deviations.deviation_features(refs, cells)).mean(-1)
  tolerant = np.asarray(deviations.deviation_features(refs, cells, tolerance=1)).mean(-1)
  decisive = np.asarray(deviations.deviation_features(refs, cells, tolerance=1,
                                                      residual=0.5)).mean(-1)
  assert np.any(np.diff(aligned) <= 0), aligned
  assert np.all(np.diff(tolerant) > 0), tolerant
  assert np.all(np.diff(decisive) > 0), decisive


def test_scorer_and_make_scorer_take_the_tolerance():
  s = make_scorer(backbone="deviation", antisymmetric=False, depth=2, tolerance=1,
                  rngs=nnx.Rngs(0))
  assert isinstance(s, DeviationScorer) and s.tolerance == 1
  a = _photo_like(6)
  moved = np.roll(a, 1, axis=1)
  plain = DeviationScorer(num_scales=2, rngs=nnx.Rngs(0))
  assert float(s(a[0], moved)[0]) > float(plain(a[0], moved)[0])   # the move costs less
  assert float(s(a[0], a)[0]) == 0.0
  with pytest.raises(ValueError, match="tolerance"):
    DeviationScorer(num_scales=2, tolerance=-1, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="tolerance"):
    make_scorer(backbone="stats", antisymmetric=False, tolerance=1, rngs=nnx.Rngs(0))
  decisive = make_scorer(backbone="deviation", antisymmetric=False, depth=2, tolerance=1,
                         residual=0.5, rngs=nnx.Rngs(0))
  assert decisive.residual == 0.5 and float(decisive(a[0], moved)[0]) > float(
      plain(a[0], moved)[0])
  for bad in dict(residual=0.5), dict(tolerance=1, residual=0.0):  # no registration / no share
    with pytest.raises(ValueError, match="residual"):
      DeviationScorer(num_scales=2, rngs=nnx.Rngs(0), **bad)
  with pytest.raises(ValueError, match="residual"):
    make_scorer(backbone="stats", antisymmetric=False, residual=0.5, rngs=nnx.Rngs(0))

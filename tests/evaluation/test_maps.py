"""Map-predictor figures (jiqa.evaluation.maps) against scikit-learn and scipy, and the summary."""

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import average_precision_score, roc_auc_score

from jiqa.evaluation import maps
from jiqa.models import map_summary


def _single(seed=0, n=12, h=8, w=8, t=5):
  """Single-distortion pairs: one type per pair under a left/right/top mask, random levels."""
  rng = np.random.default_rng(seed)
  true = np.zeros((n, h, w, t))
  types = rng.integers(0, t, n)
  for i, k in enumerate(types):
    mask = np.zeros((h, w))
    mask[:, : w // 2] = 1.0 if i % 2 else 0.0
    mask[: h // 2] = 1.0 if not i % 2 else mask[: h // 2]
    mask *= rng.uniform(0.5, 1.0, (h, w))
    true[i, ..., k] = rng.choice([-1, 1]) * rng.uniform(0.2, 1.0) * mask
  pred = true + 0.3 * rng.standard_normal(true.shape)
  ref = rng.uniform(size=(n, h, w, 3))
  dist = ref + 0.5 * np.abs(true).max(-1, keepdims=True) + 0.2 * rng.uniform(size=(n, h, w, 3))
  return pred, true, ref, dist, types


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_ap_spearman_match_sklearn_scipy(seed):
  rng = np.random.default_rng(seed)
  s = np.round(rng.standard_normal(200), 1)  # ties on purpose
  y = rng.random(200) < 0.3
  np.testing.assert_allclose(maps.roc_auc(s, y), roc_auc_score(y, s), rtol=1e-12)
  np.testing.assert_allclose(maps.average_precision(s, y), average_precision_score(y, s),
                             rtol=1e-12)
  x2 = s + np.round(rng.standard_normal(200), 1)
  np.testing.assert_allclose(maps.spearman(s, x2), stats.spearmanr(s, x2)[0], rtol=1e-10)


def test_localisation_against_sklearn_per_pair():
  pred, true, ref, dist, types = _single()
  got = maps.localisation_auc(pred, true, ref, dist)
  want, base = [], []
  for i, k in enumerate(types):
    sup = np.abs(true[i, ..., k]) > 0
    want.append(roc_auc_score(sup.ravel(), np.abs(pred[i, ..., k]).ravel()))
    base.append(roc_auc_score(sup.ravel(), np.abs(dist[i] - ref[i]).mean(-1).ravel()))
  np.testing.assert_allclose(got["auc"], np.mean(want), rtol=1e-12)
  np.testing.assert_allclose(got["auc_abs_diff"], np.mean(base), rtol=1e-12)
  assert got["pairs"] == len(types)
  anyt = maps.localisation_auc(pred, true, ref, dist, any_type=True)
  want = [roc_auc_score((np.abs(true[i]) > 0).any(-1).ravel(), np.abs(pred[i]).max(-1).ravel())
          for i in range(len(types))]
  np.testing.assert_allclose(anyt["auc"], np.mean(want), rtol=1e-12)


def test_type_identification_and_presence_ap():
  pred, true, _, _, types = _single(1)
  rng = np.random.default_rng(3)
  logits = rng.standard_normal((len(types), 5))
  got = maps.type_identification(logits, true)
  order = np.argsort(-logits, axis=1)
  assert got["top1"] == np.mean(order[:, 0] == types)
  assert got["top3"] == np.mean([types[i] in order[i, :3] for i in range(len(types))])
  assert got["chance_top1"] == 0.2
  present = (np.abs(true) > 0).any((1, 2))
  ap = maps.presence_average_precision(logits, true, names="abcde", types="abcde")
  want = [average_precision_score(present[:, k], logits[:, k]) for k in range(5)
          if present[:, k].any()]
  np.testing.assert_allclose(ap["mean_ap"], np.mean(want), rtol=1e-12)
  np.testing.assert_allclose(ap["mean_prevalence"],
                             np.mean([present[:, k].mean() for k in range(5) if present[:, k].any()]))


def test_sign_and_strength():
  pred, true, ref, dist, types = _single(2, n=40)
  signed = np.array([True, True, False, True, False])
  got = maps.sign_accuracy(pred, true, signed)
  ok = []
  for i, k in enumerate(types):
    sup = np.abs(true[i, ..., k]) > 0
    if signed[k] and np.abs(true[i, ..., k]).max() >= 0.4:
      ok.append(np.sign(pred[i, ..., k][sup].mean()) == np.sign(true[i, ..., k][sup].mean()))
  assert got["pairs"] == len(ok) and got["accuracy"] == np.mean(ok)
  assert maps.sign_accuracy(-true, true, signed)["accuracy"] == 0.0
  sp = maps.strength_spearman(pred, true, ref, dist)
  want = []
  for k in range(5):
    sup = np.abs(true[..., k]) > 0
    if sup.sum() >= 10:
      want.append(stats.spearmanr(pred[..., k][sup], true[..., k][sup])[0])
  np.testing.assert_allclose(sp["signed"], np.mean(want), rtol=1e-10)
  assert sp["types"] == len(want)


def test_errors():
  with pytest.raises(ValueError, match="exactly one present type"):
    maps.true_types(np.zeros((1, 2, 2, 3)))
  with pytest.raises(ValueError, match="both positives and negatives"):
    maps.roc_auc(np.ones(3), np.ones(3))
  with pytest.raises(ValueError, match="pred_maps and true_maps"):
    maps.sign_accuracy(np.zeros((1, 2, 2, 3)), np.zeros((1, 2, 2, 2)), [True] * 2)


def test_summary_words():
  names = ("gaussian_blur", "jpeg", "darken")
  kw = dict(names=names, signed=(True, False, True), axes=("sharpness", None, "brightness"))
  m = np.zeros((16, 16, 3))
  m[:8, :, 2] = -0.5                      # darker, top half
  m[10:14, 10:14, 1] = 0.9                # jpeg, strong, bottom right
  found = map_summary.summarize(m, np.array([0.1, 0.9, 0.8]), **kw)
  texts = [f["text"] for f in found]
  assert texts[0].startswith("jpeg, strong, bottom right")
  assert texts[1] == "darken, medium, darker, top half"
  assert map_summary.summarize(-m, np.array([0.1, 0.1, 0.8]), **kw)[0]["direction"] == "brighter"
  with pytest.raises(ValueError, match="presence_probs"):
    map_summary.summarize(m, np.ones(2), **kw)


def test_where_words_never_say_zero_percent():
  """A tiny region (1 pixel of 400) is "under 1%", not "0%" (seen in `jiqa compare`)."""
  r = np.zeros((20, 20), bool)
  r[18, 1] = True
  assert map_summary.where_words(r) == "bottom left (under 1% of the image)"
  r[15:20, 0:5] = True                    # 25 of 400 pixels
  assert map_summary.where_words(r) == "bottom left (6% of the image)"

"""experiments.map_bootstrap: resampled figures equal the report's metrics on resampled pairs."""

import numpy as np
import pytest

from experiments import map_bootstrap
from jiqa.evaluation import maps as maps_lib


def _data(seed=0, n=12, t=4):
  rng = np.random.default_rng(seed)
  true = np.zeros((n, 8, 8, t), np.float32)
  for i in range(n):
    k = i % t
    true[i, rng.integers(0, 4):, :, k] = rng.choice([-1, 1]) * rng.uniform(0.2, 1.0)
  pred = (0.6 * true + 0.3 * rng.normal(size=true.shape)).astype(np.float32)
  ref = rng.uniform(size=(n, 8, 8, 3))
  dist = np.clip(ref + np.abs(true).sum(-1, keepdims=True) * 0.3
                 + 0.05 * rng.normal(size=ref.shape), 0, 1)
  logits = rng.normal(size=(n, t)) + 2.0 * (np.abs(true).max(axis=(1, 2)) > 0)
  return pred, true, ref, dist, logits


def test_resampled_figures_equal_the_metrics_on_the_resampled_pairs():
  pred, true, ref, dist, logits = _data()
  signed = [True, False, True, True]
  pre = map_bootstrap.precompute({"maps": true, "reference": ref, "distorted": dist},
                                 {"maps": pred, "presence_logits": logits}, signed)
  for index in (np.arange(12), np.array([0, 0, 3, 5, 5, 5, 7, 8, 9, 11, 11, 2])):
    got = map_bootstrap.figures(index, pre)
    want = maps_lib.strength_spearman(pred[index], true[index], ref[index], dist[index])
    for k in ("signed", "magnitude", "magnitude_abs_diff"):
      assert got[f"strength_{k}"] == pytest.approx(want[k], abs=1e-12)
    tid = maps_lib.type_identification(logits[index], true[index])
    assert (got["top1"], got["top3"]) == (tid["top1"], tid["top3"])
  # On all pairs the sign figures are the report's (majority sign taken on all pairs).
  got, want = map_bootstrap.figures(np.arange(12), pre), maps_lib.sign_accuracy(pred, true, signed)
  assert (got["sign"], got["sign_majority"]) == (want["accuracy"], want["majority_sign"])


def test_bootstrap_interval_brackets_the_point_and_uses_every_figure():
  pred, true, ref, dist, logits = _data(seed=1, n=24)
  pre = map_bootstrap.precompute({"maps": true, "reference": ref, "distorted": dist},
                                 {"maps": pred, "presence_logits": logits}, [True] * 4)
  out = map_bootstrap.bootstrap(pre, 24, resamples=50)
  assert set(out) >= {"top1", "sign", "strength_signed", "strength_magnitude_minus_abs_diff"}
  for v in out.values():
    assert v["low"] <= v["point"] + 1e-9 and v["point"] <= v["high"] + 1e-9 and v["se"] >= 0


def test_bad_arguments_stop_with_a_message(tmp_path, capsys):
  with pytest.raises(SystemExit):
    map_bootstrap.main(["--workdir", str(tmp_path)])
  assert "no checkpoints/" in capsys.readouterr().err
  with pytest.raises(SystemExit):
    map_bootstrap.main(["--workdir", str(tmp_path), "--resamples", "3"])
  assert "--resamples" in capsys.readouterr().err
  (tmp_path / "checkpoints").mkdir()
  with pytest.raises(SystemExit):
    map_bootstrap.main(["--workdir", str(tmp_path), "--json", str(tmp_path / "no" / "x.json")])
  assert "--json" in capsys.readouterr().err


def test_weighted_spearman_is_scipys_spearman_of_the_repeated_data():
  from scipy import stats

  rng = np.random.default_rng(3)
  x = np.round(rng.normal(size=40), 1)  # ties
  y = np.round(x + rng.normal(size=40), 1)
  w = rng.integers(0, 4, size=40)
  got = map_bootstrap.weighted_spearman(map_bootstrap._tie_groups(x),
                                        map_bootstrap._tie_groups(y), w.astype(float))
  want = stats.spearmanr(np.repeat(x, w), np.repeat(y, w)).statistic
  assert got == pytest.approx(want, abs=1e-12)

"""Tests of jiqa.evaluation.kadid_figures against scipy and hand-made cases."""

import numpy as np
import pytest
import scipy.stats

from jiqa.evaluation import kadid_figures as kf


def test_within_type_strictness_by_hand():
  r = kf.within_type(np.array([[5., 4, 4, 2, 1], [1., 2, 3, 4, 5]]),
                     np.array([[5., 4, 3, 2, 1], [5., 4, 3, 2, 1]]), ["tie", "reversed"])
  assert r["strict_types"] == [] and r["strict_share"] == 0.0
  assert r["spearman"]["reversed"] == pytest.approx(-1.0)
  assert r["spearman"]["tie"] == pytest.approx(scipy.stats.spearmanr([5, 4, 4, 2, 1],
                                                                     [5, 4, 3, 2, 1])[0])


def test_fidelity_gap_by_hand():
  f = kf.fidelity(np.array([[30., 31, 32, 33, 34]]), np.array([[31., 31, 30, 33, 30]]), ["a"])
  assert f["a"]["gap"] == [-1.0, 0.0, 2.0, 0.0, 4.0]
  assert f["a"]["mean_abs_gap"] == pytest.approx(7.0 / 5)

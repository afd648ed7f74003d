"""Local-linear cv_ls fit against statsmodels' KernelReg (an independent implementation)."""

import numpy as np
from statsmodels.nonparametric.kernel_regression import KernelReg

from jiqa.gmc import fit
from tests.gmc._reference import surface_file


def test_bandwidth_and_fit_match_statsmodels(gmc_reference):
  ref = surface_file(gmc_reference, "livec", "niqe")
  x, y = ref[["Q", "Qd"]].to_numpy(), ref["PLCC"].to_numpy()
  kr = KernelReg(y, x, var_type="cc", reg_type="ll", bw="cv_ls", rng=0)
  bw = fit.cv_bandwidth(x, y)
  np.testing.assert_allclose(bw, np.abs(kr.bw), rtol=1e-3)
  at = np.array([[20.0, 10.0], [50.0, 40.0], [80.0, 70.0]])
  np.testing.assert_allclose(fit.local_linear(x, y, kr.bw, at), kr.fit(at)[0], rtol=1e-9)
  assert abs(fit.cv_objective(kr.bw, x, y) - kr.cv_loo(kr.bw, kr._est_loc_linear)) < 1e-12


def test_constant_surface_scores_its_height():
  rng = np.random.default_rng(0)
  pts = rng.random((40, 2)) * [4, 4] + [1, 0]
  assert abs(fit.gmc_score(pts, np.full(40, 0.42), (1.0, 5.0))[0] - 0.42) < 1e-9

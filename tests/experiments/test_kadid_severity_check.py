"""The KADID-10k severity check against pairwise agreements computed independently (a
per-reference loop with numpy sign comparisons over all 7,750 pairs, run once by hand)."""

import os

import numpy as np

from experiments import kadid_severity_check as check


def test_agreements_match_independent_numbers(gmc_reference, capsys, monkeypatch):
  monkeypatch.setenv("JIQA_GMC_REFERENCE", os.fspath(gmc_reference))
  assert check.main([]) == 0
  out = dict(line.rsplit(None, 1) for line in capsys.readouterr().out.splitlines()[1:])
  got = {k.strip(): float(v) for k, v in out.items()}
  want = {"nominal level (the engine unit)": 0.737, "psnr": 0.757, "ssim": 0.733,
          "ms_ssim": 0.824, "lpips": 0.821}
  for k, v in want.items():
    assert abs(got[k] - v) < 6e-4, (k, got[k])


def test_agreement_counts_ties_as_half():
  mos = np.tile(np.repeat(np.linspace(5, 1, 5)[None], 25, 0).reshape(-1), check.N_REF)
  level = np.tile(np.arange(1, 6), check.N_REF * check.N_TYPES).astype(float)
  assert check.cross_type_agreement(-level, mos, min_gap=0.0) == 1.0
  assert check.cross_type_agreement(np.zeros_like(mos), mos, min_gap=0.0) == 0.5

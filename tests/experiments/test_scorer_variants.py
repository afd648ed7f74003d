"""experiments.scorer_variants: argument checks before any work, and the per-tier accuracy by hand."""

import numpy as np
import pytest

from experiments import scorer_variants as sv


def test_model_spec_must_be_name_equals_folder(tmp_path):
  for bad in ("no_equals_sign", "=", f"name={tmp_path / 'missing'}"):
    with pytest.raises(SystemExit, match="--model"):
      sv.main(["--out", str(tmp_path / "out"), "--model", bad])
  assert not (tmp_path / "out").exists()  # refused before any work


def test_tiers_must_be_a_multiple_of_the_drawing_chunk(tmp_path):
  for bad in ("0", "100"):
    with pytest.raises(SystemExit, match="--tiers"):
      sv.main(["--out", str(tmp_path / "out"), "--tiers", bad])
  assert not (tmp_path / "out").exists()


def test_size_is_the_cpu_default_or_full():
  p = sv._parser()
  assert p.parse_args(["--out", "x"]).size == ""
  assert p.parse_args(["--out", "x", "--size", "full"]).size == "full"
  with pytest.raises(SystemExit):
    p.parse_args(["--out", "x", "--size", "smoke"])


def test_per_tier_accuracy_by_hand():
  # Tier 0: severities 0 < 1 < 2 scored 3 > 2 > 1 (all 3 pairs right); tier 1: two pairs
  # inverted and one tie (half); tier 2: every severity equal (no pair: NaN).
  scores = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 2.0], [1.0, 2.0, 3.0]])
  severity = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
  acc = sv.per_tier_accuracy(scores, severity)
  np.testing.assert_allclose(acc[:2], [1.0, (0.0 + 0.0 + 0.5) / 3])
  assert np.isnan(acc[2])

"""The README's main job on the smoke config writes a complete report folder (slow)."""

import json
import pathlib

import pytest

from jiqa import pipeline

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_main_job_smoke(tmp_path, capsys):
  rc = pipeline.main(["--out", str(tmp_path), "--config",
                      str(REPO / "configs" / "pipeline.py") + ":smoke", "--no-progress"])
  assert rc == 0
  report = json.loads((tmp_path / "report.json").read_text())
  for split in ("seen_types", "heldout_types"):
    ev = report["evaluation"][split]
    assert set(ev["tiers"]) == {"scorer", "psnr", "ssim", "ms_ssim", "gmsd"}
    for fig in ev["tiers"].values():
      assert -1.0 <= fig["kendall_tau"] <= 1.0 and 0.0 <= fig["pairwise_accuracy"] <= 1.0
    assert ev["map"]["antisymmetry_error"] == 0.0
    assert set(ev["gmc"]) == set(ev["tiers"])
  for f in ("surfaces.png", "surfaces.html", "maps.png", "metrics.jsonl"):
    assert (tmp_path / f).is_file()
  assert "scorer" in capsys.readouterr().out


def test_bad_config_path_is_a_usage_error(tmp_path):
  with pytest.raises(SystemExit):
    pipeline.main(["--out", str(tmp_path), "--config", "nope.py"])

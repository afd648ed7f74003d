"""experiments.pixelate_order: argument checks before any work; resampling counts against
MATLAB's output size; the order and repair figures by hand; a small run's outputs."""

import json

import numpy as np
import pytest
from PIL import Image

from experiments import pixelate_order as po


@pytest.mark.parametrize("args, match", [
    (["--sizes", "192"], "--sizes"),
    (["--sizes", "a,b"], "--sizes"),
    (["--sizes", "100,256"], "--sizes"),
    (["--sizes", "160,256"], "--sizes"),    # MS-SSIM needs 161 px
    (["--folder", "/no/such/folder"], "--folder"),
    (["--model", "/no/such/folder"], "--model"),
    (["--tiers", "100", "--fit_dir", "fits"], "--tiers"),
    (["--steps", "0"], "--steps"),
])
def test_bad_arguments_are_refused_before_any_work(tmp_path, args, match):
  with pytest.raises(SystemExit, match=match):
    po.main(["--out", str(tmp_path / "out"), *args])
  assert not (tmp_path / "out").exists()


def test_out_and_fit_dir_must_not_be_files(tmp_path):
  f = tmp_path / "file"
  f.write_text("x")
  with pytest.raises(SystemExit, match="--out"):
    po.main(["--out", str(f)])
  with pytest.raises(SystemExit, match="--fit_dir"):
    po.main(["--out", str(tmp_path / "out"), "--fit_dir", str(f)])
  assert not (tmp_path / "out").exists()


def test_resampling_keeps_matlab_output_size_rows_and_nothing_at_level_zero():
  from jiqa.distortions import spatial

  levels = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
  r = po.resampling(96, 128, levels)
  assert r["moved"][0] == r["rows_lost"][0] == r["cols_lost"][0] == 0.0
  for k, level in enumerate(levels[1:], 1):
    z = float(spatial.pixelate_factor(level))
    # Nearest down to MATLAB's ceil(z n) rows and back up shows at most that many source
    # rows (one fewer where the last one, past the edge, is clipped onto its neighbour).
    for key, n in (("rows_lost", 96), ("cols_lost", 128)):
      small = np.ceil(n * z - 1e-4)
      assert 1 - small / n - 1e-12 <= r[key][k] <= 1 - (small - 1) / n + 1e-12
    assert 0 < r["moved"][k] <= 1


def test_order_figures_and_repair_by_hand():
  f = po.order_figures(np.array([[5.0, 4, 6, 2, 1], [5, 4, 3, 2, 1]]))
  assert not f["strict"] and f["wrong_steps"] == ["L2->L3"] and f["per_photo"] == 0.5
  s = np.array([[1.0, 1.5, 1.2, 2.0, 3.0]])     # badness falls from L2 to L3 by 0.3
  t = np.array([[0.0, 0.1, 0.2, 0.3, 0.4]])
  r = po.repair(s, t)
  assert r["c"] == pytest.approx(3.0)
  assert not po.order_figures(-(s + 2.9 * t))["strict"]
  assert po.order_figures(-(s + r["c"] * t))["strict"]
  assert po.repair(s, -t) == {"c": None, "share": None}


def test_a_small_run_writes_its_tables_and_pictures(tmp_path):
  rng = np.random.default_rng(2)
  folder = tmp_path / "photos"
  folder.mkdir()
  for k in range(2):
    img = (rng.uniform(size=(40, 52, 3)) * 255).astype(np.uint8)
    Image.fromarray(img).save(folder / f"p{k}.png")
  out = tmp_path / "out"
  assert po.main(["--out", str(out), "--sizes", "176,192", "--folder", str(folder)]) == 0
  for ext in ("json", "md", "png", "html"):
    assert (out / f"pixelate_order.{ext}").stat().st_size > 0
  res = json.loads((out / "pixelate_order.json").read_text())
  (size,) = res["sizes"]
  assert size["size"] == [176, 192] and size["photos"] == 2
  assert set(size["predictors"]) >= {"psnr", "ssim", "ms_ssim", "gmsd", "scorer", "lost_content"}
  assert len(size["resampling"]["rows_lost"]) == 5
  # KADID's own pixelate PSNR dips from L2 to L3 (published column, not the MOS).
  assert res["kadid"]["psnr"]["wrong_steps"] == ["L2->L3"]


@pytest.mark.slow
def test_fit_on_engine_tiers_smoke(tmp_path):
  from jiqa.configs import pipeline
  from jiqa.training import loop

  config = pipeline.get_config("smoke")
  fits = po.fit_on_engine_tiers(config, loop.load_pool(config), str(tmp_path), tiers=64,
                                steps=5, eval_crops=3)
  assert set(fits) == {"base", "base+lost_content"}
  for f in fits.values():
    w = np.asarray(f["weights"])
    assert w.shape == (17,) and (w >= 0).all() and w.sum() == pytest.approx(1, abs=1e-4)
    assert 0 < f["E"] <= 1 and f["E_se"] >= 0
  assert fits["base"]["weights"][16] == 0.0 and fits["base+lost_content"]["weights"][16] > 0
  assert fits["base"]["E_minus_base"] == 0.0
  # The training tiers and held-out evaluation data are cached where scorer_variants puts them.
  assert sorted(p.name for p in tmp_path.iterdir()) == [
      "eval_data_0_3.npz", "eval_data_1_3.npz", "train_tiers_64.npz"]

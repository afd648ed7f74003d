"""experiments.level_order: argument checks before any work; the order table by hand (scipy's
Spearman); a small run's outputs, with the shipped model's cell means against its own scores."""

import json

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from experiments import level_order as lo


@pytest.mark.parametrize("args, match", [
    (["--sizes", "192"], "--sizes"),
    (["--sizes", "100,256"], "--sizes"),
    (["--folder", "/no/such/folder"], "--folder"),
    (["--model", "/no/such/folder"], "--model"),
    (["--model", "x=/no/such/folder"], "--model"),
])
def test_bad_arguments_are_refused_before_any_work(tmp_path, args, match):
  with pytest.raises(SystemExit, match=match):
    lo.main(["--out", str(tmp_path / "out"), *args])
  assert not (tmp_path / "out").exists()


def test_out_must_not_be_a_file(tmp_path):
  f = tmp_path / "file"
  f.write_text("x")
  with pytest.raises(SystemExit, match="--out"):
    lo.main(["--out", str(f)])


def test_order_table_by_hand():
  from jiqa.distortions import names
  from jiqa.evaluation import kadid_engine

  severity = np.abs(kadid_engine.cell_levels()).astype(np.float64)
  means = -severity.copy()
  means[20] = [-0.2, -0.1, -0.6, -0.8, -1.0]          # pixelate: L1 and L2 swapped
  # mean shift (signed levels +1, +0.5, 0, -0.5, -1): the two sides of equal magnitude are
  # not compared, so any order among them is strict if the magnitudes are ordered.
  means[17] = [-1.1, -0.5, 0.0, -0.4, -0.9]
  r = lo.order_table({"m": means})["m"]
  assert r["failing"] == [names()[20]] and r["strict_share"] == pytest.approx(24 / 25)
  rho = [stats.spearmanr(means[t], -severity[t])[0] for t in range(25)]
  assert r["mean_spearman"] == pytest.approx(np.mean(rho))


def test_a_small_run_writes_its_tables(tmp_path):
  rng = np.random.default_rng(3)
  folder = tmp_path / "photos"
  folder.mkdir()
  Image.fromarray((rng.uniform(size=(40, 52, 3)) * 255).astype(np.uint8)).save(folder / "p.png")
  out = tmp_path / "out"
  assert lo.main(["--out", str(out), "--sizes", "176,192", "--folder", str(folder)]) == 0
  res = json.loads((out / "level_order.json").read_text())
  table = res["sizes"]["176x192"]
  assert set(table) == {"shipped", "psnr", "ssim", "ms_ssim", "gmsd"}
  assert (out / "level_order.md").read_text().count("| 176x192 |") == 5
  for ext in ("png", "html"):
    assert (out / f"level_order_176x192.{ext}").stat().st_size > 0
  # The shipped model's cell means are its own scores of the engine's cells, by hand.
  import jax

  import jiqa
  from jiqa import images
  from jiqa.evaluation import kadid_engine

  photos = images.load_folder(str(folder))
  model, t = jiqa.load(), 7                               # colour saturation (HSV)
  want = np.zeros(5)
  for i, photo in enumerate(photos.values()):
    ref = kadid_engine.kadid_like(photo, size=(176, 192))
    # The yardstick's keys: photo i, type t use fold_in(fold_in(key(seed), i), t).
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(0), i), t)
    cells = kadid_engine.distort_cells(key, ref, t)
    want += np.asarray(model.score(cells, np.broadcast_to(ref, cells.shape))) / len(photos)
  np.testing.assert_allclose(table["shipped"]["cell_means"][t], want, rtol=1e-5)

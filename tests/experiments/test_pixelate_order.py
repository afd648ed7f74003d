"""experiments.pixelate_order: argument checks before any work; resampling counts against
MATLAB's output size; the shift-tolerant deviation against a brute-force numpy loop."""

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
])
def test_bad_arguments_are_refused_before_any_work(tmp_path, args, match):
  with pytest.raises(SystemExit, match=match):
    po.main(["--out", str(tmp_path / "out"), *args])
  assert not (tmp_path / "out").exists()


def test_out_must_not_be_a_file(tmp_path):
  f = tmp_path / "file"
  f.write_text("x")
  with pytest.raises(SystemExit, match="--out"):
    po.main(["--out", str(f)])


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


def _lost_content_loops(a, b):
  """Brute force of po.lost_content for one pair (edges replicated)."""
  def luma(x):
    return 255.0 * (0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2])

  ya, yb = luma(a.astype(np.float64)), luma(b.astype(np.float64))
  h, w = ya.shape

  def one_way(x, y):
    total = 0.0
    for i in range(h):
      for j in range(w):
        best = np.inf
        for di in (-1, 0, 1):
          for dj in (-1, 0, 1):
            q = y[min(max(i + di, 0), h - 1), min(max(j + dj, 0), w - 1)]
            best = min(best, (x[i, j] - q)**2 / (x[i, j]**2 + q**2 + po.LUMINANCE_C1))
        total += best
    return total / (h * w)

  return one_way(ya, yb) + one_way(yb, ya)


def test_lost_content_matches_a_brute_force_loop_and_is_symmetric():
  rng = np.random.default_rng(0)
  a = rng.uniform(size=(2, 9, 7, 3)).astype(np.float32)
  b = np.clip(a + rng.normal(scale=0.1, size=a.shape), 0, 1).astype(np.float32)
  got = np.asarray(po.lost_content(a, b))
  want = [_lost_content_loops(a[n], b[n]) for n in range(2)]
  np.testing.assert_allclose(got, want, rtol=2e-4)
  np.testing.assert_allclose(got, np.asarray(po.lost_content(b, a)), rtol=1e-6)
  assert float(po.lost_content(a, a).max()) == 0.0


def test_lost_content_forgives_moved_content_and_charges_lost_rows():
  rng = np.random.default_rng(1)
  x = np.zeros((1, 16, 16, 3), np.float32)
  x[:, 4:12, 4:12] = rng.uniform(0.2, 1, size=(1, 8, 8, 1))
  assert float(po.lost_content(x, np.roll(x, 1, axis=2))[0]) == 0.0
  dropped = x.copy()
  dropped[:, 7] = x[:, 6]          # row 7 replaced by its neighbour: its content is gone
  dropped2 = dropped.copy()
  dropped2[:, 10] = x[:, 9]
  one, two = (float(po.lost_content(x, d)[0]) for d in (dropped, dropped2))
  assert 0 < one < two


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

"""`jiqa gallery` end to end on a small image (a few types; all 25 with -m slow)."""

import numpy as np
import pytest
from PIL import Image

from jiqa import cli


def _write_image(path):
  rng = np.random.default_rng(0)
  yy, xx = np.mgrid[:96, :120]
  img = np.stack([xx / 120, yy / 96, 0.5 + 0.3 * np.sin(xx / 7)], -1) + 0.05 * rng.random((96, 120, 3))
  Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(path)


def _run(tmp_path, extra):
  src = tmp_path / "in.png"
  _write_image(src)
  out = tmp_path / "g" / "gallery.png"
  assert cli.main(["gallery", "--out", str(out), "--image-file", str(src), "--size", "64",
                   *extra]) == 0
  return out


def test_gallery_png_and_html(tmp_path):
  out = _run(tmp_path, ["--types", "gaussian_blur,darken,jpeg,mean_shift", "--html"])
  with Image.open(out) as im:
    w, h = im.size
    arr = np.asarray(im.convert("RGB"))
  assert w >= 500 and h >= 5 * 100          # 4 type rows + the triplet row
  assert arr.std() > 10                     # not blank
  html = out.with_suffix(".html").read_text()
  assert "plotly" in html and "data:image/png;base64" in html


def test_gallery_rejects_unknown_type(tmp_path):
  with pytest.raises(ValueError, match="unknown distortion"):
    _run(tmp_path, ["--types", "blurr"])


@pytest.mark.slow
def test_gallery_all_types(tmp_path):
  out = _run(tmp_path, [])
  with Image.open(out) as im:
    assert im.size[1] > 26 * 100

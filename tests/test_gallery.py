"""`jiqa gallery` end to end on a small image (a few types; all 25 with -m slow), and every
bad option, image or output path refused in one line before any work."""

import re

import numpy as np
import pytest
from PIL import Image

from jiqa import cli, gallery


def _write_image(path, shape=(96, 120)):
  rng = np.random.default_rng(0)
  yy, xx = np.mgrid[:shape[0], :shape[1]]
  img = np.stack([xx / shape[1], yy / shape[0], 0.5 + 0.3 * np.sin(xx / 7)], -1)
  img = img + 0.05 * rng.random((*shape, 3))
  Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(path)
  return path


def _run(tmp_path, extra, out=None):
  src = _write_image(tmp_path / "in.png")
  out = tmp_path / "gallery.png" if out is None else out
  return cli.main(["gallery", "--out", str(out), "--image-file", str(src), "--size", "64", *extra])


def test_gallery_png_and_html(tmp_path, capsys):
  assert _run(tmp_path, ["--types", "gaussian_blur,darken,jpeg,mean_shift", "--html"]) == 0
  out = tmp_path / "gallery.png"
  with Image.open(out) as im:
    assert im.format == "PNG"
    w, h = im.size
    arr = np.asarray(im.convert("RGB"))
  assert w >= 500 and h >= 5 * 100          # 4 type rows + the triplet row
  assert arr.std() > 10                     # not blank
  html = out.with_suffix(".html").read_text()
  assert "plotly" in html and "data:image/png;base64" in html
  printed = capsys.readouterr().out.split()
  assert printed == ["wrote", str(out), "wrote", str(out.with_suffix(".html"))]


def test_out_without_suffix_writes_the_png_it_names(tmp_path, capsys, monkeypatch):
  # The rendering is replaced by fixed arrays (no JAX); the figure is written for real.
  tile = np.linspace(0, 1, 64 * 64 * 3, dtype=np.float32).reshape(64, 64, 3)
  monkeypatch.setattr(gallery, "render_rows", lambda key, image, names: {
      n: (gallery.GALLERY_LEVELS, np.stack([tile] * 5)) for n in names})
  monkeypatch.setattr(gallery, "composed_triplet", lambda key, image, names: (
      tile, tile[::-1], np.zeros((64, 64, 25), np.float32)))
  assert _run(tmp_path, ["--types", "darken"], out=tmp_path / "noext") == 0
  assert capsys.readouterr().out.split() == ["wrote", str(tmp_path / "noext.png")]
  assert not (tmp_path / "noext").exists()
  with Image.open(tmp_path / "noext.png") as im:
    assert im.format == "PNG"


def test_output_path_rule():
  assert gallery.output_path("a/noext") == "a/noext.png"
  assert gallery.output_path("x.png") == "x.png"
  assert gallery.output_path("x.PNG") == "x.PNG"
  with pytest.raises(ValueError, match="--out: .*expected a .png path"):
    gallery.output_path("x.jpg")


@pytest.mark.parametrize("case, extra, message", [
    ("types", ["--types", "bogus"], "--types: unknown distortion types \\['bogus'\\]"),
    ("types", ["--types", "jpeg,blurr"], "--types: unknown distortion types \\['blurr'\\]"),
    ("size0", ["--size", "0"], "--size: expected an integer >= 32"),
    ("size-5", ["--size", "-5"], "--size: expected an integer >= 32"),
    ("size-big", ["--size", "4000"], "--size: the image is .* smaller than --size 4000"),
    ("image", ["--image", "nope"], "--image: unknown bundled photo 'nope'"),
    ("image-file", ["--image-file", "{missing}"], "--image-file: no such file"),
    ("image-file", ["--image-file", "{fake}"], "--image-file: .*fake.png"),
    ("out-suffix", ["--out", "g.jpg"], "--out: .*expected a .png path"),
    ("out-dir", ["--out", "{adir}"], "--out: .* is a folder; expected a file name"),
    ("out-under-file", ["--out", "{afile}/g.png"], "--out: .*afile.* is not a folder"),
    ("out-missing-folder", ["--out", "{adir}/no/g.png"], "--out: the folder .* does not exist"),
    ("out-readonly", ["--out", "{ro}/g.png"], "--out: the folder .* is not writable"),
    ("html-dir", ["--out", "{htmldir}.png", "--html"], "--html: .*HTMLDIR.html.* is a folder"),
])
def test_bad_options_are_one_line_errors_before_any_work(tmp_path, capsys, monkeypatch, case,
                                                         extra, message, unwritable_dir):
  (tmp_path / "fake.png").write_text("not a png")
  (tmp_path / "adir.png").mkdir()
  (tmp_path / "HTMLDIR.html").mkdir()
  (tmp_path / "afile").write_text("x")
  subs = {"missing": tmp_path / "missing.png", "fake": tmp_path / "fake.png",
          "adir": tmp_path / "adir.png", "afile": tmp_path / "afile",
          "htmldir": tmp_path / "HTMLDIR", "ro": unwritable_dir() if case == "out-readonly" else ""}
  argv = ["gallery", "--out", str(tmp_path / "g.png"), "--size", "64",
          *(a.format(**subs) for a in extra)]

  def no_work(*a, **k):
    raise AssertionError("the gallery started rendering")

  monkeypatch.setattr(gallery, "render_rows", no_work)
  assert cli.main(argv) == 2
  err = capsys.readouterr().err
  assert err.startswith("jiqa gallery: error: ") and len(err.strip().splitlines()) == 1, err
  assert re.search(message, err), err
  assert not (tmp_path / "g.png").exists()


def test_help_is_plain_text_with_defaults(capsys):
  with pytest.raises(SystemExit):
    gallery.main(["--help"])
  out = capsys.readouterr().out
  assert "``" not in out and "default: 160)" in " ".join(out.split())
  assert "\n  jiqa gallery --out gallery.png" in out  # the usage block kept as written


@pytest.mark.slow
def test_gallery_all_types(tmp_path):
  assert _run(tmp_path, []) == 0
  with Image.open(tmp_path / "gallery.png") as im:
    assert im.size[1] > 26 * 100

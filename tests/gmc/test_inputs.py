"""Issue 12's GMC faults: each bad or unusual input ends in a one-line error before any work,
or is read correctly. Expected values are written out by hand (no code under test computes them)."""

import os

import numpy as np
import pandas as pd
import pytest

import jiqa.gmc
from jiqa import cli
from jiqa.gmc import budget, fit, io, surface
from jiqa.gmc import cli as gmc_cli

MOS = [1.0, 2.0, 3.0, 4.0, 5.0]


@pytest.fixture
def no_work(monkeypatch):
  """Any attempt to compute a surface fails the test: errors must come before the work."""
  def boom(*args, **kwargs):
    raise AssertionError("the surface was computed before the error")
  monkeypatch.setattr(surface, "surface", boom)
  monkeypatch.setattr(surface, "pair_sums", boom)


def _write(tmp_path, text, name="t.csv", encoding="utf-8"):
  path = tmp_path / name
  path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
  return str(path)


def _good(tmp_path, name="t.csv"):
  return _write(tmp_path, "mos,std,a\n" + "".join(f"{m},0.5,{m * 1.1 % 4}\n" for m in MOS), name)


def _err(capsys, argv):
  rc = cli.main(["gmc", *argv, "--quiet"])
  err = capsys.readouterr().err
  assert rc == 2, err
  assert err.startswith("jiqa gmc: error: ") and err.count("\n") == 1, err  # one line
  return err


# Root cause 2: silent wrong columns.
@pytest.mark.parametrize("header,name", [("mos,psnr,psnr", "psnr"), ("mos,a,mos", "mos")])
def test_duplicated_header_refused(tmp_path, capsys, no_work, header, name):
  path = _write(tmp_path, header + "\n1,2,3\n2,3,1\n3,1,2\n")
  err = _err(capsys, ["--pred-file", path])
  assert f"column name {name!r} appears twice" in err and "t.csv" in err


def test_pandas_index_column_refused(tmp_path, capsys, no_work):
  path = tmp_path / "t.csv"
  pd.DataFrame({"mos": MOS, "a": [2.0, 1.0, 3.0, 5.0, 4.0]}).to_csv(path)  # index=True
  assert "pandas index" in _err(capsys, ["--pred-file", str(path)])
  path.write_text("Unnamed: 0,mos,a\n0,1,2\n1,2,1\n2,3,3\n")
  assert "column 1 is named 'Unnamed: 0'" in _err(capsys, ["--pred-file", str(path)])


def _selected(argv):
  args = gmc_cli.build_parser().parse_args(argv)
  gmc_cli.check_options(args)
  return gmc_cli._read_inputs(args, io)


def test_std_column_not_a_model_with_std_file_or_no_std(tmp_path):
  path = _good(tmp_path)
  std_file = _write(tmp_path, "0.1\n0.2\n0.3\n0.4\n0.5\n", "std.txt")
  got = _selected(["--pred-file", path, "--std-file", std_file])
  assert list(got["predictions"]) == ["a"]
  np.testing.assert_array_equal(got["std"], [0.1, 0.2, 0.3, 0.4, 0.5])
  got = _selected(["--pred-file", path, "--no-std"])
  assert list(got["predictions"]) == ["a"] and got["std"] is None
  got = _selected(["--pred-file", path])
  np.testing.assert_array_equal(got["std"], [0.5] * 5)


@pytest.mark.parametrize("extra,message", [
    (["--no-std", "--std-col", "std"], "--no-std and --std-col contradict"),
    (["--no-std", "--std-file", "x.txt"], "--no-std and --std-file contradict"),
    (["--std-col", "std", "--std-file", "x.txt"], "--std-col and --std-file both"),
    (["--pred-cols", "a,mos"], "'mos' of t.csv is the MOS column"),
    (["--pred-cols", "a", "a"], "listed more than once"),
])
def test_conflicting_column_options(tmp_path, capsys, no_work, extra, message):
  assert message in _err(capsys, ["--pred-file", _good(tmp_path), *extra])


# Root cause 3: the table reader.
@pytest.mark.parametrize("text", ["", "\n", "\n\n  \n", "\r\n"])
def test_empty_files(tmp_path, capsys, no_work, text):
  path = _write(tmp_path, text)
  assert "is empty" in _err(capsys, ["--pred-file", path]) and "t.csv" in path
  good = _good(tmp_path, "p.csv")
  for flag, what in (("--std-file", "std file"), ("--weights-file", "weights file"),
                     ("--sample-file", "sample file")):
    assert f"{what} {path!r} is empty" in _err(capsys, ["--pred-file", good, flag, path])


def test_one_column_files_with_a_header(tmp_path):
  for name, header in (("weights", "w"), ("std", "std"), ("weights", "0.5e0")):
    path = _write(tmp_path, f"{header}\n0.25\n1.5\n2\n", "v.csv")
    expected = [0.25, 1.5, 2.0] if header != "0.5e0" else [0.5, 0.25, 1.5, 2.0]
    np.testing.assert_array_equal(io.read_vector(path, name), expected)
  path = _write(tmp_path, "Q\n2.5\n3.5\n", "s.csv")
  with pytest.raises(ValueError, match=r"needs columns Q and Qd .* got \['Q'\]"):
    io.read_samples(path)


def test_headerless_sample_file_keeps_every_point(tmp_path):
  path = _write(tmp_path, "2.5,1.0\n3.5,0.5\n4,2\n", "s.csv")
  np.testing.assert_array_equal(io.read_samples(path), [[2.5, 1.0], [3.5, 0.5], [4.0, 2.0]])
  path = _write(tmp_path, "2.5 1.0\n3.5\t0.5\n", "s.txt")
  np.testing.assert_array_equal(io.read_samples(path), [[2.5, 1.0], [3.5, 0.5]])


def test_headerless_std_csv(tmp_path):
  values = [0.496, 0.869, 0.5, 1.25]
  path = _write(tmp_path, "".join(f"{v}\n" for v in values), "std.csv")
  np.testing.assert_array_equal(io.read_vector(path, "std"), values)
  path = _write(tmp_path, "0.5,1\n0.25,2\n", "std.csv")
  with pytest.raises(ValueError, match=r"std file '.*std.csv' has 2 columns"):
    io.read_vector(path, "std")


def test_ragged_lines_are_reported_with_the_file(tmp_path):
  path = _write(tmp_path, "mos,a\n1,2\n2,3,4\n")
  with pytest.raises(ValueError, match=r"t.csv'?: line 3 has 3 field\(s\) but line 1 has 2"):
    io.read_table(path)


def test_bom_and_latin1(tmp_path):
  path = _write(tmp_path, "\ufeffmos;qualité\n1;2\n2;1\n")
  assert io.read_table(path).columns == ["mos", "qualité"]
  path = _write(tmp_path, "mos\tqualité\n1\t2\n2\t1\n", encoding="latin-1")
  table = io.read_table(path)
  assert table.columns == ["mos", "qualité"]
  assert table["qualité"] == ["2", "1"]
  path = _write(tmp_path, "mos,a\n1,2\n".encode("utf-16"))
  with pytest.raises(ValueError, match="NUL bytes"):
    io.read_table(path)


def test_headerless_pred_file(tmp_path, capsys, no_work):
  path = _write(tmp_path, "1,2\n2,1\n3,3\n")
  assert "has no header row" in _err(capsys, ["--pred-file", path])


def test_missing_and_directory_files_named_by_role(tmp_path, capsys, no_work):
  good = _good(tmp_path)
  missing = str(tmp_path / "nope.csv")
  assert f"sample file {missing!r} does not exist" in _err(
      capsys, ["--pred-file", good, "--sample-file", missing])
  assert f"weights file {missing!r} does not exist" in _err(
      capsys, ["--pred-file", good, "--weights-file", missing])
  assert f"pred file {str(tmp_path)!r} is a directory" in _err(capsys, ["--pred-file", str(tmp_path)])


# Root cause 4: outputs checked before the work.
@pytest.mark.parametrize("flag", ["--json", "--png", "--html"])
def test_output_paths_checked_first(tmp_path, capsys, no_work, flag):
  good = _good(tmp_path)
  err = _err(capsys, ["--pred-file", good, flag, str(tmp_path / "no" / "out")])
  assert f"{flag} " in err and "does not exist" in err
  assert "is a directory" in _err(capsys, ["--pred-file", good, flag, str(tmp_path)])
  assert "is one of the input files" in _err(capsys, ["--pred-file", good, flag, good])


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only folder")
def test_unwritable_output(tmp_path, capsys, no_work):
  good = _good(tmp_path)
  ro = tmp_path / "ro"
  ro.mkdir()
  ro.chmod(0o500)
  try:
    assert "not writable" in _err(capsys, ["--pred-file", good, "--json", str(ro / "r.json")])
  finally:
    ro.chmod(0o700)


def test_same_output_twice(tmp_path, capsys, no_work):
  out = str(tmp_path / "r.out")
  assert "are the same file" in _err(capsys, ["--pred-file", _good(tmp_path), "--json", out, "--png", out])


# Root cause 5: bounds.
@pytest.mark.parametrize("extra,message", [
    (["--block", "0"], "--block must be >= 1"), (["--block", "-5"], "--block must be >= 1"),
    (["--phi", "nan"], "--phi must be a finite number > -1"), (["--phi", "-1"], "--phi must be"),
    (["--samples", "0"], "--samples must be >= 3"), (["--samples", "2"], "--samples must be >= 3"),
    (["--std-scale", "inf"], "--std-scale must be a finite number > 0"),
])
def test_option_bounds(tmp_path, capsys, no_work, extra, message):
  assert message in _err(capsys, ["--pred-file", _good(tmp_path), *extra])


@pytest.mark.parametrize("k", [100_000, 1_000_000_000])
def test_huge_samples_refused_with_an_estimate(tmp_path, capsys, no_work, monkeypatch, k):
  monkeypatch.setattr(budget, "available_bytes", lambda: 128 * 2**30)
  err = _err(capsys, ["--pred-file", _good(tmp_path), "--samples", str(k)])
  # 11 float64 (K, K) arrays of the fit: 11 * 8 * K^2 bytes.
  assert f"{k} sample points need about {11 * 8 * k * k / 2**30:.0f} GiB" in err
  assert "128.0 GiB available" in err


def test_estimate_of_a_normal_run_passes():
  budget.check(10_125, 100, 6, available=1 * 2**30)  # kadid10k, 100 points: far below 1 GiB


# Root cause 6: GMC scores stay in [-1, 1].
def _overshooting_points():
  # Five points on a plane rising to 0.98 at the highest Q: a linear fit extrapolates past 1.
  pts = np.array([[1.5, 0.5], [2.5, 2.0], [3.0, 1.0], [3.5, 3.0], [4.0, 0.2]])
  return pts, 0.5 + 0.16 * (pts[:, 0] - 1.0)


def test_clipped_score_by_hand():
  pts, vals = _overshooting_points()
  z, _ = fit.fit_surface(pts, vals, (1.0, 5.0))
  assert z.max() > 1.0  # the fault: the fitted surface leaves [-1, 1]
  zc = np.minimum(np.maximum(z, -1.0), 1.0)
  q, qd = np.linspace(1.0, 5.0, 100), np.linspace(0.0, 4.0, 100)
  rows = [(zc[i, 1:] + zc[i, :-1]).sum() / 2 * (q[1] - q[0]) for i in range(100)]  # trapezoid by hand
  by_hand = sum((rows[i] + rows[i + 1]) / 2 * (qd[1] - qd[0]) for i in range(99)) / 16.0
  score, _ = fit.gmc_score(pts, vals, (1.0, 5.0))
  assert abs(score - by_hand) < 1e-12 and score <= 1.0
  assert fit.gmc_score(pts, vals, (1.0, 5.0), clip=False)[0] > score


def test_evaluate_notes_the_clipping(monkeypatch):
  pts, vals = _overshooting_points()
  monkeypatch.setattr(surface, "surface", lambda *a, **k: {"m": {"PLCC": vals}})
  rng = np.random.default_rng(0)
  mos = np.concatenate([[1.0, 5.0], rng.uniform(1, 5, 28)])
  with pytest.warns(RuntimeWarning, match="overshoots"):
    res = jiqa.gmc.evaluate(mos, {"m": mos + rng.normal(0, .3, 30)}, std=np.full(30, .5),
                            samples=pts, methods=("PLCC",))
  entry = res["models"]["m"]["PLCC"]
  assert 0 < entry["clipped"] < 1 and entry["gmc"] <= 1.0
  assert res["notes"] and "5 sample points" in res["notes"][0]


# Issue 11: --help defaults and the Python API.
def test_help_shows_method_and_dtype_defaults(capsys):
  with pytest.raises(SystemExit):
    gmc_cli.build_parser().parse_args(["--help"])
  text = " ".join(capsys.readouterr().out.split())
  assert "(default: all)" in text and "(default: float64)" in text


@pytest.mark.parametrize("mos,preds,message", [
    (np.arange(30.0), {"a": np.ones((30, 2))}, r"predictions 'a' must be a 1-D array of 30 values.*\(30, 2\)"),
    (np.arange(30.0), [np.arange(30.0)], "predictions must be a mapping"),
    (np.arange(30.0), np.arange(30.0), "predictions must be a mapping"),
    (np.arange(30.0)[None], {"a": np.arange(30.0)}, r"mos must be a 1-D array .*\(1, 30\)"),
    (np.arange(30.0), {"a": np.arange(30.0)[:, None]}, r"got shape \(30, 1\)"),
    (np.arange(30.0), {"a": np.arange(30.0) + 1j}, "must be real numbers"),
    (np.arange(30.0) + 0j, {"a": np.arange(30.0)}, "mos must be real numbers"),
    (np.arange(30.0), {"a": np.arange(29.0)}, "has 29 values but mos has 30"),
])
def test_python_api_rejects_shapes_and_types(no_work, mos, preds, message):
  with pytest.raises(ValueError, match=message):
    jiqa.gmc.evaluate(mos, preds, std=np.full(30, 0.5))


def test_python_api_rejects_bad_std_shape(no_work):
  with pytest.raises(ValueError, match=r"std must be a 1-D array .*\(2, 15\)"):
    jiqa.gmc.evaluate(np.arange(30.0), {"a": np.arange(30.0) ** 2}, std=np.full((2, 15), 0.5))


def test_png_written_exactly_at_the_given_path(tmp_path):
  rng = np.random.default_rng(0)
  pts = rng.random((20, 2)) * [4, 4] + [1, 0]
  vals = 0.5 + 0.05 * pts[:, 0]
  result = {"models": {"m": {"PLCC": {"points": np.column_stack([pts, vals]).tolist(), "gmc": 0.6,
                                      "bandwidth": [1.0, 1.0]}}},
            "methods": ["PLCC"], "mos_range": [1.0, 5.0], "samples": pts.tolist(), "num_images": 20}
  out = tmp_path / "noext"
  jiqa.gmc.save_png(result, out, size=6)
  assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  assert sorted(p.name for p in tmp_path.iterdir()) == ["noext"]

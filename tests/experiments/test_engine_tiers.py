"""experiments.engine_tiers: caches are read only when made by the same engine code and config."""

import numpy as np
import pytest

from experiments import engine_tiers as et


def test_fingerprint_follows_config_sections_and_engine_source(monkeypatch, tmp_path):
  from jiqa.configs import pipeline

  c = pipeline.get_config("")
  base = et.fingerprint(c)
  assert base == et.fingerprint(pipeline.get_config(""))
  c.train.steps += 1                       # not a section the tiers depend on
  assert et.fingerprint(c) == base
  for section, key in (("data", "crop_size"), ("eval", "crop_size")):
    c2 = pipeline.get_config("")
    c2[section][key] += 16
    assert et.fingerprint(c2) != base, section
  c3 = pipeline.get_config("")
  c3.engine.max_distortions = int(c3.engine.get("max_distortions", 1)) + 1
  assert et.fingerprint(c3) != base
  # A copy of the package whose engine source differs by one byte: another fingerprint.
  import shutil

  import jiqa
  root = tmp_path / "jiqa"
  shutil.copytree(jiqa.__path__[0], root)
  monkeypatch.setattr(jiqa, "__file__", str(root / "__init__.py"))
  assert et.fingerprint(pipeline.get_config("")) == base
  spatial = root / "distortions" / "spatial.py"
  spatial.write_bytes(spatial.read_bytes() + b"\n")
  assert et.fingerprint(pipeline.get_config("")) != base


def test_training_tiers_refuse_counts_the_chunks_cannot_make(tmp_path):
  with pytest.raises(ValueError, match="n_tiers"):
    et.training_tiers(None, None, 32, str(tmp_path / "out"))
  with pytest.raises(ValueError, match="n_tiers"):
    et.training_tiers(None, None, 100, str(tmp_path / "out"))


def test_a_stale_or_unmarked_cache_is_drawn_again(tmp_path, capsys):
  path = str(tmp_path / "c.npz")
  np.savez(path, x=np.arange(3))                       # made before fingerprints existed
  assert et._cached(path, "abc") is None
  assert "fingerprint none, now abc" in capsys.readouterr().out
  np.savez(path, fingerprint="old", x=np.arange(3))
  assert et._cached(path, "abc") is None
  np.savez(path, fingerprint="abc", x=np.arange(3))
  got = et._cached(path, "abc")
  assert list(got) == ["x"] and got["x"].tolist() == [0, 1, 2]
  assert et._cached(str(tmp_path / "missing.npz"), "abc") is None


@pytest.mark.slow
def test_training_tiers_cache_round_trip_and_redraw(tmp_path, capsys):
  from jiqa.configs import pipeline
  from jiqa.training import loop

  config = pipeline.get_config("smoke")
  pool = loop.load_pool(config)
  first = et.training_tiers(config, pool, 64, str(tmp_path))
  again = et.training_tiers(config, pool, 64, str(tmp_path))   # read from the cache
  for m in ("scaled", "mixed"):
    for a, b in zip(first[m], again[m], strict=True):
      np.testing.assert_array_equal(a, b)
  assert "drawing it again" not in capsys.readouterr().out
  config.engine.max_distortions = 1                             # another engine: redrawn
  et.training_tiers(config, pool, 64, str(tmp_path))
  assert "drawing it again" in capsys.readouterr().out

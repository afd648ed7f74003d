"""experiments.strength_window: its arguments are checked before any work."""

import pytest

from experiments import strength_window


def test_windows_must_be_zero_or_odd():
  assert strength_window.parse_windows("0, 5,17") == [0, 5, 17]
  for bad in ("4", "", "-1", "a,3"):
    with pytest.raises(ValueError, match="--windows"):
      strength_window.parse_windows(bad)


def test_bad_workdir_and_json_folder_stop_with_a_message(tmp_path, capsys):
  with pytest.raises(SystemExit):
    strength_window.main(["--workdir", str(tmp_path)])
  assert "no checkpoints/" in capsys.readouterr().err
  (tmp_path / "checkpoints").mkdir()
  with pytest.raises(SystemExit):
    strength_window.main(["--workdir", str(tmp_path), "--json", str(tmp_path / "no" / "x.json")])
  assert "--json" in capsys.readouterr().err
  with pytest.raises(SystemExit):
    strength_window.main(["--workdir", str(tmp_path), "--pairs-per-image", "0"])
  assert "--pairs-per-image" in capsys.readouterr().err

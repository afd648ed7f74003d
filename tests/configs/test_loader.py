"""jiqa.configs.load_config_file: shipped names, file paths, and one-line errors for bad ones."""

import pytest

from jiqa.configs import SHIPPED, load_config_file, shipped_path


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_name_and_checkout_path_give_the_same_config(name):
  assert load_config_file(f"{name}:smoke").to_dict() == load_config_file(
      f"{shipped_path(name)}:smoke").to_dict()


@pytest.mark.parametrize("spec, match", [
    ("", "expected NAME"),
    ("bogus", "neither a shipped config"),
    ("missing.py", "no such file"),
    ("pipeline:bogus", "arg must be"),
])
def test_bad_specs_are_one_line_errors(spec, match):
  with pytest.raises(ValueError, match=match):
    load_config_file(spec)


def test_a_user_config_that_raises_is_reported_with_its_file(tmp_path):
  typed = tmp_path / "typed.py"
  typed.write_text("from jiqa.configs import pipeline\n"
                   "def get_config(arg=''):\n"
                   "  c = pipeline.get_config(arg); c.train.steps = 2.5; return c\n")
  with pytest.raises(ValueError, match=r"typed\.py.*TypeError"):
    load_config_file(str(typed))
  broken = tmp_path / "broken.py"
  broken.write_text("import no_such_module_here\n")
  with pytest.raises(ValueError, match=r"broken\.py.*cannot be loaded"):
    load_config_file(str(broken))
  empty = tmp_path / "empty.py"
  empty.write_text("x = 1\n")
  with pytest.raises(ValueError, match="defines no get_config"):
    load_config_file(str(empty))

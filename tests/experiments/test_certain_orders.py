"""experiments.certain_orders: the decision rule on hand-made figures, and its argument checks."""

import json

import pytest

from experiments import certain_orders


def _write(folder, name, scaled, mixed, below=1.0, steps=1400, n=8):
  figs = {s: {"scaled_acc": scaled, "nested_acc": 0.9, "mixed_acc": mixed,
              "below_pristine": below,
              "per_tier": {"scaled": [scaled] * n, "nested": [0.9] * n, "mixed": [mixed] * n}}
          for s in ("seen_types", "heldout_types")}
  d = {"name": name, "figures": figs}
  if steps:
    d["steps"] = steps
  (folder / f"fig_{name}.json").write_text(json.dumps(d))


def test_rule_picks_the_eligible_variant_not_the_best_on_mixed_tiers(tmp_path):
  _write(tmp_path, "ssim", 0.99, 0.80, steps=None)
  _write(tmp_path, "best_mixed", 0.90, 0.95)      # misorders scaled tiers: not eligible
  _write(tmp_path, "certain", 0.99, 0.85)
  _write(tmp_path, "below_ssim", 1.00, 0.70)      # loses to SSIM on mixed tiers
  assert certain_orders.table(str(tmp_path)) == "certain"


def test_rule_step_4_when_nothing_is_eligible(tmp_path, capsys):
  _write(tmp_path, "ssim", 0.99, 0.80, steps=None)
  _write(tmp_path, "a", 0.90, 0.95)
  _write(tmp_path, "b", 0.95, 0.85)
  assert certain_orders.table(str(tmp_path)) == "b"  # the higher E
  assert "FAILS" in capsys.readouterr().out


def test_arguments_are_checked_first(tmp_path):
  for argv in ([f"--out={tmp_path}"], [f"--out={tmp_path}/no", "--table"],
               [f"--out={tmp_path}", "nope"]):
    with pytest.raises(SystemExit):
      certain_orders.main(argv)

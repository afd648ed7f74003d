"""evaluation.report.summary_table: every predictor's row, the scaled and nested lines."""

from jiqa.evaluation import report as report_lib


def _split(acc):
  names = ("scorer", "psnr", "untrained")
  return {"tiers": {n: {"pairwise_accuracy": acc[i], "kendall_tau": 0.1} for i, n in
                    enumerate(names)},
          "gmc": {n: {"SRCC": 0.2} for n in names},
          "nested": {n: {"accuracy": acc[i] / 2, "pairs": 40} for i, n in enumerate(names)}}


def test_summary_table_lists_the_untrained_row_and_nested_pairs_per_split():
  ev = {"seen_types": _split((0.9, 0.8, 0.7)), "heldout_types": _split((0.6, 0.5, 0.4))}
  lines = report_lib.summary_table({"evaluation": ev}).splitlines()
  rows = {line.split()[0]: line.split()[1:] for line in lines[2:5]}
  assert rows["untrained"][0] == "0.700" and rows["untrained"][3] == "0.400"
  nested = [line for line in lines if line.startswith("Nested pairs")]
  assert len(nested) == 2
  assert not any("bootstrap over tiers" in line for line in lines)  # no differences given
  assert "(seen_types;" in nested[0] and "40 pairs" in nested[0]
  assert nested[0].endswith("scorer 0.450, psnr 0.400, untrained 0.350")
  assert nested[1].endswith("scorer 0.300, psnr 0.250, untrained 0.200")


def test_summary_table_without_nested_pairs_has_no_nested_line():
  ev = {"seen_types": {k: v for k, v in _split((0.9, 0.8, 0.7)).items() if k != "nested"}}
  assert "Nested" not in report_lib.summary_table({"evaluation": ev})


def test_summary_table_prints_the_nested_differences_under_their_split():
  ev = {"seen_types": _split((0.9, 0.8, 0.7))}
  ev["seen_types"]["nested_differences"] = {
      "psnr": {"difference": 0.05, "low": -0.01, "high": 0.12}}
  lines = report_lib.summary_table({"evaluation": ev}).splitlines()
  i = next(k for k, line in enumerate(lines) if line.startswith("Nested pairs"))
  assert lines[i + 1] == ("  scorer minus each (95% paired bootstrap over tiers): "
                          "psnr +0.050 [-0.010, +0.120]")

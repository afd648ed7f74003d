"""Property tests of the GMC table and vector readers (hypothesis).

Well-formed tables written by hand (any delimiter, BOM, CRLF, quoting) read back exactly;
malformed ones always end in a ValueError naming the file, never another exception and
never a silently changed table.
"""

import csv
import io as stdio
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiqa.gmc import io, tables

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
name = st.text(st.characters(whitelist_categories=("L", "N"), whitelist_characters="_-+. "),
               min_size=1, max_size=8).map(str.strip).filter(
    lambda s: s and not tables.is_number(s) and not s.startswith("Unnamed:"))


@st.composite
def well_formed(draw):
  names = draw(st.lists(name, min_size=1, max_size=5, unique=True))
  rows = draw(st.lists(st.lists(finite, min_size=len(names), max_size=len(names)),
                       min_size=1, max_size=12))
  delim = draw(st.sampled_from([",", "\t", ";", "|"] + ([" "] if all(" " not in n for n in names) else [])))
  if len(names) == 1:
    delim = ","
  newline = draw(st.sampled_from(["\n", "\r\n"]))
  quote = draw(st.booleans()) and delim != " "
  buf = stdio.StringIO()
  writer = csv.writer(buf, delimiter=delim, lineterminator=newline,
                      quoting=csv.QUOTE_ALL if quote else csv.QUOTE_MINIMAL)
  writer.writerow(names)
  writer.writerows([[repr(v) for v in r] for r in rows])
  text = ("\ufeff" if draw(st.booleans()) else "") + buf.getvalue()
  return names, rows, text, draw(st.sampled_from([".csv", ".txt", ".tsv"]))


def _file(text_or_bytes, suffix=".csv"):
  fd, path = tempfile.mkstemp(suffix=suffix)
  with os.fdopen(fd, "wb") as f:
    f.write(text_or_bytes.encode("utf-8") if isinstance(text_or_bytes, str) else text_or_bytes)
  return path


@SETTINGS
@given(well_formed())
def test_well_formed_tables_round_trip(case):
  names, rows, text, suffix = case
  path = _file(text, suffix)
  try:
    table = io.read_table(path)
    assert table.columns == names
    for k, col in enumerate(names):
      got = io._numeric(table[col], col)
      np.testing.assert_array_equal(got, [r[k] for r in rows])  # exact: repr round-trips
  finally:
    os.unlink(path)


@SETTINGS
@given(st.lists(finite, min_size=1, max_size=20), st.sampled_from([None, "std", "w"]),
       st.sampled_from([".txt", ".csv"]), st.sampled_from(["\n", "\r\n"]))
def test_vectors_round_trip(values, header, suffix, newline):
  text = "".join(f"{v!r}{newline}" for v in values)
  path = _file((f"{header}{newline}" if header else "") + text, suffix)
  try:
    np.testing.assert_array_equal(io.read_vector(path, "std"), values)
  finally:
    os.unlink(path)


@SETTINGS
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=20), st.booleans(),
       st.sampled_from([",", "\t", " ", ";"]))
def test_samples_round_trip(points, header, delim):
  text = ("Q" + delim + "Qd\n" if header else "") + "".join(f"{q!r}{delim}{d!r}\n" for q, d in points)
  path = _file(text)
  try:
    np.testing.assert_array_equal(io.read_samples(path), np.array(points, np.float64).reshape(-1, 2))
  finally:
    os.unlink(path)


def _only_value_errors_naming(path, fn):
  try:
    return fn()
  except ValueError as e:
    message = str(e)
    assert os.path.basename(path) in message, message
    assert "\n" not in message, message
    return None


junk = st.text(st.sampled_from(list("0123456789.-e,;\t| \n\r\"'abQ") + ["\ufeff", "é", "\x00"]),
               max_size=60)


@SETTINGS
@given(st.one_of(junk, st.binary(max_size=60)))
def test_arbitrary_input_reads_or_fails_with_the_file_named(data):
  path = _file(data)
  try:
    table = _only_value_errors_naming(path, lambda: io.read_table(path))
    if table is not None:  # it read: then every cell either converts or is reported
      for col in table.columns:
        _only_value_errors_naming(path, lambda: io.select_columns(table, mos_col=col,
                                                                  pred_cols=[col][:0] or None))
    _only_value_errors_naming(path, lambda: io.read_vector(path, "weights"))
    _only_value_errors_naming(path, lambda: io.read_samples(path))
  finally:
    os.unlink(path)


@SETTINGS
@given(well_formed(), st.data())
def test_malformed_tables_never_change_silently(case, data):
  """One defect put into a good table: a repeated or empty name, an index-like name, a
  non-numeric cell, a missing or extra field. Each is refused naming the file."""
  names, rows, _, _ = case
  defect = data.draw(st.sampled_from(["repeat", "empty", "unnamed", "cell", "short", "long"]))
  names, rows = list(names), [[repr(v) for v in r] for r in rows]
  r = data.draw(st.integers(0, len(rows) - 1))
  c = data.draw(st.integers(0, len(names) - 1))
  if defect == "repeat":
    names.append(names[c])
    rows = [row + [row[c]] for row in rows]
  elif defect == "empty":
    names[c] = ""
  elif defect == "unnamed":
    names[c] = f"Unnamed: {c}"
  elif defect == "cell":
    rows[r][c] = data.draw(st.sampled_from(["x", "1,5", "", "nan", "inf", "--1"]))
  elif defect == "short":
    if len(names) == 1:
      names.append("extra")
      rows = [row + ["1.0"] for row in rows]
    rows[r] = rows[r][:-1]
  else:
    rows[r] = rows[r] + ["1.0"]
  text = "\n".join(",".join(f'"{x}"' for x in row) for row in [names] + rows) + "\n"
  path = _file(text)
  try:
    with pytest.raises(ValueError) as err:
      table = io.read_table(path)
      io.select_columns(table, mos_col=table.columns[0],
                        pred_cols=list(table.columns[1:]) or [table.columns[0]])
    assert os.path.basename(path) in str(err.value), str(err.value)
  finally:
    os.unlink(path)

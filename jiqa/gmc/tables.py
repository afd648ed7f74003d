"""Reading GMC's text and spreadsheet tables into rows of cells, with no guessing left silent.

Every table ``jiqa gmc`` reads (the prediction table, std and weight files,
sample points) goes through ``read_cells``, which returns a header (or None) and
rows of stripped string cells. The rules, each of which ends in a one-line
``ValueError`` naming the file when it does not hold:

* Text is UTF-8 (a byte-order mark is dropped); a file that is not valid UTF-8
  is read as latin-1, which decodes every byte (numbers read the same either
  way; only accented column names depend on it). A file with NUL bytes (binary,
  UTF-16) is refused.
* Blank lines are skipped. The delimiter is the first of ``,``, tab, ``;``,
  ``|`` that splits every line into the same number (> 1) of fields (quotes as
  in the ``csv`` module), else runs of whitespace if those do; a file where no
  line holds any of them is one column (so ``0.5`` is never split on ``.``, and a name
  may hold spaces).
  Lines with different field counts are reported by line number.
* The first row is a header when any of its cells is not a number. A header's
  names must be non-empty, unique, and not a pandas index (``Unnamed: 0``):
  such columns are refused rather than renamed (``psnr.1``) or scored.
* .xlsx/.xls files are read by pandas (openpyxl) and then follow the same rules.

pandas' own ``sep=None`` sniffing is not used: it splits one-column files on
``.``, takes a headerless file's first row as a header, and fails on empty files
without naming them.
"""

from __future__ import annotations

import csv
import math
import pathlib
import re

__all__ = ["read_cells", "is_number", "Table", "DELIMITERS"]

DELIMITERS = (",", "\t", ";", "|")
_INDEX_NAME = re.compile(r"^Unnamed: \d+(_level_\d+)?$")
_EXCEL = (".xlsx", ".xlsm", ".xls")


class Table:
  """Named columns of string cells, as ``io.read_table`` returns them (no pandas needed).

  ``columns`` lists the names, ``table[name]`` is a column's cells, ``attrs["source"]``
  the file name (as a pandas DataFrame's ``attrs``), ``to_pandas()`` a DataFrame.

  Example:
    >>> t = Table(["mos", "a"], [["1", "2"], ["3", "4"]], source="t.csv")
    >>> t.columns, t["a"], len(t)
    (['mos', 'a'], ['2', '4'], 2)
  """

  def __init__(self, columns: list[str], rows: list[list[str]], source: str | None = None):
    self.columns = list(columns)
    self._data = {c: [r[k] for r in rows] for k, c in enumerate(self.columns)}
    self._len = len(rows)
    self.attrs = {"source": source} if source else {}

  def __getitem__(self, name: str) -> list[str]:
    return self._data[name]

  def __len__(self) -> int:
    return self._len

  def __repr__(self) -> str:
    return f"Table({self.columns}, {self._len} rows, source={self.attrs.get('source')!r})"

  def to_pandas(self):
    import pandas as pd

    frame = pd.DataFrame(self._data, columns=self.columns, dtype=object)
    frame.attrs.update(self.attrs)
    return frame


def is_number(cell: str) -> bool:
  """Whether a cell parses as a float (``nan``/``inf`` included: they are values, not names).

  Example:
    >>> is_number("1e-3"), is_number(" 2 "), is_number("psnr"), is_number("")
    (True, True, False, False)
  """
  try:
    float(cell)
  except (TypeError, ValueError):
    return False
  return True


def _check_file(path: pathlib.Path, what: str) -> None:
  if path.is_dir():
    raise ValueError(f"{what} {str(path)!r} is a directory, not a file.")
  if not path.is_file():
    raise ValueError(f"{what} {str(path)!r} does not exist.")


def _decode(path: pathlib.Path, what: str) -> str:
  data = path.read_bytes()
  if b"\x00" in data:
    raise ValueError(f"{what} {str(path)!r} contains NUL bytes: not a text table "
                     "(binary, or UTF-16: save it as UTF-8 CSV).")
  try:
    return data.decode("utf-8-sig")
  except UnicodeDecodeError:
    return data.decode("latin-1")


def _split(lines: list[str], path: pathlib.Path, what: str) -> list[list[str]]:
  """Rows of cells: the first delimiter that splits every line alike, else one column."""
  used = [d for d in DELIMITERS if any(d in line for line in lines)]
  candidates = [list(csv.reader(lines, delimiter=d)) for d in used] + [[ln.split() for ln in lines]]
  for rows in candidates:
    if len({len(r) for r in rows}) == 1 and len(rows[0]) > 1:
      return rows
  if not used:  # one column (a name may hold spaces; a ragged whitespace table fails as numbers)
    return list(csv.reader(lines))
  if all(len(r) == 1 for rows in candidates[:-1] for r in rows):  # delimiters only inside quotes
    return candidates[0]
  # Ragged: report it against the delimiter found on most lines (whitespace if none) if that
  # one is ragged, else against the first ragged one.
  names = [repr(d) for d in used] + ["whitespace"]
  order = sorted(range(len(used)), key=lambda i: -sum(used[i] in line for line in lines)) + [len(used)]
  i = next(i for i in order if len({len(r) for r in candidates[i]}) > 1)
  rows, name = candidates[i], names[i]
  k = next(k for k, r in enumerate(rows) if len(r) != len(rows[0]))
  raise ValueError(f"{what} {str(path)!r}: line {k + 1} has {len(rows[k])} field(s) but line 1 has "
                   f"{len(rows[0])} (delimiter {name}); every line needs the same columns.")


def _excel_rows(path: pathlib.Path, what: str) -> list[list[str]]:
  import pandas as pd

  try:
    frame = pd.read_excel(path, header=None, dtype=object)
  except Exception as e:  # noqa: BLE001 -- openpyxl/xlrd raise many types for a bad workbook
    raise ValueError(f"{what} {str(path)!r} could not be read as a spreadsheet "
                     f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}).") from None
  cell = lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()
  rows = [[cell(v) for v in row] for row in frame.itertuples(index=False)]
  return [r for r in rows if any(r)]


def _check_header(header: list[str], path: pathlib.Path, what: str) -> None:
  for k, name in enumerate(header):
    if not name or _INDEX_NAME.match(name):
      label = "has an empty name" if not name else f"is named {name!r}"
      raise ValueError(f"{what} {str(path)!r}: column {k + 1} {label}, like a pandas index "
                       "(DataFrame.to_csv without index=False); name it or remove it.")
  seen = {}
  for k, name in enumerate(header):
    if name in seen:
      raise ValueError(f"{what} {str(path)!r}: column name {name!r} appears twice (columns "
                       f"{seen[name] + 1} and {k + 1}); every column needs its own name.")
    seen[name] = k


def read_cells(path: str | pathlib.Path, what: str) -> tuple[list[str] | None, list[list[str]]]:
  """(header or None, data rows) of a CSV/TXT/XLSX table; ``what`` names it in errors.

  Example:
    >>> import tempfile, os; f = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(f, "w").write("mos;a\\n1;2\\n3;4\\n")
    >>> read_cells(f, "pred file")
    (['mos', 'a'], [['1', '2'], ['3', '4']])
    >>> _ = open(f, "w").write("0.5\\n1.5\\n")
    >>> read_cells(f, "std file")
    (None, [['0.5'], ['1.5']])
  """
  path = pathlib.Path(path)
  _check_file(path, what)
  if path.suffix.lower() in _EXCEL:
    rows = _excel_rows(path, what)
  else:
    lines = [line for line in _decode(path, what).splitlines() if line.strip()]
    rows = _split(lines, path, what) if lines else []
  if not rows:
    raise ValueError(f"{what} {str(path)!r} is empty.")
  rows = [[c.strip() for c in r] for r in rows]
  if all(is_number(c) for c in rows[0]):
    return None, rows
  header, data = rows[0], rows[1:]
  _check_header(header, path, what)
  return header, data

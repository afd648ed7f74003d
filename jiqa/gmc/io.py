"""Reading and validating GMC inputs: prediction tables (CSV/XLSX), std/weight files, samples.

Tables are read with pandas (``openpyxl`` for .xlsx). Every check raises a
``ValueError`` that names the column or file and what was expected, so a bad
table never turns into a NaN surface.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence

import jax
import numpy as np
import pandas as pd

__all__ = ["read_table", "read_vector", "read_samples", "select_columns", "validate_inputs"]


def read_table(path: str | pathlib.Path) -> pd.DataFrame:
  """A CSV or XLSX table with a header row.

  Example:
    >>> import tempfile, os; f = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(f, "w").write("mos,a\\n1,2\\n")
    >>> read_table(f).columns.tolist()
    ['mos', 'a']
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise ValueError(f"pred file {str(path)!r} does not exist.")
  suffix = path.suffix.lower()
  try:
    if suffix in (".xlsx", ".xlsm", ".xls"):
      table = pd.read_excel(path)
    else:
      table = pd.read_csv(path, sep=None, engine="python")
  except pd.errors.EmptyDataError as e:
    raise ValueError(f"pred file {str(path)!r} is empty.") from e
  if table.shape[0] == 0:
    raise ValueError(f"pred file {str(path)!r} has a header but no rows.")
  table.columns = [str(c).strip() for c in table.columns]
  return table


def _numeric(values, name: str) -> np.ndarray:
  arr = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(np.float64)
  raw = pd.Series(values)
  bad = np.flatnonzero(~np.isfinite(arr))
  if bad.size:
    k = int(bad[0])
    raise ValueError(f"{name}: row {k} has a non-numeric, NaN or infinite value ({raw.iloc[k]!r}); "
                     f"{bad.size} bad value(s) in all.")
  return arr


def read_vector(path: str | pathlib.Path, name: str) -> np.ndarray:
  """One number per row from a .txt (whitespace) or .csv/.xlsx file (first numeric column).

  Example:
    >>> import tempfile, os; f = os.path.join(tempfile.mkdtemp(), "w.txt")
    >>> _ = open(f, "w").write("0.5\\n1.5\\n")
    >>> read_vector(f, "weights").tolist()
    [0.5, 1.5]
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise ValueError(f"{name} file {str(path)!r} does not exist.")
  if path.suffix.lower() in (".csv", ".xlsx", ".xls"):
    table = read_table(path)
    if not str(table.columns[0]).lstrip("-").replace(".", "", 1).isdigit():
      return _numeric(table.iloc[:, -1], f"{name} file {path.name}")
    values = pd.read_csv(path, header=None).iloc[:, -1]
    return _numeric(values, f"{name} file {path.name}")
  tokens = path.read_text().split()
  if not tokens:
    raise ValueError(f"{name} file {str(path)!r} is empty.")
  return _numeric(tokens, f"{name} file {path.name}")


def read_samples(path: str | pathlib.Path) -> np.ndarray:
  """(K, 2) sample points from a CSV with columns Q, Qd (or two unnamed columns).

  Example:
    >>> import tempfile, os; f = os.path.join(tempfile.mkdtemp(), "s.csv")
    >>> _ = open(f, "w").write("Q,Qd\\n2,1\\n3,0.5\\n")
    >>> read_samples(f).tolist()
    [[2.0, 1.0], [3.0, 0.5]]
  """
  table = read_table(path)
  if {"Q", "Qd"} <= set(table.columns):
    table = table[["Q", "Qd"]]
  elif table.shape[1] != 2:
    raise ValueError(f"sample file {str(path)!r} needs columns Q and Qd, got {list(table.columns)}.")
  q = _numeric(table.iloc[:, 0], f"sample file {pathlib.Path(path).name} column Q")
  qd = _numeric(table.iloc[:, 1], f"sample file {pathlib.Path(path).name} column Qd")
  return np.stack([q, qd], axis=1)


def select_columns(table: pd.DataFrame, *, mos_col: str = "mos", std_col: str | None = None,
                   pred_cols: Sequence[str] | None = None
                   ) -> tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
  """(mos, std or None, {model: predictions}) from a table, checking every column.

  Without ``pred_cols`` every column other than the MOS and std columns is a model.

  Example:
    >>> t = pd.DataFrame({"mos": [1, 2, 3], "std": [.1, .2, .1], "m": [3, 1, 2]})
    >>> mos, std, preds = select_columns(t, std_col="std"); list(preds)
    ['m']
  """
  columns = list(table.columns)
  for role, col in (("MOS", mos_col), ("std", std_col)):
    if col is not None and col not in columns:
      raise ValueError(f"{role} column {col!r} not found; the table has columns {columns}.")
  if pred_cols is None:
    pred_cols = [c for c in columns if c not in (mos_col, std_col)]
  if not pred_cols:
    raise ValueError(f"no prediction columns: the table has only {columns}.")
  missing = [c for c in pred_cols if c not in columns]
  if missing:
    raise ValueError(f"prediction column(s) {missing} not found; the table has columns {columns}.")
  mos = _numeric(table[mos_col], f"MOS column {mos_col!r}")
  std = None if std_col is None else _numeric(table[std_col], f"std column {std_col!r}")
  preds = {c: _numeric(table[c], f"prediction column {c!r}") for c in pred_cols}
  return mos, std, preds


def validate_inputs(mos: jax.typing.ArrayLike, predictions: Mapping[str, jax.typing.ArrayLike],
                    std: jax.typing.ArrayLike | None = None,
                    weights: jax.typing.ArrayLike | None = None
                    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None, np.ndarray | None]:
  """Checks lengths, finiteness, >= 3 rows, non-constant MOS/predictions, std >= 0, weights >= 0.

  Example:
    >>> validate_inputs([1, 2, 3], {"a": [1, 1, 1]})
    Traceback (most recent call last):
    ...
    ValueError: predictions 'a' are constant; correlations with MOS are undefined.
  """
  mos = _numeric(np.ravel(np.asarray(mos, dtype=object)), "mos")
  n = mos.size
  if n < 3:
    raise ValueError(f"mos: need at least 3 rows, got {n}.")
  if np.all(mos == mos[0]):
    raise ValueError("mos is constant; GMC needs a range of MOS values.")
  if not predictions:
    raise ValueError("predictions: need at least one model.")
  out = {}
  for name, p in predictions.items():
    p = _numeric(np.ravel(np.asarray(p, dtype=object)), f"predictions {name!r}")
    if p.size != n:
      raise ValueError(f"predictions {name!r} has {p.size} rows but mos has {n}.")
    if np.all(p == p[0]):
      raise ValueError(f"predictions {name!r} are constant; correlations with MOS are undefined.")
    out[str(name)] = p
  vecs = []
  for label, v in (("std", std), ("weights", weights)):
    if v is None:
      vecs.append(None)
      continue
    v = _numeric(np.ravel(np.asarray(v, dtype=object)), label)
    if v.size != n:
      raise ValueError(f"{label} has {v.size} rows but mos has {n}.")
    if np.any(v < 0):
      k = int(np.flatnonzero(v < 0)[0])
      raise ValueError(f"{label} must be >= 0; row {k} is {v[k]:g}.")
    if not np.any(v > 0):
      raise ValueError(f"{label} is zero for every row; at least some rows need a positive {label}.")
    vecs.append(v)
  return mos, out, vecs[0], vecs[1]

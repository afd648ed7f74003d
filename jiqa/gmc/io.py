"""Reading and validating GMC inputs: prediction tables (CSV/XLSX), std/weight files, samples.

Tables are read by ``jiqa.gmc.tables`` (pandas and openpyxl only for .xlsx, so the CLI
does not import pandas for a CSV). Every check raises a
``ValueError`` that names the column or file and what was expected, so a bad
table never turns into a NaN surface.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence

import jax
import numpy as np
from jiqa.gmc import tables

__all__ = ["read_table", "read_vector", "read_samples", "select_columns", "validate_inputs"]


def read_table(path: str | pathlib.Path, *, what: str = "pred file") -> tables.Table:
  """A CSV/TXT/XLSX table with a header row, as string cells (``tables.read_cells`` rules).

  The file name is kept in ``table.attrs["source"]`` so later errors can name it;
  ``.to_pandas()`` gives a DataFrame.

  Example:
    >>> import tempfile, os; f = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(f, "w").write("mos,a\\n1,2\\n")
    >>> read_table(f).columns
    ['mos', 'a']
  """
  path = pathlib.Path(path)
  header, rows = tables.read_cells(path, what)
  if header is None:
    raise ValueError(f"{what} {str(path)!r} has no header row (its first row is all numbers); "
                     "the first row must name the columns (mos, std, models).")
  if not rows:
    raise ValueError(f"{what} {str(path)!r} has a header but no rows.")
  return tables.Table(header, rows, source=path.name)


def _numeric(values, name: str) -> np.ndarray:
  """float64 values of a 1-D sequence; strings are parsed with ``float`` (correctly rounded)."""
  raw = np.asarray(values, dtype=object).ravel()
  arr = np.empty(raw.size, np.float64)
  for k, v in enumerate(raw):
    try:
      arr[k] = float(v) if isinstance(v, str) else v
    except (TypeError, ValueError):
      arr[k] = np.nan
  bad = np.flatnonzero(~np.isfinite(arr))
  if bad.size:
    k = int(bad[0])
    raise ValueError(f"{name}: row {k} has a non-numeric, NaN or infinite value ({raw[k]!r}); "
                     f"{bad.size} bad value(s) in all.")
  return arr


def read_vector(path: str | pathlib.Path, name: str) -> np.ndarray:
  """One number per row: a single column (header optional), or the column named ``name``.

  Example:
    >>> import tempfile, os; f = os.path.join(tempfile.mkdtemp(), "w.txt")
    >>> _ = open(f, "w").write("0.5\\n1.5\\n")
    >>> read_vector(f, "weights").tolist()
    [0.5, 1.5]
  """
  path = pathlib.Path(path)
  header, rows = tables.read_cells(path, f"{name} file")
  if header is not None and not rows:
    raise ValueError(f"{name} file {str(path)!r} has a header but no values.")
  width = len(rows[0])
  if width == 1:
    col = 0
  elif header is not None and name in header:
    col = header.index(name)
  elif header is None and len(rows) == 1:  # one line of values
    return _numeric(rows[0], f"{name} file {path.name}")
  else:
    raise ValueError(f"{name} file {str(path)!r} has {width} columns; expected one column of "
                     f"{name} values (or a header naming a column {name!r}).")
  return _numeric([r[col] for r in rows], f"{name} file {path.name}")


def read_samples(path: str | pathlib.Path) -> np.ndarray:
  """(K, 2) sample points: columns Q, Qd by name, or exactly two columns (header optional).

  Example:
    >>> import tempfile, os; f = os.path.join(tempfile.mkdtemp(), "s.csv")
    >>> _ = open(f, "w").write("Q,Qd\\n2,1\\n3,0.5\\n")
    >>> read_samples(f).tolist()
    [[2.0, 1.0], [3.0, 0.5]]
  """
  path = pathlib.Path(path)
  header, rows = tables.read_cells(path, "sample file")
  if header is not None and {"Q", "Qd"} <= set(header):
    cols = [header.index("Q"), header.index("Qd")]
  elif len(rows[0]) == 2 if rows else False:
    cols = [0, 1]
  else:
    got = header if header is not None else f"{len(rows[0])} unnamed column(s)"
    raise ValueError(f"sample file {str(path)!r} needs columns Q and Qd (or exactly two columns), "
                     f"got {got}.")
  if not rows:
    raise ValueError(f"sample file {str(path)!r} has a header but no points.")
  q = _numeric([r[cols[0]] for r in rows], f"sample file {path.name} column Q")
  qd = _numeric([r[cols[1]] for r in rows], f"sample file {path.name} column Qd")
  return np.stack([q, qd], axis=1)


def select_columns(table, *, mos_col: str = "mos", std_col: str | None = None,
                   pred_cols: Sequence[str] | None = None, exclude: Sequence[str] = ()
                   ) -> tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
  """(mos, std or None, {model: predictions}) from a table, checking every column.

  ``table`` is a ``tables.Table`` (from ``read_table``) or a pandas DataFrame.

  Without ``pred_cols`` every column other than the MOS and std columns and
  ``exclude`` is a model. A column cannot be both a model and MOS/std.

  Example:
    >>> import pandas as pd
    >>> t = pd.DataFrame({"mos": [1, 2, 3], "std": [.1, .2, .1], "m": [3, 1, 2]})
    >>> mos, std, preds = select_columns(t, std_col="std"); list(preds)
    ['m']
  """
  columns = list(table.columns)
  src = getattr(table, "attrs", {}).get("source")
  of = f" of {src}" if src else ""
  for role, col in (("MOS", mos_col), ("std", std_col)):
    if col is not None and col not in columns:
      raise ValueError(f"{role} column {col!r} not found{of}; the table has columns {columns}.")
  if std_col is not None and std_col == mos_col:
    raise ValueError(f"the std column and the MOS column{of} are both {mos_col!r}.")
  if pred_cols is None:
    pred_cols = [c for c in columns if c not in (mos_col, std_col, *exclude)]
  pred_cols = list(pred_cols)
  if not pred_cols:
    raise ValueError(f"no prediction columns{of}: the table has only {columns}.")
  missing = [c for c in pred_cols if c not in columns]
  if missing:
    raise ValueError(f"prediction column(s) {missing} not found{of}; the table has columns {columns}.")
  twice = sorted({c for c in pred_cols if pred_cols.count(c) > 1})
  if twice:
    raise ValueError(f"prediction column(s) {twice}{of} are listed more than once.")
  for role, col in (("MOS", mos_col), ("std", std_col)):
    if col in pred_cols:
      raise ValueError(f"column {col!r}{of} is the {role} column; it cannot also be a prediction column.")
  mos = _numeric(table[mos_col], f"MOS column {mos_col!r}{of}")
  std = None if std_col is None else _numeric(table[std_col], f"std column {std_col!r}{of}")
  preds = {c: _numeric(table[c], f"prediction column {c!r}{of}") for c in pred_cols}
  return mos, std, preds


def _vector(values: jax.typing.ArrayLike, name: str, n: int | None = None) -> np.ndarray:
  """A real 1-D vector (never flattened from 2-D, never the real part of complex numbers)."""
  arr = np.asarray(values)
  if np.iscomplexobj(arr) or (arr.dtype == object and any(isinstance(v, complex) for v in arr.flat)):
    raise ValueError(f"{name} must be real numbers, got complex values.")
  if arr.ndim != 1:
    raise ValueError(f"{name} must be a 1-D array of {n or 'N'} values (one per image), "
                     f"got shape {arr.shape}.")
  out = _numeric(arr, name)
  if n is not None and out.size != n:
    raise ValueError(f"{name} has {out.size} values but mos has {n}.")
  return out


def validate_inputs(mos: jax.typing.ArrayLike, predictions: Mapping[str, jax.typing.ArrayLike],
                    std: jax.typing.ArrayLike | None = None,
                    weights: jax.typing.ArrayLike | None = None
                    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None, np.ndarray | None]:
  """Checks shapes (1-D, equal lengths), real finite values, >= 3 rows, non-constant
  MOS/predictions, std >= 0, weights >= 0.

  Example:
    >>> validate_inputs([1, 2, 3], {"a": [1, 1, 1]})
    Traceback (most recent call last):
    ...
    ValueError: predictions 'a' are constant; correlations with MOS are undefined.
    >>> validate_inputs([1, 2, 3], [[3, 1, 2]])
    Traceback (most recent call last):
    ...
    ValueError: predictions must be a mapping {model name: (N,) scores}, got list.
  """
  mos = _vector(mos, "mos")
  n = mos.size
  if n < 3:
    raise ValueError(f"mos: need at least 3 rows, got {n}.")
  if np.all(mos == mos[0]):
    raise ValueError("mos is constant; GMC needs a range of MOS values.")
  if not isinstance(predictions, Mapping):
    raise ValueError("predictions must be a mapping {model name: (N,) scores}, got "
                     f"{type(predictions).__name__}.")
  if not predictions:
    raise ValueError("predictions: need at least one model.")
  out = {}
  for name, p in predictions.items():
    p = _vector(p, f"predictions {name!r}", n)
    if np.all(p == p[0]):
      raise ValueError(f"predictions {name!r} are constant; correlations with MOS are undefined.")
    out[str(name)] = p
  if len(out) != len(predictions):
    raise ValueError(f"predictions: model names must be distinct as strings, got {list(predictions)}.")
  vecs = []
  for label, v in (("std", std), ("weights", weights)):
    if v is None:
      vecs.append(None)
      continue
    v = _vector(v, label, n)
    if np.any(v < 0):
      k = int(np.flatnonzero(v < 0)[0])
      raise ValueError(f"{label} must be >= 0; row {k} is {v[k]:g}.")
    if not np.any(v > 0):
      raise ValueError(f"{label} is zero for every row; at least some rows need a positive {label}.")
    vecs.append(v)
  return mos, out, vecs[0], vecs[1]

"""Metric writers: one JSON line per logged step and TensorBoard event files.

Only process 0 writes (``jax.process_index() == 0``); other processes get a
writer that does nothing, so multi-host code can call it unconditionally.
The JSON-lines file (``metrics.jsonl``) has one object per line,
``{"step": s, "split": "train", "name": value, ...}``; the same scalars go to
TensorBoard through ``tensorboardX`` (tag ``split/name``) under ``tensorboard/``.

A resumed run opens its writer with ``resume_step`` (the restored checkpoint's
step): rows past that step, logged before the run was stopped and about to be
logged again, are dropped from ``metrics.jsonl`` (and purged from
TensorBoard), so the file holds each step once.

Example:
  >>> with MetricWriter(tmp_dir) as w:                     # doctest: +SKIP
  ...   w.write(1, {"loss": 0.5})
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping

import jax
import numpy as np

METRICS_FILE = "metrics.jsonl"


def _to_float(name: str, value) -> float:
  arr = np.asarray(value)
  if arr.size != 1:
    raise ValueError(f"metric {name!r} must be a scalar; got shape {arr.shape}.")
  return float(arr.reshape(()))


class MetricWriter:
  """Writes scalars to ``workdir/metrics.jsonl`` and ``workdir/tensorboard/``.

  Args:
    workdir: the run's folder (created if missing).
    enabled: whether to write; by default only on process 0.
    tensorboard: also write TensorBoard event files.
    resume_step: when resuming from the checkpoint of this step, drop the rows
      of later steps already in the file (see :func:`truncate_jsonl`).
  """

  def __init__(self, workdir: str | os.PathLike, *, enabled: bool | None = None,
               tensorboard: bool = True, resume_step: int | None = None):
    self.enabled = (jax.process_index() == 0) if enabled is None else bool(enabled)
    self.path = os.path.join(os.fspath(workdir), METRICS_FILE)
    self._file = None
    self._tb = None
    if self.enabled:
      os.makedirs(os.fspath(workdir), exist_ok=True)
      purge = None
      if resume_step is not None:
        truncate_jsonl(self.path, int(resume_step))
        purge = int(resume_step) + 1
      self._file = open(self.path, "a", encoding="utf-8")
      if tensorboard:
        from tensorboardX import SummaryWriter
        # A resumed writer gets its own event file even within the same second.
        self._tb = SummaryWriter(os.path.join(os.fspath(workdir), "tensorboard"),
                                 purge_step=purge,
                                 filename_suffix="" if purge is None else f".resume{purge - 1}")

  def write(self, step: int, metrics: Mapping[str, float], *, split: str = "train") -> dict:
    """Writes one line of scalars for ``step``; returns the row written.

    Non-finite values are written as ``null`` in JSON (and as they are to
    TensorBoard) rather than raising, so a diverging run leaves a trace.
    """
    row = {"step": int(step), "split": split}
    for name, value in metrics.items():
      row[name] = _to_float(name, value)
    if not self.enabled:
      return row
    clean = {k: (v if not isinstance(v, float) or math.isfinite(v) else None)
             for k, v in row.items()}
    self._file.write(json.dumps(clean) + "\n")
    self._file.flush()
    if self._tb is not None:
      for name, value in row.items():
        if name not in ("step", "split"):
          self._tb.add_scalar(f"{split}/{name}", value, int(step))
    return row

  def close(self) -> None:
    """Flushes and closes the files."""
    if self._file is not None:
      self._file.close()
      self._file = None
    if self._tb is not None:
      self._tb.close()
      self._tb = None

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()


def truncate_jsonl(path: str | os.PathLike, step: int) -> int:
  r"""Keeps only the rows of ``path`` with ``row["step"] <= step``; returns how many were dropped.

  A line cut short by a kill (not valid JSON) is dropped too. The file is
  rewritten atomically; a missing file is left missing.

  Example:
    >>> import tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "metrics.jsonl")
    >>> with open(p, "w") as f:
    ...   _ = f.write('{"step": 1}\n{"step": 2}\n{"step": 3}\n{"st')
    >>> truncate_jsonl(p, 2), [r["step"] for r in read_jsonl(p)]
    (2, [1, 2])
  """
  path = os.fspath(path)
  if not os.path.exists(path):
    return 0
  with open(path, encoding="utf-8") as f:
    lines = [line for line in f if line.strip()]
  kept = []
  for line in lines:
    try:
      row = json.loads(line)
    except json.JSONDecodeError:
      continue
    if isinstance(row, dict) and isinstance(row.get("step"), int) and row["step"] <= step:
      kept.append(line if line.endswith("\n") else line + "\n")
  if len(kept) != len(lines):
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
      f.writelines(kept)
    os.replace(tmp, path)
  return len(lines) - len(kept)


def last_row(path: str | os.PathLike, *, split: str = "train") -> dict | None:
  """The last row of ``split`` in a metrics.jsonl file, or ``None`` (no file or no row).

  Example:
    >>> last_row("no/such/metrics.jsonl") is None
    True
  """
  if not os.path.exists(path):
    return None
  rows = [r for r in read_jsonl(path) if r.get("split") == split]
  return rows[-1] if rows else None


def read_jsonl(path: str | os.PathLike) -> list[dict]:
  """Reads a metrics.jsonl file back into a list of dicts.

  Example:
    >>> rows = read_jsonl("run/metrics.jsonl")  # doctest: +SKIP
  """
  with open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]

"""Metric writers: one JSON line per logged step and TensorBoard event files.

Only process 0 writes (``jax.process_index() == 0``); other processes get a
writer that does nothing, so multi-host code can call it unconditionally.
The JSON-lines file (``metrics.jsonl``) has one object per line,
``{"step": s, "split": "train", "name": value, ...}``; the same scalars go to
TensorBoard through ``tensorboardX`` (tag ``split/name``) under ``tensorboard/``.

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
  """

  def __init__(self, workdir: str | os.PathLike, *, enabled: bool | None = None,
               tensorboard: bool = True):
    self.enabled = (jax.process_index() == 0) if enabled is None else bool(enabled)
    self.path = os.path.join(os.fspath(workdir), "metrics.jsonl")
    self._file = None
    self._tb = None
    if self.enabled:
      os.makedirs(os.fspath(workdir), exist_ok=True)
      self._file = open(self.path, "a", encoding="utf-8")
      if tensorboard:
        from tensorboardX import SummaryWriter
        self._tb = SummaryWriter(os.path.join(os.fspath(workdir), "tensorboard"))

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


def read_jsonl(path: str | os.PathLike) -> list[dict]:
  """Reads a metrics.jsonl file back into a list of dicts.

  Example:
    >>> rows = read_jsonl("run/metrics.jsonl")  # doctest: +SKIP
  """
  with open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]

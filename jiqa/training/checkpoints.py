"""Checkpoints with resume: a thin wrapper over orbax's ``CheckpointManager``.

Saves the whole train state (a pytree, see :mod:`jiqa.training.state`) with
``ocp.args.StandardSave`` every ``save_interval_steps`` steps (asynchronously),
keeps the newest ``max_to_keep``, and restores into the shapes, dtypes and
shardings of a freshly built state with ``ocp.args.StandardRestore``, so a
restarted run continues on any mesh. Nothing here is hand-written checkpoint
code; orbax coordinates multi-host writes.

Example:
  >>> ckpt = Checkpointer(tmp_dir / "checkpoints", save_interval_steps=10)  # doctest: +SKIP
  >>> ckpt.save(10, state); ckpt.wait_until_finished()                       # doctest: +SKIP
  >>> state = ckpt.restore(state)                                            # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

import orbax.checkpoint as ocp

from jiqa.training import state as state_lib


class Checkpointer:
  """Saves and restores train states under one directory.

  Args:
    directory: where the step folders go (created if missing; made absolute).
    save_interval_steps: :meth:`save` writes only on multiples of this (and
      when forced).
    max_to_keep: how many checkpoints to keep.
    enable_async: write in a background thread.
  """

  def __init__(self, directory: str | os.PathLike, *, save_interval_steps: int = 1,
               max_to_keep: int = 2, enable_async: bool = True):
    if save_interval_steps < 1:
      raise ValueError(f"save_interval_steps must be >= 1; got {save_interval_steps}.")
    self.directory = os.path.abspath(os.fspath(directory))
    options = ocp.CheckpointManagerOptions(
        save_interval_steps=save_interval_steps, max_to_keep=max_to_keep, create=True,
        enable_async_checkpointing=enable_async)
    self._manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> int | None:
    """The newest saved step, or ``None`` when there is none."""
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    """Every saved step, oldest first."""
    return sorted(self._manager.all_steps())

  def save(self, step: int, state: Any, *, force: bool = False) -> bool:
    """Saves ``state`` as ``step`` if the interval says so (or ``force``); returns whether it did."""
    return bool(self._manager.save(int(step), args=ocp.args.StandardSave(state), force=force))

  def restore(self, like: Any, step: int | None = None) -> Any:
    """Restores ``step`` (the newest by default) into the structure and shardings of ``like``.

    Raises:
      ValueError: if there is no checkpoint to restore.
    """
    step = self.latest_step() if step is None else int(step)
    if step is None:
      raise ValueError(f"directory: no checkpoint to restore in {self.directory}.")
    return self._manager.restore(step, args=ocp.args.StandardRestore(state_lib.abstract(like)))

  def wait_until_finished(self) -> None:
    """Blocks until pending asynchronous saves are written."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    """Waits for pending saves and releases the manager."""
    self._manager.wait_until_finished()
    self._manager.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()

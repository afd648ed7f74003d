"""Checkpoints with resume: a thin wrapper over orbax's ``CheckpointManager``, and the
run's record (``config.json``) that a resume is checked against.

Saves the whole train state (a pytree, see :mod:`jiqa.training.state`) with
``ocp.args.StandardSave`` every ``save_interval_steps`` steps (asynchronously),
keeps the newest ``max_to_keep``, and restores into the shapes, dtypes and
shardings of a freshly built state with ``ocp.args.StandardRestore``, so a
restarted run continues on any mesh. Nothing here is hand-written checkpoint
code; orbax coordinates multi-host writes.

A run's folder also holds the config it was started with (``config.json``,
:func:`save_config`). It is written once and never overwritten:
:func:`check_resume` compares a new config with it before anything else
happens and refuses a resume whose config differs, naming the keys.

Example:
  >>> ckpt = Checkpointer(tmp_dir / "checkpoints", save_interval_steps=10)  # doctest: +SKIP
  >>> ckpt.save(10, state); ckpt.wait_until_finished()                       # doctest: +SKIP
  >>> state = ckpt.restore(state)                                            # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import ml_collections
import orbax.checkpoint as ocp

from jiqa.training import state as state_lib

CONFIG_FILE = "config.json"


def save_config(config: ml_collections.ConfigDict, workdir: str | os.PathLike) -> str:
  """Writes ``config`` as ``workdir/config.json`` unless the file exists; returns its path.

  The file is the record of the run: it is written atomically (a temporary
  file, then a rename) and an existing one is left as it is (check it first
  with :func:`check_resume`).
  """
  workdir = os.fspath(workdir)
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, CONFIG_FILE)
  if jax.process_index() == 0 and not os.path.exists(path):
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
      f.write(config.to_json(indent=2))
    os.replace(tmp, path)
  return path


def _read_config_json(workdir: str | os.PathLike) -> dict | None:
  path = os.path.join(os.fspath(workdir), CONFIG_FILE)
  if not os.path.isfile(path):
    return None
  try:
    with open(path, encoding="utf-8") as f:
      return json.load(f)
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
    raise ValueError(f"workdir: cannot read the run's record {path!r} ({e}).") from None


def load_config(workdir: str | os.PathLike) -> ml_collections.ConfigDict:
  """Reads the config a run saved in ``workdir``.

  Raises:
    ValueError: if ``workdir`` holds no readable ``config.json``.
  """
  saved = _read_config_json(workdir)
  if saved is None:
    raise ValueError(f"workdir: {os.fspath(workdir)!r} holds no {CONFIG_FILE} "
                     "(not a training run).")
  return ml_collections.ConfigDict(saved)


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
  if isinstance(tree, dict):
    out = {}
    for k, v in tree.items():
      out.update(_flatten(v, f"{prefix}{k}."))
    return out if out or not prefix else {prefix[:-1]: {}}
  return {prefix[:-1]: tree}


def config_differences(saved: dict, config: ml_collections.ConfigDict) -> dict[str, tuple]:
  """``{dotted.key: (saved value, new value)}`` for every key where the two differ.

  Example:
    >>> c = ml_collections.ConfigDict({"train": {"steps": 5}, "seed": 0})
    >>> config_differences({"train": {"steps": 3}, "seed": 0}, c)
    {'train.steps': (3, 5)}
  """
  old, new = _flatten(saved), _flatten(json.loads(config.to_json()))
  absent = "(absent)"
  return {k: (old.get(k, absent), new.get(k, absent)) for k in sorted(set(old) | set(new))
          if k not in old or k not in new or old[k] != new[k]}


def check_resume(config: ml_collections.ConfigDict, workdir: str | os.PathLike) -> bool:
  """Checks that ``config`` may run in ``workdir``; returns whether a run is recorded there.

  A folder without ``config.json`` takes any config. A folder with one takes
  only the same config (every key, after a JSON round trip), so a resume can
  never mix two runs or overwrite the record of one.

  Raises:
    ValueError: naming the keys that differ, with both values.

  Example:
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> c = ml_collections.ConfigDict({"train": {"steps": 3}})
    >>> check_resume(c, d), os.path.basename(save_config(c, d)), check_resume(c, d)
    (False, 'config.json', True)
    >>> c.train.steps = 5
    >>> check_resume(c, d)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: workdir: ... holds a run with another config (train.steps: 3 saved, 5 now); ...
  """
  saved = _read_config_json(workdir)
  if saved is None:
    return False
  diffs = config_differences(saved, config)
  if diffs:
    shown = "; ".join(f"{k}: {a!r} saved, {b!r} now" for k, (a, b) in list(diffs.items())[:6])
    more = f"; and {len(diffs) - 6} more" if len(diffs) > 6 else ""
    raise ValueError(
        f"workdir: {os.fspath(workdir)!r} holds a run with another config ({shown}{more}); "
        "resume it with the same config (and --images), or use a new folder.")
  return True


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
    try:
      return self._manager.restore(step, args=ocp.args.StandardRestore(state_lib.abstract(like)))
    except ValueError as e:  # orbax lists every mismatched leaf over many lines
      lines = [x.strip() for x in str(e).splitlines() if x.strip()]
      first = lines[1] if len(lines) > 1 else (lines[0] if lines else "")
      raise ValueError(f"checkpoint: step {step} in {self.directory} does not fit the state "
                       f"built from the run's config (written by other models?); first "
                       f"mismatch: {first.rstrip(':')}") from None

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

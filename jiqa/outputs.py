"""Output paths checked before any work starts, so a long job never dies at its last line.

Every command of jiqa that writes files calls :func:`check_output_file` or
:func:`check_output_dir` on each of its outputs first: a missing parent
folder, a folder where a file is expected, a file where a folder is expected,
or a place that cannot be written gives a one-line ``ValueError`` naming the
flag, before anything is computed.

Example:
  >>> check_output_file("/tmp/x.json", flag="--json", suffix=".json")
  '/tmp/x.json'
  >>> check_output_file("/no/such/dir/x.json", flag="--json")
  Traceback (most recent call last):
  ...
  ValueError: --json: the folder '/no/such/dir' does not exist.
"""

from __future__ import annotations

import os
import tempfile


def _writable_dir(folder: str, flag: str) -> None:
  """Raises unless a file can really be created in ``folder`` (``os.access`` is no test for root)."""
  if not os.path.exists(folder):
    raise ValueError(f"{flag}: the folder {folder!r} does not exist.")
  if not os.path.isdir(folder):
    raise ValueError(f"{flag}: {folder!r} is not a folder.")
  try:
    with tempfile.TemporaryFile(dir=folder):
      pass
  except OSError as e:
    raise ValueError(f"{flag}: the folder {folder!r} is not writable ({e.strerror}).") from None


def check_output_file(path: str | os.PathLike, *, flag: str, suffix: str | None = None) -> str:
  """Checks that ``path`` can be written as a file; returns it.

  Args:
    path: the file to be written (it may exist: it is then replaced).
    flag: the option or argument name, for the message.
    suffix: if given, the file name must end with it (e.g. ``".png"``).

  Raises:
    ValueError: if ``path`` is empty, is a folder, has the wrong suffix, or its
      folder is missing or not writable.
  """
  path = os.fspath(path)
  if not path:
    raise ValueError(f"{flag}: an empty path.")
  if os.path.isdir(path):
    raise ValueError(f"{flag}: {path!r} is a folder; expected a file name.")
  if suffix is not None and not path.lower().endswith(suffix):
    raise ValueError(f"{flag}: {path!r} must end with {suffix}.")
  _writable_dir(os.path.dirname(os.path.abspath(path)), flag)
  if os.path.exists(path) and not os.access(path, os.W_OK):
    raise ValueError(f"{flag}: {path!r} exists and is not writable.")
  return path


def check_output_dir(path: str | os.PathLike, *, flag: str) -> str:
  """Checks that ``path`` is, or can be created as, a writable folder; returns it.

  The folder itself is not created (that is the job's first step).

  Example:
    >>> check_output_dir("/tmp/new_report", flag="--out")
    '/tmp/new_report'
  """
  path = os.fspath(path)
  if not path:
    raise ValueError(f"{flag}: an empty path.")
  if os.path.exists(path):
    if not os.path.isdir(path):
      raise ValueError(f"{flag}: {path!r} exists and is not a folder.")
    _writable_dir(path, flag)
    return path
  parent = os.path.dirname(os.path.abspath(path))
  while not os.path.exists(parent):  # makedirs creates missing parents: check the first one.
    parent = os.path.dirname(parent)
  _writable_dir(parent, flag)
  return path

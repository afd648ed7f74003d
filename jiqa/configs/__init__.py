"""The configs shipped inside the package, and the loader every CLI uses.

A config is named either by a shipped name (``pipeline``, ``map_predictor``,
``scorer``) or by a file path, with an optional ``:arg`` selecting the size
(``""`` the CPU default, ``"smoke"``, ``"full"``)::

  jiqa run --config pipeline:smoke
  jiqa run --config path/to/my_config.py:full

Shipping them in the package means a wheel (non-editable) install can run the
main job from any directory.
"""

from __future__ import annotations

import importlib
import importlib.util
import os

SHIPPED = ("pipeline", "map_predictor", "scorer")
DEFAULT = "pipeline"


def shipped_path(name: str) -> str:
  """The file of a shipped config, e.g. ``shipped_path("pipeline")``.

  Example:
    >>> os.path.basename(shipped_path("pipeline"))
    'pipeline.py'
  """
  if name not in SHIPPED:
    raise ValueError(f"config: unknown shipped config {name!r}; expected one of {SHIPPED}.")
  return os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")


def load_config_file(spec: str):
  """Loads ``NAME[:arg]`` (a shipped config) or ``path.py[:arg]`` and returns ``get_config(arg)``.

  Args:
    spec: ``"pipeline"``, ``"pipeline:smoke"``, ``"configs/pipeline.py:full"``, ...

  Raises:
    ValueError: if the name is unknown, the file does not exist or defines no
      ``get_config``, or ``arg`` is not one the config accepts.

  Example:
    >>> load_config_file("pipeline:smoke").train.steps
    3
  """
  if not isinstance(spec, str) or not spec:
    raise ValueError(f"config: expected NAME[:arg] or path.py[:arg], got {spec!r}.")
  path, _, arg = spec.partition(":")
  if path in SHIPPED:
    module = importlib.import_module(f"jiqa.configs.{path}")
  else:
    if not path.endswith(".py"):
      raise ValueError(f"config: {path!r} is neither a shipped config {SHIPPED} nor a .py file "
                       "(expected e.g. pipeline:smoke or configs/pipeline.py:smoke).")
    if not os.path.isfile(path):
      raise ValueError(f"config: no such file {path!r} (expected e.g. pipeline:smoke or "
                       "configs/pipeline.py:smoke).")
    module_spec = importlib.util.spec_from_file_location("jiqa_run_config", path)
    module = importlib.util.module_from_spec(module_spec)
    try:
      module_spec.loader.exec_module(module)
    except Exception as e:  # A user's file: any error it raises is reported in one line.
      raise ValueError(f"config: {path!r} cannot be loaded: {type(e).__name__}: {e}") from None
  if not hasattr(module, "get_config"):
    raise ValueError(f"config: {path!r} defines no get_config(arg).")
  try:
    return module.get_config(arg)
  except (ValueError, TypeError, KeyError, AttributeError) as e:
    # ml_collections raises TypeError for a value of the wrong type (e.g. steps = 2.5).
    raise ValueError(f"config: {spec!r}: {type(e).__name__}: {e}") from None

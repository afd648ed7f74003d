"""The docstring examples of ``experiments/``, which the suite's ``--doctest-modules jiqa tests``
does not collect (``experiments.train`` and ``experiments.evaluate`` define the same absl flags
at import, so pytest cannot import the whole folder in one process)."""

import doctest
import importlib
import pathlib

import pytest

import experiments

_ROOT = pathlib.Path(experiments.__file__).parent
MODULES = sorted(p.stem for p in _ROOT.glob("*.py") if ">>>" in p.read_text(encoding="utf-8"))


def test_the_folder_has_examples_to_run():
  assert {"engine_tiers", "pixelate_order", "deviation_landscape"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_examples(name):
  import jax
  import jax.numpy as jnp
  import ml_collections
  import numpy as np
  import optax
  from flax import nnx

  module = importlib.import_module(f"experiments.{name}")
  # The names the package's doctests may use without importing (conftest.py), then the module's.
  extra = dict(jax=jax, jnp=jnp, np=np, nnx=nnx, optax=optax, ml_collections=ml_collections)
  result = doctest.testmod(module, extraglobs=extra, report=True,
                           optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
  assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed"

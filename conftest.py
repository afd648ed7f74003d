"""Doctest set-up: ``python -m pytest --doctest-modules jiqa`` runs every ``>>>`` line.

The examples may use ``jax``, ``jnp``, ``np``, ``nnx``, ``optax`` and
``ml_collections`` without importing them. They are imported inside the
fixture, not here: ``tests/conftest.py`` must set ``XLA_FLAGS`` (8 fake CPU
devices) before JAX is first imported.
"""

import pytest


@pytest.fixture(autouse=True)
def _doctest_imports(doctest_namespace):
  import jax
  import jax.numpy as jnp
  import ml_collections
  import numpy as np
  import optax
  from flax import nnx

  doctest_namespace.update(jax=jax, jnp=jnp, np=np, nnx=nnx, optax=optax,
                           ml_collections=ml_collections)

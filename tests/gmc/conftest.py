"""GMC tests: in-process ``jiqa gmc`` runs must not switch on the persistent compilation cache
(``configure_jax`` would set it process-wide for the rest of the session)."""

import pytest


@pytest.fixture(autouse=True)
def _no_compilation_cache(monkeypatch):
  monkeypatch.setenv("JIQA_JAX_CACHE", "off")

"""No JAX work at import: importing every module of jiqa starts no backend.

On a TPU VM the first backend start takes the chips, and
``jax.distributed.initialize()`` must be the first JAX call; so no module may
build arrays, run conversions or change XLA's flags when imported (issue 13).
The check runs in a fresh interpreter: it walks ``pkgutil.walk_packages`` over
``jiqa``, imports each module, and reads JAX's table of started backends
(``jax._src.xla_bridge._backends``, empty until the first array is made). The
same process then makes one array to show that the probe does see a start.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

_SCRIPT = textwrap.dedent("""
    import importlib, json, os, pkgutil
    import jiqa
    from jax._src import xla_bridge
    flags = os.environ.get("XLA_FLAGS")
    started, failed, flags_changed = {}, {}, []
    for m in pkgutil.walk_packages(jiqa.__path__, "jiqa."):
      if m.name.rsplit(".", 1)[-1] == "__main__":
        continue
      try:
        importlib.import_module(m.name)
      except Exception as e:  # reported, not hidden
        failed[m.name] = f"{type(e).__name__}: {e}"
      if xla_bridge._backends and not started:
        started[m.name] = sorted(xla_bridge._backends)
      if os.environ.get("XLA_FLAGS") != flags and not flags_changed:
        flags_changed.append(m.name)
    import jax.numpy as jnp
    jnp.zeros(1).block_until_ready()
    print(json.dumps({"started": started, "failed": failed, "flags_changed": flags_changed,
                      "probe_sees_a_start": bool(xla_bridge._backends)}))
""")


@pytest.fixture(scope="module")
def imported():
  out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                       timeout=600, env=dict(os.environ))
  assert out.returncode == 0, out.stderr[-3000:]
  return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_module_imports(imported):
  assert imported["failed"] == {}


def test_no_backend_started_at_import(imported):
  assert imported["probe_sees_a_start"], "the probe cannot see a backend start"
  assert imported["started"] == {}, f"first module to start a JAX backend: {imported['started']}"


def test_no_xla_flags_changed_at_import(imported):
  assert imported["flags_changed"] == [], f"changed XLA_FLAGS: {imported['flags_changed']}"

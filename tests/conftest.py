"""Test set-up: 8 fake CPU devices (set before JAX is imported) and shared fixtures.

The tests also compile with ``--xla_backend_optimization_level=0``: their arrays
are small, so compiling dominates most of them. On the 2-core CI machine the
default suite took 908 s with it against 1313 s without (the README's test
command, run one after the other on the same tree, not interleaved); one
MapPredictor's eager initialisation 8.3 s against 34.6 s. Compute-bound tests get
slower (the kadid10k float64 GMC surface test: 163 s against 38 s). It changes
how fast the compiled code runs (and may reorder float sums, within the tests'
tolerances); nothing here times code (``benchmarks/`` do, without this flag).
Set ``JIQA_TEST_XLA_OPT=1`` to test at XLA's default optimisation.

One test run shares one JAX persistent compilation cache (a fresh temporary
folder, every program cached however quickly it compiled, removed at the end):
the pytest-xdist workers, and the subprocesses the tests start, then compile a
program that another one already compiled only once. Most tests here are
compile-bound (eager model calls compile op by op), and the workers build the
same small models: on a subset of the suite (``jiqa/models`` and
``jiqa/training`` doctests, ``tests/training``, ``tests/evaluation``; ``-n 2``,
one run after the other at a load of about 7) it took 232 s against 317 s. A
cache hit returns the executable that the same program compiled to, so no
result changes. ``JIQA_TEST_COMPILE_CACHE=0`` turns it off; a
``JAX_COMPILATION_CACHE_DIR`` already set is left alone.
"""

import os
import shutil
import tempfile

_flags = " --xla_force_host_platform_device_count=8"
if os.environ.get("JIQA_TEST_XLA_OPT", "") not in ("1", "true"):
  _flags += " --xla_backend_optimization_level=0"
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + _flags).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# Made by the first process that loads this file (the xdist controller, or the only process),
# inherited through the environment by the workers it starts, removed by it at the end.
_OWN_CACHE = None
if (os.environ.get("JIQA_TEST_COMPILE_CACHE", "1") not in ("0", "false", "off")
    and not os.environ.get("JAX_COMPILATION_CACHE_DIR")):
  _OWN_CACHE = tempfile.mkdtemp(prefix="jiqa-test-jax-cache-")
  os.environ.update(JAX_COMPILATION_CACHE_DIR=_OWN_CACHE,
                    JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                    JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")

import pathlib  # noqa: E402

import pytest  # noqa: E402


def pytest_unconfigure(config):
  """Removes the run's compilation cache (in the process that made it, after its workers)."""
  if _OWN_CACHE is not None and not hasattr(config, "workerinput"):
    shutil.rmtree(_OWN_CACHE, ignore_errors=True)

REPO = pathlib.Path(__file__).resolve().parents[1]


def gmc_reference_dir() -> pathlib.Path:
  """The shared GMC reference folder: $JIQA_GMC_REFERENCE or ../shared/gmc-reference."""
  return pathlib.Path(os.environ.get(
      "JIQA_GMC_REFERENCE", REPO.parent / "shared" / "gmc-reference"))


def in_ci() -> bool:
  """Whether the tests run in CI (``CI=true``, as CI systems and .ci/run set it)."""
  return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def gmc_reference() -> pathlib.Path:
  """The shared reference folder; missing, its tests skip, except in CI, where they fail."""
  path = gmc_reference_dir()
  if not (path / "gmc_scores.csv").is_file():
    message = f"GMC reference data not found at {path} (set JIQA_GMC_REFERENCE)."
    if in_ci():
      pytest.fail(message + " CI=true: the tests against the published numbers must run, "
                  "not be skipped.", pytrace=False)
    pytest.skip(message)
  return path


@pytest.fixture
def unwritable_dir(tmp_path):
  """Returns a function giving a folder nothing can be written in: chmod 0o555, or /sys where
  that does not bind (root); skips the test when the machine has none."""

  def make() -> str:
    d = tmp_path / "ro"
    d.mkdir(exist_ok=True)
    d.chmod(0o555)
    for cand in (str(d), "/sys"):
      probe = os.path.join(cand, ".jiqa-probe")
      try:
        open(probe, "w").close()
        os.remove(probe)
      except OSError:
        return cand
    pytest.skip("no unwritable folder on this machine")

  return make

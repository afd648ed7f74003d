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
"""

import os

_flags = " --xla_force_host_platform_device_count=8"
if os.environ.get("JIQA_TEST_XLA_OPT", "") not in ("1", "true"):
  _flags += " --xla_backend_optimization_level=0"
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + _flags).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pathlib  # noqa: E402

import pytest  # noqa: E402

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

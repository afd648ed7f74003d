"""Test set-up: 8 fake CPU devices (set before JAX is imported) and shared fixtures."""

import os

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
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

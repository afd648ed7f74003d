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


@pytest.fixture(scope="session")
def gmc_reference() -> pathlib.Path:
  path = gmc_reference_dir()
  if not (path / "gmc_scores.csv").is_file():
    pytest.skip(f"GMC reference data not found at {path} (set JIQA_GMC_REFERENCE).")
  return path

"""Executes colab/gmc_quickstart.ipynb with nbclient: as on Colab (install cell skipped because
jiqa is importable), with no reference data needed; its optional KADID cell runs where the
shared folder exists and says it is skipped where it does not."""

import json
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

REPO = pathlib.Path(__file__).resolve().parents[2]
INSTALL = '''# Install jiqa (Colab): skipped when jiqa is already importable.
import importlib.util, subprocess, sys
if importlib.util.find_spec("jiqa") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "jiqa @ git+https://github.com/jiqa-iqa/jiqa"])'''


def _run(tmp_path, monkeypatch, reference):
  nb = nbformat.read(REPO / "colab" / "gmc_quickstart.ipynb", as_version=4)
  monkeypatch.setenv("JIQA_GMC_REFERENCE", str(reference))
  monkeypatch.setenv("JIQA_JAX_CACHE", "off")
  client = NotebookClient(nb, timeout=300, kernel_name="python3",
                          resources={"metadata": {"path": str(tmp_path)}})
  client.execute()
  return nb


def test_install_cell_and_no_shared_paths():
  nb = nbformat.read(REPO / "colab" / "gmc_quickstart.ipynb", as_version=4)
  code = [c.source for c in nb.cells if c.cell_type == "code"]
  assert code[0] == INSTALL
  assert 'Repository = "https://github.com/jiqa-iqa/jiqa"' in (REPO / "pyproject.toml").read_text()
  assert all("shared" not in c for c in code[:-1])  # only the optional last cell looks for it


def test_gmc_quickstart_runs_without_reference_data(tmp_path, monkeypatch):
  nb = _run(tmp_path, monkeypatch, tmp_path / "absent")
  outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
  assert not [o for o in outputs if o.get("output_type") == "error"]
  text = json.dumps(outputs)
  assert "the surfaces show the structure the models were built with" in text
  assert "optional cell skipped" in text
  assert (tmp_path / "gmc_quickstart.png").stat().st_size > 20_000
  assert (tmp_path / "gmc_quickstart.html").stat().st_size > 1_000_000


@pytest.mark.slow
def test_gmc_quickstart_optional_kadid_cell(gmc_reference, tmp_path, monkeypatch):
  nb = _run(tmp_path, monkeypatch, gmc_reference)
  last = json.dumps(nb.cells[-1].get("outputs", []))
  assert "DeepWSD" in last and "psnr" in last and "error" not in last

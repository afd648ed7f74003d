"""Executes colab/gmc_quickstart.ipynb with nbclient (public API only, < 60 s)."""

import pathlib

import nbformat
from nbclient import NotebookClient

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_gmc_quickstart_runs(gmc_reference, tmp_path, monkeypatch):
  nb = nbformat.read(REPO / "colab" / "gmc_quickstart.ipynb", as_version=4)
  monkeypatch.setenv("JIQA_GMC_REFERENCE", str(gmc_reference))
  client = NotebookClient(nb, timeout=120, kernel_name="python3",
                          resources={"metadata": {"path": str(tmp_path)}})
  client.execute()
  outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
  assert not [o for o in outputs if o.get("output_type") == "error"]
  assert (tmp_path / "gmc_quickstart.png").stat().st_size > 20_000
  assert (tmp_path / "gmc_quickstart.html").stat().st_size > 1_000_000
  assert "qalign" in str(outputs)

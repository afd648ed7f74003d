"""The distortion notebook runs top to bottom with nbclient (public API only)."""

import pathlib

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")

NOTEBOOK = pathlib.Path(__file__).resolve().parents[2] / "colab" / "distortion_gallery.ipynb"


def test_distortion_notebook_runs():
  nb = nbformat.read(NOTEBOOK, as_version=4)
  code = [c.source for c in nb.cells if c.cell_type == "code"]
  assert "git+https://github.com/" in code[0] and "find_spec" in code[0]  # Colab install cell
  text = "\n".join(code)
  assert "jiqa.distortions." not in text.replace("from jiqa import distortions", "")  # public API
  nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                          resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
  outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
  assert not [o for o in outputs if o.get("output_type") == "error"]
  assert any("swap negates the maps: True" in o.get("text", "") for o in outputs)

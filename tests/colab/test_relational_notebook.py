"""The relational-models notebook runs top to bottom with nbclient: shipped model, own pair, training."""

import pathlib

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")

NOTEBOOK = pathlib.Path(__file__).resolve().parents[2] / "colab" / "relational_models.ipynb"


@pytest.mark.slow
def test_relational_notebook_runs(tmp_path):
  nb = nbformat.read(NOTEBOOK, as_version=4)
  code = [c.source for c in nb.cells if c.cell_type == "code"]
  assert "git+https://github.com/" in code[0] and "find_spec" in code[0]  # Colab install cell
  assert "../shared" not in "\n".join(code)
  nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                          resources={"metadata": {"path": str(tmp_path)}}).execute()
  outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
  assert not [o for o in outputs if o.get("output_type") == "error"]
  text = "\n".join(o.get("text", "") for o in outputs)
  assert "jiqa score" in text and "trained 3 steps" in text
  assert (tmp_path / "maps.png").stat().st_size > 10_000

"""Tools JupyterHub users run alongside: jupytext's manager wrapping ours, nbconvert export."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from onelake_contents import OneLakeContentsManager

SCRIPT = "# %% [markdown]\n# A title\n\n# %%\nx = 6 * 7\nprint(x)\n"


@pytest.fixture
async def jupytext_manager(target):
    from jupytext.async_contentsmanager import build_async_jupytext_contents_manager_class

    cm = target.manager(cls=build_async_jupytext_contents_manager_class(OneLakeContentsManager))
    yield cm
    await cm.close()


async def test_jupytext_opens_a_py_script_as_a_notebook(jupytext_manager, target):
    cm = jupytext_manager
    await cm.save({"type": "file", "format": "text", "content": SCRIPT}, "analysis.py")
    model = await cm.get("analysis.py", type="notebook")
    assert model["type"] == "notebook"
    cells = model["content"]["cells"]
    assert [c["cell_type"] for c in cells] == ["markdown", "code"]
    assert cells[1]["source"] == "x = 6 * 7\nprint(x)"


async def test_jupytext_pairing_writes_both_files_to_onelake(jupytext_manager, target):
    cm = jupytext_manager
    nb = new_notebook(cells=[new_code_cell("y = 1")], metadata={"jupytext": {"formats": "ipynb,py:percent"}})
    await cm.save({"type": "notebook", "content": nb}, "paired.ipynb")
    assert "y = 1" in target.read("paired.py").decode()
    assert nbformat.reads(target.read("paired.ipynb").decode(), as_version=4).cells[0].source == "y = 1"
    reopened = await cm.get("paired.py", type="notebook")
    assert reopened["content"]["cells"][0]["source"] == "y = 1"

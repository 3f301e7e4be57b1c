"""nbdime's "diff against checkpoint" (its server extension's REST API, which its JupyterLab
buttons call) through a real Jupyter Server, on checkpoints kept in OneLake."""

from __future__ import annotations

import json

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tests.conftest import WORKSPACE
from tests.manager.conftest import ROOT
from tests.servers import JupyterServer


def nb_json(*sources: str) -> dict:
    return json.loads(json.dumps(new_notebook(cells=[new_code_cell(s) for s in sources])))


@pytest.fixture(scope="module")
def nbdime_server(lake, tmp_path_factory):
    jupyter = JupyterServer(
        lake.info, WORKSPACE, ROOT, tmp_path_factory.mktemp("nbdime"), extensions={"nbdime": True}
    ).start()
    yield jupyter
    jupyter.stop()


def diff_against_checkpoint(server, path: str):
    return server.session.post(f"{server.url}/nbdime/api/diff", json={"base": f"checkpoint:{path}"}, timeout=60)


def test_nbdime_diffs_a_notebook_against_its_checkpoint_in_onelake(nbdime_server):
    server = nbdime_server
    path = "nbdime/diffed.ipynb"
    assert server.api("PUT", "nbdime", json={"type": "directory"}).status_code == 201
    assert server.api("PUT", path, json={"type": "notebook", "content": nb_json("a = 1")}).ok
    assert server.api("POST", f"{path}/checkpoints").status_code == 201
    unchanged = diff_against_checkpoint(server, path)
    assert unchanged.status_code == 200, unchanged.text
    assert unchanged.json()["diff"] == []
    assert server.api("PUT", path, json={"type": "notebook", "content": nb_json("a = 2", "print(a)")}).ok
    answer = diff_against_checkpoint(server, path)
    assert answer.status_code == 200, answer.text
    assert [c["source"] for c in answer.json()["base"]["cells"]] == ["a = 1"]
    changed = json.dumps(answer.json()["diff"])
    assert "a = 2" in changed and "print(a)" in changed


def test_nbdime_uses_the_first_checkpoint_listed(nbdime_server):
    """nbdime takes the first entry of the checkpoint list (it expects one checkpoint per file);
    ours are listed oldest to newest, so it compares with the oldest one kept."""
    server = nbdime_server
    path = "nbdime/versions.ipynb"
    server.api("PUT", "nbdime", json={"type": "directory"})
    for source in ("v1", "v2"):
        assert server.api("PUT", path, json={"type": "notebook", "content": nb_json(source)}).ok
        assert server.api("POST", f"{path}/checkpoints").status_code == 201
    assert server.api("PUT", path, json={"type": "notebook", "content": nb_json("v3")}).ok
    answer = diff_against_checkpoint(server, path)
    assert answer.status_code == 200, answer.text
    assert [c["source"] for c in answer.json()["base"]["cells"]] == ["v1"]

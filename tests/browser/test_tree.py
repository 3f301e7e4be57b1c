"""One tree of named roots in JupyterLab: the file browser shows the roots; a notebook cut in
`sales/` (another workspace) and pasted into `home/` moves there (OneLake copies it server side,
then the source goes), and it opens."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from onelake_contents.emulator import Emulator
from tests.browser.chromium import CHROMIUM
from tests.browser.test_jupyterlab import QUIET_LAB, Lab
from tests.servers import JupyterServer

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")

TEAM, SALES = "Team.Lakehouse", "Sales.Lakehouse"
NOTEBOOK = {
    "cells": [{"cell_type": "markdown", "metadata": {}, "source": "Q3 sales, by region", "id": "q3"}],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with Emulator({"analytics": [TEAM], "sales": [SALES]}) as lake:
        roots = {"home": f"analytics/{TEAM}/Files/home/tester", "sales": f"sales/{SALES}/Files"}
        lake.namespace.write_file(
            lake.namespace.workspaces["sales"], f"{SALES}/Files/q3.ipynb", json.dumps(NOTEBOOK).encode()
        )
        server = JupyterServer(
            lake.info,
            "analytics",
            f"{TEAM}/Files/home/tester",
            tmp_path_factory.mktemp("tree"),
            *QUIET_LAB,
            env={"ONELAKE_ROOTS": json.dumps(roots)},
        ).start()
        yield SimpleNamespace(url=f"{server.url}/lab?token={server.token}", emulator=lake, server=server)
        server.stop()


def test_the_tree_shows_the_roots_and_a_notebook_pasted_into_another_root_moves_and_opens(stack, browser):
    lab = Lab(browser, stack, "tree")
    page = lab.page
    try:
        lab.item("home").wait_for(timeout=60_000)
        lab.item("sales").wait_for()
        lab.shot("roots")
        lab.open_folder("sales")
        lab.item("q3.ipynb").click(button="right")
        page.locator(".lm-Menu-item", has_text=re.compile("^Cut")).click()
        lab.go_home()
        lab.open_folder("home")
        page.locator(".jp-DirListing-content").click(button="right")
        page.locator(".lm-Menu-item", has_text=re.compile("^Paste")).click()
        lab.item("q3.ipynb").wait_for(timeout=60_000)
        nodes = stack.emulator.namespace.workspaces
        assert f"{TEAM}/Files/home/tester/q3.ipynb" in nodes["analytics"].nodes
        assert f"{SALES}/Files/q3.ipynb" not in nodes["sales"].nodes
        operations = [r.operation for r in stack.emulator.requests()]
        assert "PutBlobFromURL" in operations
        lab.item("q3.ipynb").dblclick()
        page.locator(".jp-RenderedMarkdown", has_text="Q3 sales, by region").first.wait_for(timeout=60_000)
        lab.shot("moved-and-opened")
    except Exception:
        lab.shot("failure")
        print(stack.server.log())
        raise
    finally:
        lab.close()

"""A notebook open with real-time collaboration, renamed in the file browser, then edited and saved:
the rename is no change of the file's content, so nothing may take it for one (no "File Changed"
dialog, no out-of-band reload, no conditional save refused and retried)."""

from __future__ import annotations

import re

import pytest
import requests

from onelake_contents import demo
from tests.browser.test_jupyterlab import QUIET_LAB, Lab, notebook_sources, wait_for
from tests.servers import free_port


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo")
    running = demo.start(data, port=free_port(), user="tester", log_file=data / "lab.log", extra_args=QUIET_LAB)
    yield running, data / "lab.log"
    running.stop()


def test_a_renamed_open_notebook_saves_without_a_file_changed_dialog(stack, browser):
    stack, lab_log = stack
    notebook = {
        "cells": [{"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [], "execution_count": None}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    api = stack.url.split("/lab")[0] + "/api/contents"
    headers = {"Authorization": f"token {stack.token}"}
    requests.put(f"{api}/draft.ipynb", json={"type": "notebook", "content": notebook}, headers=headers, timeout=30)
    lab = Lab(browser, stack, "rename-rtc")
    page = lab.page
    try:
        lab.refresh()
        lab.item("draft.ipynb").dblclick(timeout=60_000)
        lab.cells("x = 1").wait_for(timeout=60_000)
        no_kernel = page.locator(".jp-Dialog", has_text="Select Kernel").locator(".jp-Dialog-button.jp-mod-reject")
        if no_kernel.count():
            no_kernel.click()
        lab.rename("draft.ipynb", "final.ipynb")
        page.locator(".lm-TabBar-tabLabel", has_text=re.compile("^final.ipynb$")).wait_for(timeout=30_000)
        stack.emulator.reset_requests()
        # the collaboration room polls the file every second; once the demo's 5 s metadata TTL has
        # passed, a poll reads OneLake again (a HEAD: the renamed file has a new ETag)
        page.wait_for_timeout(7000)
        lab.cells().click()
        page.keyboard.press("End")
        page.keyboard.type("  # after the rename")
        page.keyboard.press("Escape")
        page.keyboard.press("Control+s")
        wait_for(lambda: notebook_sources(stack, "final.ipynb")[0] == "x = 1  # after the rename", timeout=60)
        page.wait_for_timeout(2000)
        lab.shot("saved-after-rename")
        assert not page.locator(".jp-Dialog", has_text="File Changed").count()
        assert lab.cells().inner_text().strip() == "x = 1  # after the rename"
        writes = [(r.operation, r.status) for r in stack.emulator.requests() if r.path.endswith("/final.ipynb")]
        assert ("PutBlob", 412) not in writes, writes  # no save refused as if someone else had changed it
        assert "moved without a change" not in lab_log.read_text(errors="replace")
    except Exception:
        lab.shot("failure")
        print("OneLake requests:", [(r.method, r.operation, r.path[-40:], r.status) for r in stack.emulator.requests()])
        raise
    finally:
        lab.close()

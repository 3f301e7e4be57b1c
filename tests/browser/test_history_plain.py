"""Version history in JupyterLab without real-time collaboration: a restore warns that the
document's unsaved edits will be lost, reverts the document to the restored content, and its Undo
brings back what the file held; the next save is not taken for someone else's change."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from onelake_contents.emulator import Emulator
from tests.browser.chromium import CHROMIUM
from tests.browser.test_history import WAIT, HistoryLab, api, versions
from tests.browser.test_jupyterlab import QUIET_LAB, notebook_sources, wait_for
from tests.servers import JupyterServer

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")

ITEM = "Plain.Lakehouse"


def notebook(source: str) -> dict:
    return {
        "type": "notebook",
        "content": {
            "cells": [
                {
                    "cell_type": "code",
                    "metadata": {},
                    "source": source,
                    "outputs": [],
                    "execution_count": None,
                    "id": "c1",
                }
            ],
            "metadata": {},  # no kernel: nothing but the user changes the document
            "nbformat": 4,
            "nbformat_minor": 5,
        },
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with Emulator({"plain": [ITEM]}) as lake:
        server = JupyterServer(
            lake.info,
            "plain",
            f"{ITEM}/Files",
            tmp_path_factory.mktemp("plain"),
            *QUIET_LAB,
            "--YDocExtension.disable_rtc=True",
        ).start()
        env = lake.info.environment("plain", f"{ITEM}/Files")
        yield SimpleNamespace(
            url=f"{server.url}/lab?token={server.token}",
            token=server.token,
            emulator=lake,
            server=server,
            env=env,
            root=f"{ITEM}/Files",
        )
        server.stop()


def test_a_restore_over_unsaved_edits_warns_reverts_and_undoes(stack, browser):
    for source in ("first = 1", "second = 2"):
        assert api(stack, "PUT", "api/contents/plain.ipynb", json=notebook(source)).status_code in (200, 201)
        assert api(stack, "POST", "api/contents/plain.ipynb/checkpoints").status_code == 201
    second, first = (v["id"] for v in versions(stack, "plain.ipynb"))
    lab = HistoryLab(browser, stack, "plain")
    page = lab.page
    try:
        lab.item("plain.ipynb").dblclick()
        kernel = page.locator(".jp-Dialog", has_text="Select Kernel")
        kernel.wait_for(timeout=WAIT)
        kernel.locator(".jp-Dialog-button", has_text="No Kernel").click()
        editor = lab.cells("second = 2")
        editor.wait_for(timeout=WAIT)
        editor.click()
        page.keyboard.press("End")
        page.keyboard.type("  # not saved")
        page.locator(".lm-TabBar-tab.jp-mod-dirty", has_text="plain.ipynb").wait_for(timeout=WAIT)

        lab.menu("File", "Version History")
        wait_for(lambda: lab.version_rows().count() == 2, timeout=90)
        lab.version_rows().last.locator("[data-action=restore]").click()
        dialog = page.locator(".jp-Dialog", has_text="Restore this version?")
        dialog.wait_for(timeout=WAIT)
        assert "unsaved changes in this window are lost" in dialog.inner_text()
        lab.shot("warned")
        lab.confirm("Restore this version?", "Restore")
        wait_for(lambda: notebook_sources(stack, "plain.ipynb") == ["first = 1"], timeout=90)
        wait_for(lambda: lab.sources_on_screen() == ["first = 1"], timeout=90)
        page.locator(".lm-TabBar-tab.jp-mod-dirty", has_text="plain.ipynb").wait_for(state="detached", timeout=WAIT)
        assert [v["id"] for v in versions(stack, "plain.ipynb")] == [second, first]  # the newest was kept

        # Undo, from the notice: nothing unsaved now, so no question
        page.locator(".jp-toast-button, .jp-Notification-Toast-action button", has_text="Undo").first.click()
        wait_for(lambda: notebook_sources(stack, "plain.ipynb") == ["second = 2"], timeout=90)
        wait_for(lambda: lab.sources_on_screen() == ["second = 2"], timeout=90)
        assert page.locator(".jp-Dialog").count() == 0

        # the next save is an ordinary save, not a "File Changed" question
        lab.cells("second = 2").click()
        page.keyboard.press("End")
        page.keyboard.type("  # saved")
        lab.save()
        wait_for(lambda: notebook_sources(stack, "plain.ipynb") == ["second = 2  # saved"], timeout=90)
        assert page.locator(".jp-Dialog", has_text="File Changed").count() == 0
        lab.shot("saved")
    except Exception:
        lab.shot("failure")
        print(stack.server.log())
        raise
    finally:
        lab.close()

"""What a person does in JupyterLab: upload a CSV in the file browser, read it with
`pd.read_csv("onelake://data.csv")` in a notebook beside it, and see the result."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from onelake_contents import demo
from tests.browser.chromium import CHROMIUM
from tests.browser.test_jupyterlab import QUIET_LAB, Lab, onelake_file, wait_for
from tests.servers import free_port

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt install chromium)")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo")
    running = demo.start(data, port=free_port(), user="tester", log_file=data / "lab.log", extra_args=QUIET_LAB)
    yield running
    running.stop()


def test_a_csv_uploaded_in_the_file_browser_is_read_by_a_notebook_beside_it(stack, browser):
    lab = Lab(browser, stack, "onelake-url")
    page = lab.page
    try:
        lab.new_folder("sales")
        lab.open_folder("sales")
        csv = b"region,amount\nnorth,40\nsouth,2\n"
        with page.expect_file_chooser() as chooser:
            page.locator(".jp-FileBrowser-toolbar").get_by_title("Upload Files").click()
        chooser.value.set_files(files=[{"name": "data.csv", "mimeType": "text/csv", "buffer": csv}])
        lab.item("data.csv").wait_for(timeout=60_000)
        wait_for(lambda: onelake_file(stack, "sales/data.csv") == csv, timeout=60)

        page.locator(".jp-FileBrowser-toolbar").get_by_title(re.compile("^New Launcher")).click()
        page.locator('.jp-LauncherCard[data-category="Notebook"] >> visible=true').first.click()
        editor = lab.cells()
        editor.wait_for(timeout=60_000)
        editor.click()
        page.keyboard.type('import pandas as pd\nprint("total", pd.read_csv("onelake://data.csv")["amount"].sum())')
        page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle")).first.wait_for(timeout=90_000)
        page.keyboard.press("Shift+Enter")
        page.locator(".jp-OutputArea-output", has_text="total 42").wait_for(timeout=90_000)
        lab.shot("read-beside-the-notebook")
    except Exception:
        lab.shot("failure")
        raise
    finally:
        lab.close()

"""JupyterLab on the demo stack, driven in Debian's Chromium by Playwright, checked in OneLake.

Screenshots of the key steps go to the run's artifacts folder (a temporary directory unless
ONELAKE_TEST_ARTIFACTS names one). The README's screenshot is one of them: `make screenshot` runs
these tests with ONELAKE_TEST_SCREENSHOT set, and only then is docs/ rewritten.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
import requests

from onelake_contents import demo
from tests.browser.chromium import ARTIFACTS, CHROMIUM
from tests.servers import free_port

SCREENSHOT_FOR_README = os.environ.get("ONELAKE_TEST_SCREENSHOT")

QUIET_LAB = ("--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt install chromium)")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo")
    running = demo.start(
        data,
        port=free_port(),
        user="tester",
        log_file=data / "lab.log",
        extra_args=QUIET_LAB,
    )
    yield running
    running.stop()


class Lab:
    """A JupyterLab page, with the few gestures the tests need."""

    def __init__(self, browser, stack, name: str):
        self.context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        self.page = self.context.new_page()
        self.stack = stack
        self.name = name
        self.step = 0
        self.page.goto(stack.url)
        self.page.wait_for_selector(".jp-DirListing-content >> visible=true", timeout=90_000)
        self.dismiss_news()

    def dismiss_news(self) -> None:
        """JupyterLab asks once whether to fetch news; answer no (it slides in, hence force)."""
        no = self.page.locator(".Toastify button", has_text=re.compile("^No$"))
        if no.count():
            try:
                no.first.click(timeout=2000, force=True)
            except Exception:  # gone meanwhile
                pass

    def shot(self, label: str) -> Path:
        self.dismiss_news()
        self.step += 1
        path = ARTIFACTS / f"{self.name}-{self.step:02d}-{label}.png"
        self.page.screenshot(path=str(path))
        return path

    def item(self, name: str):
        return self.page.locator(
            "#filebrowser .jp-DirListing-item",
            has=self.page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$")),
        )

    def cells(self, has_text: str | None = None):
        """The cell editors of the notebook on screen (other notebooks may sit in hidden tabs)."""
        panel = self.page.locator(".jp-NotebookPanel >> visible=true")
        editors = panel.locator(".jp-Cell .cm-content")
        return editors.filter(has_text=has_text).first if has_text else editors.first

    def open_folder(self, name: str) -> None:
        self.item(name).dblclick()
        self.page.locator(".jp-FileBrowser-crumbs").get_by_text(name).wait_for()

    def go_home(self) -> None:
        self.page.locator(".jp-BreadCrumbs-home").first.click()
        self.page.wait_for_timeout(300)

    def refresh(self) -> None:
        """Fetch the listing now (JupyterLab polls it only every few seconds, slower when busy)."""
        toolbar = self.page.locator(".jp-FileBrowser-toolbar")
        toolbar.locator('[data-command="filebrowser:refresh"], [title="Refresh the file browser."]').first.click()

    def new_folder(self, name: str) -> None:
        self.page.locator(".jp-FileBrowser-toolbar").get_by_title("New Folder").click()
        editor = self.page.locator(".jp-DirListing-editor")
        editor.fill(name)
        editor.press("Enter")
        self.item(name).wait_for()

    def rename(self, old: str, new: str) -> None:
        self.item(old).click(button="right")
        self.page.locator(".lm-Menu-item", has_text=re.compile("^Rename")).click()
        editor = self.page.locator(".jp-DirListing-editor")
        editor.fill(new)
        editor.press("Enter")
        self.item(new).wait_for()

    def menu(self, top: str, label: str) -> None:
        """Click a main menu entry, e.g. File → Close All Tabs."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(label)}")).first.click()

    def close(self) -> None:
        self.context.close()


def onelake_file(stack, path: str) -> bytes:
    """The file as OneLake holds it, read through the Azure SDK with the broker's credential."""
    from azure.storage.filedatalake import DataLakeServiceClient

    from onelake_contents.credential import BrokerCredential

    env = stack.env
    credential = BrokerCredential(
        env["ONELAKE_BROKER_URL"], client_token=env["ONELAKE_BROKER_TOKEN"], ca_file=env["ONELAKE_CA_FILE"]
    )
    client = DataLakeServiceClient(
        env["ONELAKE_ENDPOINT"], credential=credential, connection_verify=env["ONELAKE_CA_FILE"]
    )
    fs = client.get_file_system_client(env["ONELAKE_WORKSPACE"])
    return fs.get_file_client(f"{stack.root}/{path}").download_file().readall()


def wait_for(check, timeout: float = 30.0, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def _age_seconds(text: str) -> float:
    """Age from JupyterLab's "(6 seconds ago)" / "(a minute ago)" checkpoint labels."""
    match = re.search(r"\((\d+|an?) (second|minute|hour)s? ago\)", text)
    if not match:
        return 0.0
    count = 1 if match.group(1) in ("a", "an") else int(match.group(1))
    return count * {"second": 1, "minute": 60, "hour": 3600}[match.group(2)]


def notebook_sources(stack, path: str) -> list[str]:
    return [cell.source for cell in nbformat.reads(onelake_file(stack, path).decode(), as_version=4).cells]


def test_notebook_life_cycle_in_the_browser(stack, browser, tmp_path):
    lab = Lab(browser, stack, "lifecycle")
    page = lab.page
    try:
        lab.shot("home")
        lab.new_folder("project")
        lab.open_folder("project")

        # a new notebook in the folder (from the launcher), a cell typed and run, saved
        page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
        editor = lab.cells()
        editor.wait_for(timeout=60_000)
        editor.click()
        page.keyboard.type("print(6 * 7)")
        # the kernel starts in a local folder (OneLake is not a filesystem); run once it is idle
        page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle")).first.wait_for(timeout=90_000)
        page.keyboard.press("Shift+Enter")
        page.locator(".jp-OutputArea-output", has_text="42").wait_for(timeout=90_000)
        lab.shot("notebook-ran")
        page.keyboard.press("Control+s")
        # JupyterLab offers to name a new notebook on its first save
        rename = page.locator(".jp-Dialog", has_text="Rename file")
        rename.wait_for(timeout=90_000)  # JupyterLab asks once the save is done: slow under load
        rename.locator("input.jp-mod-styled").first.fill("analysis.ipynb")
        rename.locator(".jp-Dialog-button.jp-mod-accept").click()
        lab.item("analysis.ipynb").wait_for()
        wait_for(lambda: notebook_sources(stack, "project/analysis.ipynb")[0] == "print(6 * 7)")
        checkpoints = requests.get(
            stack.url.split("/lab")[0] + "/api/contents/project/analysis.ipynb/checkpoints",
            headers={"Authorization": f"token {stack.token}"},
            timeout=30,
        ).json()
        assert len(checkpoints) == 1, checkpoints  # created and saved once: one checkpoint
        stored = nbformat.reads(onelake_file(stack, "project/analysis.ipynb").decode(), as_version=4)
        assert any("42" in "".join(o.get("text", "")) for o in stored.cells[0].outputs)
        screenshot = lab.shot("browsing-onelake")
        if SCREENSHOT_FOR_README:
            shutil.copyfile(screenshot, SCREENSHOT_FOR_README)

        # rename the folder, reload, reopen
        lab.menu("File", "Close All Tabs")
        lab.go_home()
        lab.rename("project", "renamed-project")
        assert notebook_sources(stack, "renamed-project/analysis.ipynb")[0] == "print(6 * 7)"
        page.reload()
        page.wait_for_selector(".jp-DirListing-content >> visible=true", timeout=90_000)
        lab.go_home()
        lab.open_folder("renamed-project")
        lab.item("analysis.ipynb").dblclick()
        lab.cells("print(6 * 7)").wait_for(timeout=60_000)
        lab.shot("reopened")

        # Ctrl+S saves and makes a checkpoint; change, save again, revert to the first one
        page.locator(".jp-Notebook").first.click()
        page.keyboard.press("Control+s")
        page.wait_for_timeout(1500)
        cell = lab.cells()
        cell.click()
        page.keyboard.press("Control+a")
        page.keyboard.type("print('changed')")
        page.keyboard.press("Escape")
        page.keyboard.press("Control+s")
        wait_for(lambda: notebook_sources(stack, "renamed-project/analysis.ipynb")[0] == "print('changed')")
        lab.menu("File", "Revert Notebook to Checkpoint")
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for()
        options = dialog.locator("select option").all_inner_texts()
        if len(options) > 1:
            # the oldest version: the one saved before the change
            ages = [_age_seconds(text) for text in options]
            dialog.locator("select").select_option(index=ages.index(max(ages)))
        lab.shot("revert-dialog")
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        confirm = page.locator(".jp-Dialog", has_text="Are you sure")
        confirm.wait_for()
        confirm.locator(".jp-Dialog-button.jp-mod-accept").click()
        lab.cells("print(6 * 7)").wait_for(timeout=30_000)
        wait_for(lambda: notebook_sources(stack, "renamed-project/analysis.ipynb")[0] == "print(6 * 7)")
        lab.shot("reverted")

        # upload 3 MiB through the file browser, then download it
        data = os.urandom(3 * 1024 * 1024)
        with page.expect_file_chooser() as chooser:
            page.locator(".jp-FileBrowser-toolbar").get_by_title("Upload Files").click()
        chooser.value.set_files(files=[{"name": "data.bin", "mimeType": "application/octet-stream", "buffer": data}])
        lab.item("data.bin").wait_for(timeout=60_000)
        wait_for(lambda: onelake_file(stack, "renamed-project/data.bin") == data, timeout=60)
        lab.shot("uploaded")
        lab.item("data.bin").click(button="right")
        with page.expect_download() as download:
            page.locator(".lm-Menu-item", has_text=re.compile("^Download")).click()
        target = tmp_path / "downloaded.bin"
        download.value.save_as(target)
        assert target.read_bytes() == data
    except Exception:
        lab.shot("failure")
        print(
            "OneLake requests before the failure:",
            [(r.method, r.operation, r.path[-60:], r.status) for r in stack.emulator.requests()][-30:],
        )
        try:
            print("OneLake holds:", notebook_sources(stack, "renamed-project/analysis.ipynb"))
        except Exception as missing:  # the notebook may not be there yet: the failure above is the one to see
            print("OneLake holds no renamed-project/analysis.ipynb:", type(missing).__name__)
        raise
    finally:
        lab.close()


def test_revert_to_checkpoint_offers_the_latest_first_and_restores_what_is_picked(stack, browser):
    """JupyterLab reads the checkpoint list oldest first: its picker shows it reversed (the latest
    on top, picked by default) and restores the entry chosen."""
    api = stack.url.split("/lab")[0] + "/api/contents/ordered.ipynb"
    headers = {"Authorization": f"token {stack.token}"}
    for source in ("v1", "v2", "v3"):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        requests.put(
            api, json={"type": "notebook", "content": notebook}, headers=headers, timeout=30
        ).raise_for_status()
        if source != "v3":  # v3 is the work since the last checkpoint
            requests.post(api + "/checkpoints", headers=headers, timeout=30).raise_for_status()
    lab = Lab(browser, stack, "checkpoint-order")
    page = lab.page
    try:
        lab.go_home()
        lab.refresh()  # the notebook was made through the REST API, not in this page
        lab.item("ordered.ipynb").dblclick(timeout=60_000)
        lab.cells("v3").wait_for(timeout=60_000)
        no_kernel = page.locator(".jp-Dialog", has_text="Select Kernel").locator(".jp-Dialog-button.jp-mod-reject")
        if no_kernel.count():
            no_kernel.click()

        def revert(pick_last: bool) -> None:
            lab.menu("File", "Revert Notebook to Checkpoint")
            picker = page.locator(".jp-Dialog", has_text="Choose a checkpoint")
            picker.wait_for()
            options = picker.locator("select option").all_inner_texts()
            assert [o.split(".", 1)[0] for o in options] == ["0", "1"], options
            if pick_last:
                picker.locator("select").select_option(index=len(options) - 1)
            lab.shot("picker")
            picker.locator(".jp-Dialog-button.jp-mod-accept").click()
            confirm = page.locator(".jp-Dialog", has_text="Are you sure")
            confirm.wait_for()
            confirm.locator(".jp-Dialog-button.jp-mod-accept").click()

        # OneLake first, then the page (which reloads through the collaboration room: slow when
        # the machine is busy, hence the same 90 s as the other waits on JupyterLab here)
        revert(pick_last=False)  # the option on top: the latest checkpoint
        wait_for(lambda: notebook_sources(stack, "ordered.ipynb") == ["v2"], timeout=90)
        lab.cells("v2").wait_for(timeout=90_000)
        revert(pick_last=True)  # the option at the bottom: the oldest
        wait_for(lambda: notebook_sources(stack, "ordered.ipynb") == ["v1"], timeout=90)
        lab.cells("v1").wait_for(timeout=90_000)
        lab.shot("reverted")
    except Exception:
        lab.shot("failure")
        raise
    finally:
        lab.close()


def test_two_pages_edit_one_notebook_and_it_lands_in_onelake(stack, browser):
    first = Lab(browser, stack, "rtc-first")
    second = Lab(browser, stack, "rtc-second")
    try:
        notebook = {
            "cells": [{"cell_type": "code", "source": "a = 1", "metadata": {}, "outputs": [], "execution_count": None}],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        requests.put(
            stack.url.split("/lab")[0] + "/api/contents/shared.ipynb",
            json={"type": "notebook", "content": notebook},
            headers={"Authorization": f"token {stack.token}"},
            timeout=30,
        ).raise_for_status()
        for lab in (first, second):
            lab.go_home()
            lab.refresh()  # the notebook was made through the REST API, not in this page
            lab.item("shared.ipynb").dblclick(timeout=60_000)
            lab.cells("a = 1").wait_for(timeout=60_000)
            no_kernel = lab.page.locator(".jp-Dialog", has_text="Select Kernel").locator(
                ".jp-Dialog-button.jp-mod-reject"
            )
            if no_kernel.count():
                no_kernel.click()
        first.cells().click()
        first.page.keyboard.press("End")
        first.page.keyboard.type("  # from the first page")
        second.cells("from the first page").wait_for(timeout=30_000)
        second.cells().click()
        second.page.keyboard.press("Control+End")
        second.page.keyboard.type("\nb = 2  # from the second page")
        first.cells("from the second page").wait_for(timeout=30_000)
        second.page.keyboard.press("Control+s")
        first.shot("both-edits")
        source = wait_for(
            lambda: (
                (s := notebook_sources(stack, "shared.ipynb")[0])
                and "from the second page" in s
                and "from the first page" in s
                and s
            ),
            timeout=60,
        )
        assert source.startswith("a = 1  # from the first page")
        assert json.loads(onelake_file(stack, "shared.ipynb"))["nbformat"] == 4
    except Exception:
        first.shot("failure")
        second.shot("failure")
        raise
    finally:
        first.close()
        second.close()


def test_opening_an_unchanged_notebook_writes_nothing_to_onelake(browser, tmp_path):
    """With collaboration on, the Y store is a temporary file of each server, never a lasting
    local copy: a server opening a notebook that nobody changed builds the room from OneLake and
    writes nothing back. Not even the first open rewrites the demo's Welcome.ipynb (it has its
    cell ids and the kernel's metadata already); it only makes JupyterLab's first checkpoint."""
    data = tmp_path / "demo"

    def session(label: str) -> list:
        running = demo.start(
            data, port=free_port(), user="tester", log_file=data.parent / f"{label}.log", extra_args=QUIET_LAB
        )
        assert running.scratch.is_dir()
        running.emulator.reset_requests()
        lab = Lab(browser, running, label)
        try:
            lab.item("Welcome.ipynb").dblclick()
            lab.cells("hello, OneLake").wait_for(timeout=60_000)
            lab.page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle")).first.wait_for(timeout=90_000)
            lab.page.wait_for_timeout(3000)  # well past jupyter-collaboration's 1 s save delay
            lab.shot("opened")
            return running.emulator.requests()
        finally:
            lab.close()
            running.stop()
            assert not running.scratch.exists()  # the Y store went with the server

    welcome = "Demo.Lakehouse/Files/home/tester/Welcome.ipynb"
    records = session("first-open")
    assert [(r.method, r.operation) for r in records if r.path == welcome and r.method not in ("GET", "HEAD")] == []
    records = session("second-open")
    assert [r for r in records if r.path == welcome and r.method == "GET"]
    assert [(r.method, r.operation, r.path) for r in records if r.method not in ("GET", "HEAD")] == []

"""Version history and the trash in JupyterLab (the extension shipped in the package), in Chromium
on the demo stack: a notebook saved three times, its versions listed, the first previewed and
compared with the file now, restored, the restore undone; a notebook and a folder deleted and
restored from the trash (the notebook with its versions); a file restored under a new name when its
own is taken. Each step is checked in OneLake too.

With ONELAKE_TEST_SCREENSHOT set (`make screenshot`), the README's screenshots of the panels are
written beside it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import requests

from tests.browser.chromium import CHROMIUM
from tests.browser.test_jupyterlab import (
    SCREENSHOT_FOR_README,
    Lab,
    notebook_sources,
    onelake_file,
    stack,  # noqa: F401 the demo stack, one per module
    wait_for,
)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt install chromium)")

WAIT = 90_000  # ms: JupyterLab and the collaboration room are slow on a loaded machine


def api(stack, method: str, route: str, **kwargs) -> requests.Response:  # noqa: F811
    base = stack.url.split("/lab")[0]
    return requests.request(
        method, f"{base}/{route}", headers={"Authorization": f"token {stack.token}"}, timeout=60, **kwargs
    )


def versions(stack, path: str) -> list[dict]:  # noqa: F811
    return api(stack, "GET", f"onelake/api/versions/{path}").json()["versions"]


def for_readme(path: Path, name: str) -> None:
    if SCREENSHOT_FOR_README:
        shutil.copyfile(path, Path(SCREENSHOT_FOR_README).parent / name)


class HistoryLab(Lab):
    def versions_panel(self):
        return self.page.locator("#onelake-versions")

    def version_rows(self):
        return self.page.locator("#onelake-versions .jp-OneLake-version")

    def trash_rows(self):
        return self.page.locator("#onelake-trash .jp-OneLake-trashItem")

    def trash_row(self, path: str):
        return self.page.locator(f'#onelake-trash .jp-OneLake-trashItem[data-path="{path}"]')

    def save(self) -> None:
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("Control+s")

    def new_cell_below(self, text: str) -> None:
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("b")
        self.page.keyboard.press("Enter")
        self.page.keyboard.type(text)

    def confirm(self, title: str, button: str) -> None:
        dialog = self.page.locator(".jp-Dialog", has_text=title)
        dialog.wait_for(timeout=WAIT)
        dialog.locator(".jp-Dialog-button.jp-mod-accept", has_text=button).click()
        dialog.wait_for(state="detached", timeout=WAIT)

    def tab(self, label: str):
        return self.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=re.compile(f"^{re.escape(label)}$"))

    def sources_on_screen(self) -> list[str]:
        panel = self.page.locator(".jp-NotebookPanel >> visible=true")
        return [text.strip() for text in panel.locator(".jp-Cell .cm-content").all_inner_texts()]

    def open_trash(self) -> None:
        self.menu("File", "Trash")
        self.page.locator("#onelake-trash >> visible=true").wait_for(timeout=WAIT)

    def delete(self, name: str) -> None:
        self.item(name).click(button="right")
        self.page.locator(".lm-Menu-item", has_text=re.compile("^Delete")).click()
        self.confirm("Delete", "Delete")
        self.item(name).wait_for(state="detached", timeout=WAIT)


def test_versions_preview_compare_restore_and_undo(stack, browser):  # noqa: F811
    lab = HistoryLab(browser, stack, "versions")
    page = lab.page
    try:
        # a notebook saved three times: [first], [first, second], [second, third]
        page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
        editor = lab.cells()
        editor.wait_for(timeout=WAIT)
        editor.click()
        page.keyboard.type("import math")
        lab.save()
        rename = page.locator(".jp-Dialog", has_text="Rename file")
        rename.wait_for(timeout=WAIT)
        rename.locator("input.jp-mod-styled").first.fill("history.ipynb")
        rename.locator(".jp-Dialog-button.jp-mod-accept").click()
        lab.item("history.ipynb").wait_for(timeout=WAIT)
        wait_for(lambda: notebook_sources(stack, "history.ipynb") == ["import math"], timeout=90)
        wait_for(lambda: len(versions(stack, "history.ipynb")) == 1, timeout=90)

        lab.cells("import math").click()
        lab.new_cell_below("answer = 6 * 7")
        lab.save()
        wait_for(lambda: notebook_sources(stack, "history.ipynb") == ["import math", "answer = 6 * 7"], timeout=90)
        wait_for(lambda: len(versions(stack, "history.ipynb")) == 2, timeout=90)

        lab.cells("import math").click()
        page.keyboard.press("Escape")
        page.keyboard.press("d")
        page.keyboard.press("d")
        lab.cells("answer = 6 * 7").click()
        lab.new_cell_below("print(answer)")
        lab.save()
        wait_for(lambda: notebook_sources(stack, "history.ipynb") == ["answer = 6 * 7", "print(answer)"], timeout=90)
        kept = wait_for(
            lambda: len(versions(stack, "history.ipynb")) == 3 and versions(stack, "history.ipynb"), timeout=90
        )

        # the panel lists them newest on top, from the File menu
        lab.menu("File", "Version History")
        lab.versions_panel().locator(".jp-OneLake-file", has_text="history.ipynb").wait_for(timeout=WAIT)
        wait_for(lambda: lab.version_rows().count() == 3, timeout=90)
        listed = [lab.version_rows().nth(i).get_attribute("data-version-id") for i in range(3)]
        assert listed == [v["id"] for v in kept]  # the API's order: newest first
        first = lab.version_rows().last

        # preview of the first version: the notebook as it was, rendered, read-only
        first.locator("[data-action=preview]").click()
        preview = page.locator('.jp-OneLake-previewWidget[data-loaded="true"] >> visible=true')
        preview.wait_for(timeout=WAIT)
        assert preview.locator(".jp-OneLake-cell").count() == 1
        assert "import math" in preview.locator(".jp-OneLake-cell").first.inner_text()
        assert preview.locator(".cm-editor.jp-mod-readOnly").count() == 1
        preview.locator(".cm-content").first.click()
        page.keyboard.type("typed")
        assert preview.locator(".jp-OneLake-cell").first.inner_text().strip().endswith("import math")
        for_readme(lab.shot("preview"), "history-preview.png")

        # compared with the file now: the first cell removed, the third added (nbdime)
        # (from the preview's toolbar; the rows' Compare opens the same tab)
        preview.locator('[data-jp-item-name="compare"]').click()
        compare = page.locator('.jp-OneLake-compareWidget[data-loaded="true"] >> visible=true')
        compare.wait_for(timeout=WAIT)
        compare.locator(".jp-Diff-deleted", has_text="import math").first.wait_for(timeout=WAIT)
        compare.locator(".jp-Diff-added", has_text="print(answer)").first.wait_for(timeout=WAIT)
        assert compare.locator(".jp-Diff-added", has_text="import math").count() == 0
        for_readme(lab.shot("compare"), "history-compare.png")
        # and with another version: the second save only added a cell
        compare.locator('select[data-side="remote"]').select_option(kept[1]["id"])
        wait_for(
            lambda: (
                compare.locator(".jp-Diff-deleted").count() == 0
                and compare.locator(".jp-Diff-added", has_text="answer = 6 * 7").count() == 1
            ),
            timeout=90,
        )

        # restore the first version: the file gets it, and what it held becomes a version
        first.locator("[data-action=restore]").click()
        lab.confirm("Restore this version?", "Restore")
        wait_for(lambda: notebook_sources(stack, "history.ipynb") == ["import math"], timeout=90)
        page.locator(".jp-Notification-Toast-success, .Toastify__toast--success", has_text="is back to").first.wait_for(
            timeout=WAIT
        )
        # what the file held is the newest version already (the third save made it): it is kept
        assert [v["id"] for v in versions(stack, "history.ipynb")] == [v["id"] for v in kept]
        assert lab.version_rows().first.get_attribute("data-version-id") == kept[0]["id"]
        # the notebook's tab shows the restored content (the collaboration room reloads it)
        lab.tab("history.ipynb").click()
        wait_for(lambda: lab.sources_on_screen() == ["import math"], timeout=90)
        lab.shot("restored")

        # undone: the newest version holds what the file held before; restoring it brings that back
        lab.version_rows().first.locator("[data-action=restore]").click()
        lab.confirm("Restore this version?", "Restore")
        wait_for(lambda: notebook_sources(stack, "history.ipynb") == ["answer = 6 * 7", "print(answer)"], timeout=90)
        wait_for(lambda: lab.sources_on_screen() == ["answer = 6 * 7", "print(answer)"], timeout=90)
        wait_for(lambda: lab.version_rows().count() == 4, timeout=90)  # what it held, kept
        for_readme(lab.shot("undone"), "history-versions.png")

        # restored as a copy, under the name given (from the first version's preview)
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="history.ipynb (").click()
        page.locator(".jp-OneLake-previewWidget >> visible=true").locator('[data-jp-item-name="copy"]').click()
        dialog = page.locator(".jp-Dialog", has_text="Restore as a copy")
        dialog.wait_for(timeout=WAIT)
        dialog.locator("input").fill("first-draft.ipynb")
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        wait_for(lambda: notebook_sources(stack, "first-draft.ipynb") == ["import math"], timeout=90)
        assert notebook_sources(stack, "history.ipynb") == ["answer = 6 * 7", "print(answer)"]

        # with the panel open, the version a save makes shows up in it
        lab.tab("history.ipynb").click()
        lab.cells("print(answer)").click()
        lab.new_cell_below("answer")
        lab.save()
        wait_for(lambda: lab.version_rows().count() == 5, timeout=90)
        assert lab.version_rows().first.get_attribute("data-version-id") == versions(stack, "history.ipynb")[0]["id"]

        # the panel follows the file the context menu is for; the palette has both commands
        lab.item("sample.csv").click(button="right")
        page.locator(".lm-Menu-item", has_text=re.compile("^Version History")).click()
        lab.versions_panel().locator(".jp-OneLake-file", has_text="sample.csv").wait_for(timeout=WAIT)
        lab.versions_panel().locator(".jp-OneLake-status", has_text="No versions yet").wait_for(timeout=WAIT)
        # the File menu means the document in view, whatever was right-clicked before
        lab.menu("File", "Version History")
        lab.versions_panel().locator(".jp-OneLake-file", has_text="history.ipynb").wait_for(timeout=WAIT)
        lab.item("sample.csv").click(button="right")
        page.locator(".lm-Menu-item", has_text=re.compile("^Version History")).click()
        lab.versions_panel().locator(".jp-OneLake-file", has_text="sample.csv").wait_for(timeout=WAIT)
        page.locator(".jp-NotebookPanel >> visible=true").click(button="right", position={"x": 400, "y": 400})
        page.locator(".lm-Menu-item", has_text=re.compile("^Version History")).click()
        lab.versions_panel().locator(".jp-OneLake-file", has_text="history.ipynb").wait_for(timeout=WAIT)
        # text files are compared line by line
        note = {"type": "file", "format": "text", "content": "alpha\nbeta\n"}
        assert api(stack, "PUT", "api/contents/notes.md", json=note).status_code == 201
        assert api(stack, "POST", "api/contents/notes.md/checkpoints").status_code == 201
        note["content"] = "alpha\ngamma\n"
        assert api(stack, "PUT", "api/contents/notes.md", json=note).status_code == 200
        lab.refresh()
        lab.item("notes.md").click(button="right")
        page.locator(".lm-Menu-item", has_text=re.compile("^Version History")).click()
        lab.versions_panel().locator(".jp-OneLake-file", has_text="notes.md").wait_for(timeout=WAIT)
        wait_for(lambda: lab.version_rows().count() == 1, timeout=90)
        lab.version_rows().first.locator("[data-action=compare]").click()
        text_diff = page.locator('.jp-OneLake-compareWidget[data-loaded="true"] >> visible=true')
        text_diff.locator(".jp-OneLake-diffRemoved", has_text=re.compile("^-beta$")).wait_for(timeout=WAIT)
        assert text_diff.locator(".jp-OneLake-diffAdded").all_inner_texts() == ["+gamma"]
        lab.shot("text-diff")
        # a version made elsewhere (not in this page) shows on Refresh
        assert api(stack, "POST", "api/contents/notes.md/checkpoints").status_code == 201
        assert lab.version_rows().count() == 1
        page.locator("#onelake-versions .jp-Toolbar-item").first.click()
        wait_for(lambda: lab.version_rows().count() == 2, timeout=90)

        page.keyboard.press("Control+Shift+c")
        palette = page.locator(".jp-ModalCommandPalette >> visible=true")
        palette.locator("input").fill("OneLake")
        for label in ("Version History", "Trash"):
            palette.locator(".lm-CommandPalette-item", has_text=label).first.wait_for(timeout=WAIT)
        page.keyboard.press("Escape")

        # renamed while open: the panel follows the new name
        lab.tab("history.ipynb").click()
        lab.rename("history.ipynb", "renamed.ipynb")
        lab.versions_panel().locator(".jp-OneLake-file", has_text="renamed.ipynb").wait_for(timeout=WAIT)
        wait_for(lambda: lab.version_rows().count() == 5, timeout=90)
    except Exception:
        lab.shot("failure")
        raise
    finally:
        lab.close()


def test_the_trash_restores_a_notebook_with_its_versions_a_folder_and_a_file_whose_name_is_taken(
    stack,  # noqa: F811
    browser,
):
    notebook = {
        "type": "notebook",
        "content": {
            "cells": [{"cell_type": "markdown", "metadata": {}, "source": "draft", "id": "d1"}],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
    }
    assert api(stack, "PUT", "api/contents/draft.ipynb", json=notebook).status_code == 201
    assert api(stack, "POST", "api/contents/draft.ipynb/checkpoints").status_code == 201
    assert api(stack, "PUT", "api/contents/old-project", json={"type": "directory"}).status_code == 201
    note = {"type": "file", "format": "text", "content": "kept notes"}
    assert api(stack, "PUT", "api/contents/old-project/notes.md", json=note).status_code == 201
    report = {"type": "file", "format": "text", "content": "the old report"}
    assert api(stack, "PUT", "api/contents/report.txt", json=report).status_code == 201
    lab = HistoryLab(browser, stack, "trash")
    page = lab.page
    try:
        lab.refresh()
        for name in ("draft.ipynb", "old-project", "report.txt"):
            lab.item(name).wait_for(timeout=WAIT)
            lab.delete(name)
        # since then, another report.txt took the name
        report["content"] = "the new report"
        assert api(stack, "PUT", "api/contents/report.txt", json=report).status_code == 201

        lab.open_trash()
        for path in ("draft.ipynb", "old-project", "report.txt"):
            lab.trash_row(path).wait_for(timeout=WAIT)
        rows = [lab.trash_rows().nth(i).get_attribute("data-path") for i in range(lab.trash_rows().count())]
        assert rows.index("report.txt") < rows.index("old-project") < rows.index("draft.ipynb")  # newest first
        assert lab.trash_row("old-project").get_attribute("data-type") == "directory"
        assert "with its versions" in lab.trash_row("draft.ipynb").inner_text()
        assert re.search(r"\d+ days? left", lab.trash_row("draft.ipynb").inner_text())
        for_readme(lab.shot("trash"), "history-trash.png")
        # a deletion made elsewhere (not in this page) shows on Refresh
        elsewhere = {"type": "file", "format": "text", "content": "x"}
        assert api(stack, "PUT", "api/contents/elsewhere.txt", json=elsewhere).status_code == 201
        assert api(stack, "DELETE", "api/contents/elsewhere.txt").status_code == 204
        assert lab.trash_row("elsewhere.txt").count() == 0
        page.locator("#onelake-trash .jp-Toolbar-item").first.click()
        lab.trash_row("elsewhere.txt").wait_for(timeout=WAIT)

        # the notebook comes back where it was, with its version
        lab.trash_row("draft.ipynb").locator("[data-action=restore]").click()
        lab.trash_row("draft.ipynb").wait_for(state="detached", timeout=WAIT)
        assert notebook_sources(stack, "draft.ipynb") == ["draft"]
        assert len(versions(stack, "draft.ipynb")) == 1

        # the folder with its contents
        lab.trash_row("old-project").locator("[data-action=restore]").click()
        lab.trash_row("old-project").wait_for(state="detached", timeout=WAIT)
        assert onelake_file(stack, "old-project/notes.md") == b"kept notes"

        # the taken name: JupyterLab asks for another, and the holder keeps its own
        lab.trash_row("report.txt").locator("[data-action=restore]").click()
        dialog = page.locator(".jp-Dialog", has_text="The name is taken")
        dialog.wait_for(timeout=WAIT)
        assert dialog.locator("input").input_value() == "report (restored).txt"
        lab.shot("name-taken")
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        lab.trash_row("report.txt").wait_for(state="detached", timeout=WAIT)
        assert onelake_file(stack, "report (restored).txt") == b"the old report"
        assert onelake_file(stack, "report.txt") == b"the new report"

        # the file browser (the trash shares its side) shows all of them back
        page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="filebrowser"]').click()
        for name in ("draft.ipynb", "old-project", "report.txt", "report (restored).txt"):
            lab.item(name).wait_for(timeout=WAIT)
        lab.shot("restored")

        # in the dark theme the panel is dark too (JupyterLab's variables, not colours of its own)
        lab.menu("Settings", "Theme")
        page.locator(".lm-Menu-itemLabel", has_text=re.compile("^JupyterLab Dark$")).click()
        page.locator("body[data-jp-theme-light=false]").wait_for(state="attached", timeout=WAIT)
        lab.open_trash()
        background = page.locator("#onelake-trash").evaluate("node => getComputedStyle(node).backgroundColor")
        red, green, blue = (int(v) for v in re.findall(r"\d+", background)[:3])
        assert red + green + blue < 3 * 64, background
        lab.shot("dark")
        lab.menu("Settings", "Theme")
        page.locator(".lm-Menu-itemLabel", has_text=re.compile("^JupyterLab Light$")).click()
        page.locator("body[data-jp-theme-light=true]").wait_for(state="attached", timeout=WAIT)
    except Exception:
        lab.shot("failure")
        raise
    finally:
        lab.close()

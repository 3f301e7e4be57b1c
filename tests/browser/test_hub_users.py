"""Two users logged in to a real JupyterHub in Chromium, each creating notebooks in their own home:
nothing of one appears for the other, in the file browser, in the Trash panel or in OneLake."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
import requests

from onelake_contents.hubdemo import ITEM, start_hub
from tests.browser.test_jupyterlab import Lab, wait_for
from tests.hub.test_hub import CHP, read_as_admin

pytestmark = pytest.mark.skipif(not Path(CHP).exists(), reason="no configurable-http-proxy")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    stack = start_hub(layout="home", password="hub-test", log_path=tmp_path_factory.mktemp("hub") / "hub.log")
    yield stack
    stack.stop()


class HubLab(Lab):
    """JupyterLab reached by logging in to the hub as `user`."""

    def __init__(self, browser, hub, user: str):
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.stack = hub
        self.name = f"hub-{user}"
        self.step = 0
        self.page.goto(f"{hub.url}/hub/login")
        self.page.fill("#username_input", user)
        self.page.fill("#password_input", "hub-test")
        self.page.click("#login_submit")
        self.page.wait_for_selector(".jp-DirListing-content >> visible=true", timeout=180_000)
        assert f"/user/{user}/lab" in self.page.url
        self.dismiss_news()

    def listed(self) -> set[str]:
        return set(self.page.locator("#filebrowser .jp-DirListing-itemText").all_inner_texts())

    def delete(self, name: str) -> None:
        """Right-click → Delete in the file browser, and confirm."""
        self.item(name).click(button="right")
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Delete$")).first.click()
        dialog = self.page.locator(".jp-Dialog", has_text=name)
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        self.item(name).wait_for(state="detached", timeout=60_000)

    def sidebar_tab(self, widget_id: str):
        return self.page.locator(f'.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="{widget_id}"]')

    def trash_row(self, path: str):
        return self.page.locator(f'#onelake-trash .jp-OneLake-trashItem[data-path="{path}"]')

    def trash_rows(self) -> list[tuple[str, str]]:
        """(data-path, shown name) of each row of the Trash panel."""
        rows = self.page.locator("#onelake-trash .jp-OneLake-trashItem")
        return [(row.get_attribute("data-path"), row.locator(".jp-OneLake-name").inner_text()) for row in rows.all()]


def test_two_users_each_see_only_their_own_notebooks(hub, browser):
    labs = {}
    try:
        for user in ("alice", "bob"):
            labs[user] = HubLab(browser, hub, user)
        for user, lab in labs.items():
            page = lab.page
            page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
            editor = lab.cells()
            editor.wait_for(timeout=60_000)
            editor.click()
            page.keyboard.type(f"owner = '{user}'")
            page.keyboard.press("Control+s")
            rename = page.locator(".jp-Dialog", has_text="Rename file")
            rename.wait_for(timeout=30_000)
            rename.locator("input.jp-mod-styled").first.fill(f"{user}-notes.ipynb")
            rename.locator(".jp-Dialog-button.jp-mod-accept").click()
            lab.item(f"{user}-notes.ipynb").wait_for()
            path = f"{ITEM}/Files/home/{user}/{user}-notes.ipynb"
            wait_for(lambda path=path, user=user: f"owner = '{user}'" in (read_as_admin(hub, path) or b"").decode())
            lab.shot("saved")
        for user, lab in labs.items():
            other = "bob" if user == "alice" else "alice"
            lab.page.reload()
            lab.page.wait_for_selector(".jp-DirListing-content >> visible=true", timeout=90_000)
            lab.item(f"{user}-notes.ipynb").wait_for()
            assert f"{other}-notes.ipynb" not in lab.listed()
            assert not [name for name in lab.listed() if re.search(other, name)]
            lab.shot("own-home-only")
        for user in labs:
            other = "bob" if user == "alice" else "alice"
            stored = json.loads(read_as_admin(hub, f"{ITEM}/Files/home/{user}/{user}-notes.ipynb"))
            assert "".join(stored["cells"][0]["source"]) == f"owner = '{user}'"
            assert read_as_admin(hub, f"{ITEM}/Files/home/{user}/{other}-notes.ipynb") is None
    finally:
        for lab in labs.values():
            lab.close()


def trash_as(hub, user: str, token: str, owner: str | None = None) -> requests.Response:
    """`GET /onelake/api/trash/` of `owner`'s server (default: the user's own) with `user`'s token."""
    return requests.get(
        f"{hub.url}/user/{owner or user}/onelake/api/trash/",
        headers={"Authorization": f"token {token}"},
        timeout=60,
        allow_redirects=False,
    )


def test_each_user_trashes_and_restores_only_their_own_notebooks(hub, browser):
    users = ("alice", "bob")
    tokens = {user: hub.user_token(user) for user in users}
    labs = {}
    try:
        for user in users:
            labs[user] = HubLab(browser, hub, user)
            labs[user].page.set_default_timeout(90_000)  # two servers and a hub on loaded cores
        for user, lab in labs.items():
            name = f"{user}-scratch.ipynb"
            notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"scratch = '{user}'")])
            saved = requests.put(
                f"{hub.url}/user/{user}/api/contents/{name}",
                headers={"Authorization": f"token {tokens[user]}"},
                json={"type": "notebook", "content": json.loads(nbformat.writes(notebook))},
                timeout=60,
            )
            assert saved.status_code == 201, saved.text
            lab.refresh()
            lab.item(name).wait_for(timeout=60_000)
            lab.delete(name)
            assert read_as_admin(hub, f"{ITEM}/Files/home/{user}/{name}") is None
            lab.shot("deleted")

        hub.emulator.reset_requests()
        labs["alice"].sidebar_tab("onelake-trash").click()
        labs["bob"].menu("File", "Trash")
        for user, lab in labs.items():
            other = "bob" if user == "alice" else "alice"
            lab.trash_row(f"{user}-scratch.ipynb").wait_for(timeout=120_000)
            status = lab.page.locator("#onelake-trash .jp-OneLake-status").inner_text()
            assert re.fullmatch(r"\d+ items?, newest first\.", status), status
            rows = lab.trash_rows()
            assert (f"{user}-scratch.ipynb", f"{user}-scratch.ipynb") in rows
            assert not [row for row in rows if other in row[0] or other in row[1]], rows
            lab.shot("trash")
            answer = trash_as(hub, user, tokens[user])
            assert answer.status_code == 200, answer.text
            items = answer.json()["items"]
            assert f"{user}-scratch.ipynb" in [item["path"] for item in items]
            assert not [item for item in items if other in item["path"] + item["name"] + item["folder"]], items
            refused = trash_as(hub, user, tokens[user], owner=other)
            assert refused.status_code == 403, (refused.status_code, refused.text[:300])
        # in OneLake: each server listed the trash of its own user's home, nothing of the other's
        for user in users:
            other = "bob" if user == "alice" else "alice"
            own, theirs = f"{ITEM}/Files/home/{user}", f"{ITEM}/Files/home/{other}"
            sent = [r for r in hub.emulator.requests() if r.principal == user]
            listings = [r for r in sent if r.operation == "ListBlobs"]
            # one listing when the panel opened (by its tab or the File menu), one for trash_as above
            assert len(listings) == 2, listings
            assert all(r.path == own or r.path.startswith(own + "/") for r in listings), listings
            assert all(r.status == 200 for r in listings), listings
            assert not [r for r in sent if r.path == theirs or r.path.startswith(theirs + "/")]

        bob = labs["bob"]
        bob.trash_row("bob-scratch.ipynb").locator("button[data-action=restore]").click()
        bob.trash_row("bob-scratch.ipynb").wait_for(state="detached", timeout=120_000)
        assert "bob-scratch.ipynb" not in [path for path, _ in bob.trash_rows()]
        bob.shot("restored")
        bob.sidebar_tab("filebrowser").click()  # the left sidebar shows one panel at a time
        bob.item("bob-scratch.ipynb").wait_for(timeout=120_000)
        bob.shot("back-in-the-file-browser")
        stored = json.loads(read_as_admin(hub, f"{ITEM}/Files/home/bob/bob-scratch.ipynb"))
        assert "".join(stored["cells"][0]["source"]) == "scratch = 'bob'"
        assert "bob-scratch.ipynb" not in [item["path"] for item in trash_as(hub, "bob", tokens["bob"]).json()["items"]]
        # alice's deletion stays in her trash, and out of her home
        assert read_as_admin(hub, f"{ITEM}/Files/home/alice/alice-scratch.ipynb") is None
        assert "alice-scratch.ipynb" in [
            item["path"] for item in trash_as(hub, "alice", tokens["alice"]).json()["items"]
        ]
    finally:
        for lab in labs.values():
            lab.close()

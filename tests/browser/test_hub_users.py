"""Two users logged in to a real JupyterHub in Chromium, each creating notebooks in their own home:
nothing of one appears for the other, in the file browser or in OneLake."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

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

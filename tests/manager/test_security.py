"""The manager as one user among many: OneLake security decides, the manager says so clearly.

Two deployments: (a) the root is the user's home (`Files/home/<name>`); (b) the root is `Files`
for everyone, with the user's home created below it and `shared/` read-only."""

from __future__ import annotations

import pytest
from tornado.web import HTTPError

from onelake_contents import OneLakeContentsManager
from onelake_contents.emulator import Emulator
from tests.conftest import ITEM, WORKSPACE

NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def lake():
    with Emulator({WORKSPACE: [ITEM]}, users=["alice", "bob"]) as emulator:
        yield emulator


@pytest.fixture
def as_user(lake, managers_on):
    def make(user: str | None, root: str, **traits) -> OneLakeContentsManager:
        return managers_on(lake, user, workspace=WORKSPACE, root=root, **traits)

    return make


async def forbidden(call) -> str:
    with pytest.raises(HTTPError) as caught:
        await call
    assert caught.value.status_code == 403
    return caught.value.log_message


async def test_a_users_home_is_created_on_first_login_and_is_theirs(as_user, lake):
    alice = as_user("alice", f"{ITEM}/Files/home/alice")
    assert (await alice.get(""))["type"] == "directory"
    await alice.save({"type": "notebook", "content": NOTEBOOK}, "mine.ipynb")
    admin = as_user(None, f"{ITEM}/Files/home")
    assert [m["name"] for m in (await admin.get("alice"))["content"]] == ["mine.ipynb"]


async def test_another_users_folder_is_a_clear_403(as_user, lake):
    bob = as_user("bob", f"{ITEM}/Files/home/bob")
    await bob.save({"type": "file", "format": "text", "content": "bob's"}, "diary.txt")
    snoop = as_user("alice", f"{ITEM}/Files/home/bob")
    message = f"OneLake denied access to the folder {ITEM}/Files/home/bob: not yours"
    assert await forbidden(snoop.get("diary.txt")) == message
    sideways = as_user("alice", f"{ITEM}/Files/home")  # a root she may walk: bob's folder is hidden
    assert [m["name"] for m in (await sideways.get(""))["content"]] == ["alice"]
    assert (
        await forbidden(sideways.get("bob/diary.txt")) == "OneLake denied access to bob/diary.txt: not shared with you"
    )
    await forbidden(snoop.save({"type": "file", "format": "text", "content": "x"}, "diary.txt"))
    assert (await bob.get("diary.txt"))["content"] == "bob's"


async def test_shared_is_readable_copyable_and_read_only_in_the_files_deployment(as_user, lake):
    admin = as_user(None, f"{ITEM}/Files")
    await admin.save({"type": "notebook", "content": NOTEBOOK}, "shared/x.ipynb")
    alice = as_user("alice", f"{ITEM}/Files", home_dir="home/alice")
    top = await alice.get("")
    assert sorted(m["name"] for m in top["content"]) == ["home", "shared"]
    assert [m["name"] for m in (await alice.get("home"))["content"]] == ["alice"]
    opened = await alice.get("shared/x.ipynb")
    assert opened["content"]["cells"] == []
    changed = {**NOTEBOOK, "metadata": {"edited": True}}
    message = await forbidden(alice.save({"type": "notebook", "content": changed}, "shared/x.ipynb"))
    assert message == "OneLake denied access to shared/x.ipynb: read-only for you"
    await forbidden(alice.new_untitled("shared", type="notebook"))
    await forbidden(alice.delete("shared/x.ipynb"))
    await forbidden(alice.rename("shared/x.ipynb", "home/alice/x.ipynb"))
    # OneLake told us: the folder and what is in it are read-only
    assert (await alice.get("shared/x.ipynb", content=False))["writable"] is False
    listing = await alice.get("shared")
    assert listing["writable"] is False and [m["writable"] for m in listing["content"]] == [False]
    copied = await alice.copy("shared/x.ipynb", "home/alice")
    assert copied["path"] == "home/alice/x.ipynb" and copied["writable"] is True
    assert (await admin.get("shared/x.ipynb"))["content"]["cells"] == []  # nothing changed there


async def test_a_forbidden_path_never_reaches_outside_the_root(as_user, lake):
    alice = as_user("alice", f"{ITEM}/Files/home/alice")
    for path in ("../bob/diary.txt", "/../../home/bob", "..%2Fbob"):
        with pytest.raises(HTTPError) as caught:
            await alice.get(path)
        assert caught.value.status_code in (400, 403, 404)
    assert not [r for r in lake.requests() if "/bob" in r.path and r.status == 200 and r.token_id]

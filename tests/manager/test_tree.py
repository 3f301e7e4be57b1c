"""One tree of named roots (the `roots` setting): a personal home, a team folder and another
workspace's lakehouse side by side; every action in each root, copies and moves between them done
by OneLake (counted in the emulator's log), and roots the user may not read or write."""

from __future__ import annotations

import json

import pytest
from tornado.web import HTTPError

from onelake_contents import OneLakeContentsManager
from onelake_contents.emulator import Emulator

TEAM, SALES = "Team.Lakehouse", "Sales.Lakehouse"
ROOTS = {
    "home": f"analytics/{TEAM}/Files/home/alice",
    "team": f"analytics/{TEAM}/Files/shared",
    "sales": f"sales/{SALES}/Files",
}
NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def lake():
    with Emulator({"analytics": [TEAM], "sales": [SALES]}, users=["alice"]) as emulator:
        yield emulator


@pytest.fixture
def tree(lake, managers_on):
    def make(roots=ROOTS, user: str | None = None, **traits) -> OneLakeContentsManager:
        return managers_on(lake, user, roots=json.dumps(roots), **traits)

    return make


def held(lake, workspace: str, path: str) -> bytes | None:
    node = lake.namespace.workspaces[workspace].nodes.get(path)
    return None if node is None or node.is_dir else node.data


def fill(lake, workspace: str, folder: str, count: int) -> None:
    """`count` small files `part-NNN.csv` (holding their number) in a folder of a workspace."""
    for n in range(count):
        lake.namespace.write_file(lake.namespace.workspaces[workspace], f"{folder}/part-{n:03d}.csv", f"{n}\n".encode())


async def test_the_top_of_the_tree_is_its_roots(tree, lake):
    cm = tree()
    top = await cm.get("")
    assert [(m["name"], m["type"]) for m in top["content"]] == [
        ("home", "directory"),
        ("sales", "directory"),
        ("team", "directory"),
    ]
    assert top["writable"] is False
    assert (await cm.get("sales", content=False))["type"] == "directory"
    with pytest.raises(HTTPError) as caught:
        await cm.save({"type": "file", "format": "text", "content": "x"}, "loose.txt")
    assert caught.value.status_code == 404
    for action in (lambda: cm.delete("sales"), lambda: cm.rename("sales", "home/sales")):
        with pytest.raises(HTTPError) as caught:
            await action()
        assert caught.value.status_code == 403
        assert "one of the tree's roots" in caught.value.log_message


async def test_every_action_works_in_a_root_of_another_workspace(tree, lake):
    cm = tree()
    await cm.save({"type": "directory"}, "sales/q3")
    saved = await cm.save({"type": "notebook", "content": NOTEBOOK}, "sales/q3/report.ipynb")
    assert saved["path"] == "sales/q3/report.ipynb"
    assert held(lake, "sales", f"{SALES}/Files/q3/report.ipynb") is not None
    assert [m["name"] for m in (await cm.get("sales/q3"))["content"]] == ["report.ipynb"]
    await cm.save({"type": "notebook", "content": {**NOTEBOOK, "metadata": {"v": 2}}}, "sales/q3/report.ipynb")
    checkpoints = await cm.list_checkpoints("sales/q3/report.ipynb")
    assert checkpoints
    new = await cm.new_untitled("sales/q3", type="notebook")
    lake.reset_requests()
    await cm.rename(new["path"], "sales/q3/draft.ipynb")
    assert [r.operation for r in lake.requests() if r.method != "GET"][:1] == ["RenamePath"]  # one request
    await cm.delete("sales/q3/draft.ipynb")
    assert not await cm.file_exists("sales/q3/draft.ipynb")
    assert cm.fsspec_path("sales/q3/report.ipynb") == f"sales/{SALES}/Files/q3/report.ipynb"
    assert cm.kernel_environment("sales/q3/report.ipynb")["ONELAKE_NOTEBOOK_DIR"] == f"sales/{SALES}/Files/q3"


async def test_a_large_file_is_copied_between_workspaces_by_onelake(tree, lake):
    cm = tree()
    data = bytes(range(256)) * (30 * 4096)  # 30 MiB
    lake.namespace.write_file(lake.namespace.workspaces["sales"], f"{SALES}/Files/big.bin", data)
    await cm.get("sales", content=True)
    await cm.get("home", content=True)
    lake.reset_requests()
    copied = await cm.copy("sales/big.bin", "home")
    assert copied["path"] == "home/big.bin" and copied["size"] == len(data)
    assert held(lake, "analytics", f"{TEAM}/Files/home/alice/big.bin") == data
    puts = [(r.operation, r.workspace, r.bytes_in) for r in lake.requests() if r.method == "PUT"]
    assert puts == [("PutBlobFromURL", "analytics", 0)]  # no byte of it through the server
    assert len(lake.requests()) <= 3  # the source's HEAD, the copy (and a listing for the name)


async def test_a_file_moved_between_roots_takes_its_versions_and_leaves_nothing_behind(tree, lake):
    cm = tree()
    await cm.save({"type": "notebook", "content": NOTEBOOK}, "home/moving.ipynb")
    await cm.save({"type": "notebook", "content": {**NOTEBOOK, "metadata": {"v": 2}}}, "home/moving.ipynb")
    before = [c["id"] for c in await cm.list_checkpoints("home/moving.ipynb")]
    assert before
    await cm.rename("home/moving.ipynb", "sales/moved.ipynb")
    assert (await cm.get("sales/moved.ipynb"))["content"]["metadata"] == {"v": 2}
    assert [c["id"] for c in await cm.list_checkpoints("sales/moved.ipynb")] == before
    assert not await cm.file_exists("home/moving.ipynb")
    assert held(lake, "analytics", f"{TEAM}/Files/home/alice/moving.ipynb") is None
    assert not [p for p in lake.namespace.workspaces["analytics"].nodes if "moving.ipynb" in p]


async def test_a_folder_of_200_files_moves_to_another_workspace(tree, lake):
    cm = tree()
    fill(lake, "analytics", f"{TEAM}/Files/home/alice/batch", 200)
    lake.reset_requests()
    await cm.rename("home/batch", "sales/batch")
    listing = await cm.get("sales/batch")
    assert len(listing["content"]) == 200
    assert held(lake, "sales", f"{SALES}/Files/batch/part-199.csv") == b"199\n"
    assert not await cm.dir_exists("home/batch")
    operations = [r.operation for r in lake.requests()]
    assert operations.count("PutBlobFromURL") == 200 and "PutBlob" not in operations
    assert operations.count("DeletePath") == 1  # the source folder, in one request, once all is copied


async def test_a_move_that_fails_halfway_leaves_the_source_whole_and_no_half_copy(tree, lake):
    cm = tree()
    workspace = lake.namespace.workspaces["analytics"]
    for n in range(5):
        lake.namespace.write_file(workspace, f"{TEAM}/Files/home/alice/kept/f{n}.txt", b"x")
    lake.deny(f"sales/{SALES}/Files/kept/f3.txt")
    try:
        with pytest.raises(HTTPError) as caught:
            await cm.rename("home/kept", "sales/kept")
        assert caught.value.status_code == 403
    finally:
        lake.deny()
    assert sorted(m["name"] for m in (await cm.get("home/kept"))["content"]) == [f"f{n}.txt" for n in range(5)]
    assert not [p for p in lake.namespace.workspaces["sales"].nodes if "/kept" in p]


async def test_roots_the_user_may_not_read_or_write(tree, lake):
    roots = {
        "home": f"analytics/{TEAM}/Files/home/alice",
        "shared": f"analytics/{TEAM}/Files/shared",
        "bobs": f"analytics/{TEAM}/Files/home/bob",
    }
    lake.namespace.write_file(lake.namespace.workspaces["analytics"], f"{TEAM}/Files/home/bob/b.txt", b"b")
    cm = tree(roots, user="alice", create_root=False)
    top = {m["name"]: m for m in (await cm.get(""))["content"]}
    assert set(top) == {"bobs", "home", "shared"} and top["bobs"]["writable"] is False
    with pytest.raises(HTTPError) as caught:
        await cm.get("bobs")
    assert caught.value.status_code == 403
    with pytest.raises(HTTPError) as caught:
        await cm.save({"type": "file", "format": "text", "content": "x"}, "shared/x.txt")
    assert caught.value.status_code == 403 and "read-only for you" in caught.value.log_message
    hidden = tree(roots, user="alice", create_root=False, hide_unreadable_roots=True)
    assert [m["name"] for m in (await hidden.get(""))["content"]] == ["home", "shared"]


async def test_a_root_removed_from_the_settings_is_no_longer_in_the_tree(tree, lake):
    cm = tree({"home": ROOTS["home"]})
    assert [m["name"] for m in (await cm.get(""))["content"]] == ["home"]
    with pytest.raises(HTTPError) as caught:
        await cm.get("sales")
    assert caught.value.status_code == 404


def test_bad_roots_settings_are_refused_with_their_reason(lake):
    for roots, reason in (
        ("not json", "JSON object"),
        ('{"a/b": "w/I.Lakehouse/Files"}', "a name of one folder"),
        ('{".hidden": "w/I.Lakehouse/Files"}', "a name of one folder"),
        ('{"x": "w/I.Lakehouse/Tables"}', "<workspace>/<item>/Files"),
    ):
        with pytest.raises(Exception, match="roots") as caught:
            OneLakeContentsManager(roots=roots, endpoint=lake.endpoint, broker_url=lake.broker_url, broker_token="t")
        assert reason in str(caught.value)


async def test_actions_are_counted_per_root(tree):
    from prometheus_client import REGISTRY

    def saves(root: str) -> float:
        labels = {"action": "save", "outcome": "ok", "root": root}
        return REGISTRY.get_sample_value("onelake_contents_actions_total", labels) or 0.0

    cm = tree()
    before = saves("sales"), saves("home")
    await cm.save({"type": "file", "format": "text", "content": "1"}, "sales/counted.txt")
    await cm.save({"type": "file", "format": "text", "content": "2"}, "sales/counted.txt")
    assert (saves("sales"), saves("home")) == (before[0] + 2, before[1])


async def test_a_folder_of_200_files_is_copied_to_another_workspace_by_onelake(tree, lake):
    cm = tree()
    fill(lake, "sales", f"{SALES}/Files/archive", 200)
    lake.reset_requests()
    copied = await cm.copy("sales/archive", "home")
    assert copied["path"] == "home/archive" and copied["type"] == "directory"
    assert len((await cm.get("home/archive"))["content"]) == 200
    assert len((await cm.get("sales/archive"))["content"]) == 200  # the source stays
    operations = [r.operation for r in lake.requests()]
    assert operations.count("PutBlobFromURL") == 200 and "PutBlob" not in operations
    assert sum(r.bytes_in for r in lake.requests()) == 0

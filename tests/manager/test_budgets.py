"""Request budgets of DESIGN §3, counted in the emulator's request log."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from tornado.web import HTTPError

from tests.conftest import WORKSPACE
from tests.manager.conftest import ROOT


def seed(emulator, files: dict[str, bytes]) -> None:
    """Files put straight into the emulator's namespace (setup only: fast for thousands)."""
    ws = emulator.namespace.workspaces[WORKSPACE]
    for path, data in files.items():
        emulator.namespace.write_file(ws, f"{ROOT}/{path}", data)


def ops(emulator) -> list[str]:
    return [r.operation for r in emulator.requests()]


def nb_model(source: str = "x") -> dict:
    return {"type": "notebook", "content": nbformat.from_dict(new_notebook(cells=[new_code_cell(source)]))}


async def test_listing_1000_entries_is_one_request_and_zero_when_fresh(cm, emulator):
    seed(emulator, {f"big/f{i:04d}.txt": b"x" for i in range(1000)})
    await cm.get("")  # the file browser shows the parent first
    emulator.reset_requests()
    model = await cm.get("big")
    assert len(model["content"]) == 1000
    assert ops(emulator) == ["ListPaths"]
    emulator.reset_requests()
    assert len((await cm.get("big"))["content"]) == 1000
    assert ops(emulator) == []


async def test_listing_a_directory_never_seen_costs_at_most_two(cm, emulator):
    seed(emulator, {"deep/link/a.txt": b"a"})
    model = await cm.get("deep/link")
    assert [m["name"] for m in model["content"]] == ["a.txt"]
    assert sorted(ops(emulator)) == ["GetBlobProperties", "ListPaths"]


async def test_children_of_a_listed_directory_cost_nothing(cm, emulator):
    seed(emulator, {"d/a.txt": b"a", "d/n.ipynb": b"{}", "d/sub/x": b"x"})
    await cm.get("d")
    emulator.reset_requests()
    assert (await cm.get("d/a.txt", content=False))["size"] == 1
    assert (await cm.get("d/sub", content=False))["type"] == "directory"
    assert await cm.exists("d/n.ipynb") and await cm.file_exists("d/a.txt") and await cm.dir_exists("d/sub")
    assert not await cm.exists("d/missing.txt")
    assert await cm.is_hidden("d/.x")
    assert ops(emulator) == []


async def test_open_is_one_request_and_reopen_one_conditional(cm, emulator):
    seed(emulator, {"open.ipynb": nbformat.writes(new_notebook()).encode()})
    await cm.get("open.ipynb")
    assert ops(emulator) == ["GetBlob"]
    emulator.reset_requests()
    await cm.get("open.ipynb")
    assert [(r.operation, r.status) for r in emulator.requests()] == [("GetBlob", 304)]


async def test_save_existing_is_one_put_blob(cm, emulator):
    await cm.save(nb_model("v1"), "s.ipynb")
    model = await cm.get("s.ipynb")
    emulator.reset_requests()
    model["content"]["cells"][0]["source"] = "v2"
    await cm.save({"type": "notebook", "content": model["content"]}, "s.ipynb")
    assert ops(emulator) == ["PutBlob"]
    emulator.reset_requests()
    await cm.save({"type": "file", "format": "text", "content": "x"}, "plain.txt")
    await cm.save({"type": "file", "format": "text", "content": "y"}, "plain.txt")
    assert ops(emulator) == ["PutBlob", "PutBlob"]


async def test_saving_what_onelake_already_holds_is_one_head_and_no_write(cm, emulator):
    saved = await cm.save(nb_model("v1"), "same.ipynb")
    model = await cm.get("same.ipynb")
    emulator.reset_requests()
    again = await cm.save({"type": "notebook", "content": model["content"]}, "same.ipynb")
    assert ops(emulator) == ["GetBlobProperties"]
    assert again["last_modified"] == saved["last_modified"]
    # changed elsewhere meanwhile: the same bytes are a real save again, and a conflict
    emulator.namespace.write_file(emulator.namespace.workspaces[WORKSPACE], f"{ROOT}/same.ipynb", b"{}")
    with pytest.raises(HTTPError) as info:
        await cm.save({"type": "notebook", "content": model["content"]}, "same.ipynb")
    assert info.value.status_code == 409


async def test_new_untitled_is_at_most_two_and_one_when_fresh(cm, emulator):
    await cm.new_untitled(type="notebook")
    assert ops(emulator) == ["ListPaths", "PutBlob"]
    emulator.reset_requests()
    await cm.new_untitled(ext=".txt")
    assert ops(emulator) == ["PutBlob"]


async def test_rename_of_a_directory_of_1000_files_is_one_request(cm, emulator):
    seed(emulator, {f"many/f{i:04d}.txt": b"x" for i in range(1000)})
    await cm.get("")
    emulator.reset_requests()
    await cm.rename("many", "moved")
    assert ops(emulator) == ["RenamePath"]
    assert len((await cm.get("moved"))["content"]) == 1000


async def test_rename_and_delete_of_a_file_with_checkpoints_are_two(cm, emulator):
    await cm.save(nb_model(), "c.ipynb")
    await cm.get("")
    emulator.reset_requests()
    await cm.rename("c.ipynb", "d.ipynb")
    assert ops(emulator) == ["RenamePath", "RenamePath"]
    emulator.reset_requests()
    await cm.delete("d.ipynb")
    assert ops(emulator) == ["DeleteBlob", "DeletePath"]  # the file, then its checkpoint folder
    assert await cm.list_checkpoints("d.ipynb") == []


async def test_checkpoint_budgets(cm, emulator):
    await cm.save(nb_model("v1"), "k.ipynb")  # its first version comes with the save
    emulator.reset_requests()
    first = await cm.create_checkpoint("k.ipynb")
    assert ops(emulator) == []  # the same bytes as the version the save just made: that version
    await cm.save(nb_model("v1b"), "k.ipynb")
    emulator.reset_requests()
    checkpoint = await cm.create_checkpoint("k.ipynb")
    assert ops(emulator) == ["PutBlob"]  # the manager holds the bytes it just saved
    assert checkpoint["id"] != first["id"]
    emulator.reset_requests()
    assert len(await cm.list_checkpoints("k.ipynb")) == 2
    assert ops(emulator) == ["ListPaths"]
    await cm.save(nb_model("v2"), "k.ipynb")
    emulator.reset_requests()
    await cm.restore_checkpoint(checkpoint["id"], "k.ipynb")
    assert ops(emulator) == ["GetBlob", "PutBlob"]

"""Request budgets (README, "Requests per action"), counted in the emulator's request log."""

from __future__ import annotations

import asyncio
import hashlib

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from tornado.web import HTTPError

from tests.conftest import ITEM, WORKSPACE
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


async def test_a_directory_never_seen_is_one_listing_that_says_what_it_is(cm, emulator):
    seed(emulator, {"deep/link/a.txt": b"a", "deep/link/sub/b.txt": b"b", "deep/Makefile": b"all:"})
    model = await cm.get("deep/link")
    assert sorted(m["name"] for m in model["content"]) == ["a.txt", "sub"]
    assert ops(emulator) == ["ListPaths"]
    # its own times come from what is in it until its parent is listed
    newest = max(m["last_modified"] for m in model["content"])
    assert model["last_modified"] == newest and model["created"] <= newest
    emulator.reset_requests()
    # a file without an extension: the listing shows it as itself, then one read
    made = await cm.get("deep/Makefile")
    assert (made["type"], made["content"]) == ("file", "all:")
    assert ops(emulator) == ["ListPaths", "GetBlob"]
    emulator.reset_requests()
    with pytest.raises(HTTPError) as missing:
        await cm.get("deep/nothing")
    assert missing.value.status_code == 404
    assert ops(emulator) == ["ListPaths"]
    emulator.reset_requests()
    assert not await cm.exists("deep/nothing")  # known missing now
    # the parent's listing brings the real entry of the directory
    parent = await cm.get("deep")
    listed = next(m for m in parent["content"] if m["name"] == "link")
    assert (await cm.get("deep/link", content=False))["last_modified"] == listed["last_modified"]
    assert ops(emulator) == ["ListPaths"]


async def test_an_empty_directory_never_seen_is_one_listing(cm, emulator):
    await cm.new_untitled(type="directory")
    await cm.close()
    fresh = cm.__class__(
        **{k: getattr(cm, k) for k in ("workspace", "root", "endpoint", "broker_url", "broker_token", "ca_file")}
    )
    try:
        await fresh.dir_exists("")
        emulator.reset_requests()
        model = await fresh.get("Untitled Folder")
        assert (model["type"], model["content"]) == ("directory", [])
        assert ops(emulator) == ["ListPaths"]
    finally:
        await fresh.close()


@pytest.mark.parametrize("layout", ["own folder", "home below a shared root"])
async def test_the_first_action_of_a_fresh_server_costs_one_request_more_at_most(make_manager, emulator, layout):
    """Each first action against its cost on a warm server (root known, nothing else cached)."""
    traits = {"root": f"{ITEM}/Files", "home_dir": "home/alice"} if layout != "own folder" else {}
    home = "home/alice/" if traits else ""
    ws = emulator.namespace.workspaces[WORKSPACE]
    for path, data in {"d/x.txt": b"x", "n.ipynb": nbformat.writes(new_notebook()).encode()}.items():
        emulator.namespace.write_file(ws, f"{traits.get('root', ROOT)}/{home}{path}", data)
    await make_manager(**traits).get(home.rstrip("/"))  # the home exists, as on every later start
    actions = {
        "list the home": lambda cm: cm.get(home.rstrip("/")),
        "list a folder": lambda cm: cm.get(f"{home}d"),
        "open a notebook": lambda cm: cm.get(f"{home}n.ipynb"),
        "save a notebook": lambda cm: cm.save(nb_model(), f"{home}new.ipynb"),
    }
    cost = {}
    for name, action in actions.items():
        warm = make_manager(**traits)
        await warm.dir_exists("")
        emulator.reset_requests()
        await action(warm)
        warm_ops = ops(emulator)
        fresh = make_manager(**traits)
        emulator.reset_requests()
        await action(fresh)
        cost[name] = (len(warm_ops), len(ops(emulator)))
        assert len(ops(emulator)) <= len(warm_ops) + 1, (name, warm_ops, ops(emulator))
    assert cost["list a folder"] == (1, 2) and cost["open a notebook"] == (1, 2)


async def test_children_of_a_listed_directory_cost_nothing(cm, emulator):
    seed(emulator, {"d/a.txt": b"a", "d/n.ipynb": b"{}", "d/sub/x": b"x"})
    await cm.get("d")
    emulator.reset_requests()
    assert (await cm.get("d/a.txt", content=False))["size"] == 1
    assert (await cm.get("d/sub", content=False))["type"] == "directory"
    assert await cm.exists("d/n.ipynb") and await cm.file_exists("d/a.txt") and await cm.dir_exists("d/sub")
    assert await cm.is_hidden("d/.x")
    assert ops(emulator) == []
    # a name the listing lacks may have been made elsewhere since it was listed: one HEAD says
    # (then it is known missing for the TTL)
    assert not await cm.exists("d/missing.txt") and not await cm.file_exists("d/missing.txt")
    assert ops(emulator) == ["GetBlobProperties"]


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


async def test_a_save_after_a_rename_or_an_upload_is_one_put_blob(cm, emulator):
    """The ETag a rename answers with (a user's rename, an upload's publishing rename) is the
    file's from then on: the next save's `If-Match` holds without asking again."""
    await cm.save({"type": "file", "format": "text", "content": "a"}, "r.txt")
    await cm.rename("r.txt", "moved.txt")
    for number, piece in ((1, "u"), (-1, "p")):
        await cm.save({"type": "file", "format": "text", "content": piece, "chunk": number}, "up.txt")
    emulator.reset_requests()
    await cm.save({"type": "file", "format": "text", "content": "b"}, "moved.txt")
    await cm.save({"type": "file", "format": "text", "content": "q"}, "up.txt")
    assert ops(emulator) == ["PutBlob", "PutBlob"]


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


async def test_checkpoint_budgets(cm, emulator, make_manager):
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
    # this server made the checkpoint folder (it knew it was absent): it knows what is in it
    assert len(await cm.list_checkpoints("k.ipynb")) == 2
    assert ops(emulator) == []
    assert len(await make_manager().list_checkpoints("k.ipynb")) == 2
    assert ops(emulator) == ["ListPaths"]  # another server asks OneLake, once
    await cm.save(nb_model("v2"), "k.ipynb")
    emulator.reset_requests()
    await cm.restore_checkpoint(checkpoint["id"], "k.ipynb")
    assert ops(emulator) == ["GetBlob", "PutBlob"]


async def test_fifty_opens_at_once_share_a_bounded_pool_of_connections(make_manager, emulator):
    """Connections are kept and reused: no more TLS handshakes than the pool holds, and none for
    a second round; every open gets its own notebook."""
    seed(emulator, {f"many/n{i:02d}.ipynb": nbformat.writes(nb_model(f"n{i}")["content"]).encode() for i in range(50)})
    cm = make_manager(max_connections=8)
    await cm.dir_exists("")
    emulator.set_latency(25)
    emulator.reset_requests()
    for _ in range(2):
        models = await asyncio.gather(*(cm.get(f"many/n{i:02d}.ipynb") for i in range(50)))
        assert [m["content"]["cells"][0]["source"] for m in models] == [f"n{i}" for i in range(50)]
    assert len(emulator.requests("GetBlob")) == 100
    assert 1 <= emulator.tls_handshakes() <= 8


async def test_two_opens_of_one_notebook_at_once_share_one_read(cm, emulator):
    """JupyterLab and the collaboration room open a restored notebook at the same moment."""
    seed(emulator, {"twice.ipynb": nbformat.writes(nb_model("once")["content"]).encode()})
    emulator.set_latency(25)
    first, second = await asyncio.gather(cm.get("twice.ipynb"), cm.get("twice.ipynb"))
    assert first["content"] == second["content"] and first["content"]["cells"][0]["source"] == "once"
    assert ops(emulator) == ["GetBlob"]


async def test_a_folder_known_absent_is_not_listed_again(cm, emulator):
    assert await cm.list_checkpoints("none.ipynb") == []
    assert await cm.list_checkpoints("none.ipynb") == []
    assert ops(emulator) == ["ListPaths"]


async def test_the_hash_after_a_save_costs_nothing(cm, emulator, target):
    """The collaboration room asks `get(content=False, require_hash=True)` after every save."""
    await cm.save(nb_model("hashed"), "h.ipynb")
    emulator.reset_requests()
    model = await cm.get("h.ipynb", content=False, require_hash=True)
    assert ops(emulator) == []
    assert model["hash_algorithm"] == "sha256" and model["hash"] == hashlib.sha256(target.read("h.ipynb")).hexdigest()
    # changed elsewhere: once the cache has expired, one read (never the bytes of an old version)
    emulator.namespace.write_file(emulator.namespace.workspaces[WORKSPACE], f"{ROOT}/h.ipynb", b"{}")
    cm.files.cache.clear()
    emulator.reset_requests()
    model = await cm.get("h.ipynb", content=False, require_hash=True)
    assert model["hash"] == hashlib.sha256(b"{}").hexdigest()
    assert ops(emulator) == ["GetBlob"]


async def test_a_folder_of_12001_entries_is_three_pages_each_entry_as_a_head_gives_it(cm, emulator):
    seed(emulator, {**{f"huge/f{i:05d}.txt": b"x" * (i % 7) for i in range(12000)}, "huge/sub/x.txt": b"x"})
    await cm.get("")
    emulator.reset_requests()
    model = await cm.get("huge")
    names = [m["name"] for m in model["content"]]
    assert len(names) == len(set(names)) == 12001
    assert ops(emulator) == ["ListPaths"] * 3  # 5,000 per page, each continuing the previous one
    by_name = {m["name"]: m for m in model["content"]}
    assert by_name["sub"]["type"] == "directory" and by_name["f00006.txt"]["size"] == 6
    cm.files.cache.clear()
    for name in ("f00006.txt", "f11999.txt", "sub"):
        assert await cm.get(f"huge/{name}", content=False) == by_name[name]

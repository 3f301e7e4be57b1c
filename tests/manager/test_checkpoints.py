"""OneLakeCheckpoints: several versions per file, kept as files in OneLake."""

from __future__ import annotations

import base64
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from tornado.web import HTTPError


def nb(source: str) -> dict:
    return {"type": "notebook", "content": nbformat.from_dict(new_notebook(cells=[new_code_cell(source)]))}


def source(target, path: str) -> str:
    return nbformat.reads(target.read(path).decode(), as_version=4).cells[0].source


def versions_in_onelake(target, path: str) -> list[str]:
    parent, _, name = path.rpartition("/")
    folder = f"{target.root}/{parent + '/' if parent else ''}.ipynb_checkpoints/{name}"
    fs = target.client().get_file_system_client(target.workspace)
    try:
        return sorted(p.name.rsplit("/", 1)[1] for p in fs.get_paths(folder))
    except Exception:
        return []


async def test_checkpoints_are_listed_oldest_to_newest(cm, target):
    """As JupyterLab reads them: the last entry is the latest checkpoint."""
    await cm.save(nb("v1"), "n.ipynb")
    ids = []
    for version in ("v2", "v3", "v4"):
        await cm.save(nb(version), "n.ipynb")
        ids.append((await cm.create_checkpoint("n.ipynb"))["id"])
    listed = await cm.list_checkpoints("n.ipynb")
    assert [c["id"] for c in listed][-3:] == ids
    assert listed == sorted(listed, key=lambda c: c["last_modified"])
    assert all(re.fullmatch(r"[\w-]+", c["id"]) and c["last_modified"].tzinfo for c in listed)
    assert set(ids) <= set(versions_in_onelake(target, "n.ipynb"))


async def test_restore_an_older_version(cm, target):
    await cm.save(nb("first"), "r.ipynb")
    first = await cm.create_checkpoint("r.ipynb")
    await cm.save(nb("second"), "r.ipynb")
    await cm.create_checkpoint("r.ipynb")
    await cm.restore_checkpoint(first["id"], "r.ipynb")
    assert source(target, "r.ipynb") == "first"
    assert (await cm.get("r.ipynb"))["content"].cells[0].source == "first"
    assert first["id"] in [c["id"] for c in await cm.list_checkpoints("r.ipynb")]
    # the restored content can be saved over without a conflict
    await cm.save(nb("third"), "r.ipynb")
    assert source(target, "r.ipynb") == "third"


async def test_prune_beyond_max_checkpoints(make_manager, target):
    cm = make_manager()
    cm.checkpoints.max_checkpoints = 3
    await cm.save(nb("v0"), "p.ipynb")
    made = []
    for i in range(6):
        await cm.save(nb(f"v{i}"), "p.ipynb")
        made.append((await cm.create_checkpoint("p.ipynb"))["id"])
    listed = [c["id"] for c in await cm.list_checkpoints("p.ipynb")]
    assert listed == made[-3:]  # the newest three, oldest first
    assert versions_in_onelake(target, "p.ipynb") == sorted(listed)


async def test_rename_file_moves_its_versions(cm, target):
    await cm.save(nb("a"), "old.ipynb")
    checkpoint = await cm.create_checkpoint("old.ipynb")
    await cm.save({"type": "directory"}, "elsewhere")
    await cm.rename("old.ipynb", "elsewhere/new.ipynb")
    assert checkpoint["id"] in [c["id"] for c in await cm.list_checkpoints("elsewhere/new.ipynb")]
    assert await cm.list_checkpoints("old.ipynb") == []
    await cm.restore_checkpoint(checkpoint["id"], "elsewhere/new.ipynb")


async def test_rename_directory_carries_versions(cm):
    await cm.save({"type": "directory"}, "proj")
    await cm.save(nb("a"), "proj/x.ipynb")
    checkpoint = await cm.create_checkpoint("proj/x.ipynb")
    await cm.rename("proj", "project")
    assert checkpoint["id"] in [c["id"] for c in await cm.list_checkpoints("project/x.ipynb")]
    assert await cm.list_checkpoints("proj/x.ipynb") == []


async def test_delete_removes_versions(cm, target):
    await cm.save(nb("a"), "gone.ipynb")
    await cm.create_checkpoint("gone.ipynb")
    await cm.delete("gone.ipynb")
    assert versions_in_onelake(target, "gone.ipynb") == []
    await cm.save(nb("b"), "gone.ipynb")  # a new file of the same name starts clean
    assert len(await cm.list_checkpoints("gone.ipynb")) <= 1


async def test_unknown_or_malformed_id_is_404(cm):
    await cm.save(nb("a"), "u.ipynb")
    for bad in ("20990101T000000000000Z-abcdef", "../../etc", "a b"):
        with pytest.raises(HTTPError) as info:
            await cm.restore_checkpoint(bad, "u.ipynb")
        assert info.value.status_code == 404
        with pytest.raises(HTTPError) as info:
            await cm.delete_checkpoint(bad, "u.ipynb")
        assert info.value.status_code == 404


async def test_binary_file_round_trip(cm, target):
    first, second = bytes(range(256)), b"\x00" * 10
    await cm.save({"type": "file", "format": "base64", "content": base64.b64encode(first).decode()}, "img.bin")
    checkpoint = await cm.create_checkpoint("img.bin")
    await cm.save({"type": "file", "format": "base64", "content": base64.b64encode(second).decode()}, "img.bin")
    await cm.restore_checkpoint(checkpoint["id"], "img.bin")
    assert target.read("img.bin") == first


async def test_saving_an_existing_notebook_without_versions_creates_one(cm, target):
    await cm.save(nb("v1"), "e.ipynb")
    for c in await cm.list_checkpoints("e.ipynb"):
        await cm.delete_checkpoint(c["id"], "e.ipynb")
    assert await cm.list_checkpoints("e.ipynb") == []
    await cm.save(nb("v2"), "e.ipynb")
    assert len(await cm.list_checkpoints("e.ipynb")) == 1


async def test_delete_checkpoint(cm):
    await cm.save(nb("a"), "d.ipynb")
    checkpoint = await cm.create_checkpoint("d.ipynb")
    await cm.delete_checkpoint(checkpoint["id"], "d.ipynb")
    assert checkpoint["id"] not in [c["id"] for c in await cm.list_checkpoints("d.ipynb")]


async def test_checkpoint_of_missing_file_is_404(cm):
    with pytest.raises(HTTPError) as info:
        await cm.create_checkpoint("nothing.ipynb")
    assert info.value.status_code == 404


async def test_checkpoint_methods_keep_the_hidden_rules(cm, emulator):
    emulator.reset_requests()
    for path, status in ((".secret/x.txt", 404), ("d/.hidden.txt", 404), (".ipynb_checkpoints/c.txt/x", 403)):
        for action in (
            cm.create_checkpoint(path),
            cm.list_checkpoints(path),
            cm.restore_checkpoint("20260101T000000000000Z-abcdef", path),
            cm.delete_checkpoint("20260101T000000000000Z-abcdef", path),
        ):
            with pytest.raises(HTTPError) as info:
                await action
            assert info.value.status_code == status
    assert emulator.requests() == []


async def test_a_new_notebook_saved_once_has_exactly_one_checkpoint(cm, make_manager):
    """JupyterLab's own sequence: a new notebook, its checkpoints listed on opening, a first save
    (which keeps the first version), the rename of the first-save dialog, then the checkpoint
    JupyterLab asks for after saving: one checkpoint, not two copies of the same bytes."""
    path = (await cm.new_untitled(type="notebook"))["path"]
    assert await cm.list_checkpoints(path) == []
    await cm.save(nb("first"), path)
    await cm.rename(path, "named.ipynb")
    await cm.create_checkpoint("named.ipynb")
    assert len(await cm.list_checkpoints("named.ipynb")) == 1
    other = make_manager()  # another server sees exactly what exists
    assert len(await other.list_checkpoints("named.ipynb")) == 1
    await cm.save(nb("second"), "named.ipynb")
    await cm.create_checkpoint("named.ipynb")  # new bytes: a new version
    assert len(await cm.list_checkpoints("named.ipynb")) == 2


async def test_versions_follow_a_rename_and_never_nest_in_left_over_ones(cm, target):
    await cm.save({"type": "file", "format": "text", "content": "a1"}, "a.txt")
    mine = await cm.create_checkpoint("a.txt")
    await cm.save({"type": "file", "format": "text", "content": "b1"}, "b.txt")
    await cm.create_checkpoint("b.txt")
    # b.txt goes behind the manager's back: its versions stay, orphaned
    target.delete("b.txt")
    cm.files.clear_caches()
    await cm.rename("a.txt", "b.txt")
    assert [c["id"] for c in await cm.list_checkpoints("b.txt")] == [mine["id"]]
    nested = [p for p in target.paths() if ".ipynb_checkpoints/b.txt/" in p and p.count("b.txt") > 1]
    assert nested == []
    await cm.restore_checkpoint(mine["id"], "b.txt")
    assert target.read("b.txt") == b"a1"


async def test_any_async_checkpoints_class_keeps_the_versions_and_a_save_makes_the_first(
    make_manager, target, tmp_path
):
    """An operator may plug in other checkpoints (here jupyter_server's own, on a local disk); a
    save of an existing notebook still makes its first version, as jupyter_server's file manager."""
    from jupyter_server.services.contents.filecheckpoints import AsyncGenericFileCheckpoints

    cm = make_manager(checkpoints_class=AsyncGenericFileCheckpoints)
    cm.checkpoints.root_dir = str(tmp_path)
    await cm.get("")
    await cm.save(nb("first"), "local.ipynb")  # a new notebook: no history yet
    assert await cm.list_checkpoints("local.ipynb") == []
    await cm.save(nb("second"), "local.ipynb")
    assert [c["id"] for c in await cm.list_checkpoints("local.ipynb")] == ["checkpoint"]
    assert "second" in (tmp_path / ".ipynb_checkpoints" / "local-checkpoint.ipynb").read_text()
    await cm.save(nb("third"), "local.ipynb")
    await cm.restore_checkpoint("checkpoint", "local.ipynb")
    assert source(target, "local.ipynb") == "second"
    assert versions_in_onelake(target, "local.ipynb") == []


async def test_checkpoints_read_and_made_as_content_models_for_generic_clients(cm, target):
    """jupyter_server's generic checkpoints interface (nbdime reads checkpoints only through it,
    passing the checkpoint's model where the id goes)."""
    await cm.save({"type": "file", "format": "text", "content": "now"}, "g.txt")
    made = await cm.checkpoints.create_file_checkpoint("then", "text", "g.txt")
    assert await cm.checkpoints.get_file_checkpoint(made["id"], "g.txt") == {
        "type": "file",
        "content": "then",
        "format": "text",
    }
    await cm.save(nb("current"), "g.ipynb")
    version = await cm.checkpoints.create_notebook_checkpoint(nb("kept")["content"], "g.ipynb")
    got = await cm.checkpoints.get_notebook_checkpoint(version, "g.ipynb")
    assert got["type"] == "notebook" and got["content"].cells[0].source == "kept"
    assert [c["id"] for c in await cm.list_checkpoints("g.ipynb")][-1] == version["id"]
    assert target.read("g.txt") == b"now" and source(target, "g.ipynb") == "current"
    with pytest.raises(HTTPError) as missing:
        await cm.checkpoints.get_notebook_checkpoint("20200101T000000000000Z-abcdef", "g.ipynb")
    assert missing.value.status_code == 404

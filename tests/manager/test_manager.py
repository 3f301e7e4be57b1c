"""The contents contract, written from jupyter_server's documented behaviour, on the manager itself."""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import json
import logging
import subprocess
import sys
from datetime import datetime

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from tornado.web import HTTPError

from onelake_contents import OneLakeContentsManager
from tests.conftest import ITEM, WORKSPACE
from tests.loop_probe import loop_callback_cpu
from tests.manager.conftest import LIVE, ROOT

MODEL_KEYS = {
    "name",
    "path",
    "type",
    "writable",
    "created",
    "last_modified",
    "mimetype",
    "content",
    "format",
    "size",
    "hash",
    "hash_algorithm",
}


def notebook(*sources: str) -> dict:
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    return nbformat.from_dict(nb)


async def text(cm, path: str, content: str) -> dict:
    return await cm.save({"type": "file", "format": "text", "content": content}, path)


def stored(target, path: str) -> bytes | None:
    return target.read(path)


async def http_status(coro) -> int:
    with pytest.raises(HTTPError) as info:
        await coro
    return info.value.status_code


# ---- root ----------------------------------------------------------------------------------------
async def test_root_is_created_on_first_use(make_manager, target):
    cm = make_manager()
    model = await cm.get("")
    assert model["type"] == "directory" and model["content"] == []
    fs = target.client().get_file_system_client(target.workspace)
    assert fs.get_directory_client(target.root).get_directory_properties().metadata["hdi_isfolder"] == "true"


async def test_missing_root_without_create_root_is_404(make_manager):
    cm = make_manager(create_root=False)
    assert await http_status(cm.get("")) == 404


async def test_configured_from_environment_only(emulator, target, monkeypatch, tmp_path):
    monkeypatch.setenv("ONELAKE_CONFIG", str(tmp_path / "none.json"))
    for name, value in {
        "ONELAKE_ENDPOINT": emulator.endpoint,
        "ONELAKE_WORKSPACE": WORKSPACE,
        "ONELAKE_ROOT": f"{ITEM}/Files/env-user",
        "ONELAKE_BROKER_URL": emulator.broker_url,
        "ONELAKE_BROKER_TOKEN": emulator.broker_token,
        "ONELAKE_CA_FILE": emulator.ca_file,
    }.items():
        monkeypatch.setenv(name, value)
    cm = OneLakeContentsManager()
    try:
        await text(cm, "hello.txt", "from env")
        assert emulator.namespace.workspaces[WORKSPACE].nodes[f"{ITEM}/Files/env-user/hello.txt"].data == b"from env"
    finally:
        await cm.close()


def test_missing_settings_are_named(monkeypatch, tmp_path):
    monkeypatch.setenv("ONELAKE_CONFIG", str(tmp_path / "none.json"))
    for name in ("ONELAKE_WORKSPACE", "ONELAKE_ROOT", "ONELAKE_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="ONELAKE_WORKSPACE"):
        OneLakeContentsManager()


def test_root_outside_files_is_refused(emulator):
    with pytest.raises(Exception, match="Files"):
        OneLakeContentsManager(
            workspace=WORKSPACE, root=f"{ITEM}/Tables/x", broker_url=emulator.broker_url, broker_token="t"
        )


# ---- files ---------------------------------------------------------------------------------------
async def test_text_file_round_trip_and_model_shape(cm, target):
    saved = await text(cm, "notes.txt", "héllo\n")
    assert set(saved) >= MODEL_KEYS
    assert saved["type"] == "file" and saved["content"] is None and saved["format"] is None
    assert saved["size"] == len("héllo\n".encode())
    model = await cm.get("notes.txt")
    assert (model["content"], model["format"], model["mimetype"]) == ("héllo\n", "text", "text/plain")
    for key in ("created", "last_modified"):
        assert isinstance(model[key], datetime) and model[key].tzinfo is not None
    assert stored(target, "notes.txt") == "héllo\n".encode()


async def test_binary_file_is_base64(cm, target):
    data = bytes(range(256))
    await cm.save({"type": "file", "format": "base64", "content": base64.b64encode(data).decode()}, "blob.bin")
    model = await cm.get("blob.bin")
    assert model["format"] == "base64"
    assert base64.b64decode(model["content"]) == data
    assert model["mimetype"] == "application/octet-stream"
    assert await http_status(cm.get("blob.bin", format="text")) == 400
    assert stored(target, "blob.bin") == data


async def test_get_without_content(cm):
    await text(cm, "a.txt", "abc")
    model = await cm.get("a.txt", content=False)
    assert model["content"] is None and model["format"] is None and model["size"] == 3


async def test_empty_file(cm):
    await text(cm, "empty.txt", "")
    assert (await cm.get("empty.txt"))["content"] == ""


async def test_hash_for_files_and_notebooks(cm):
    await text(cm, "h.txt", "hash me")
    model = await cm.get("h.txt", require_hash=True)
    assert model["hash"] == hashlib.sha256(b"hash me").hexdigest() and model["hash_algorithm"] == "sha256"
    assert (await cm.get("h.txt", content=False, require_hash=True))["hash"] == model["hash"]
    await cm.save({"type": "notebook", "content": notebook("1")}, "n.ipynb")
    nb_model = await cm.get("n.ipynb", require_hash=True)
    assert nb_model["hash"] and nb_model["hash_algorithm"] == "sha256"


async def test_save_requires_type_content_and_format(cm, target):
    assert await http_status(cm.save({"content": "x"}, "a.txt")) == 400
    assert await http_status(cm.save({"type": "file"}, "a.txt")) == 400
    assert await http_status(cm.save({"type": "file", "content": "x"}, "a.txt")) == 400
    assert await http_status(cm.save({"type": "file", "format": "base64", "content": "***"}, "a.txt")) == 400
    assert await http_status(cm.save({"type": "bogus", "content": "x"}, "a.txt")) == 400
    assert await http_status(cm.save({"type": ["file"], "content": "x"}, "a.txt")) == 400
    assert await http_status(cm.save({"type": "notebook", "content": {"nbformat": 4}}, "a.ipynb")) == 400
    assert stored(target, "a.txt") is None


async def test_wrong_type_requests_are_400(cm):
    await text(cm, "f.txt", "x")
    await cm.save({"type": "directory"}, "d")
    assert await http_status(cm.get("f.txt", type="directory")) == 400
    assert await http_status(cm.get("d", type="file")) == 400
    assert await http_status(cm.get("d", type="notebook")) == 400


async def test_missing_paths_are_404(cm):
    assert await http_status(cm.get("nope.txt")) == 404
    assert await http_status(cm.get("no/such/dir")) == 404
    assert await http_status(cm.rename_file("nope.txt", "x.txt")) == 404
    assert await http_status(cm.delete("nope.txt")) == 404


# ---- notebooks -----------------------------------------------------------------------------------
async def test_notebook_round_trip(cm, target):
    nb = notebook("print('hi')")
    saved = await cm.save({"type": "notebook", "content": nb}, "nb.ipynb")
    assert saved["type"] == "notebook" and "message" not in saved
    model = await cm.get("nb.ipynb")
    assert model["format"] == "json" and model["content"]["cells"][0]["source"] == "print('hi')"
    assert nbformat.reads(stored(target, "nb.ipynb").decode(), as_version=4).cells[0].source == "print('hi')"


async def test_invalid_notebook_is_saved_with_a_message(cm):
    nb = notebook("x")
    nb.cells[0]["outputs"] = [{"output_type": "nonsense"}]
    saved = await cm.save({"type": "notebook", "content": nb}, "bad.ipynb")
    assert "Notebook validation failed" in saved["message"]
    assert "Notebook validation failed" in (await cm.get("bad.ipynb"))["message"]


async def test_unreadable_notebook_is_400(cm):
    await text(cm, "broken.ipynb", "{ not json")
    assert await http_status(cm.get("broken.ipynb")) == 400
    assert (await cm.get("broken.ipynb", type="file"))["content"] == "{ not json"


async def test_notebook_content_must_be_an_object(cm, target):
    assert await http_status(cm.save({"type": "notebook", "content": "text"}, "x.ipynb")) == 400
    assert stored(target, "x.ipynb") is None


async def test_trust_is_signed_on_save(cm):
    nb = notebook("1+1")
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", data={"text/html": "<b>2</b>"}, execution_count=1)]
    cm.notary.mark_cells(nb, True)
    await cm.save({"type": "notebook", "content": nb}, "trusted.ipynb")
    model = await cm.get("trusted.ipynb")
    assert model["content"]["cells"][0]["metadata"].get("trusted") is True


async def test_the_notary_answers_on_any_thread_after_a_read(cm, target, caplog):
    """`check_and_sign` and `mark_trusted_cells` are public and synchronous: jupyter_server and
    extensions call them on the event loop's thread (or their own) after our reads used them."""
    nb = notebook("1+1")
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<b>2</b>"})]
    await cm.save({"type": "notebook", "content": nb}, "later.ipynb")
    opened = nbformat.from_dict((await cm.get("later.ipynb"))["content"])
    assert opened.cells[0].metadata["trusted"] is False
    cm.notary.mark_cells(opened, True)
    with caplog.at_level(logging.WARNING):
        cm.check_and_sign(opened, "later.ipynb")  # on the event loop's thread
        elsewhere = nbformat.reads(stored(target, "later.ipynb").decode(), as_version=4)
        await asyncio.to_thread(cm.mark_trusted_cells, elsewhere, "later.ipynb")
    assert not [r for r in caplog.records if "Signature store" in r.getMessage()]
    assert elsewhere.cells[0].metadata["trusted"] is True
    assert (await cm.get("later.ipynb"))["content"]["cells"][0]["metadata"]["trusted"] is True


# ---- directories ---------------------------------------------------------------------------------
async def test_nested_directories_and_listing_entries_equal_get(cm):
    await cm.save({"type": "directory"}, "a")
    await cm.save({"type": "directory"}, "a/b")
    await text(cm, "a/b/c.txt", "deep")
    await cm.save({"type": "notebook", "content": notebook()}, "a/n.ipynb")
    listing = await cm.get("a")
    assert listing["type"] == "directory" and listing["format"] == "json"
    by_name = {m["name"]: m for m in listing["content"]}
    assert set(by_name) == {"b", "n.ipynb"}
    for name, entry in by_name.items():
        assert entry == await cm.get(f"a/{name}", content=False)
    assert [m["path"] for m in (await cm.get("a/b"))["content"]] == ["a/b/c.txt"]


async def test_save_directory_over_file_is_400(cm):
    await text(cm, "plain", "x")
    assert await http_status(cm.save({"type": "directory"}, "plain")) == 400


async def test_save_file_into_missing_directory_creates_it(cm, target):
    await text(cm, "new/dir/f.txt", "x")
    assert await cm.dir_exists("new/dir")


async def test_exists_helpers(cm):
    await text(cm, "e.txt", "x")
    await cm.save({"type": "directory"}, "ed")
    assert await cm.file_exists("e.txt") and not await cm.file_exists("ed")
    assert await cm.dir_exists("ed") and not await cm.dir_exists("e.txt")
    assert await cm.exists("e.txt") and await cm.exists("ed") and not await cm.exists("zz")
    assert await cm.dir_exists("")


# ---- rename, delete, copy ------------------------------------------------------------------------
async def test_rename_file_and_directory(cm, target):
    await text(cm, "old.txt", "x")
    await cm.rename("old.txt", "new.txt")
    assert stored(target, "new.txt") == b"x" and stored(target, "old.txt") is None
    await cm.save({"type": "directory"}, "d1")
    await text(cm, "d1/inner.txt", "i")
    await cm.rename("d1", "d2")
    assert (await cm.get("d2/inner.txt"))["content"] == "i"
    assert await http_status(cm.get("d1")) == 404


async def test_rename_onto_existing_is_409(cm, target):
    await text(cm, "a.txt", "a")
    await text(cm, "b.txt", "b")
    assert await http_status(cm.rename("a.txt", "b.txt")) == 409
    assert stored(target, "b.txt") == b"b"


async def test_rename_into_missing_directory_is_404(cm):
    await text(cm, "a.txt", "a")
    assert await http_status(cm.rename("a.txt", "nowhere/a.txt")) == 404


async def test_rename_emits_event(cm):
    events = []

    async def listener(logger, schema_id, data):
        events.append(data)

    cm.event_logger.add_listener(schema_id=cm.event_schema_id, listener=listener)
    await text(cm, "ev.txt", "x")
    await cm.rename("ev.txt", "ev2.txt")
    await asyncio.sleep(0.05)
    assert {"action": "rename", "path": "ev2.txt", "source_path": "ev.txt"} in [dict(e) for e in events]


async def test_delete_file_and_non_empty_directory(cm, target):
    await text(cm, "x.txt", "x")
    await cm.delete("x.txt")
    assert stored(target, "x.txt") is None
    await text(cm, "tree/a/b.txt", "b")
    await cm.delete("tree")
    assert stored(target, "tree") is None and stored(target, "tree/a/b.txt") is None
    assert await http_status(cm.delete("")) == 400


async def test_copy_file_names_like_jupyter(cm):
    await text(cm, "data.csv", "1,2")
    first = await cm.copy("data.csv")
    second = await cm.copy("data.csv")
    assert (first["path"], second["path"]) == ("data-Copy1.csv", "data-Copy2.csv")
    await cm.save({"type": "directory"}, "dest")
    into = await cm.copy("data.csv", "dest")
    assert into["path"] == "dest/data.csv"
    assert (await cm.get("dest/data.csv"))["content"] == "1,2"


async def test_copy_directory_and_size_guard(make_manager, target):
    cm = make_manager(max_copy_bytes=100)
    await text(cm, "src/a.txt", "a")
    await text(cm, "src/sub/b.txt", "b")
    copied = await cm.copy("src")
    assert copied["type"] == "directory" and copied["path"] == "src-Copy1"
    assert (await cm.get("src-Copy1/sub/b.txt"))["content"] == "b"
    await text(cm, "big/blob.txt", "x" * 200)
    assert await http_status(cm.copy("big")) == 413
    assert not await cm.dir_exists("big-Copy1")


async def test_copy_directory_goes_into_the_destination_as_jupyter_server_does(cm):
    await text(cm, "Src/a.txt", "a")
    assert (await cm.copy("Src", "Missing"))["path"] == "Missing/Src"  # created, with Src inside
    assert (await cm.get("Missing/Src/a.txt"))["content"] == "a"
    await cm.save({"type": "directory"}, "Dest")
    assert (await cm.copy("Src", "Dest"))["path"] == "Dest/Src"
    assert (await cm.copy("Src", "Dest"))["path"] == "Dest/Src-Copy1"
    assert (await cm.get("Dest/Src-Copy1/a.txt"))["content"] == "a"


async def test_new_untitled_names(cm):
    assert (await cm.new_untitled(type="notebook"))["path"] == "Untitled.ipynb"
    assert (await cm.new_untitled(type="notebook"))["path"] == "Untitled1.ipynb"
    assert (await cm.new_untitled(type="directory"))["path"] == "Untitled Folder"
    assert (await cm.new_untitled(type="directory"))["path"] == "Untitled Folder 1"
    assert (await cm.new_untitled(ext=".py"))["path"] == "untitled.py"
    assert (await cm.new_untitled(ext=".py"))["path"] == "untitled1.py"
    assert await http_status(cm.new_untitled("missing-dir", type="notebook")) == 404


# ---- hidden, odd and hostile paths ---------------------------------------------------------------
async def test_hidden_files_refused_unless_allowed(cm, make_manager, target):
    assert await cm.is_hidden(".secret") and await cm.is_hidden("a/.b/c") and not await cm.is_hidden("a/b")
    assert await http_status(text(cm, ".env", "x")) == 400
    assert stored(target, ".env") is None
    open_cm = make_manager(allow_hidden=True)
    await text(open_cm, ".env", "x")
    assert await http_status(cm.get(".env")) == 404
    assert ".env" not in [m["name"] for m in (await cm.get(""))["content"]]
    assert ".env" in [m["name"] for m in (await open_cm.get(""))["content"]]


async def test_checkpoint_folder_is_never_listed_or_writable(make_manager, target):
    cm = make_manager(allow_hidden=True)
    await cm.save({"type": "notebook", "content": notebook()}, "n.ipynb")
    assert await cm.list_checkpoints("n.ipynb")
    assert ".ipynb_checkpoints" not in [m["name"] for m in (await cm.get(""))["content"]]
    assert await http_status(text(cm, ".ipynb_checkpoints/n.ipynb/evil", "x")) == 403
    assert await http_status(cm.get(".ipynb_checkpoints")) == 404


async def test_hide_globs(cm):
    await text(cm, "keep.py", "x")
    await text(cm, "drop.pyc", "x")
    assert [m["name"] for m in (await cm.get(""))["content"]] == ["keep.py"]


@pytest.mark.parametrize(
    "name", ["with space.txt", "ünïcødé 日本.txt", "per%cent.txt", "hash#tag.txt", "plus+sign.txt", "q?mark.txt"]
)
async def test_odd_names(cm, target, name):
    await text(cm, f"odd dir/{name}", name)
    assert (await cm.get(f"odd dir/{name}"))["content"] == name
    assert [m["name"] for m in (await cm.get("odd dir"))["content"]] == [name]
    await cm.rename(f"odd dir/{name}", f"odd dir/re {name}")
    assert stored(target, f"odd dir/re {name}") == name.encode()
    assert await cm.list_checkpoints(f"odd dir/re {name}") == []


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("../escape.txt", 404),
        ("a/../../x", 404),
        ("./a", 404),
        ("a\\b.txt", 400),
        ("nul\x00.txt", 400),
        ("a//b", 400),
        ("x" * 300, 400),
    ],
)
async def test_hostile_paths_never_reach_onelake(cm, emulator, target, path, status):
    assert await http_status(cm.get(path)) == status
    assert await http_status(text(cm, path, "x")) == status
    assert emulator.requests() == []


# ---- errors from OneLake -------------------------------------------------------------------------
async def test_permission_denied_is_403(cm, emulator, target):
    await text(cm, "locked/x.txt", "x")
    emulator.deny(f"{WORKSPACE}/{ROOT}/locked")
    cm.files.clear_caches()
    assert await http_status(cm.get("locked/x.txt")) == 403
    assert await http_status(text(cm, "locked/x.txt", "y")) == 403


async def test_persistent_503_becomes_503(make_manager, emulator, target):
    cm = make_manager(request_retries=1)
    await cm.dir_exists("")
    emulator.set_faults(probability=1.0, kinds={"503": 1}, operations={"PutBlob"})
    assert await http_status(text(cm, "f.txt", "x")) == 503
    assert len(emulator.requests("PutBlob")) == 2  # the first try and one retry


async def test_transient_faults_are_retried(cm, emulator, target):
    emulator.set_faults(script=["503", "429", "reset"], retry_after=0.1)
    await text(cm, "retry.txt", "ok")
    assert stored(target, "retry.txt") == b"ok"


async def test_large_file_open_is_413_with_download_hint(make_manager, emulator, target):
    cm = make_manager(max_content_bytes=1000)
    big = base64.b64encode(b"x" * 900).decode()
    await cm.save({"type": "file", "format": "base64", "content": big}, "ok.bin")
    assert await http_status(cm.save({"type": "file", "format": "text", "content": "y" * 2000}, "big.txt")) == 413
    emulator.namespace.write_file(emulator.namespace.workspaces[WORKSPACE], f"{ROOT}/made-elsewhere.bin", b"z" * 5000)
    with pytest.raises(HTTPError) as info:
        await cm.get("made-elsewhere.bin")
    assert info.value.status_code == 413 and "/files/made-elsewhere.bin" in info.value.log_message


# ---- conflicts -----------------------------------------------------------------------------------
async def test_second_server_stale_save_is_409(make_manager, target):
    first, second = make_manager(), make_manager()
    await first.save({"type": "notebook", "content": notebook("v0")}, "shared.ipynb")
    a = await first.get("shared.ipynb")
    b = await second.get("shared.ipynb")
    a["content"].cells[0].source = "from first"
    await first.save({"type": "notebook", "content": a["content"]}, "shared.ipynb")
    b["content"].cells[0].source = "from second"
    with pytest.raises(HTTPError) as info:
        await second.save({"type": "notebook", "content": b["content"]}, "shared.ipynb")
    assert info.value.status_code == 409 and "changed in OneLake" in info.value.log_message
    assert nbformat.reads(stored(target, "shared.ipynb").decode(), as_version=4).cells[0].source == "from first"
    # after reloading, the second server may save
    b = await second.get("shared.ipynb")
    await second.save({"type": "notebook", "content": b["content"]}, "shared.ipynb")


async def test_last_writer_wins_trait(make_manager, target):
    first, second = make_manager(), make_manager(last_writer_wins=True)
    await text(first, "lw.txt", "v0")
    await second.get("lw.txt")
    await text(first, "lw.txt", "v1")
    await text(second, "lw.txt", "v2")
    assert stored(target, "lw.txt") == b"v2"


async def test_new_file_created_elsewhere_meanwhile_is_409(make_manager, target):
    first, second = make_manager(), make_manager()
    await first.get("")
    await text(second, "race.txt", "second")
    with pytest.raises(HTTPError) as info:
        await text(first, "race.txt", "first")
    assert info.value.status_code == 409
    assert stored(target, "race.txt") == b"second"


async def test_lost_save_response_is_not_a_false_conflict(cm, emulator, target):
    await text(cm, "lost.txt", "v1")
    await cm.get("lost.txt")
    emulator.set_faults(script=["lost"], operations={"PutBlob"})
    saved = await text(cm, "lost.txt", "v2")
    assert saved["size"] == 2 and stored(target, "lost.txt") == b"v2"
    await text(cm, "lost.txt", "v3")
    assert stored(target, "lost.txt") == b"v3"


async def test_saving_after_renaming_an_open_file_is_not_a_conflict(cm, target):
    await text(cm, "before.txt", "v1")
    await cm.get("before.txt")
    await cm.rename("before.txt", "after.txt")
    await text(cm, "after.txt", "v2")
    assert stored(target, "after.txt") == b"v2"


# ---- the event loop ------------------------------------------------------------------------------
@pytest.fixture
async def cm_on_separate_emulator(tmp_path):
    """A manager on an emulator in another process: an in-process emulator thread would hold the
    GIL while it handles megabytes, and that wait would be blamed on the manager's event loop."""
    if LIVE:
        pytest.skip("needs the emulator")
    process = subprocess.Popen(
        [sys.executable, "-m", "onelake_contents.emulator", "--workspace", WORKSPACE, "--item", ITEM],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    info = json.loads(process.stdout.readline())
    manager = OneLakeContentsManager(
        workspace=WORKSPACE,
        root=ROOT,
        endpoint=info["endpoint"],
        broker_url=info["broker_url"],
        broker_token=info["broker_token"],
        ca_file=info["ca_file"],
    )
    try:
        await manager.dir_exists("")
        yield manager
    finally:
        await manager.close()
        process.terminate()
        process.wait(30)
        process.stdout.close()


async def test_no_blocking_call_on_the_event_loop(cm_on_separate_emulator):
    """Parsing, serialising, signing and hashing a 2.4 MB notebook happen off the loop: no callback
    on the loop's thread spends 0.1 s of its own CPU (thread time, so a loaded machine, GIL waits
    and the emulator's work are not counted; parsed on the loop, this notebook costs about 2.5 times
    the bound)."""
    cm = cm_on_separate_emulator
    big = notebook(*["x = 1\n" * 2000 for _ in range(200)])  # ~2.4 MB
    # a full garbage collection of the whole test process's heap is not the manager blocking
    gc.collect()
    gc.freeze()
    try:
        with loop_callback_cpu() as costs:
            await cm.save({"type": "notebook", "content": big}, "big.ipynb")
            model = await cm.get("big.ipynb")
            await cm.save({"type": "notebook", "content": model["content"]}, "big.ipynb")
            await cm.get("")
            await cm.copy("big.ipynb")
    finally:
        gc.unfreeze()
    assert len(costs) > 10
    print(f"most CPU in one loop callback: {max(cpu for cpu, _ in costs) * 1000:.1f} ms")
    slow = [(round(cpu, 3), what) for cpu, what in costs if cpu >= 0.1]
    assert slow == []


async def test_preferred_dir_is_checked_against_onelake(make_manager):
    cm = make_manager()
    await cm.save({"type": "directory"}, "start")
    assert make_manager(preferred_dir="start").preferred_dir == "start"
    with pytest.raises(Exception, match="not found"):
        make_manager(preferred_dir="no-such-dir")


async def test_last_modified_grows_with_each_version_within_one_second(cm):
    first = await text(cm, "fast.txt", "v1")
    second = await text(cm, "fast.txt", "v2")
    third = await text(cm, "fast.txt", "v3")
    assert first["last_modified"] < second["last_modified"] < third["last_modified"]
    assert (await cm.get("fast.txt", content=False))["last_modified"] == third["last_modified"]
    listed = next(m for m in (await cm.get(""))["content"] if m["name"] == "fast.txt")
    assert listed["last_modified"] == third["last_modified"]


async def test_last_modified_never_goes_back_across_save_get_listing_and_rename(cm):
    first = await text(cm, "t/mono.txt", "v1")
    second = await text(cm, "t/mono.txt", "v2")  # within the same second: 1 ms later
    assert second["last_modified"] > first["last_modified"]
    assert second["created"] <= second["last_modified"]
    got = await cm.get("t/mono.txt", content=False)
    listed = next(m for m in (await cm.get("t"))["content"] if m["name"] == "mono.txt")
    assert got["last_modified"] == listed["last_modified"] == second["last_modified"]
    await cm.rename("t/mono.txt", "t/moved.txt")
    moved = await cm.get("t/moved.txt", content=False)
    listed = next(m for m in (await cm.get("t"))["content"] if m["name"] == "moved.txt")
    assert moved["last_modified"] == listed["last_modified"] == second["last_modified"]
    assert moved["created"] <= moved["last_modified"]


async def test_two_saves_of_one_file_from_one_server_are_no_lost_answer(cm, emulator, caplog):
    await text(cm, "twice.txt", "v0")
    emulator.reset_requests()
    with caplog.at_level(logging.INFO):
        await asyncio.gather(text(cm, "twice.txt", "same"), text(cm, "twice.txt", "same"))  # autosave, Ctrl+S
    assert not [r for r in caplog.records if "lost" in r.getMessage()]
    # one after the other: the second finds the bytes already there, no condition fails
    assert [r.operation for r in emulator.requests()] == ["PutBlob", "GetBlobProperties"]
    assert (await cm.get("twice.txt"))["content"] == "same"


@pytest.mark.parametrize(
    ("bad", "renamed_only"),
    [
        ("sas/b.txt?sv=2020-01-01&sig=x", True),
        ("sas/d?sv=2021-02-03&se=1&sig=z/f.txt", True),
        ("sas/dot.", False),
        ("sas/space ", False),
    ],
)
async def test_names_onelake_cannot_hold_are_refused_before_any_request(cm, emulator, target, bad, renamed_only):
    await text(cm, "sas/a.txt", "a")
    emulator.reset_requests()
    refused = [
        cm.rename("sas/a.txt", bad),
        cm.save({"type": "file", "format": "base64", "chunk": 1, "content": ""}, bad),
    ]
    if not renamed_only:  # a SAS-like tail is fine for Put Blob; only a rename's destination loses it
        refused += [text(cm, bad, "x"), cm.copy("sas/a.txt", bad)]
    for action in refused:
        assert await http_status(action) == 400
    assert emulator.requests() == []
    assert target.read("sas/a.txt") == b"a"


async def test_a_path_made_elsewhere_is_found_though_a_fresh_listing_lacks_it(make_manager, target):
    """Server B listed the root; server A (or a pipeline, the CLI, a kernel) then makes paths in
    it. B's listing may be `metadata_ttl` old, but what B is asked for by name and does not find
    there is confirmed with OneLake (one request) before it is a 404 or a False."""
    a, b = make_manager(metadata_ttl=3600), make_manager(metadata_ttl=3600)
    await b.get("")
    for name in ("fresh", "listed", "described", "untitled"):
        await a.save({"type": "directory"}, name)
    for name in ("made.txt", "read.txt", "head.txt", "shared/theirs.txt"):
        await text(a, name, name)
    if target.emulator is not None:
        target.emulator.reset_requests()
    assert await b.dir_exists("fresh")
    assert (await b.get("listed"))["content"] == []
    assert (await b.get("described", content=False))["type"] == "directory"
    assert (await b.new_untitled("untitled", type="notebook"))["path"] == "untitled/Untitled.ipynb"
    assert await b.file_exists("made.txt")
    assert (await b.get("read.txt"))["content"] == "read.txt"
    assert (await b.get("head.txt", content=False))["size"] == len("head.txt")
    if target.emulator is not None:
        # one request per miss (the listing of `listed` is that request; `untitled` is then listed
        # to name the notebook, which is written)
        operations = [r.operation for r in target.emulator.requests()]
        assert operations == [
            *("GetBlobProperties", "ListPaths", "GetBlobProperties"),
            *("GetBlobProperties", "ListPaths", "PutBlob"),
            *("GetBlobProperties", "GetBlob", "GetBlobProperties"),
        ]
        target.emulator.reset_requests()
    # what is not there is still missing, after one request, and then known missing
    assert not await b.exists("never.txt") and not await b.exists("never.txt")
    assert await http_status(b.get("never")) == 404
    if target.emulator is not None:
        assert [r.operation for r in target.emulator.requests()] == ["GetBlobProperties", "ListPaths"]
    # a file written into a folder made elsewhere joins what is in it
    await text(b, "shared/mine.txt", "mine")
    assert sorted(m["name"] for m in (await b.get("shared"))["content"]) == ["mine.txt", "theirs.txt"]


async def test_a_folder_larger_than_the_cache_lists_and_takes_new_files(make_manager, target):
    cm = make_manager(cache_size=50)
    for i in range(60):
        target.write(f"many/f{i:03}.txt", b"x")
    listing = await cm.get("many")
    assert len(listing["content"]) == 60
    if target.emulator is not None:
        target.emulator.reset_requests()
    assert len((await cm.get("many"))["content"]) == 60
    if target.emulator is not None:
        assert target.emulator.requests() == []  # the big listing is cached too
    created = await cm.new_untitled("many", ext=".txt")
    assert created["path"] == "many/untitled.txt"


async def test_a_corrupted_signature_store_is_replaced_and_the_save_succeeds(cm, tmp_path, caplog):
    """As jupyter_server (its check_and_sign and nbformat's notary): a warning that the store is
    corrupted, a new store, the save done and the notebook trusted when read back."""
    database = tmp_path / "nbsignatures.db"
    database.write_bytes(b"this is not a SQLite database" * 100)
    cm.notary.db_file = str(database)
    with caplog.at_level(logging.WARNING):
        saved = await cm.save({"type": "notebook", "content": notebook("print(1)")}, "signed.ipynb")
    assert saved["type"] == "notebook"
    assert any("corrupted" in r.getMessage() for r in caplog.records)
    assert (await cm.get("signed.ipynb"))["content"]["cells"][0]["metadata"]["trusted"] is True


async def test_a_signature_store_that_cannot_be_recreated_falls_back_as_jupyter_server(cm, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cm.notary.db_file = str(blocker / "nbsignatures.db")
    with caplog.at_level(logging.WARNING):
        saved = await cm.save({"type": "notebook", "content": notebook("print(2)")}, "unsigned.ipynb")
    assert saved["type"] == "notebook"
    assert any("in-memory signatures database" in r.getMessage() for r in caplog.records)


QUERY_CHARACTERS = ["R&D", "{x}", "50%41", "a+b", "#1", "q?=1", "sp ace"]


@pytest.mark.parametrize("name", QUERY_CHARACTERS)
async def test_a_folder_named_with_query_characters_lists_its_own_contents(cm, target, name):
    """List Paths names the folder in its query: `&`, `%XX`, `+`, `#`, `?`, `=`, `{` and spaces
    must reach OneLake as they are, never as another folder (or a failure)."""
    await cm.new({"type": "directory"}, name)
    await cm.save({"type": "file", "format": "text", "content": "inside"}, f"{name}/in.txt")
    await cm.new({"type": "directory"}, "R")  # what `R&D` would list if the `&` split the query
    cm.files.cache.clear()
    model = await cm.get(name)  # never seen: one List Paths of the folder itself
    assert [c["path"] for c in model["content"]] == [f"{name}/in.txt"]
    listed = {c["name"] for c in (await cm.get(""))["content"]}
    assert name in listed


async def test_a_closed_manager_reads_and_signs_again(make_manager):
    """`close` stops the notary's thread and closes its store; a manager used again gets both back."""
    cm = make_manager()
    nb = notebook("1+1")
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<b>2</b>"})]
    cm.notary.mark_cells(nb, True)
    await cm.save({"type": "notebook", "content": nb}, "again.ipynb")
    await cm.close()
    assert (await cm.get("again.ipynb"))["content"]["cells"][0]["metadata"]["trusted"] is True
    await cm.save({"type": "notebook", "content": notebook("2+2")}, "again.ipynb")

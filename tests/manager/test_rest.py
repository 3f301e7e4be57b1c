"""The same contract through a real Jupyter Server's REST API (/api/contents, /files/)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tests.conftest import WORKSPACE
from tests.manager.conftest import ROOT
from tests.servers import JupyterServer


def nb_json(source: str = "1+1") -> dict:
    return json.loads(json.dumps(new_notebook(cells=[new_code_cell(source)])))


def first_source(lake, path: str) -> str:
    return nbformat.reads(stored(lake, path).decode(), as_version=4).cells[0].source


def stored(lake, path: str) -> bytes | None:
    node = lake.namespace.workspaces[WORKSPACE].nodes.get(f"{ROOT}/{path}")
    return None if node is None else node.data


def test_create_open_save_notebook(server, lake, folder):
    created = server.api("POST", folder, json={"type": "notebook"})
    assert created.status_code == 201
    path = created.json()["path"]
    assert path == f"{folder}/Untitled.ipynb"
    opened = server.api("GET", path).json()
    assert opened["type"] == "notebook" and opened["format"] == "json"
    opened["content"]["cells"] = [new_code_cell("print(42)")]
    saved = server.api("PUT", path, json={"type": "notebook", "content": opened["content"]})
    assert saved.status_code == 200
    body = saved.json()
    assert body["content"] is None and body["last_modified"].endswith("Z")
    assert first_source(lake, path) == "print(42)"


def test_directory_listing_and_entries(server, folder):
    server.api("PUT", f"{folder}/a.txt", json={"type": "file", "format": "text", "content": "a"})
    server.api("PUT", f"{folder}/sub", json={"type": "directory"})
    listing = server.api("GET", folder, params={"content": 1}).json()
    assert sorted((m["name"], m["type"]) for m in listing["content"]) == [("a.txt", "file"), ("sub", "directory")]
    one = server.api("GET", f"{folder}/a.txt", params={"content": 0}).json()
    assert one == next(m for m in listing["content"] if m["name"] == "a.txt")


def test_text_and_base64_round_trip_with_hash(server, folder):
    data = bytes(range(200))
    put = server.api(
        "PUT", f"{folder}/b.bin", json={"type": "file", "format": "base64", "content": base64.b64encode(data).decode()}
    )
    assert put.status_code == 201
    got = server.api("GET", f"{folder}/b.bin", params={"hash": 1}).json()
    assert base64.b64decode(got["content"]) == data
    assert got["hash"] == hashlib.sha256(data).hexdigest() and got["hash_algorithm"] == "sha256"
    bad = server.api("GET", f"{folder}/b.bin", params={"format": "text"})
    assert bad.status_code == 400


def test_a_new_file_put_in_a_listed_folder_is_a_head_and_a_put_blob(server, lake, folder):
    """jupyter_server's handler asks whether the file exists before saving: a name the folder's
    fresh listing lacks is confirmed with OneLake (another server may have made it)."""
    assert server.api("GET", folder).status_code == 200
    lake.reset_requests()
    assert (
        server.api("PUT", f"{folder}/new.txt", json={"type": "file", "format": "text", "content": "n"}).status_code
        == 201
    )
    assert [r.operation for r in lake.requests()] == ["GetBlobProperties", "PutBlob"]


def test_rename_copy_delete(server, lake, folder):
    server.api("PUT", f"{folder}/x.txt", json={"type": "file", "format": "text", "content": "x"})
    renamed = server.api("PATCH", f"{folder}/x.txt", json={"path": f"{folder}/y.txt"})
    assert renamed.status_code == 200 and renamed.json()["path"] == f"{folder}/y.txt"
    copied = server.api("POST", folder, json={"copy_from": f"{folder}/y.txt"})
    assert copied.status_code == 201 and copied.json()["path"] == f"{folder}/y-Copy1.txt"
    server.api("PUT", f"{folder}/z.txt", json={"type": "file", "format": "text", "content": "z"})
    conflict = server.api("PATCH", f"{folder}/y.txt", json={"path": f"{folder}/z.txt"})
    assert conflict.status_code == 409
    assert server.api("DELETE", f"{folder}/y.txt").status_code == 204
    assert stored(lake, f"{folder}/y.txt") is None and stored(lake, f"{folder}/z.txt") == b"z"
    assert server.api("DELETE", f"{folder}/y.txt").status_code == 404


def test_errors_have_the_documented_status(server, folder):
    assert server.api("GET", f"{folder}/missing.ipynb").status_code == 404
    assert server.api("PUT", f"{folder}/f.txt", json={"type": "file", "content": "no format"}).status_code == 400
    assert server.api("PUT", f"{folder}/f.txt", json={"content": "no type"}).status_code == 400
    assert server.api("GET", f"{folder}", params={"type": "file"}).status_code == 400
    assert server.api("POST", f"{folder}/no-such-dir", json={"type": "notebook"}).status_code == 404


def test_hidden_paths(server, folder):
    assert server.api(
        "PUT", f"{folder}/.hidden", json={"type": "file", "format": "text", "content": "h"}
    ).status_code in (400, 404)
    assert server.api("GET", f"{folder}/.ipynb_checkpoints").status_code == 404


@pytest.mark.parametrize("name", ["sp ace.txt", "ünï 日本.txt", "per%cent.txt", "hash#.txt", "plus+.txt"])
def test_odd_names_over_rest(server, folder, name):
    path = f"{folder}/{name}"
    assert server.api("PUT", path, json={"type": "file", "format": "text", "content": name}).status_code == 201
    assert server.api("GET", path).json()["content"] == name
    assert server.files(path).content == name.encode()


def test_stale_save_from_a_second_server_is_409(server, lake, folder, tmp_path):
    from tests.servers import JupyterServer

    path = f"{folder}/shared.ipynb"
    server.api("PUT", path, json={"type": "notebook", "content": nb_json("v0")})
    other = JupyterServer(lake.info, WORKSPACE, ROOT, tmp_path / "other").start()
    try:
        mine = server.api("GET", path).json()
        theirs = other.api("GET", path).json()
        mine["content"]["cells"][0]["source"] = "mine"
        assert server.api("PUT", path, json={"type": "notebook", "content": mine["content"]}).status_code == 200
        theirs["content"]["cells"][0]["source"] = "theirs"
        response = other.api("PUT", path, json={"type": "notebook", "content": theirs["content"]})
        assert response.status_code == 409
        assert "changed in OneLake" in response.json()["message"]
        assert first_source(lake, path) == "mine"
    finally:
        other.stop()


def test_a_session_for_a_path_outside_the_root_is_a_4xx(server):
    answer = server.session.post(
        f"{server.url}/api/sessions",
        json={"path": "../outside.ipynb", "type": "notebook", "kernel": {"name": "python3"}},
        timeout=60,
    )
    assert answer.status_code == 404 and "outside root" in answer.json()["message"]


def test_copying_a_directory_over_rest_answers_201_with_its_location(server, folder):
    assert server.api("PUT", f"{folder}/foo/x.txt", json={"type": "file", "format": "text", "content": "x"}).ok
    assert server.api("PUT", f"{folder}/parent", json={"type": "directory"}).status_code == 201
    copied = server.api("POST", f"{folder}/parent", json={"copy_from": f"{folder}/foo"})
    assert copied.status_code == 201
    assert copied.headers["Location"].endswith(f"/api/contents/{folder}/parent/foo")
    assert copied.json()["path"] == f"{folder}/parent/foo" and copied.json()["type"] == "directory"
    assert server.api("GET", f"{folder}/parent/foo/x.txt").json()["content"] == "x"


def test_files_ranges_follow_rfc_9110_at_the_edges(server, lake, folder):
    workspace = lake.namespace.workspaces[WORKSPACE]
    lake.namespace.write_file(workspace, f"{ROOT}/{folder}/empty.bin", b"")
    lake.namespace.write_file(workspace, f"{ROOT}/{folder}/ten.bin", b"0123456789")
    empty = server.files(f"{folder}/empty.bin", headers={"Range": "bytes=-1"})
    assert empty.status_code == 416 and empty.headers["Content-Range"] == "bytes */0"
    huge = "9" * 5000  # legal, and more digits than Python parses by default
    far = server.files(f"{folder}/ten.bin", headers={"Range": f"bytes={huge}-"})
    assert far.status_code == 416 and far.headers["Content-Range"] == "bytes */10"
    whole_tail = server.files(f"{folder}/ten.bin", headers={"Range": f"bytes=-{huge}"})
    assert whole_tail.status_code == 206 and whole_tail.content == b"0123456789"
    assert whole_tail.headers["Content-Range"] == "bytes 0-9/10"
    open_end = server.files(f"{folder}/ten.bin", headers={"Range": f"bytes=2-{huge}"})
    assert open_end.status_code == 206 and open_end.content == b"23456789"


def test_files_download_streams_with_range(server, lake, folder):
    data = bytes(range(256)) * 4096  # 1 MiB
    lake.namespace.write_file(lake.namespace.workspaces[WORKSPACE], f"{ROOT}/{folder}/data.bin", data)
    full = server.files(f"{folder}/data.bin")
    assert full.status_code == 200 and full.content == data
    assert full.headers["Accept-Ranges"] == "bytes"
    part = server.files(f"{folder}/data.bin", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == data[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    tail = server.files(f"{folder}/data.bin", headers={"Range": "bytes=-10"})
    assert tail.content == data[-10:]
    beyond = server.files(f"{folder}/data.bin", headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(data)}"
    download = server.files(f"{folder}/data.bin", params={"download": 1})
    assert "attachment" in download.headers["Content-Disposition"]
    assert server.files(f"{folder}/nothing.bin").status_code == 404
    assert server.files(folder).status_code == 400


def test_files_content_types(server, folder):
    server.api("PUT", f"{folder}/n.ipynb", json={"type": "notebook", "content": nb_json()})
    server.api("PUT", f"{folder}/t.txt", json={"type": "file", "format": "text", "content": "t"})
    assert server.files(f"{folder}/n.ipynb").headers["Content-Type"] == "application/x-ipynb+json"
    assert server.files(f"{folder}/t.txt").headers["Content-Type"] == "text/plain; charset=UTF-8"


def test_checkpoint_endpoints(server, lake, folder):
    path = f"{folder}/c.ipynb"
    server.api("PUT", path, json={"type": "notebook", "content": nb_json("v1")})
    created = server.api("POST", f"{path}/checkpoints")
    assert created.status_code == 201
    checkpoint = created.json()
    server.api("PUT", path, json={"type": "notebook", "content": nb_json("v2")})
    listed = server.api("GET", f"{path}/checkpoints").json()
    assert checkpoint["id"] in [c["id"] for c in listed]
    restored = server.api("POST", f"{path}/checkpoints/{checkpoint['id']}")
    assert restored.status_code == 204
    assert first_source(lake, path) == "v1"
    assert server.api("POST", f"{path}/checkpoints/no-such-id").status_code == 404
    assert server.api("DELETE", f"{path}/checkpoints/{checkpoint['id']}").status_code == 204
    assert checkpoint["id"] not in [c["id"] for c in server.api("GET", f"{path}/checkpoints").json()]


def test_checkpoints_are_listed_oldest_to_newest_as_jupyterlab_reads_them(server, lake, folder):
    """JupyterLab shows the last entry as "Last Checkpoint" and reverts to it when no id is
    given (`DocumentContext.restoreCheckpoint()`): the last entry must be the latest."""
    path = f"{folder}/ordered.ipynb"
    made = []
    for version in ("v1", "v2", "v3"):
        assert server.api("PUT", path, json={"type": "notebook", "content": nb_json(version)}).ok
        made.append(server.api("POST", f"{path}/checkpoints").json())
    assert server.api("PUT", path, json={"type": "notebook", "content": nb_json("unsaved work")}).ok
    listed = server.api("GET", f"{path}/checkpoints").json()
    assert [c["id"] for c in listed][-3:] == [c["id"] for c in made]
    assert [c["last_modified"] for c in listed] == sorted(c["last_modified"] for c in listed)
    latest = listed[-1]["id"]  # what restoreCheckpoint() without an id picks
    assert server.api("POST", f"{path}/checkpoints/{latest}").status_code == 204
    assert first_source(lake, path) == "v3"


def test_throttling_reaches_the_client_as_503_with_retry_after(server, lake, folder):
    lake.set_faults(probability=1.0, kinds={"429": 1}, retry_after=30, operations={"PutBlob"})
    try:
        response = server.api("PUT", f"{folder}/t.txt", json={"type": "file", "format": "text", "content": "t"})
    finally:
        lake.clear_faults()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "OneLake" in response.json()["message"]


def test_nbconvert_export_from_onelake(server, folder):
    path = f"{folder}/export.ipynb"
    server.api("PUT", path, json={"type": "notebook", "content": nb_json("print('exported')")})
    response = server.session.get(f"{server.url}/nbconvert/html/{path}", params={"download": "true"}, timeout=60)
    assert response.status_code == 200
    assert "print" in response.text and "exported" in response.text
    assert "attachment" in response.headers.get("Content-Disposition", "")


def test_a_stopping_server_closes_its_onelake_connections(lake, tmp_path):
    server = JupyterServer(lake.info, WORKSPACE, ROOT, tmp_path).start()
    assert server.api("GET", "").status_code == 200  # connections to OneLake and the broker open
    server.stop()
    assert "onelake_contents: closed the connections to OneLake and the broker" in server.log()


def test_a_manager_used_on_its_own_closes_with_async_with(lake, tmp_path):
    """Development mode reports an aiohttp session left open when it is collected."""
    code = (
        "import asyncio, gc, sys\n"
        "from onelake_contents import OneLakeContentsManager\n"
        "async def main():\n"
        "    async with OneLakeContentsManager() as cm:\n"
        "        await cm.get('')\n"
        "asyncio.run(main())\n"
        "gc.collect()\n"
    )
    environment = {**os.environ, **lake.info.environment(WORKSPACE, ROOT), "PYTHONDEVMODE": "1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Unclosed" not in result.stderr, result.stderr
    unclosed = subprocess.run(
        [
            sys.executable,
            "-c",
            code.replace("async with OneLakeContentsManager() as cm:", "if cm := OneLakeContentsManager():"),
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    # the check above can fail: the session or its connector is reported, whichever goes first
    assert "Unclosed client session" in unclosed.stderr or "Unclosed connector" in unclosed.stderr


def test_checkpoint_routes_and_renames_keep_the_rules_through_the_server(server, lake, folder):
    secret = server.session.post(f"{server.url}/api/contents/.secret/x.txt/checkpoints", timeout=60)
    assert secret.status_code == 404
    managed = server.session.post(
        f"{server.url}/api/contents/.ipynb_checkpoints/c.txt/20260101T000000000000Z-abcdef/checkpoints", timeout=60
    )
    assert managed.status_code == 403
    assert server.api("PUT", f"{folder}/a.txt", json={"type": "file", "format": "text", "content": "a"}).ok
    sas = server.api("PATCH", f"{folder}/a.txt", json={"path": f"{folder}/b.txt?sv=2020-01-01&sig=x"})
    assert sas.status_code == 400
    nodes = lake.namespace.workspaces[WORKSPACE].nodes
    assert f"{ROOT}/{folder}/a.txt" in nodes and f"{ROOT}/{folder}/b.txt" not in nodes
    assert not [p for p in nodes if ".secret" in p or "/.ipynb_checkpoints/c.txt" in p]


def test_jupytext_enabled_cannot_hang_the_server(lake, tmp_path):
    """jupytext's server extension, enabled as its package installs it, would wrap our manager with a
    wrapper that loops forever naming a new notebook; the server switches it off with one warning."""
    pytest.importorskip("jupyterlab_jupytext")
    server = JupyterServer(lake.info, WORKSPACE, ROOT, tmp_path, extensions={"jupyterlab_jupytext": True}).start()
    try:
        created = server.api("POST", "", json={"type": "notebook"}, timeout=60)
        assert created.status_code == 201
        assert created.json()["path"].startswith("Untitled") and created.json()["type"] == "notebook"
        assert server.session.get(f"{server.url}/api/status", timeout=60).status_code == 200
        again = server.api("POST", "", json={"type": "notebook"}, timeout=60)
        assert again.status_code == 201 and again.json()["path"] != created.json()["path"]
    finally:
        server.stop()
    warnings = [line for line in server.log().splitlines() if "jupytext" in line and "[W " in line]
    assert len(warnings) == 1 and "switched off jupytext's server extension" in warnings[0]


def test_trusting_a_notebook_after_opening_it_signs_it(server, folder):
    """JupyterLab's "Trust Notebook": the notary is used from the event loop's thread
    (jupyter_server's trust_notebook) after a read used it from ours."""
    path = f"{folder}/untrusted.ipynb"
    content = nb_json("display(HTML('<b>x</b>'))")
    content["cells"][0]["outputs"] = [
        {"output_type": "display_data", "data": {"text/html": "<b>x</b>"}, "metadata": {}}
    ]
    assert server.api("PUT", path, json={"type": "notebook", "content": content}).status_code == 201
    opened = server.api("GET", path).json()
    assert opened["content"]["cells"][0]["metadata"]["trusted"] is False
    trusted = server.session.post(f"{server.url}/api/contents/{path}/trust", timeout=60)
    assert trusted.status_code == 201, trusted.text
    reopened = server.api("GET", path)
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["content"]["cells"][0]["metadata"]["trusted"] is True
    assert "Signature store for notebook" not in server.log()  # no store was thrown away

"""The history API (/onelake/api/versions, /diff, /trash) through a real Jupyter Server: content,
status codes, the contents API's path and permission rules, and requests counted in the emulator."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
import requests
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from onelake_contents import __version__
from onelake_contents.lake.trash import item_token
from tests.conftest import WORKSPACE
from tests.manager.conftest import LIVE, ROOT
from tests.servers import JupyterServer

pytestmark = pytest.mark.skipif(LIVE, reason="REST tests run on the emulator")
# not the default (10), so an answer that says how many versions are kept is seen to read it
KEPT = 7


@pytest.fixture(scope="module")
def server(lake, tmp_path_factory):
    # no metadata cache: every count below is what a cold server pays
    jupyter = JupyterServer(
        lake.info,
        WORKSPACE,
        ROOT,
        tmp_path_factory.mktemp("jupyter"),
        "--OneLakeContentsManager.metadata_ttl=0",
        f"--OneLakeCheckpoints.max_checkpoints={KEPT}",
    ).start()
    yield jupyter
    jupyter.stop()


def call(server, method: str, route: str, **kwargs) -> requests.Response:
    kwargs.setdefault("timeout", 60)
    return server.session.request(method, f"{server.url}/onelake/api/{route}", **kwargs)


def notebook(*sources: str) -> dict:
    cells = [new_code_cell(s) if not s.startswith("#") else new_markdown_cell(s) for s in sources]
    return {"type": "notebook", "content": json.loads(json.dumps(new_notebook(cells=cells)))}


def save_versions(server, path: str, *contents: dict) -> list[str]:
    """Save each content and make a version of it (as JupyterLab's save and checkpoint do)."""
    ids = []
    for content in contents:
        assert server.api("PUT", path, json=content).status_code in (200, 201)
        made = server.api("POST", f"{path}/checkpoints")
        assert made.status_code == 201
        ids.append(made.json()["id"])
    return ids


def operations(lake) -> list[str]:
    return [r.operation for r in lake.requests()]


# ---- what the API is ----------------------------------------------------------------------------
def test_the_api_says_what_it_is_without_a_request_to_onelake(server, lake):
    lake.reset_requests()
    for route in ("onelake/api", "onelake/api/"):
        answer = server.session.get(f"{server.url}/{route}", timeout=60)
        assert answer.status_code == 200, route
        assert answer.json() == {"name": "onelake-contents", "version": __version__, "versions_kept": KEPT}
    assert lake.requests() == []


def test_a_server_with_jupyter_servers_contents_manager_has_no_such_api(tmp_path):
    other = JupyterServer(
        None,
        WORKSPACE,
        ROOT,
        tmp_path,
        contents_manager_class="jupyter_server.services.contents.largefilemanager.AsyncLargeFileManager",
        extensions={"onelake_contents": True},
    ).start()
    try:
        assert other.api("GET", "").status_code == 200
        assert other.session.get(f"{other.url}/onelake/api", timeout=60).status_code == 404
    finally:
        other.stop()
    # the extension was there, and left the server alone
    assert "onelake_contents | extension was successfully loaded." in other.log()


# ---- versions ----------------------------------------------------------------------------------
def test_versions_are_listed_newest_first_in_one_request(server, lake, folder):
    path = f"{folder}/n.ipynb"
    ids = save_versions(server, path, notebook("a = 1"), notebook("a = 2"), notebook("a = 3"))
    lake.reset_requests()
    answer = call(server, "GET", f"versions/{quote(path)}")
    assert answer.status_code == 200
    assert operations(lake) == ["ListPaths"]
    listed = answer.json()
    assert listed["path"] == path
    assert [v["id"] for v in listed["versions"]][:3] == ids[::-1]
    assert all(v["size"] > 0 and v["last_modified"] for v in listed["versions"])


def test_a_version_is_read_as_a_contents_model_in_one_request(server, lake, folder):
    path = f"{folder}/n.ipynb"
    first, _ = save_versions(server, path, notebook("first"), notebook("second"))
    lake.reset_requests()
    answer = call(server, "GET", f"versions/{quote(path)}", params={"id": first})
    assert answer.status_code == 200
    assert operations(lake) == ["GetBlob"]
    model = answer.json()
    assert (model["type"], model["format"], model["path"], model["version"]) == ("notebook", "json", path, first)
    assert model["content"]["cells"][0]["source"] == "first" and model["writable"] is False


def test_versions_of_a_missing_file_are_404(server, lake, folder):
    lake.reset_requests()
    answer = call(server, "GET", f"versions/{folder}/missing.ipynb")
    assert answer.status_code == 404
    assert operations(lake) == ["ListPaths", "GetBlobProperties"]


def test_a_text_version_reads_as_text(server, folder):
    path = f"{folder}/notes.txt"
    (first,) = save_versions(server, path, {"type": "file", "format": "text", "content": "hello\n"})
    model = call(server, "GET", f"versions/{quote(path)}", params={"id": first}).json()
    assert (model["type"], model["format"], model["content"], model["mimetype"]) == (
        "file",
        "text",
        "hello\n",
        "text/plain",
    )


def test_a_notebook_diff_shows_removed_and_added_cells(server, lake, folder):
    path = f"{folder}/n.ipynb"
    (first,) = save_versions(server, path, notebook("keep", "# gone"))
    assert server.api("PUT", path, json=notebook("keep", "added = 1")).status_code == 200
    lake.reset_requests()
    answer = call(server, "GET", f"diff/{quote(path)}", params={"base": first})
    assert answer.status_code == 200
    assert operations(lake) == ["GetBlob", "GetBlob"]
    body = answer.json()
    assert (body["type"], body["base_id"], body["remote_id"]) == ("notebook", first, "current")
    assert [c["source"] for c in body["base"]["cells"]] == ["keep", "# gone"]
    (cells,) = [d for d in body["diff"] if d["key"] == "cells"]
    ops = {d["op"]: d for d in cells["diff"]}
    assert ops["addrange"]["valuelist"][0]["source"] == "added = 1"
    assert ops["removerange"]["key"] == 1 and ops["removerange"]["length"] == 1


def test_a_text_diff_between_two_versions_is_line_by_line(server, folder):
    path = f"{folder}/t.py"
    first, second = save_versions(
        server,
        path,
        {"type": "file", "format": "text", "content": "a\nb\n"},
        {"type": "file", "format": "text", "content": "a\nc\n"},
    )
    body = call(server, "GET", f"diff/{quote(path)}", params={"base": first, "remote": second}).json()
    assert body["type"] == "file"
    assert "-b\n" in body["diff"] and "+c\n" in body["diff"] and " a\n" in body["diff"]


def test_restore_keeps_the_current_content_as_a_version_so_it_can_be_undone(server, lake, folder):
    path = f"{folder}/n.ipynb"
    first, _ = save_versions(server, path, notebook("first"), notebook("second"))
    assert server.api("PUT", path, json=notebook("third")).status_code == 200
    lake.reset_requests()
    answer = call(server, "POST", f"versions/{quote(path)}/{first}/restore")
    assert answer.status_code == 200
    # the version read; the current content (saved without a version) read (304: this server
    # holds its bytes) and kept as a version; the file written
    assert operations(lake) == ["GetBlob", "GetBlob", "PutBlob", "PutBlob"]
    assert [r.status for r in lake.requests()][1] == 304
    assert ".ipynb_checkpoints/" in lake.requests()[2].path and lake.requests()[3].path.endswith("/n.ipynb")
    kept = answer.json()["kept"]["id"]
    assert server.api("GET", path).json()["content"]["cells"][0]["source"] == "first"
    assert call(server, "GET", f"versions/{quote(path)}").json()["versions"][0]["id"] == kept
    assert call(server, "POST", f"versions/{quote(path)}/{kept}/restore").status_code == 200
    assert server.api("GET", path).json()["content"]["cells"][0]["source"] == "third"


def test_a_restore_after_a_save_in_jupyterlab_is_two_requests(server, lake, folder):
    """JupyterLab's save makes a version of what it saved: that version is the one kept, and the
    file this server saw is not read again."""
    path = f"{folder}/n.ipynb"
    first, _, third = save_versions(server, path, notebook("first"), notebook("second"), notebook("third"))
    lake.reset_requests()
    answer = call(server, "POST", f"versions/{quote(path)}/{first}/restore")
    assert answer.status_code == 200
    assert operations(lake) == ["GetBlob", "PutBlob"]
    assert lake.requests()[1].path.endswith("/n.ipynb")
    assert answer.json()["kept"]["id"] == third
    assert [v["id"] for v in call(server, "GET", f"versions/{quote(path)}").json()["versions"]] == [third, _, first]
    assert server.api("GET", path).json()["content"]["cells"][0]["source"] == "first"
    # undone by restoring what was kept
    assert call(server, "POST", f"versions/{quote(path)}/{third}/restore").status_code == 200
    assert server.api("GET", path).json()["content"]["cells"][0]["source"] == "third"


def test_a_restore_over_a_change_made_elsewhere_keeps_that_change_as_a_version(server, lake, folder):
    path = f"{folder}/n.ipynb"
    first, second = save_versions(server, path, notebook("first"), notebook("second"))
    elsewhere = json.dumps(notebook("elsewhere")["content"]).encode()
    lake.namespace.write_file(lake.namespace.workspaces[WORKSPACE], f"{ROOT}/{path}", elsewhere)
    lake.reset_requests()
    answer = call(server, "POST", f"versions/{quote(path)}/{first}/restore")
    assert answer.status_code == 200
    # the write over the version this server saw is refused (and it was not a write of ours that
    # landed: one HEAD); the file is read, kept as a version, written over
    sent = [(r.operation, r.status) for r in lake.requests()]
    assert [operation for operation, _ in sent] == [
        "GetBlob",
        "PutBlob",
        "GetBlobProperties",
        "GetBlob",
        "PutBlob",
        "PutBlob",
    ], sent
    assert [status for _, status in sent][1:3] == [412, 200], sent
    kept = answer.json()["kept"]["id"]
    assert kept not in (first, second)
    content = call(server, "GET", f"versions/{quote(path)}", params={"id": kept}).json()["content"]
    assert content["cells"][0]["source"] == "elsewhere"
    assert server.api("GET", path).json()["content"]["cells"][0]["source"] == "first"


def test_paths_with_spaces_hashes_percents_and_accents(server, lake, folder):
    path = f"{folder}/a b#%ü.ipynb"
    first, _ = save_versions(server, path, notebook("first"), notebook("second"))
    listed = call(server, "GET", f"versions/{quote(path)}")
    assert listed.status_code == 200 and listed.json()["path"] == path
    assert call(server, "GET", f"versions/{quote(path)}", params={"id": first}).json()["path"] == path
    assert call(server, "GET", f"diff/{quote(path)}", params={"base": first}).json()["type"] == "notebook"
    assert call(server, "POST", f"versions/{quote(path)}/{first}/restore").status_code == 200
    assert server.api("GET", path).json()["content"]["cells"][0]["source"] == "first"
    assert server.api("DELETE", path).status_code == 204
    (item,) = [i for i in call(server, "GET", f"trash/{folder}").json()["items"] if i["path"] == path]
    assert call(server, "POST", f"trash/{item['id']}/restore").status_code == 200
    assert server.api("GET", path).status_code == 200


def test_restore_as_a_copy_makes_a_new_file_beside_it(server, lake, folder):
    path = f"{folder}/n.ipynb"
    first, _ = save_versions(server, path, notebook("first"), notebook("second"))
    lake.reset_requests()
    answer = call(server, "POST", f"versions/{quote(path)}/{first}/restore", json={"as": "copy", "name": "old.ipynb"})
    assert answer.status_code == 201 and answer.json()["path"] == f"{folder}/old.ipynb"
    assert operations(lake) == ["GetBlob", "PutBlob"]
    assert server.api("GET", f"{folder}/old.ipynb").json()["content"]["cells"][0]["source"] == "first"
    assert server.api("GET", path).json()["content"]["cells"][0]["source"] == "second"
    taken = call(server, "POST", f"versions/{quote(path)}/{first}/restore", json={"as": "copy", "name": "old.ipynb"})
    assert taken.status_code == 409
    named = call(server, "POST", f"versions/{quote(path)}/{first}/restore", json={"as": "copy"})
    assert named.status_code == 201 and named.json()["path"].startswith(f"{folder}/n (version ")


@pytest.mark.parametrize(
    ("route", "method", "status"),
    [
        ("versions/{path}?id=..%2F..%2Fsecret", "GET", 400),
        ("versions/{path}?id=20260101T000000000000Z-abcdef", "GET", 404),
        ("versions/{path}/nope-1/restore", "POST", 404),
        ("versions/{path}/bad.id/restore", "POST", 400),
        ("diff/{path}", "GET", 400),
        ("diff/{path}?base=no-such", "GET", 404),
        ("versions/{path}/x/undo", "POST", 404),
    ],
)
def test_bad_version_ids_are_refused(server, lake, folder, route, method, status):
    path = f"{folder}/n.ipynb"
    save_versions(server, path, notebook("x"))
    lake.reset_requests()
    answer = server.session.request(method, f"{server.url}/onelake/api/{route.format(path=quote(path))}", timeout=60)
    assert answer.status_code == status, answer.text
    assert "PutBlob" not in operations(lake)


def test_restore_body_must_be_a_json_object(server, folder):
    path = f"{folder}/n.ipynb"
    (first,) = save_versions(server, path, notebook("x"))
    assert call(server, "POST", f"versions/{quote(path)}/{first}/restore", data="[1]").status_code == 400
    assert call(server, "POST", f"versions/{quote(path)}/{first}/restore", json={"as": "zip"}).status_code == 400
    for name in ("../x.ipynb", ".hidden.ipynb", "a/b.ipynb", "bad."):
        answer = call(server, "POST", f"versions/{quote(path)}/{first}/restore", json={"as": "copy", "name": name})
        assert answer.status_code == 400, name


def test_hidden_paths_checkpoints_and_paths_outside_the_root(server, lake, folder):
    lake.reset_requests()
    assert call(server, "GET", f"versions/{folder}/.secret.ipynb").status_code == 404
    assert call(server, "GET", f"versions/{folder}/.ipynb_checkpoints/n.ipynb").status_code == 403
    assert call(server, "GET", f"diff/{folder}/.h/x.txt?base=current").status_code == 404
    assert call(server, "GET", f"versions/{folder}/%2E%2E/%2E%2E/x.ipynb").status_code == 404
    assert call(server, "GET", "trash/%2E%2E").status_code == 404
    assert call(server, "GET", f"trash/{folder}/.hidden").status_code == 404
    assert call(server, "GET", "versions/").status_code == 400
    assert lake.requests() == []


def test_onelake_refusals_are_the_contents_apis_403s(server, lake, folder):
    path = f"{folder}/n.ipynb"
    (first,) = save_versions(server, path, notebook("x"))
    lake.deny(f"{WORKSPACE}/{ROOT}/{folder}")
    try:
        listed = call(server, "GET", f"versions/{quote(path)}")
        assert listed.status_code == 403
        assert listed.json()["message"] == f"OneLake denied access to {path}: not shared with you"
        restored = call(server, "POST", f"versions/{quote(path)}/{first}/restore")
        assert restored.status_code == 403
        trash = call(server, "GET", f"trash/{folder}")
        assert trash.status_code == 403
        assert trash.json()["message"] == f"OneLake denied access to {folder}: not shared with you"
    finally:
        lake.deny()


def test_the_api_needs_authentication(server, folder):
    bare = requests.Session()
    routes = (("GET", ""), ("GET", f"versions/{folder}/n.ipynb"), ("GET", "trash/"), ("POST", "trash/x/restore"))
    for method, route in routes:
        answer = bare.request(method, f"{server.url}/onelake/api/{route}", timeout=30)
        assert answer.status_code == 403, route


# ---- trash -------------------------------------------------------------------------------------
def test_deleted_notebook_and_folder_are_in_the_trash_newest_first_in_one_request(server, lake, folder):
    path = f"{folder}/n.ipynb"
    save_versions(server, path, notebook("v1"), notebook("v2"))
    assert server.api("PUT", f"{folder}/sub/data.csv", json={"type": "file", "format": "text", "content": "1"}).ok
    assert server.api("DELETE", path).status_code == 204
    assert server.api("DELETE", f"{folder}/sub").status_code == 204
    lake.reset_requests()
    answer = call(server, "GET", f"trash/{folder}")
    assert answer.status_code == 200
    assert operations(lake) == ["ListBlobs"]
    items = answer.json()["items"]
    assert [(i["name"], i["type"], i["folder"], i["has_versions"]) for i in items] == [
        ("sub", "directory", folder, False),
        ("n.ipynb", "notebook", folder, True),
    ]
    assert items[1]["size"] > 0 and items[1]["remaining_days"] == 7 and items[0]["deleted"] >= items[1]["deleted"]
    assert call(server, "GET", "trash/").json()["items"][:2] == items


def test_restoring_a_notebook_brings_its_versions_back(server, lake, folder):
    path = f"{folder}/n.ipynb"
    ids = save_versions(server, path, notebook("v1"), notebook("v2"))
    assert server.api("DELETE", path).status_code == 204
    (item,) = call(server, "GET", f"trash/{folder}").json()["items"]
    lake.reset_requests()
    answer = call(server, "POST", f"trash/{item['id']}/restore")
    assert answer.status_code == 200 and answer.json()["path"] == path
    assert operations(lake) == ["UndeleteBlob", "UndeleteBlob"]
    assert server.api("GET", path).json()["content"]["cells"][0]["source"] == "v2"
    assert [v["id"] for v in call(server, "GET", f"versions/{quote(path)}").json()["versions"]] == ids[::-1]
    assert call(server, "GET", f"trash/{folder}").json()["items"] == []
    again = call(server, "POST", f"trash/{item['id']}/restore")
    assert again.status_code == 404  # restored already: OneLake keeps that deletion no more


def test_a_folder_comes_back_with_its_contents(server, folder):
    assert server.api("PUT", f"{folder}/d/x.txt", json={"type": "file", "format": "text", "content": "x"}).ok
    assert server.api("DELETE", f"{folder}/d").status_code == 204
    (item,) = call(server, "GET", f"trash/{folder}").json()["items"]
    assert call(server, "POST", f"trash/{item['id']}/restore").status_code == 200
    assert server.api("GET", f"{folder}/d/x.txt").json()["content"] == "x"


def test_a_taken_name_is_409_and_a_new_name_restores_beside_the_holder(server, lake, folder):
    path = f"{folder}/n.ipynb"
    old_ids = save_versions(server, path, notebook("old"))
    assert server.api("DELETE", path).status_code == 204
    new_ids = save_versions(server, path, notebook("new"))
    (item,) = call(server, "GET", f"trash/{folder}").json()["items"]
    taken = call(server, "POST", f"trash/{item['id']}/restore")
    assert taken.status_code == 409
    assert taken.json()["message"] == f"{path} exists: restore it under another name"
    assert call(server, "POST", f"trash/{item['id']}/restore", json={"name": "n.ipynb"}).status_code == 409
    answer = call(server, "POST", f"trash/{item['id']}/restore", json={"name": "n-old.ipynb"})
    assert answer.status_code == 200 and answer.json()["path"] == f"{folder}/n-old.ipynb"
    assert server.api("GET", f"{folder}/n-old.ipynb").json()["content"]["cells"][0]["source"] == "old"
    assert server.api("GET", path).json()["content"]["cells"][0]["source"] == "new"
    versions = call(server, "GET", f"versions/{quote(folder)}/n-old.ipynb").json()["versions"]
    assert [v["id"] for v in versions] == old_ids
    assert [v["id"] for v in call(server, "GET", f"versions/{quote(path)}").json()["versions"]] == new_ids
    names = [c["name"] for c in server.api("GET", folder).json()["content"]]
    assert sorted(names) == ["n-old.ipynb", "n.ipynb"]  # nothing left aside under a hidden name
    node_names = [p for p in lake.namespace.workspaces[WORKSPACE].nodes if p.startswith(f"{ROOT}/{folder}/.n")]
    assert node_names == []


def a_deletion_whose_name_is_taken(server, folder: str) -> tuple[str, dict]:
    """`<folder>/n.txt` deleted ("old"), then made again ("new"): its path and its trash item."""
    path = f"{folder}/n.txt"
    assert server.api("PUT", path, json={"type": "file", "format": "text", "content": "old"}).ok
    assert server.api("DELETE", path).status_code == 204
    assert server.api("PUT", path, json={"type": "file", "format": "text", "content": "new"}).ok
    (item,) = call(server, "GET", f"trash/{folder}").json()["items"]
    return path, item


def assert_holder_back(server, lake, folder: str, path: str) -> None:
    """After a failed restore under the name "other.txt": the file that held the name is back,
    nothing has the new name, and nothing is left at a hidden name aside."""
    assert server.api("GET", path).json()["content"] == "new"
    assert server.api("GET", f"{folder}/other.txt").status_code == 404
    assert [p for p in lake.namespace.workspaces[WORKSPACE].nodes if p.startswith(f"{ROOT}/{folder}/.n")] == []


def test_a_failed_undelete_puts_the_holder_back(server, lake, folder):
    path, item = a_deletion_whose_name_is_taken(server, folder)
    lake.set_faults(probability=1.0, kinds={"503": 1}, operations={"UndeleteBlob"})
    try:
        answer = call(server, "POST", f"trash/{item['id']}/restore", json={"name": "other.txt"})
    finally:
        lake.clear_faults()
    assert answer.status_code == 503
    assert_holder_back(server, lake, folder, path)
    assert len(call(server, "GET", f"trash/{folder}").json()["items"]) == 1


@pytest.mark.parametrize(
    ("where", "status"),
    [("not-base64!", 400), (None, 404), ("../outside.txt", 404), (".hidden/x.txt", 404), (".ipynb_checkpoints/x", 403)],
)
def test_bad_trash_ids_are_refused(server, lake, folder, where, status):
    token = where if where == "not-base64!" else item_token(where or f"{folder}/never.txt", "123", None)
    lake.reset_requests()
    answer = call(server, "POST", f"trash/{quote(token)}/restore")
    assert answer.status_code == status, answer.text
    assert "UndeleteBlob" not in operations(lake) or status == 404


def test_a_user_sees_only_their_own_deletions(lake, tmp_path):
    lake.add_user("carol")
    lake.add_user("dave")
    home = "Item.Lakehouse/Files/home"
    servers = {}
    try:
        for user in ("carol", "dave"):
            env = lake.info.environment(WORKSPACE, f"{home}/{user}", user)
            servers[user] = JupyterServer(lake.info, WORKSPACE, f"{home}/{user}", tmp_path / user, env=env).start()
        carol, dave = servers["carol"], servers["dave"]
        assert carol.api("PUT", "secret.txt", json={"type": "file", "format": "text", "content": "a"}).ok
        assert carol.api("DELETE", "secret.txt").status_code == 204
        assert dave.api("PUT", "mine.txt", json={"type": "file", "format": "text", "content": "b"}).ok
        assert dave.api("DELETE", "mine.txt").status_code == 204
        assert [i["name"] for i in call(dave, "GET", "trash/").json()["items"]] == ["mine.txt"]
        carols = call(carol, "GET", "trash/").json()["items"]
        assert [i["name"] for i in carols] == ["secret.txt"], carols
        (secret,) = carols
        stolen = call(dave, "POST", f"trash/{secret['id']}/restore")
        assert stolen.status_code == 404  # the same path in bob's own tree has no such deletion
    finally:
        for jupyter in servers.values():
            jupyter.stop()


def test_a_failed_rename_to_the_new_name_puts_everything_back(server, lake, folder):
    path, item = a_deletion_whose_name_is_taken(server, folder)
    lake.reset_requests()
    # renames: the holder aside and its versions folder go through, then the restored file's
    # rename to the new name fails (503 on the first try and on the server's 3 retries)
    lake.set_faults(script=["slow", "slow", "503", "503", "503", "503"], slow_seconds=0, operations={"RenamePath"})
    try:
        answer = call(server, "POST", f"trash/{item['id']}/restore", json={"name": "other.txt"})
    finally:
        lake.clear_faults()
    assert answer.status_code == 503
    assert_holder_back(server, lake, folder, path)
    assert len(lake.requests("UndeleteBlob")) == 1 and lake.requests("DeletePath") + lake.requests("DeleteBlob")
    # the restored file went back to the trash (a new deletion): it can be restored again
    (again,) = call(server, "GET", f"trash/{folder}").json()["items"]
    assert call(server, "POST", f"trash/{again['id']}/restore", json={"name": "other.txt"}).status_code == 200
    assert server.api("GET", f"{folder}/other.txt").json()["content"] == "old"


def test_a_browser_session_needs_the_xsrf_token_to_restore(server):
    browser = requests.Session()
    xsrf = browser.get(f"{server.url}/login", timeout=30).cookies.get("_xsrf")
    logged_in = browser.post(f"{server.url}/login", data={"password": server.token, "_xsrf": xsrf}, timeout=30)
    assert logged_in.ok
    route = f"{server.url}/onelake/api/trash/not-an-id/restore"
    assert browser.post(route, timeout=30).status_code == 403  # no XSRF token
    assert browser.post(route, headers={"X-XSRFToken": xsrf}, timeout=30).status_code == 400  # reached the handler
    assert browser.get(f"{server.url}/onelake/api/trash/", timeout=30).status_code == 200


def test_a_read_only_folder_lists_but_does_not_restore(lake, server, tmp_path):
    """A user's server on the shared folder (read for users): versions and trash list, restores
    are OneLake's 403 worded as the contents API words it."""
    lake.add_user("erin")
    shared = "Item.Lakehouse/Files/shared"
    admin = JupyterServer(lake.info, WORKSPACE, shared, tmp_path / "admin").start()
    try:
        (first,) = save_versions(admin, "s.txt", {"type": "file", "format": "text", "content": "shared"})
        assert admin.api("PUT", "gone.txt", json={"type": "file", "format": "text", "content": "x"}).ok
        assert admin.api("DELETE", "gone.txt").status_code == 204
    finally:
        admin.stop()
    env = lake.info.environment(WORKSPACE, shared, "erin")
    erin = JupyterServer(lake.info, WORKSPACE, shared, tmp_path / "erin", env=env).start()
    try:
        assert [v["id"] for v in call(erin, "GET", "versions/s.txt").json()["versions"]] == [first]
        restored = call(erin, "POST", f"versions/s.txt/{first}/restore")
        assert restored.status_code == 403
        assert restored.json()["message"] == "OneLake denied access to s.txt: read-only for you"
        (item,) = call(erin, "GET", "trash/").json()["items"]
        undeleted = call(erin, "POST", f"trash/{item['id']}/restore")
        assert undeleted.status_code == 403
        assert undeleted.json()["message"] == "OneLake denied access to gone.txt: read-only for you"
    finally:
        erin.stop()


def test_named_roots_each_have_versions_and_a_trash_and_the_top_shows_all(lake, tmp_path):
    roots = {"mine": f"{WORKSPACE}/{ROOT}/named-mine", "team": f"{WORKSPACE}/Item.Lakehouse/Files/named-team"}
    tree = JupyterServer(lake.info, WORKSPACE, ROOT, tmp_path / "tree", env={"ONELAKE_ROOTS": json.dumps(roots)})
    tree.start()
    try:
        (first,) = save_versions(tree, "team/n.ipynb", notebook("team work"))
        assert [v["id"] for v in call(tree, "GET", "versions/team/n.ipynb").json()["versions"]] == [first]
        assert tree.api("PUT", "mine/a.txt", json={"type": "file", "format": "text", "content": "a"}).ok
        assert tree.api("DELETE", "mine/a.txt").status_code == 204
        assert tree.api("DELETE", "team/n.ipynb").status_code == 204
        lake.reset_requests()
        top = call(tree, "GET", "trash/").json()["items"]
        assert [(i["path"], i["folder"], i["has_versions"]) for i in top] == [
            ("team/n.ipynb", "team", True),
            ("mine/a.txt", "mine", False),
        ]
        assert operations(lake) == ["ListBlobs", "ListBlobs"]  # one per root
        assert [i["path"] for i in call(tree, "GET", "trash/team").json()["items"]] == ["team/n.ipynb"]
        answer = call(tree, "POST", f"trash/{top[0]['id']}/restore")
        assert answer.status_code == 200 and answer.json()["path"] == "team/n.ipynb"
        assert [v["id"] for v in call(tree, "GET", "versions/team/n.ipynb").json()["versions"]] == [first]
        assert call(tree, "GET", "versions/nowhere/x.ipynb").status_code == 404
    finally:
        tree.stop()


def test_a_holder_that_cannot_come_back_is_named_and_kept(server, lake, folder):
    _, item = a_deletion_whose_name_is_taken(server, folder)
    # renames: the holder aside, its (absent) versions, the restored file to its new name, its
    # (absent) versions; then the holder's way back fails on every try
    script = ["slow"] * 4 + ["503"] * 4
    lake.set_faults(script=script, slow_seconds=0, operations={"RenamePath"})
    try:
        answer = call(server, "POST", f"trash/{item['id']}/restore", json={"name": "other.txt"})
    finally:
        lake.clear_faults()
    assert answer.status_code == 500
    (holder,) = [p for p in lake.namespace.workspaces[WORKSPACE].nodes if p.startswith(f"{ROOT}/{folder}/.n.txt.")]
    assert holder.rsplit("/", 1)[1] in answer.json()["message"]
    assert lake.namespace.workspaces[WORKSPACE].nodes[holder].data == b"new"  # nothing lost
    assert server.api("GET", f"{folder}/other.txt").json()["content"] == "old"

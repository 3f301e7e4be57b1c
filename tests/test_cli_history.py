"""`onelake-contents versions` and `trash` against the emulator: the same lake/ code as the
server's history API, --json and exit codes."""

from __future__ import annotations

import json

from nbformat.v4 import new_code_cell, new_notebook

from tests.test_cli import env, run, run_json, stored  # noqa: F401 - `env` is a fixture


def put(capsys, tmp_path, remote: str, content: str) -> None:
    local = tmp_path / "upload"
    local.write_text(content)
    assert run(capsys, "put", str(local), remote)[0] == 0


def versions_of(capsys, tmp_path, remote: str, *contents: str) -> list[str]:
    ids = []
    for content in contents:
        put(capsys, tmp_path, remote, content)
        code, made = run_json(capsys, "checkpoints", "create", remote)
        assert code == 0
        ids.append(made["id"])
    return ids


def test_versions_list_show_diff_restore(env, emulator, capsys, tmp_path):  # noqa: F811
    first, second = versions_of(capsys, tmp_path, "n.txt", "a\nb\n", "a\nc\n")
    code, listed = run_json(capsys, "versions", "list", "n.txt")
    assert code == 0 and [v["id"] for v in listed] == [second, first]  # newest first
    assert listed[0]["size"] == 4
    code, text = run(capsys, "versions", "show", "n.txt", first)
    assert code == 0 and text == "a\nb\n"
    code, out = run_json(capsys, "versions", "diff", "n.txt", first, second)
    assert code == 0 and "-b\n" in out["diff"] and "+c\n" in out["diff"]
    put(capsys, tmp_path, "n.txt", "a\nd\n")
    code, out = run_json(capsys, "versions", "restore", "n.txt", first)
    assert code == 0 and stored(emulator, "n.txt") == b"a\nb\n"
    code, _ = run_json(capsys, "versions", "restore", "n.txt", out["kept"])  # undo
    assert code == 0 and stored(emulator, "n.txt") == b"a\nd\n"
    code, out = run_json(capsys, "versions", "restore", "n.txt", second, "--copy", "--name", "old.txt")
    assert code == 0 and out["path"] == "old.txt" and stored(emulator, "old.txt") == b"a\nc\n"
    code, out = run_json(capsys, "versions", "show", "n.txt", "no-such")
    assert code == 1 and out["status"] == 404
    assert run(capsys, "versions", "show", "n.txt")[0] == 2
    assert run(capsys, "versions", "list", ".ipynb_checkpoints/n.txt")[0] == 2


def test_a_notebook_diff_is_cell_by_cell(env, emulator, capsys, tmp_path):  # noqa: F811
    def nb(*sources):
        return json.dumps(new_notebook(cells=[new_code_cell(s) for s in sources]))

    first, _ = versions_of(capsys, tmp_path, "n.ipynb", nb("keep", "gone"), nb("keep", "added"))
    code, text = run(capsys, "versions", "diff", "n.ipynb", first)
    assert code == 0
    assert "-gone" in text and "+added" in text and " keep" in text and "# [2] code" in text


def test_trash_list_and_restore(env, emulator, capsys, tmp_path):  # noqa: F811
    ids = versions_of(capsys, tmp_path, "d/n.txt", "v1", "v2")
    put(capsys, tmp_path, "d/sub/x.txt", "x")
    assert run(capsys, "rm", "d/n.txt")[0] == 0
    assert run(capsys, "rm", "-r", "d/sub")[0] == 0
    emulator.reset_requests()
    code, items = run_json(capsys, "trash", "list", "d")
    assert code == 0 and [r.operation for r in emulator.requests()] == ["ListBlobs"]
    assert [(i["path"], i["type"], i["has_versions"]) for i in items] == [
        ("d/sub", "directory", False),
        ("d/n.txt", "file", True),
    ]
    assert all(i["remaining_days"] == 7 for i in items)
    code, out = run_json(capsys, "trash", "restore", items[1]["id"])
    assert code == 0 and out["restored"] == "d/n.txt" and stored(emulator, "d/n.txt") == b"v2"
    code, listed = run_json(capsys, "versions", "list", "d/n.txt")
    assert [v["id"] for v in listed] == ids[::-1]
    put(capsys, tmp_path, "d/sub", "a file took the folder's name")
    code, out = run_json(capsys, "trash", "restore", items[0]["id"])
    assert code == 1 and out["status"] == 409 and "--name" in out["error"]
    code, out = run_json(capsys, "trash", "restore", items[0]["id"], "--name", "sub-restored")
    assert code == 0 and stored(emulator, "d/sub-restored/x.txt") == b"x"
    assert stored(emulator, "d/sub") == b"a file took the folder's name"
    code, out = run_json(capsys, "trash", "restore", "garbage!")
    assert code == 2 and out["status"] == 400

"""Large files: atomic chunked uploads through a real Jupyter Server, streamed downloads."""

from __future__ import annotations

import base64
import json
import uuid
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tests.conftest import WORKSPACE
from tests.manager.conftest import ROOT
from tests.servers import JupyterServer

CHUNK = 1024 * 1024


@pytest.fixture(scope="module")
def uploads_server(lake, tmp_path_factory):
    jupyter = JupyterServer(
        lake.info,
        WORKSPACE,
        ROOT,
        tmp_path_factory.mktemp("uploads"),
        "--OneLakeContentsManager.upload_timeout=3",
        env={"PYTHONPATH": str(Path(__file__).parents[2])},
        extensions={"tests.memory_probe": True},
    ).start()
    yield jupyter
    jupyter.stop()


def node(lake, path: str):
    return lake.namespace.workspaces[WORKSPACE].nodes.get(f"{ROOT}/{path}")


def put_chunk(server, path: str, data: bytes, chunk: int):
    return server.api(
        "PUT",
        path,
        json={"type": "file", "format": "base64", "chunk": chunk, "content": base64.b64encode(data).decode()},
    )


def upload(server, path: str, data: bytes, during=None) -> list:
    pieces = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
    responses = []
    for number, piece in enumerate(pieces, start=1):
        responses.append(put_chunk(server, path, piece, -1 if number == len(pieces) else number))
        assert responses[-1].status_code in (200, 201), responses[-1].text
        if during is not None:
            during(number)
    return responses


def traced(server) -> dict:
    """The server process's Python memory (tracemalloc), from the tests.memory_probe extension."""
    response = server.session.get(f"{server.url}/api/test-memory", timeout=10)
    response.raise_for_status()
    return response.json()


@contextmanager
def memory_tracing(server):
    """tracemalloc on in the server process for the block only (it slows other work a lot)."""
    server.session.put(f"{server.url}/api/test-memory", timeout=10).raise_for_status()
    try:
        yield
    finally:
        server.session.delete(f"{server.url}/api/test-memory", params={"stop": 1}, timeout=10).raise_for_status()


def test_50_mib_upload_is_atomic_exact_and_bounded(uploads_server, lake):
    server = uploads_server
    path = f"up-{uuid.uuid4().hex[:6]}/big.bin"
    server.api("PUT", path.split("/")[0], json={"type": "directory"})
    server.api("PUT", path, json={"type": "file", "format": "text", "content": "previous version"})
    data = bytes(range(256)) * (50 * CHUNK // 256)
    upload(server, f"{path}.warm", data[: 3 * CHUNK])  # imports, connections and token in place

    def peak_growth_mib(action) -> float:
        with memory_tracing(server):
            assert traced(server)["tracing"]
            before = traced(server)["current"]
            action()
            return (traced(server)["peak"] - before) / 2**20

    small = peak_growth_mib(lambda: upload(server, f"{path}.small", data[: 5 * CHUNK]))
    lake.reset_requests()
    responses = []

    def still_old(number: int) -> None:
        if number in (1, 25, 49):
            assert server.files(path).content == b"previous version"

    big = peak_growth_mib(lambda: responses.extend(upload(server, path, data, during=still_old)))
    records = [r for r in lake.requests() if r.operation in ("PutBlock", "PutBlockList", "RenamePath")]
    assert node(lake, path).data == data
    # K pieces: K Put Block, one Put Block List, one rename (± the /files/ reads above)
    assert len(records) == 50 + 2
    # One piece in flight at a time: the peak does not grow with the file (tornado alone buffers a
    # 1 MiB piece's ~1.4 MB JSON body about four times over before our code sees it).
    assert big < 12, f"server peak memory grew {big:.1f} MiB for a 50 MiB upload"
    assert big < small + 2, f"peak grew with the file: {small:.1f} MiB for 5 MiB, {big:.1f} MiB for 50 MiB"
    final = responses[-1].json()
    assert final["size"] == len(data) and final["path"] == path
    model = server.api("GET", path, params={"content": 0, "hash": 1})
    assert model.json()["size"] == len(data)
    assert lake.namespace.workspaces[WORKSPACE].nodes[f"{ROOT}/{path}"].metadata["onelake_contents_sha256"]


def test_abandoned_upload_leaves_nothing_and_expires(uploads_server, lake):
    server = uploads_server
    folder = f"ab-{uuid.uuid4().hex[:6]}"
    server.api("PUT", folder, json={"type": "directory"})
    for number in (1, 2, 3):
        assert put_chunk(server, f"{folder}/half.bin", b"x" * CHUNK, number).status_code in (200, 201)
    listing = server.api("GET", folder).json()["content"]
    assert listing == []
    assert server.api("GET", f"{folder}/half.bin").status_code == 404
    import time

    time.sleep(3.5)
    late = put_chunk(server, f"{folder}/half.bin", b"x" * CHUNK, 4)
    assert late.status_code == 400 and "upload it again" in late.json()["message"]
    assert server.api("GET", folder).json()["content"] == []


def test_a_chunk_numbered_lower_than_the_one_before_is_400_and_a_new_first_chunk_restarts(uploads_server, lake):
    server = uploads_server
    path = f"ooo-{uuid.uuid4().hex[:6]}.bin"
    assert put_chunk(server, path, b"a" * 10, 1).status_code in (200, 201)
    assert put_chunk(server, path, b"c" * 10, 3).status_code in (200, 201)  # numbers may skip
    bad = put_chunk(server, path, b"b" * 10, 2)
    assert bad.status_code == 400 and "piece 2 arrived out of order, after piece 3" in bad.json()["message"]
    assert put_chunk(server, path, b"z" * 10, 4).status_code == 400  # the upload was dropped
    assert node(lake, path) is None
    put_chunk(server, path, b"1" * 10, 1)
    put_chunk(server, path, b"2" * 10, 2)
    assert put_chunk(server, path, b"3" * 5, -1).status_code in (200, 201)
    assert node(lake, path).data == b"1" * 10 + b"2" * 10 + b"3" * 5
    after = put_chunk(server, path, b"4" * 5, 3)
    assert after.status_code == 400 and "after the last piece (-1)" in after.json()["message"]
    assert node(lake, path).data == b"1" * 10 + b"2" * 10 + b"3" * 5


async def test_chunks_numbered_1_1_2_2_last_last_make_the_file_largefilemanager_makes(uploads_server, lake, tmp_path):
    """jupyter_server's own test of LargeFileManager sends each number twice: 1 starts over, any
    other number appends, even a second -1 (to the file the first one completed)."""
    from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

    server = uploads_server
    path = f"twice-{uuid.uuid4().hex[:6]}.bin"
    pieces = [(1, b"lost "), (1, b"one "), (2, b"two "), (2, b"two again "), (-1, b"last "), (-1, b"last again")]
    reference = AsyncLargeFileManager(root_dir=str(tmp_path))
    lake.reset_requests()
    for number, data in pieces:
        model = {"type": "file", "format": "base64", "chunk": number, "content": base64.b64encode(data).decode()}
        await reference.save(dict(model), "reference.bin")
        answer = server.api("PUT", path, json=model)
        assert answer.status_code in (200, 201), answer.text
        if data == b"last ":  # the first last piece published the file
            assert node(lake, path).data == b"one two two again last "
    expected = (tmp_path / "reference.bin").read_bytes()
    assert expected == b"one two two again last last again"
    assert node(lake, path).data == expected
    operations = [
        r.operation for r in lake.requests() if r.operation in ("GetBlob", "PutBlock", "PutBlockList", "RenamePath")
    ]
    # five pieces staged and published; then the published file read back, staged with the sixth
    published, appended = (
        ["PutBlockList", "RenamePath"],
        ["GetBlob", "PutBlock", "PutBlock", "PutBlockList", "RenamePath"],
    )
    assert operations == ["PutBlock"] * 5 + published + appended
    opened = server.api("GET", path, params={"format": "base64"}).json()
    assert base64.b64decode(opened["content"]) == expected


def test_a_last_chunk_after_the_file_changed_in_onelake_is_409(uploads_server, lake):
    server = uploads_server
    path = f"moved-{uuid.uuid4().hex[:6]}.bin"
    assert put_chunk(server, path, b"a", 1).status_code in (200, 201)
    assert put_chunk(server, path, b"b", -1).status_code in (200, 201)
    lake.namespace.write_file(lake.namespace.workspaces[WORKSPACE], f"{ROOT}/{path}", b"someone else's")
    late = put_chunk(server, path, b"c", -1)
    assert late.status_code == 409 and "changed in OneLake since its upload was published" in late.json()["message"]
    assert node(lake, path).data == b"someone else's"
    assert put_chunk(server, path, b"d", -1).status_code == 400  # nothing left to append to


def test_chunk_abuse_is_400(uploads_server, lake):
    server = uploads_server
    path = f"abuse-{uuid.uuid4().hex[:6]}.bin"
    assert (
        server.api("PUT", path, json={"type": "file", "format": "base64", "chunk": 0, "content": ""}).status_code == 400
    )
    assert (
        server.api("PUT", path, json={"type": "file", "format": "base64", "chunk": "1", "content": ""}).status_code
        == 400
    )
    assert (
        server.api("PUT", path, json={"type": "file", "format": "base64", "chunk": 1, "content": "%%%"}).status_code
        == 400
    )
    assert put_chunk(server, path, b"x", -1).status_code == 400
    # jupyter_server's LargeFileManager's answers, word for word (over an existing file: for a new
    # path jupyter_server's handler fills in a missing type and content before any manager runs)
    existing = f"existing-{uuid.uuid4().hex[:6]}.bin"
    assert server.api("PUT", existing, json={"type": "file", "format": "text", "content": "kept"}).ok
    for model, message in (
        ({"format": "base64", "chunk": 1, "content": ""}, "No file type provided"),
        (
            {"type": "notebook", "chunk": 1, "content": {}},
            'File type "notebook" is not supported for large file transfer',
        ),
        ({"type": "file", "format": "base64", "chunk": 1}, "No file content provided"),
        (
            {"type": "file", "format": "json", "chunk": 1, "content": "x"},
            "Must specify format of file contents as 'text' or 'base64'",
        ),
    ):
        answer = server.api("PUT", existing, json=model)
        assert answer.status_code == 400 and answer.json()["message"] == message
    assert node(lake, existing).data == b"kept"
    assert node(lake, path) is None


def test_text_chunks_are_taken_like_base64_ones(uploads_server, lake):
    server = uploads_server
    path = f"text-{uuid.uuid4().hex[:6]}.txt"
    first = server.api("PUT", path, json={"type": "file", "format": "text", "chunk": 1, "content": "héllo "})
    assert first.status_code in (200, 201)
    assert put_chunk(server, path, b"world", -1).status_code in (200, 201)
    assert node(lake, path).data == "héllo world".encode()


def test_20_mib_notebook_upload_opens_as_notebook(uploads_server, lake):
    server = uploads_server
    cells = [new_code_cell("# " + "x" * 1000 + f"\nprint({i})") for i in range(20 * 1024)]
    data = nbformat.writes(new_notebook(cells=cells)).encode()
    assert len(data) > 20 * CHUNK
    path = f"nb-{uuid.uuid4().hex[:6]}.ipynb"
    final = upload(server, path, data)[-1].json()
    assert final["type"] == "notebook"
    opened = server.api("GET", path).json()
    assert opened["type"] == "notebook" and len(opened["content"]["cells"]) == 20 * 1024
    assert "".join(json.loads(node(lake, path).data)["cells"][5]["source"]).endswith("print(5)")


def test_200_mib_file_downloads_a_range(uploads_server, lake):
    server = uploads_server
    path = f"huge-{uuid.uuid4().hex[:6]}.bin"
    data = bytes(range(256)) * (200 * CHUNK // 256)
    lake.namespace.write_file(lake.namespace.workspaces[WORKSPACE], f"{ROOT}/{path}", data)
    lake.reset_requests()
    start = 150 * CHUNK + 17
    response = server.files(path, headers={"Range": f"bytes={start}-{start + 99_999}"})
    assert response.status_code == 206
    assert response.content == data[start : start + 100_000]
    assert response.headers["Content-Range"] == f"bytes {start}-{start + 99_999}/{len(data)}"
    assert sum(r.bytes_out for r in lake.requests("GetBlob")) < 2 * CHUNK
    assert server.api("GET", path).status_code == 413


def test_an_upload_that_cannot_be_published_leaves_no_staged_file(uploads_server, lake):
    server = uploads_server
    folder = f"busy-{uuid.uuid4().hex[:6]}"
    assert server.api("PUT", f"{folder}/inside.txt", json={"type": "file", "format": "text", "content": "x"}).ok
    assert put_chunk(server, folder, b"a" * 10, 1).status_code in (200, 201)
    refused = put_chunk(server, folder, b"b" * 10, -1)
    assert refused.status_code == 409  # a folder that is not empty is in the way
    staged = [p for p in lake.namespace.workspaces[WORKSPACE].nodes if ".onelake-uploads~/" in p and f"/{folder}." in p]
    assert staged == []
    assert node(lake, f"{folder}/inside.txt").data == b"x"


def test_requests_of_a_chunked_upload_to_a_new_name_in_a_listed_folder(uploads_server, lake):
    """K pieces, one Put Block List, one rename, and one HEAD confirming the name the folder's
    listing lacks (jupyter_server's handler asks whether the file exists): K + 3; K + 2 over a
    file that is there."""
    server = uploads_server
    folder = f"count-{uuid.uuid4().hex[:6]}"
    server.api("PUT", folder, json={"type": "directory"})
    upload(server, f"{folder}/first.bin", b"w" * (2 * CHUNK))  # the folder's staging area swept once
    assert server.api("GET", folder).status_code == 200  # listed, as the file browser shows it
    lake.reset_requests()
    upload(server, f"{folder}/new.bin", b"n" * (3 * CHUNK))
    assert [r.operation for r in lake.requests()] == [
        "GetBlobProperties",
        *["PutBlock"] * 3,
        "PutBlockList",
        "RenamePath",
    ]
    lake.reset_requests()
    upload(server, f"{folder}/new.bin", b"m" * (3 * CHUNK))  # over the file: nothing to confirm
    assert [r.operation for r in lake.requests()] == [*["PutBlock"] * 3, "PutBlockList", "RenamePath"]

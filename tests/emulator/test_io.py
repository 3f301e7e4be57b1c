"""Reads and writes: append/flush, ranged GET, Put Blob, Put Block List, with their conditions."""

from __future__ import annotations

import base64
import hashlib

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobBlock, BlobServiceClient, ContentSettings

from tests.conftest import FILES, WORKSPACE


# ---- DFS append / flush ------------------------------------------------------------------------
def test_upload_data_is_create_append_flush(fs, emulator):
    emulator.reset_requests()
    fs.get_file_client(f"{FILES}/u.txt").upload_data(b"hello world", overwrite=True)
    assert [r.operation for r in emulator.requests()] == ["CreatePath", "AppendData", "FlushData"]


def test_appends_become_visible_only_at_flush(fs):
    f = fs.get_file_client(f"{FILES}/af.txt")
    f.create_file()
    f.append_data(b"abc", offset=0, length=3)
    f.append_data(b"def", offset=3, length=3)
    assert f.get_file_properties().size == 0
    f.flush_data(6)
    assert f.download_file().readall() == b"abcdef"
    f.append_data(b"gh", offset=6, length=2)
    f.flush_data(8)
    assert f.download_file().readall() == b"abcdefgh"


def test_flush_at_a_gap_is_invalid_flush_position(fs):
    f = fs.get_file_client(f"{FILES}/gap.txt")
    f.create_file()
    f.append_data(b"abc", offset=0, length=3)
    f.append_data(b"xyz", offset=10, length=3)
    with pytest.raises(HttpResponseError) as info:
        f.flush_data(13)
    assert info.value.status_code == 400
    assert info.value.error_code == "InvalidFlushPosition"
    with pytest.raises(HttpResponseError):
        f.flush_data(5)
    assert f.get_file_properties().size == 0


def test_flush_with_stale_if_match_is_412_and_changes_nothing(fs):
    f = fs.get_file_client(f"{FILES}/fc.txt")
    etag = f.create_file()["etag"]
    f.set_metadata({"bump": "1"})
    f.append_data(b"abc", offset=0, length=3)
    with pytest.raises(ResourceModifiedError):
        f.flush_data(3, etag=etag, match_condition=MatchConditions.IfNotModified)
    assert f.download_file().readall() == b""


def test_append_to_missing_file_is_404(fs):
    with pytest.raises(ResourceNotFoundError):
        fs.get_file_client(f"{FILES}/nofile").append_data(b"x", offset=0, length=1)


# ---- ranged GET ----------------------------------------------------------------------------------
def test_ranged_read_returns_only_the_range(container, emulator):
    data = bytes(range(256)) * 1000
    blob = container.get_blob_client(f"{FILES}/range.bin")
    blob.upload_blob(data)
    emulator.reset_requests()
    assert blob.download_blob(offset=1000, length=500).readall() == data[1000:1500]
    (get,) = emulator.requests()
    assert (get.operation, get.status, get.bytes_out) == ("GetBlob", 206, 500)


def test_read_returns_content_headers(container):
    blob = container.get_blob_client(f"{FILES}/h.ipynb")
    blob.upload_blob(
        b"{}", content_settings=ContentSettings(content_type="application/x-ipynb+json"), metadata={"k": "v"}
    )
    downloader = blob.download_blob()
    assert downloader.readall() == b"{}"
    props = downloader.properties
    assert props.content_settings.content_type == "application/x-ipynb+json"
    assert props.metadata == {"k": "v"}
    assert props.etag and props.last_modified and props.creation_time
    assert props.size == 2


def test_empty_file_read_is_416_then_full_get(fs, emulator):
    f = fs.get_file_client(f"{FILES}/empty.txt")
    f.create_file()
    emulator.reset_requests()
    assert f.download_file().readall() == b""
    assert [(r.operation, r.status) for r in emulator.requests()] == [("GetBlob", 416), ("GetBlob", 200)]
    assert emulator.requests()[0].error_code == "InvalidRange"


def test_if_none_match_current_etag_is_304(container):
    blob = container.get_blob_client(f"{FILES}/cond.txt")
    etag = blob.upload_blob(b"abc")["etag"]
    # Azure answers 304 with x-ms-error-code ConditionNotMet; the SDK raises that as ResourceModifiedError.
    with pytest.raises(ResourceModifiedError) as info:
        blob.download_blob(etag=etag, match_condition=MatchConditions.IfModified)
    assert info.value.status_code == 304
    blob.upload_blob(b"new", overwrite=True)
    assert blob.download_blob(etag=etag, match_condition=MatchConditions.IfModified).readall() == b"new"


def test_read_with_stale_if_match_is_412(container):
    blob = container.get_blob_client(f"{FILES}/cond2.txt")
    etag = blob.upload_blob(b"abc")["etag"]
    blob.upload_blob(b"def", overwrite=True)
    with pytest.raises(ResourceModifiedError):
        blob.download_blob(etag=etag, match_condition=MatchConditions.IfNotModified)


def test_read_missing_is_404(container):
    with pytest.raises(ResourceNotFoundError) as info:
        container.get_blob_client(f"{FILES}/missing").download_blob()
    assert info.value.error_code == "BlobNotFound"


# ---- Put Blob ------------------------------------------------------------------------------------
def test_put_blob_is_one_request_and_returns_md5(container, emulator):
    data = b"x" * 12345
    emulator.reset_requests()
    result = container.get_blob_client(f"{FILES}/p.bin").upload_blob(data)
    assert [r.operation for r in emulator.requests()] == ["PutBlob"]
    assert bytes(result["content_md5"]) == hashlib.md5(data).digest()


def test_put_blob_if_none_match_star_on_existing_is_409(container):
    blob = container.get_blob_client(f"{FILES}/once.txt")
    blob.upload_blob(b"first")
    with pytest.raises(ResourceExistsError) as info:
        blob.upload_blob(b"second", overwrite=False)
    assert info.value.error_code == "BlobAlreadyExists"
    assert blob.download_blob().readall() == b"first"


def test_put_blob_with_stale_if_match_is_412_and_keeps_content(container):
    blob = container.get_blob_client(f"{FILES}/cas.txt")
    first = blob.upload_blob(b"v1")["etag"]
    second = blob.upload_blob(b"v2", overwrite=True, etag=first, match_condition=MatchConditions.IfNotModified)["etag"]
    with pytest.raises(ResourceModifiedError):
        blob.upload_blob(b"v3", overwrite=True, etag=first, match_condition=MatchConditions.IfNotModified)
    assert blob.download_blob().readall() == b"v2"
    assert blob.get_blob_properties().etag == second


def test_put_blob_may_overwrite_a_dfs_created_file(fs, container):
    fs.get_file_client(f"{FILES}/dfs.txt").upload_data(b"from dfs", overwrite=True)
    container.get_blob_client(f"{FILES}/dfs.txt").upload_blob(b"from blob", overwrite=True)
    assert fs.get_file_client(f"{FILES}/dfs.txt").download_file().readall() == b"from blob"


def test_put_blob_onto_directory_is_409(fs, container):
    fs.get_directory_client(f"{FILES}/isdir").create_directory()
    with pytest.raises(HttpResponseError) as info:
        container.get_blob_client(f"{FILES}/isdir").upload_blob(b"x", overwrite=True)
    assert info.value.status_code == 409


def test_put_blob_creates_parent_directories(container, fs):
    container.get_blob_client(f"{FILES}/new/parent/x.txt").upload_blob(b"x")
    assert fs.get_directory_client(f"{FILES}/new/parent").get_directory_properties().metadata["hdi_isfolder"] == "true"


def test_put_blob_with_wrong_transactional_md5_is_400(container):
    blob = container.get_blob_client(f"{FILES}/md5.txt")
    with pytest.raises(HttpResponseError) as info:
        blob.upload_blob(b"abc", headers={"Content-MD5": base64.b64encode(hashlib.md5(b"xyz").digest()).decode()})
    assert info.value.status_code == 400
    assert not blob.exists()


# ---- Put Block / Put Block List ------------------------------------------------------------------
def test_block_list_commits_blocks_in_order(container):
    blob = container.get_blob_client(f"{FILES}/blocks.bin")
    ids = [base64.b64encode(f"block-{i:04d}".encode()).decode() for i in range(3)]
    for i, block_id in enumerate(ids):
        blob.stage_block(block_id, f"part{i};".encode())
    assert not blob.exists()
    blob.commit_block_list([BlobBlock(block_id=b) for b in reversed(ids)])
    assert blob.download_blob().readall() == b"part2;part1;part0;"
    committed, _ = blob.get_block_list("committed")
    assert [b.id for b in committed] == list(reversed(ids))


def test_block_list_refuses_to_overwrite_dfs_created_file(fs, container):
    fs.get_file_client(f"{FILES}/dfsfile").upload_data(b"dfs", overwrite=True)
    blob = container.get_blob_client(f"{FILES}/dfsfile")
    block_id = base64.b64encode(b"b1").decode()
    blob.stage_block(block_id, b"blocks")
    with pytest.raises(HttpResponseError) as info:
        blob.commit_block_list([BlobBlock(block_id=block_id)])
    assert info.value.status_code == 409
    assert blob.download_blob().readall() == b"dfs"


def test_large_upload_through_blocks(emulator, credential):
    data = bytes(range(256)) * (5 * 4096)  # 5 MiB
    service = BlobServiceClient(
        emulator.endpoint,
        credential=credential,
        connection_verify=emulator.ca_file,
        max_single_put_size=1024 * 1024,
        max_block_size=1024 * 1024,
    )
    blob = service.get_blob_client(WORKSPACE, f"{FILES}/big.bin")
    emulator.reset_requests()
    blob.upload_blob(data)
    ops = [r.operation for r in emulator.requests()]
    assert ops.count("PutBlock") == 5 and ops[-1] == "PutBlockList"
    assert blob.download_blob().readall() == data


# ---- the aio clients -----------------------------------------------------------------------------
async def test_async_clients_write_list_read_rename_delete(async_fs, async_container):
    f = async_fs.get_file_client(f"{FILES}/async/a.txt")
    await f.upload_data(b"async", overwrite=True)
    blob = async_container.get_blob_client(f"{FILES}/async/b.txt")
    await blob.upload_blob(b"blob")
    names = [p.name async for p in async_fs.get_paths(f"{FILES}/async", recursive=False)]
    assert names == [f"{FILES}/async/a.txt", f"{FILES}/async/b.txt"]
    assert await (await blob.download_blob()).readall() == b"blob"
    moved = await f.rename_file(f"ws/{FILES}/async/c.txt")
    assert await (await moved.download_file()).readall() == b"async"
    await async_fs.get_directory_client(f"{FILES}/async").delete_directory()
    assert [p.name async for p in async_fs.get_paths(FILES)] == []

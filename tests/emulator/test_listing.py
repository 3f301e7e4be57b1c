"""List Paths (DFS) and List Blobs (Blob): shapes, paging, continuation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from azure.core.exceptions import ResourceNotFoundError

from tests.conftest import FILES, ITEM


def _make(fs, paths):
    for p in paths:
        if p.endswith("/"):
            fs.get_directory_client(f"{FILES}/{p.rstrip('/')}").create_directory()
        else:
            fs.get_file_client(f"{FILES}/{p}").upload_data(p.encode(), overwrite=True)


def test_non_recursive_listing_is_one_level_in_order(fs, emulator):
    _make(fs, ["b.txt", "a/", "a/x.txt", "c/", "c/d/", "c/d/e.txt"])
    emulator.reset_requests()
    entries = list(fs.get_paths(FILES, recursive=False))
    assert [(p.name, p.is_directory) for p in entries] == [
        (f"{FILES}/a", True),
        (f"{FILES}/b.txt", False),
        (f"{FILES}/c", True),
    ]
    assert [r.operation for r in emulator.requests()] == ["ListPaths"]


def test_recursive_listing_is_depth_first_without_duplicates(fs):
    _make(fs, ["a/", "a/x.txt", "a-b.txt", "c/d/e.txt"])
    names = [p.name[len(FILES) + 1 :] for p in fs.get_paths(FILES, recursive=True)]
    assert names == ["a", "a/x.txt", "a-b.txt", "c", "c/d", "c/d/e.txt"]
    assert len(names) == len(set(names))


def test_listing_entries_carry_size_times_and_etag(fs):
    before = datetime.now(UTC).replace(microsecond=0)
    fs.get_file_client(f"{FILES}/sized.bin").upload_data(b"x" * 1234, overwrite=True)
    (entry,) = fs.get_paths(FILES)
    props = fs.get_file_client(f"{FILES}/sized.bin").get_file_properties()
    assert entry.content_length == 1234
    assert entry.etag and props.etag.strip('"') == entry.etag.strip('"')
    assert entry.creation_time >= before
    assert entry.last_modified.replace(tzinfo=UTC) >= before  # the SDK gives it naive (UTC)
    assert entry.last_modified.replace(tzinfo=UTC) == props.last_modified


def test_listing_a_missing_directory_is_404(fs):
    with pytest.raises(ResourceNotFoundError):
        list(fs.get_paths(f"{FILES}/nope"))


def test_listing_the_workspace_shows_items(fs):
    assert [(p.name, p.is_directory) for p in fs.get_paths(recursive=False)] == [(ITEM, True)]
    assert [p.name for p in fs.get_paths(ITEM)] == [f"{ITEM}/Files", f"{ITEM}/Tables"]


def test_max_results_pages_with_continuation(fs, emulator):
    _make(fs, [f"f{i:02d}.txt" for i in range(25)])
    emulator.reset_requests()
    pages = list(fs.get_paths(FILES, max_results=10).by_page())
    names = [p.name for page in pages for p in page]
    assert len(names) == 25 and len(set(names)) == 25
    assert names == sorted(names)
    assert [r.operation for r in emulator.requests()] == ["ListPaths"] * 3


async def test_paging_past_5000_entries(async_fs, emulator):
    semaphore = asyncio.Semaphore(32)

    async def create(i):
        async with semaphore:
            await async_fs.get_file_client(f"{FILES}/many/f{i:05d}").create_file()

    await asyncio.gather(*(create(i) for i in range(5100)))
    emulator.reset_requests()
    names = [p.name async for p in async_fs.get_paths(f"{FILES}/many", recursive=False)]
    assert len(names) == 5100 and len(set(names)) == 5100
    requests = emulator.requests()
    assert [r.operation for r in requests] == ["ListPaths", "ListPaths"]
    # a page holds at most 5,000 entries
    assert requests[0].bytes_out > requests[1].bytes_out


# ---- List Blobs ----------------------------------------------------------------------------------
def test_list_blobs_without_delimiter_includes_directories(fs, container):
    _make(fs, ["d/", "d/f.txt"])
    names = [b.name for b in container.list_blobs(name_starts_with=f"{FILES}/")]
    assert names == [f"{FILES}/d", f"{FILES}/d/f.txt"]


def test_list_blobs_with_delimiter_gives_prefixes(fs, container):
    _make(fs, ["d/", "d/f.txt", "e/", "top.txt"])
    items = [(b.name, type(b).__name__) for b in container.walk_blobs(name_starts_with=f"{FILES}/", delimiter="/")]
    assert (f"{FILES}/d/", "BlobPrefix") in items
    assert (f"{FILES}/top.txt", "BlobProperties") in items
    assert (f"{FILES}/e", "BlobProperties") in items
    assert (f"{FILES}/e/", "BlobPrefix") not in items  # empty directory: no prefix under it


def test_list_blobs_metadata_marks_directories(fs, container):
    _make(fs, ["dir/", "file.txt"])
    meta = {b.name: b.metadata for b in container.list_blobs(name_starts_with=f"{FILES}/", include=["metadata"])}
    assert meta[f"{FILES}/dir"] == {"hdi_isfolder": "true"}
    assert not meta[f"{FILES}/file.txt"]


def test_list_blobs_pages(fs, container, emulator):
    _make(fs, [f"p{i:02d}.txt" for i in range(12)])
    emulator.reset_requests()
    pages = list(container.list_blobs(name_starts_with=f"{FILES}/p", results_per_page=5).by_page())
    assert [len(list(page)) for page in pages] == [5, 5, 2]
    assert len(emulator.requests("ListBlobs")) == 3


def test_list_blobs_with_delimiter_pages_without_repeating_prefixes(fs, container):
    _make(fs, [f"g{i}/x.txt" for i in range(7)])
    pages = container.walk_blobs(name_starts_with=f"{FILES}/", delimiter="/", results_per_page=3).by_page()
    names = [b.name for page in pages for b in page]
    assert len(names) == len(set(names)) == 14  # 7 directory blobs + 7 prefixes

"""OneLakeStore.list_deleted / undelete: OneLake's soft delete through the Blob API, one List
Blobs per page of deletions and one Undelete Blob per restore."""

from __future__ import annotations

import pytest

from onelake_contents.credential import AsyncBrokerCredential
from onelake_contents.emulator import Emulator
from onelake_contents.storage import AlreadyExists, NotFound, OneLakeStore
from onelake_contents.storage import deleted as deleted_module

FILES = "Item.Lakehouse/Files"


@pytest.fixture
def lake():
    with Emulator({"ws": ["Item.Lakehouse"]}) as emulator:
        yield emulator


@pytest.fixture
async def store(lake):
    credential = AsyncBrokerCredential(lake.broker_url, client_token=lake.broker_token, ca_file=lake.ca_file)
    store = OneLakeStore(lake.endpoint, "ws", credential, ca_file=lake.ca_file, retry_total=0)
    yield store
    await store.close()


async def test_deletions_below_a_folder_are_one_request_with_ids_sizes_and_days(lake, store):
    await store.write(f"{FILES}/a/n.ipynb", b"12345")
    await store.write(f"{FILES}/a/d/x.txt", b"x")
    await store.write(f"{FILES}/other.txt", b"o")
    await store.delete(f"{FILES}/a/n.ipynb", recursive=False)
    await store.delete(f"{FILES}/a/d", recursive=True)
    await store.delete(f"{FILES}/other.txt", recursive=False)
    lake.reset_requests()
    found = await store.list_deleted(f"{FILES}/a")
    assert [r.operation for r in lake.requests()] == ["ListBlobs"]
    assert [(d.path, d.is_dir, d.size, d.remaining_days) for d in found] == [
        (f"{FILES}/a/d", True, 0, 7),
        (f"{FILES}/a/n.ipynb", False, 5, 7),
    ]
    assert all(d.deletion_id and d.deleted.tzinfo is not None for d in found)


async def test_many_deletions_are_one_request_per_page(lake, store, monkeypatch):
    monkeypatch.setattr(deleted_module, "PAGE", 2)
    for i in range(5):
        await store.write(f"{FILES}/f{i}", b"x")
        await store.delete(f"{FILES}/f{i}", recursive=False)
    lake.reset_requests()
    assert [d.name for d in await store.list_deleted(FILES)] == [f"f{i}" for i in range(5)]
    assert [r.operation for r in lake.requests()] == ["ListBlobs"] * 3


async def test_undelete_restores_the_deletion_named_by_its_id(lake, store):
    for content in (b"one", b"two"):
        await store.write(f"{FILES}/a.txt", content)
        await store.delete(f"{FILES}/a.txt", recursive=False)
    first, second = await store.list_deleted(FILES)
    lake.reset_requests()
    await store.undelete(first.path, first.deletion_id)
    assert [r.operation for r in lake.requests()] == ["UndeleteBlob"]
    assert (await store.read(f"{FILES}/a.txt")).data == b"one"
    with pytest.raises(AlreadyExists):
        await store.undelete(second.path, second.deletion_id)
    with pytest.raises(NotFound):
        await store.undelete(first.path, first.deletion_id)  # restored already
    await store.delete(f"{FILES}/a.txt", recursive=False)
    await store.undelete(f"{FILES}/a.txt")  # no id: the newest deletion
    assert (await store.read(f"{FILES}/a.txt")).data == b"one"


async def test_a_name_with_spaces_and_percent_signs_is_restored(store):
    path = f"{FILES}/R&D 50%41 #1.txt"
    await store.write(path, b"odd")
    await store.delete(path, recursive=False)
    (item,) = await store.list_deleted(FILES)
    assert item.path == path
    await store.undelete(item.path, item.deletion_id)
    assert (await store.read(path)).data == b"odd"

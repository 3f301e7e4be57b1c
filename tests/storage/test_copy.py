"""OneLakeStore.copy_from: OneLake copies a file server side, within or across workspaces on one
connection, with no bytes through the server; the destination appears whole or not at all."""

from __future__ import annotations

import pytest

from onelake_contents.credential import AsyncBrokerCredential
from onelake_contents.emulator import Emulator
from onelake_contents.storage import AlreadyExists, NotFound, OneLakeStore
from onelake_contents.storage import store as store_module

SALES, TEAM = "Sales.Lakehouse/Files", "Team.Lakehouse/Files"


@pytest.fixture
def lake():
    with Emulator({"sales": ["Sales.Lakehouse"], "analytics": ["Team.Lakehouse"]}) as emulator:
        yield emulator


@pytest.fixture
async def stores(lake):
    credential = AsyncBrokerCredential(lake.broker_url, client_token=lake.broker_token, ca_file=lake.ca_file)
    sales = OneLakeStore(lake.endpoint, "sales", credential, ca_file=lake.ca_file, retry_total=0)
    analytics = sales.sibling("analytics")
    yield sales, analytics
    await analytics.close()
    await sales.close()


async def test_a_file_is_copied_to_another_workspace_in_one_request(lake, stores):
    sales, analytics = stores
    data = b"q3," * 100_000
    await sales.write(f"{SALES}/q3.csv", data)
    lake.reset_requests()
    entry = await analytics.copy_from(sales, f"{SALES}/q3.csv", f"{TEAM}/q3.csv", size=len(data), metadata={"m": "1"})
    assert entry.size == len(data) and entry.etag
    assert [(r.operation, r.workspace, r.bytes_in) for r in lake.requests()] == [("PutBlobFromURL", "analytics", 0)]
    blob = await analytics.read(f"{TEAM}/q3.csv")
    assert blob.data == data and blob.metadata == {"m": "1"}
    with pytest.raises(AlreadyExists):
        await analytics.copy_from(sales, f"{SALES}/q3.csv", f"{TEAM}/q3.csv", size=len(data))
    with pytest.raises(NotFound):
        await analytics.copy_from(sales, f"{SALES}/missing.csv", f"{TEAM}/m.csv", size=1)
    assert lake.tls_handshakes() <= 2  # one pool for both workspaces


async def test_a_file_over_put_blob_from_urls_limit_is_copied_in_blocks(lake, stores, monkeypatch):
    monkeypatch.setattr(store_module, "MAX_PUT_BLOB", 1024)
    monkeypatch.setattr(store_module, "COPY_BLOCK", 4096)
    sales, analytics = stores
    data = bytes(range(256)) * 40  # 10,240 bytes: three blocks
    await sales.write(f"{SALES}/big.bin", data)
    lake.reset_requests()
    await analytics.copy_from(sales, f"{SALES}/big.bin", f"{TEAM}/big.bin", size=len(data))
    assert [r.operation for r in lake.requests()] == ["PutBlockFromURL"] * 3 + ["PutBlockList"]
    assert (await analytics.read(f"{TEAM}/big.bin")).data == data

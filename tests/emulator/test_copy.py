"""Put Blob From URL and Put Block From URL: OneLake copies a file server side, within a workspace
and across workspaces, reading the source with the OAuth token the caller passes as the copy
source's authorization; what it cannot read is `CannotVerifyCopySource` with the source's status."""

from __future__ import annotations

import base64

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.blob import BlobServiceClient

from onelake_contents.credential import BrokerCredential
from onelake_contents.emulator import Emulator

ITEM = "Team.Lakehouse"


@pytest.fixture(scope="module")
def lake():
    with Emulator({"analytics": [ITEM], "sales": ["Sales.Lakehouse"]}, users=["alice"]) as emulator:
        yield emulator


def blob_service(lake, user: str | None = None) -> BlobServiceClient:
    token = lake.user_tokens[user] if user else lake.broker_token
    credential = BrokerCredential(lake.broker_url, client_token=token, ca_file=lake.ca_file)
    return BlobServiceClient(lake.endpoint, credential=credential, connection_verify=lake.ca_file, retry_total=0)


def bearer(lake, user: str | None = None) -> str:
    token = lake.user_tokens[user] if user else lake.broker_token
    answer = requests.get(
        f"{lake.broker_url}/onelake/token",
        headers={"Authorization": f"Bearer {token}"},
        verify=lake.ca_file,
        timeout=10,
    )
    return f"Bearer {answer.json()['access_token']}"


def test_a_file_is_copied_across_workspaces_in_one_request_with_no_bytes_through_the_caller(lake):
    service = blob_service(lake)
    data = bytes(range(256)) * 4096  # 1 MiB
    source = service.get_blob_client("sales", "Sales.Lakehouse/Files/q3/data.bin")
    source.upload_blob(data, overwrite=True, metadata={"kept": "no"})
    lake.reset_requests()
    target = service.get_blob_client("analytics", f"{ITEM}/Files/home/alice/data.bin")
    target.upload_blob_from_url(source.url, source_authorization=bearer(lake), metadata={"copied": "yes"})
    assert target.download_blob().readall() == data
    assert target.get_blob_properties().metadata == {"copied": "yes"}
    writes = [r for r in lake.requests() if r.method == "PUT"]
    assert [(r.operation, r.status, r.workspace, r.bytes_in) for r in writes] == [
        ("PutBlobFromURL", 201, "analytics", 0)
    ]
    with pytest.raises(ResourceExistsError):  # not over an existing file unless asked
        target.upload_blob_from_url(source.url, source_authorization=bearer(lake))
    target.upload_blob_from_url(source.url, source_authorization=bearer(lake), overwrite=True)


def test_what_the_source_token_cannot_read_is_cannot_verify_copy_source(lake):
    service = blob_service(lake)
    secret = service.get_blob_client("sales", "Sales.Lakehouse/Files/secret.csv")
    secret.upload_blob(b"a,b\n", overwrite=True)
    target = blob_service(lake, "alice").get_blob_client("analytics", f"{ITEM}/Files/home/alice/taken.csv")
    for source_url, authorization, status in (
        (secret.url, bearer(lake, "alice"), 403),  # alice may not read the source
        (secret.url + "-missing", bearer(lake), 404),
        (secret.url, None, 401),
    ):
        with pytest.raises(HttpResponseError) as caught:
            target.upload_blob_from_url(source_url, source_authorization=authorization)
        assert caught.value.error_code == "CannotVerifyCopySource"
        assert caught.value.response.headers["x-ms-copy-source-status-code"] == str(status)
    assert not target.exists()


def test_blocks_are_staged_from_ranges_of_a_source(lake):
    service = blob_service(lake)
    data = b"0123456789" * 1000
    source = service.get_blob_client("sales", "Sales.Lakehouse/Files/blocks.bin")
    source.upload_blob(data, overwrite=True)
    target = service.get_blob_client("analytics", f"{ITEM}/Files/home/alice/blocks.bin")
    ids = [base64.b64encode(f"{n:06d}".encode()).decode() for n in range(2)]
    target.stage_block_from_url(ids[0], source.url, 0, 4000, source_authorization=bearer(lake))
    target.stage_block_from_url(ids[1], source.url, 4000, 6000, source_authorization=bearer(lake))
    assert not target.exists()  # nothing visible until the block list is committed
    target.commit_block_list(ids)
    assert target.download_blob().readall() == data

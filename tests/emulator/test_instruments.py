"""Request log, injected latency, fault injection and the control API over HTTPS."""

from __future__ import annotations

import asyncio

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.storage.blob.aio import BlobServiceClient as AsyncBlobServiceClient

from onelake_contents.emulator.access import ADMIN_NAME
from tests.conftest import FILES, WORKSPACE


def _control(emulator, method, what, **kwargs):
    response = requests.request(
        method,
        f"{emulator.endpoint}/$emulator/{what}",
        headers={"Authorization": f"Bearer {emulator.broker_token}"},
        verify=emulator.ca_file,
        timeout=10,
        **kwargs,
    )
    response.raise_for_status()
    return response.json()


def test_request_log_records_operation_path_status_and_bytes(container, emulator):
    blob = container.get_blob_client(f"{FILES}/log.txt")
    blob.upload_blob(b"12345")
    blob.download_blob().readall()
    records = emulator.requests()
    assert [(r.method, r.api, r.operation, r.path, r.status) for r in records] == [
        ("PUT", "blob", "PutBlob", f"{FILES}/log.txt", 201),
        ("GET", "blob", "GetBlob", f"{FILES}/log.txt", 206),
    ]
    assert records[0].bytes_in == 5 and records[1].bytes_out == 5
    assert all(r.workspace == WORKSPACE and r.token_id and r.principal == ADMIN_NAME for r in records)
    emulator.reset_requests()
    assert emulator.requests() == []


def test_listings_are_logged_with_the_folder_listed_and_handshakes_are_counted(container, emulator):
    container.get_blob_client(f"{FILES}/d/a.txt").upload_blob(b"a")
    emulator.reset_requests()
    assert [b.name for b in container.list_blobs(name_starts_with=f"{FILES}/d/")] == [f"{FILES}/d/a.txt"]
    assert [(r.operation, r.path) for r in emulator.requests()] == [("ListBlobs", f"{FILES}/d")]
    # the SDK client keeps its connection: none of the requests above needed a new handshake
    assert emulator.tls_handshakes() == 0
    fresh = requests.Session()  # a new client: one handshake, then its connection is reused
    for _ in range(3):
        fresh.get(f"{emulator.endpoint}/{WORKSPACE}/{FILES}/d/a.txt", verify=emulator.ca_file, timeout=10)
    fresh.close()
    assert emulator.tls_handshakes() == 1
    assert _control(emulator, "GET", "connections") == {"tls_handshakes": 2}  # and the control call's own
    emulator.reset_requests()
    assert emulator.tls_handshakes() == 0


def test_request_log_over_https(container, emulator):
    container.get_blob_client(f"{FILES}/a").upload_blob(b"a")
    log = _control(emulator, "GET", "requests")
    assert [(r["operation"], r["status"]) for r in log] == [("PutBlob", 201)]
    _control(emulator, "DELETE", "requests")
    assert _control(emulator, "GET", "requests") == []


def test_control_api_needs_the_client_token(emulator):
    response = requests.get(f"{emulator.endpoint}/$emulator/requests", verify=emulator.ca_file, timeout=10)
    assert response.status_code == 401


async def test_latency_delays_each_request_without_serialising_them(emulator, async_container):
    await async_container.get_blob_client(f"{FILES}/warm").upload_blob(b"w")  # connections and token ready
    emulator.set_latency(500)
    emulator.reset_requests()

    async def one(i):
        await async_container.get_blob_client(f"{FILES}/c{i}").upload_blob(b"x")

    await asyncio.gather(*(one(i) for i in range(50)))
    records = emulator.requests("PutBlob")
    assert len(records) == 50
    assert all(r.duration_ms >= 500 for r in records)
    # each request waits on its own: they were in the emulator at the same time, not one after
    # another (serialised, no two of them would overlap)
    spans = sorted((r.time - r.duration_ms / 1000, r.time) for r in records)
    most_at_once = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
    assert most_at_once >= 10


def test_injected_503_reaches_the_client(container, emulator):
    emulator.set_faults(probability=1.0, kinds={"503": 1}, operations={"PutBlob"})
    with pytest.raises(HttpResponseError) as info:
        container.get_blob_client(f"{FILES}/f").upload_blob(b"x")
    assert info.value.status_code == 503 and info.value.error_code == "ServerBusy"
    # other operations are untouched
    assert container.get_container_properties().name == WORKSPACE
    assert emulator.faults_injected["503"] == 1
    assert not container.get_blob_client(f"{FILES}/f").exists()


def test_injected_429_carries_retry_after(container, emulator):
    emulator.set_faults(script=["429"], retry_after=2)
    seen = {}
    with pytest.raises(HttpResponseError) as info:
        container.get_blob_client(f"{FILES}/f").upload_blob(
            b"x", raw_response_hook=lambda r: seen.update(r.http_response.headers)
        )
    assert info.value.status_code == 429
    assert seen["Retry-After"] == "2"
    container.get_blob_client(f"{FILES}/f").upload_blob(b"x")  # the script is used up


def test_injected_reset_drops_the_connection_before_applying(container, emulator):
    emulator.set_faults(script=["reset"])
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        container.get_blob_client(f"{FILES}/r").upload_blob(b"x")
    assert not container.get_blob_client(f"{FILES}/r").exists()
    assert emulator.requests("PutBlob")[0].fault == "reset"


def test_injected_lost_response_applies_the_write(container, emulator):
    emulator.set_faults(script=["lost"])
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        container.get_blob_client(f"{FILES}/l").upload_blob(b"applied")
    assert container.get_blob_client(f"{FILES}/l").download_blob().readall() == b"applied"


async def test_injected_slow_response_times_out_the_client(emulator, async_credential, async_transport):
    emulator.set_faults(script=["slow"], slow_seconds=3)
    client = AsyncBlobServiceClient(
        emulator.endpoint, credential=async_credential, transport=async_transport, retry_total=0
    )
    async with client:
        blob = client.get_blob_client(WORKSPACE, f"{FILES}/slow")
        with pytest.raises((ServiceRequestError, ServiceResponseError)):
            await blob.upload_blob(b"late", read_timeout=1)
        await asyncio.sleep(2.5)
        # the server went on and applied it, as a real service would
        assert await (await blob.download_blob()).readall() == b"late"


def test_random_faults_follow_probability(container, emulator):
    emulator.set_faults(probability=0.5, kinds={"503": 1, "429": 1}, seed=7, operations={"GetBlobProperties"})
    container.get_blob_client(f"{FILES}/p").upload_blob(b"x")
    outcomes = []
    for _ in range(100):
        try:
            container.get_blob_client(f"{FILES}/p").get_blob_properties()
            outcomes.append(200)
        except HttpResponseError as error:
            outcomes.append(error.status_code)
    assert 25 < outcomes.count(200) < 75
    assert {503, 429} <= set(outcomes)


def test_faults_configurable_over_https(container, emulator):
    _control(emulator, "PUT", "faults", json={"script": ["503"], "operations": ["PutBlob"]})
    with pytest.raises(HttpResponseError):
        container.get_blob_client(f"{FILES}/h").upload_blob(b"x")
    state = _control(emulator, "GET", "faults")
    assert state["injected"]["503"] == 1
    _control(emulator, "PUT", "latency", json={"ms": 5})
    assert emulator.server.latency_ms == 5

"""BrokerCredential / AsyncBrokerCredential against the development broker over real HTTPS."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
from azure.core.credentials import AccessTokenInfo, SupportsTokenInfo, TokenCredential
from azure.core.credentials_async import AsyncSupportsTokenInfo, AsyncTokenCredential
from azure.core.exceptions import ClientAuthenticationError
from azure.storage.filedatalake import DataLakeServiceClient

from onelake_contents.config import SettingsError, resolve
from onelake_contents.credential import AsyncBrokerCredential, BrokerCredential
from tests.conftest import FILES, NO_RETRY, WORKSPACE

SCOPE = "https://storage.azure.com/.default"


def make(emulator, cls=BrokerCredential, **kwargs):
    kwargs.setdefault("client_token", emulator.broker_token)
    kwargs.setdefault("retries", 0)
    return cls(emulator.broker_url, ca_file=emulator.ca_file, **kwargs)


def test_implements_the_azure_core_protocols(emulator):
    assert isinstance(make(emulator), TokenCredential)
    assert isinstance(make(emulator), SupportsTokenInfo)
    assert isinstance(make(emulator, AsyncBrokerCredential), AsyncTokenCredential)
    assert isinstance(make(emulator, AsyncBrokerCredential), AsyncSupportsTokenInfo)


def test_get_token_info_has_refresh_on_before_expiry(emulator):
    with make(emulator) as cred:
        info = cred.get_token_info(SCOPE)
    assert isinstance(info, AccessTokenInfo)
    # our own margin (300 s), less the up-to-60 s jitter azure-core adds before asking again
    assert info.refresh_on == info.expires_on - 360
    assert abs(info.expires_on - (time.time() + 3600)) < 5


def test_one_broker_request_for_100_threads(emulator):
    cred = make(emulator)
    emulator.broker.state.delay_seconds = 0.3  # make the first fetch slow so everyone piles up
    barrier = threading.Barrier(100)
    tokens = []

    def ask():
        barrier.wait()
        tokens.append(cred.get_token(SCOPE).token)

    threads = [threading.Thread(target=ask) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tokens) == 100 and len(set(tokens)) == 1
    assert emulator.broker.state.requests == 1


async def test_one_broker_request_for_100_coroutines(emulator):
    emulator.broker.state.delay_seconds = 1.0
    async with make(emulator, AsyncBrokerCredential) as cred:
        fetched = asyncio.Event()
        ticks_while_fetching = 0

        async def heartbeat():
            nonlocal ticks_while_fetching
            while not fetched.is_set():
                await asyncio.sleep(0.01)
                ticks_while_fetching += 1

        async def fetch_all():
            try:
                return await asyncio.gather(*(cred.get_token_info(SCOPE) for _ in range(100)))
            finally:
                fetched.set()

        _, results = await asyncio.gather(heartbeat(), fetch_all())
        tokens = {r.token for r in results}
    assert len(tokens) == 1
    assert emulator.broker.state.requests == 1
    # the broker call ran in a worker thread: the loop kept running other tasks during the 1 s
    # fetch (a blocking call would have let the heartbeat tick once at most)
    assert ticks_while_fetching >= 5


def test_short_lived_token_is_fetched_once_per_lifetime(emulator, caplog):
    emulator.broker.state.token_lifetime = 2
    cred = make(emulator, refresh_margin=1)
    client = DataLakeServiceClient(emulator.endpoint, credential=cred, connection_verify=emulator.ca_file, **NO_RETRY)
    fs = client.get_file_system_client(WORKSPACE)
    started = time.monotonic()
    calls = 0
    while time.monotonic() - started < 5:
        list(fs.get_paths(FILES))
        calls += 1
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    records = emulator.requests()
    assert all(r.status == 200 for r in records), [
        (r.status, r.error_code) for r in records if r.status != 200
    ]  # never an expired token
    distinct = []
    for r in records:
        if not distinct or distinct[-1] != r.token_id:
            distinct.append(r.token_id)
    assert len(distinct) == len(set(distinct))  # each token used in one stretch
    fetches = emulator.broker.state.requests
    assert fetches == len(distinct)
    # a "2 s" token ends on the next whole second (lives 2-3 s) and is used until 1 s before its
    # end, so each serves at least 1 s: at most one fetch per second of the run (however slowly
    # the machine made its calls), against one per request if every request went to the broker
    assert 2 <= fetches <= elapsed + 1 and fetches < calls


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def test_broker_outage_with_valid_token_keeps_working(emulator, caplog):
    emulator.broker.state.token_lifetime = 4
    cred = make(emulator, refresh_margin=3)
    first = cred.get_token_info(SCOPE)
    emulator.broker.state.outage_status = 503
    sleep_until(first.expires_on - 0.8)  # past our refresh point (half the lifetime before expiry), not expired
    assert time.time() < first.expires_on
    with caplog.at_level(logging.WARNING, logger="onelake_contents.credential"):
        assert cred.get_token(SCOPE).token == first.token
        assert cred.get_token(SCOPE).token == first.token
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "onelake_contents.credential"]
    assert len(warnings) == 1
    assert emulator.broker_url in warnings[0].getMessage()
    client = DataLakeServiceClient(emulator.endpoint, credential=cred, connection_verify=emulator.ca_file, **NO_RETRY)
    assert client.get_file_system_client(WORKSPACE).get_directory_client(FILES).exists()


def test_broker_outage_with_expired_token_names_the_broker(emulator):
    emulator.broker.state.token_lifetime = 1
    cred = make(emulator)
    info = cred.get_token_info(SCOPE)
    emulator.broker.state.outage_status = 503
    sleep_until(info.expires_on + 0.1)
    with pytest.raises(ClientAuthenticationError) as error:
        cred.get_token(SCOPE)
    assert emulator.broker_url in error.value.message
    assert "503" in error.value.message


def test_broker_unreachable_is_a_clear_error(emulator):
    cred = BrokerCredential("https://127.0.0.1:9", client_token="x", retries=0, timeout=(1, 1))
    with pytest.raises(ClientAuthenticationError) as info:
        cred.get_token(SCOPE)
    assert "https://127.0.0.1:9" in info.value.message and "unreachable" in info.value.message


def test_transient_broker_errors_are_retried(emulator):
    emulator.broker.state.fail_next = [503, 502]
    cred = make(emulator, retries=3, backoff=0.01)
    assert cred.get_token(SCOPE).token
    assert emulator.broker.state.requests == 3


def test_broker_401_rereads_the_rotated_token_file(emulator, tmp_path):
    token_file = tmp_path / "client-token"
    token_file.write_text(emulator.broker_token + "\n")
    emulator.broker.state.token_lifetime = 1
    cred = make(emulator, client_token=None, client_token_file=str(token_file))
    first = cred.get_token_info(SCOPE)
    emulator.broker.state.client_tokens = {"rotated-secret"}
    token_file.write_text("rotated-secret\n")
    sleep_until(first.expires_on + 0.1)  # the cached token has expired: the next call goes to the broker
    assert cred.get_token(SCOPE).token != first.token
    assert emulator.broker.state.requests == 3  # ok, 401 with the old token, ok with the new one


def test_broker_401_without_rotation_fails_clearly(emulator):
    cred = make(emulator, client_token="wrong")
    with pytest.raises(ClientAuthenticationError) as info:
        cred.get_token(SCOPE)
    assert "401" in info.value.message and "wrong" not in info.value.message


def test_other_scopes_are_refused_without_a_broker_call(emulator):
    with pytest.raises(ClientAuthenticationError):
        make(emulator).get_token("https://management.azure.com/.default")
    assert emulator.broker.state.requests == 0


def test_plain_http_broker_only_on_loopback():
    with pytest.raises(SettingsError):
        BrokerCredential("http://broker.example.com", client_token="x")
    BrokerCredential("http://127.0.0.1:8080", client_token="x")
    BrokerCredential("http://localhost:8080", client_token="x")


def test_tokens_never_appear_in_logs(emulator, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    emulator.broker.state.token_lifetime = 1
    cred = make(emulator)
    client = DataLakeServiceClient(emulator.endpoint, credential=cred, connection_verify=emulator.ca_file, **NO_RETRY)
    fs = client.get_file_system_client(WORKSPACE)
    fs.get_file_client(f"{FILES}/x.txt").upload_data(b"x", overwrite=True)
    info = cred.get_token_info(SCOPE)
    emulator.broker.state.outage_status = 503
    sleep_until(info.expires_on + 0.1)
    with pytest.raises(ClientAuthenticationError) as error:
        list(fs.get_paths(FILES))
    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert info.token not in logged and emulator.broker_token not in logged
    assert info.token not in str(error.value) and emulator.broker_token not in str(error.value)


def test_datalake_clients_work_with_the_credential(emulator):
    with make(emulator) as cred:
        client = DataLakeServiceClient(emulator.endpoint, credential=cred, connection_verify=emulator.ca_file)
        f = client.get_file_system_client(WORKSPACE).get_file_client(f"{FILES}/cred.txt")
        f.upload_data(b"via broker", overwrite=True)
        assert f.download_file().readall() == b"via broker"
    assert emulator.broker.state.requests == 1


async def test_async_credential_with_aio_clients(emulator, async_transport):
    from azure.storage.filedatalake.aio import DataLakeServiceClient as AsyncDataLakeServiceClient

    async with make(emulator, AsyncBrokerCredential) as cred:
        client = AsyncDataLakeServiceClient(emulator.endpoint, credential=cred, transport=async_transport)
        async with client:
            f = client.get_file_system_client(WORKSPACE).get_file_client(f"{FILES}/acred.txt")
            await f.upload_data(b"async broker", overwrite=True)
            assert await (await f.download_file()).readall() == b"async broker"
    assert emulator.broker.state.requests == 1


def test_from_settings_uses_the_environment(emulator, monkeypatch, tmp_path):
    monkeypatch.setenv("ONELAKE_CONFIG", str(tmp_path / "none.json"))
    monkeypatch.setenv("ONELAKE_BROKER_URL", emulator.broker_url)
    monkeypatch.setenv("ONELAKE_BROKER_TOKEN", emulator.broker_token)
    monkeypatch.setenv("ONELAKE_CA_FILE", emulator.ca_file)
    cred = BrokerCredential.from_settings(resolve())
    assert cred.get_token(SCOPE).token

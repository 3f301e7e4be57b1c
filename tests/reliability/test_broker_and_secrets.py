"""The broker failing (before and after the token expires), short-lived tokens during a long
upload, and secrets that must never reach logs, error messages or events."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import time

import pytest

from onelake_contents.emulator import Emulator
from tests.conftest import ITEM, WORKSPACE
from tests.servers import JupyterServer

ROOT = f"{ITEM}/Files/home/broker"
JWT = re.compile(r"eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}")


@pytest.fixture
def lake():
    with Emulator({WORKSPACE: [ITEM]}) as emu:
        yield emu


def put_text(server, path, text):
    return server.api("PUT", path, json={"type": "file", "format": "text", "content": text})


def test_broker_outage_before_and_after_expiry(lake, tmp_path):
    lake.broker.state.token_lifetime = 4
    server = JupyterServer(lake.info, WORKSPACE, ROOT, tmp_path, "--OneLakeContentsManager.request_retries=1").start()
    try:
        assert put_text(server, "a.txt", "1").status_code == 201  # token fetched and cached
        lake.broker.state.outage_status = 503
        assert put_text(server, "a.txt", "2").status_code == 200  # the cached token carries on
        time.sleep(5.2)  # now it has expired
        failed = put_text(server, "a.txt", "3")
        assert failed.status_code == 503
        message = failed.json()["message"]
        assert lake.broker_url in message and "503" in message
        assert "Retry-After" in failed.headers
        lake.broker.state.outage_status = None  # the broker is back: so is everything
        assert put_text(server, "a.txt", "4").status_code == 200
        assert lake.namespace.workspaces[WORKSPACE].nodes[f"{ROOT}/a.txt"].data == b"4"
    finally:
        server.stop()


def test_short_lived_tokens_are_renewed_during_a_long_upload(lake, tmp_path):
    lake.broker.state.token_lifetime = 2
    lake.set_latency(250)
    server = JupyterServer(lake.info, WORKSPACE, ROOT, tmp_path).start()
    try:
        data = bytes(range(256)) * (4 * 8 * 1024)  # 8 MiB in 1 MiB chunks, ~0.5 s each
        pieces = [data[i : i + 1024 * 1024] for i in range(0, len(data), 1024 * 1024)]
        lake.reset_requests()
        for number, piece in enumerate(pieces, start=1):
            response = server.api(
                "PUT",
                "long.bin",
                json={
                    "type": "file",
                    "format": "base64",
                    "chunk": -1 if number == len(pieces) else number,
                    "content": base64.b64encode(piece).decode(),
                },
            )
            assert response.status_code in (200, 201), response.text
        # 10 requests of at least 250 ms each: the upload outlives a 2 s token, whatever the machine
        records = lake.requests()
        assert records[-1].time - (records[0].time - records[0].duration_ms / 1000) > 2
        assert lake.namespace.workspaces[WORKSPACE].nodes[f"{ROOT}/long.bin"].data == data
        assert lake.broker.state.tokens_issued >= 2
        refused = [
            (round(r.time, 2), r.operation, r.path[-20:], r.error_code) for r in lake.requests() if r.status == 401
        ]
        assert refused == []
    finally:
        server.stop()


def test_no_secret_in_server_logs_at_debug_level(lake, tmp_path):
    server = JupyterServer(
        lake.info, WORKSPACE, ROOT, tmp_path, "--ServerApp.log_level=DEBUG", "--Application.log_level=DEBUG"
    ).start()
    try:
        put_text(server, "s.txt", "x")
        server.api("GET", "s.txt")
        lake.deny(f"{WORKSPACE}/{ROOT}/denied")
        put_text(server, "denied/x.txt", "x")
        lake.deny()
        lake.broker.state.client_tokens = {"rotated-away"}  # the server's client token is now refused
        lake.broker.state.token_lifetime = 1
    finally:
        server.stop()
    log = server.log_path.read_text(errors="replace")
    assert "DEBUG" in log or "[D " in log
    assert lake.broker_token not in log
    assert not JWT.search(log)


async def test_no_secret_in_logs_errors_or_events(emulator, caplog):
    from tornado.web import HTTPError

    from onelake_contents import OneLakeContentsManager

    caplog.set_level(logging.DEBUG)
    emulator.broker.state.token_lifetime = 1
    cm = OneLakeContentsManager(
        workspace=WORKSPACE,
        root=ROOT,
        endpoint=emulator.endpoint,
        broker_url=emulator.broker_url,
        broker_token=emulator.broker_token,
        ca_file=emulator.ca_file,
        request_retries=0,
    )
    events = []

    async def listener(logger, schema_id, data):
        events.append(repr(data))

    cm.event_logger.add_listener(schema_id=cm.event_schema_id, listener=listener)
    errors = []
    try:
        await cm.save({"type": "file", "format": "text", "content": "x"}, "e.txt")
        await cm.rename("e.txt", "f.txt")
        emulator.broker.state.outage_status = 500
        await asyncio.sleep(2.2)  # a "1 s" token ends on the next whole second: now it has
        cm.files.clear_caches()
        for action in (cm.get("f.txt"), cm.save({"type": "file", "format": "text", "content": "y"}, "f.txt")):
            with pytest.raises(HTTPError) as info:
                await action
            errors.append(info.value.log_message)
    finally:
        await cm.close()
    issued = [r.token_id for r in emulator.requests()]
    assert issued
    everything = "\n".join([caplog.text, *errors, *events])
    assert emulator.broker_token not in everything
    assert not JWT.search(everything)
    assert all(emulator.broker_url in e for e in errors)


def test_a_token_given_as_a_trait_wins_over_a_token_file_in_the_environment(lake, tmp_path):
    """The documented order (trait > env > file) holds for the token and its file together."""
    stale = tmp_path / "another-token"
    stale.write_text("a token the broker does not know")
    server = JupyterServer(
        lake.info,
        WORKSPACE,
        ROOT,
        tmp_path,
        f"--OneLakeContentsManager.broker_token={lake.broker_token}",
        env={"ONELAKE_BROKER_TOKEN": "", "ONELAKE_BROKER_TOKEN_FILE": str(stale)},
    ).start()
    try:
        assert put_text(server, "trait.txt", "saved").status_code == 201
        assert lake.namespace.workspaces[WORKSPACE].nodes[f"{ROOT}/trait.txt"].data == b"saved"
    finally:
        server.stop()

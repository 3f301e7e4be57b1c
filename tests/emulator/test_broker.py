"""The development broker: the token contract a platform broker implements."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import requests

from onelake_contents.emulator import STORAGE_AUDIENCE, Emulator


def _get(emulator, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(
        f"{emulator.broker_url}/onelake/token", headers=headers, params=params, verify=emulator.ca_file, timeout=10
    )


def test_token_reply_shape(emulator):
    response = _get(emulator, emulator.broker_token, scope="https://storage.azure.com/.default")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_on", "expires_in", "token_type"}
    assert body["token_type"] == "Bearer"
    assert abs(body["expires_on"] - (time.time() + 3600)) < 5
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == STORAGE_AUDIENCE
    assert response.headers["Cache-Control"] == "no-store"


def test_missing_or_wrong_client_token_is_401(emulator):
    assert _get(emulator).status_code == 401
    assert _get(emulator, "not-the-token").status_code == 401


def test_other_scopes_are_refused(emulator):
    assert _get(emulator, emulator.broker_token, scope="https://management.azure.com/.default").status_code == 400


def test_lifetime_outage_failures_and_counts(emulator):
    state = emulator.broker.state
    state.token_lifetime = 2
    body = _get(emulator, emulator.broker_token).json()
    assert body["expires_in"] == 2
    state.fail_next = [503, 500]
    assert _get(emulator, emulator.broker_token).status_code == 503
    assert _get(emulator, emulator.broker_token).status_code == 500
    assert _get(emulator, emulator.broker_token).status_code == 200
    state.outage_status = 503
    assert _get(emulator, emulator.broker_token).status_code == 503
    state.outage_status = None
    assert state.requests == 5
    assert state.tokens_issued == 2


def test_rotation_of_accepted_client_tokens(emulator):
    emulator.broker.state.client_tokens = {"rotated"}
    assert _get(emulator, emulator.broker_token).status_code == 401
    assert _get(emulator, "rotated").status_code == 200


def test_fixed_broker_token_and_lifetime_from_constructor():
    with Emulator(broker_token="fixed-client-token", token_lifetime=30) as emu:
        assert emu.broker_token == "fixed-client-token"
        assert _get(emu, "fixed-client-token").json()["expires_in"] == 30


class HubAnswers:
    """A stand-in for JupyterHub's `GET /hub/api/user` on loopback, answering each token with a set
    model (the edge cases a real hub does not produce; tests/hub drives the real one)."""

    def __init__(self, models: dict[str, tuple[int, object]]):
        class WhoAmI(BaseHTTPRequestHandler):
            def do_GET(self):
                token = self.headers.get("Authorization", "").removeprefix("token ")
                status, model = models.get(token, (403, {}))
                body = json.dumps(model).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), WhoAmI)
        self.api_url = f"http://127.0.0.1:{self.server.server_address[1]}/hub/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


SCOPED = ["custom:onelake:token!user=alice", "read:users:name!user=alice"]


def test_a_hub_token_gets_a_token_only_with_the_onelake_scope_for_its_own_user():
    hub = HubAnswers(
        {
            "server-token": (200, {"kind": "user", "name": "alice", "scopes": SCOPED}),
            "names-a-user": (200, {"kind": "user", "name": "alice", "scopes": ["read:users:name!user=alice"]}),
            "no-scopes": (200, {"kind": "user", "name": "alice", "scopes": []}),
            "scope-for-bob": (200, {"kind": "user", "name": "alice", "scopes": ["custom:onelake:token!user=bob"]}),
            "unfiltered": (200, {"kind": "user", "name": "alice", "scopes": ["custom:onelake:token"]}),
            "no-kind": (200, {"name": "alice", "scopes": SCOPED}),
            "a-service": (200, {"kind": "service", "name": "alice", "scopes": SCOPED}),
            "odd-name": (200, {"kind": "user", "name": "..", "scopes": ["custom:onelake:token!user=.."]}),
            "hub-broken": (500, {}),
        }
    )
    try:
        with Emulator(hub_api_url=hub.api_url) as emu:
            ok = _get(emu, "server-token")
            assert ok.status_code == 200
            claims = jwt.decode(ok.json()["access_token"], options={"verify_signature": False})
            assert claims["name"] == "alice"
            for token in (
                "names-a-user",
                "no-scopes",
                "scope-for-bob",
                "unfiltered",
                "no-kind",
                "a-service",
                "odd-name",
            ):
                refused = _get(emu, token)
                assert refused.status_code == 403, (token, refused.status_code, refused.text)
                assert refused.json()["error"] == "access_denied"
            assert (
                "lacks the scope custom:onelake:token!user=alice" in _get(emu, "no-scopes").json()["error_description"]
            )
            assert "does not belong to a user" in _get(emu, "no-kind").json()["error_description"]
            assert _get(emu, "unknown-to-the-hub").status_code == 401
            assert _get(emu, "hub-broken").status_code == 503
            assert emu.broker.state.tokens_issued == 1
    finally:
        hub.stop()

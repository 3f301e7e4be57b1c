"""The development broker: the token contract a platform broker implements."""

from __future__ import annotations

import time

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

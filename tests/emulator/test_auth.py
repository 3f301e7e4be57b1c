"""Bearer tokens only: tokens from the emulator's broker are accepted, anything else is 401/403."""

from __future__ import annotations

import time

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.storage.filedatalake import DataLakeServiceClient

from onelake_contents.emulator import TokenAuthority
from tests.conftest import FILES, NO_RETRY, WORKSPACE


class FixedToken:
    """A credential that always presents the same token (to send bad ones on purpose)."""

    def __init__(self, token: str):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self.token, int(time.time()) + 3600)


def _fs(emulator, token: str):
    client = DataLakeServiceClient(
        emulator.endpoint, credential=FixedToken(token), connection_verify=emulator.ca_file, **NO_RETRY
    )
    return client.get_file_system_client(WORKSPACE)


def test_broker_token_is_accepted(emulator):
    token = requests.get(
        f"{emulator.broker_url}/onelake/token",
        headers={"Authorization": f"Bearer {emulator.broker_token}"},
        verify=emulator.ca_file,
        timeout=10,
    ).json()["access_token"]
    assert [p.name for p in _fs(emulator, token).get_paths(FILES)] == []


def test_missing_token_is_401_with_challenge(emulator):
    response = requests.get(f"{emulator.endpoint}/{WORKSPACE}?restype=container", verify=emulator.ca_file, timeout=10)
    assert response.status_code == 401
    assert response.headers["x-ms-error-code"] == "NoAuthenticationInformation"
    assert "resource_id=https://storage.azure.com" in response.headers["WWW-Authenticate"]


def test_expired_token_is_401(emulator):
    token = emulator.issue_token(lifetime=-10)
    with pytest.raises(ClientAuthenticationError) as info:
        list(_fs(emulator, token).get_paths(FILES))
    assert info.value.status_code == 401
    assert info.value.error_code == "InvalidAuthenticationInfo"
    assert "expired" in info.value.message


def test_token_from_another_issuer_is_401(emulator):
    foreign, _ = TokenAuthority().issue(3600)
    with pytest.raises(ClientAuthenticationError) as info:
        list(_fs(emulator, foreign).get_paths(FILES))
    assert info.value.status_code == 401


def test_token_for_another_audience_is_401(emulator):
    token, _ = emulator.authority.issue(3600, audience="https://management.azure.com")
    with pytest.raises(ClientAuthenticationError) as info:
        list(_fs(emulator, token).get_paths(FILES))
    assert "Audience" in info.value.message


def test_shared_key_is_refused(emulator):
    client = DataLakeServiceClient(
        emulator.endpoint.replace("127.0.0.1", "localhost"),
        credential={"account_name": "onelake", "account_key": "a2V5"},
        connection_verify=emulator.ca_file,
        **NO_RETRY,
    )
    with pytest.raises(HttpResponseError) as info:
        list(client.get_file_system_client(WORKSPACE).get_paths(FILES))
    assert info.value.status_code == 403


def test_denied_path_is_403_permission_mismatch(emulator, fs):
    fs.get_file_client(f"{FILES}/secret/x.txt").upload_data(b"x", overwrite=True)
    emulator.deny(f"{WORKSPACE}/{FILES}/secret")
    with pytest.raises(HttpResponseError) as info:
        fs.get_file_client(f"{FILES}/secret/x.txt").download_file()
    assert info.value.status_code == 403
    assert info.value.error_code == "AuthorizationPermissionMismatch"
    assert fs.get_directory_client(FILES).exists()
    emulator.deny()
    assert fs.get_file_client(f"{FILES}/secret/x.txt").download_file().readall() == b"x"


def test_failed_auth_is_logged_without_the_token(emulator):
    token = emulator.issue_token(lifetime=-10)
    with pytest.raises(ClientAuthenticationError):
        list(_fs(emulator, token).get_paths(FILES))
    records = emulator.requests()
    # azure-core answers a 401 challenge by asking its credential again and retrying once.
    assert {(r.operation, r.status, r.error_code) for r in records} == {("ListPaths", 401, "InvalidAuthenticationInfo")}
    assert all(token not in repr(r) for r in records)

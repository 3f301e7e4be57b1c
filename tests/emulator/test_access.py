"""OneLake security in the emulator: each user reads and writes their own home, reads `shared`,
and touches nothing else; the admin does everything; listings show only what the caller may read."""

from __future__ import annotations

import jwt
import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient
from azure.storage.filedatalake import DataLakeServiceClient

from onelake_contents.credential import BrokerCredential
from onelake_contents.emulator import Emulator

WS = "team"
ITEM = "Team.Lakehouse"
HOME = f"{ITEM}/Files/home"
SHARED = f"{ITEM}/Files/shared"


@pytest.fixture(scope="module")
def lake():
    with Emulator({WS: [ITEM]}, users=["alice", "bob"]) as emulator:
        admin = clients(emulator, None)[0].get_file_system_client(WS)
        for path in (f"{HOME}/bob/secret.txt", f"{SHARED}/data.csv", f"{ITEM}/Files/private/x.txt"):
            admin.get_file_client(path).upload_data(b"bytes of " + path.encode(), overwrite=True)
        admin.get_directory_client(f"{HOME}/alice").create_directory()
        yield emulator


def clients(emulator: Emulator, user: str | None):
    token = emulator.user_tokens[user] if user else emulator.broker_token
    credential = BrokerCredential(emulator.broker_url, client_token=token, ca_file=emulator.ca_file)
    options = {"credential": credential, "connection_verify": emulator.ca_file, "retry_total": 0}
    return DataLakeServiceClient(emulator.endpoint, **options), BlobServiceClient(emulator.endpoint, **options)


def denied(call) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        call()
    assert caught.value.status_code == 403
    assert caught.value.error_code == "AuthorizationPermissionMismatch"
    return caught.value


def test_ready_facts_name_each_user_with_a_client_token_and_a_home(lake):
    users = lake.info.to_dict()["users"]
    assert set(users) == {"alice", "bob"}
    assert users["alice"]["home"] == f"{ITEM}/Files/home/alice"
    assert users["alice"]["broker_token"] != users["bob"]["broker_token"] != lake.broker_token


def access_token(lake, user: str) -> str:
    """The OneLake token the broker issues for `user`."""
    answer = requests.get(
        f"{lake.broker_url}/onelake/token",
        headers={"Authorization": f"Bearer {lake.user_tokens[user]}"},
        verify=lake.ca_file,
        timeout=10,
    )
    return answer.json()["access_token"]


def test_the_broker_issues_a_token_that_names_the_user(lake):
    claims = jwt.decode(access_token(lake, "alice"), options={"verify_signature": False})
    assert claims["upn"] == "alice@onelake-emulator.local"
    assert claims["oid"] and claims["oid"] == claims["sub"]
    bob = jwt.decode(lake.token_for("bob"), options={"verify_signature": False})
    assert bob["oid"] != claims["oid"]


def test_a_user_reads_and_writes_their_own_home(lake):
    fs = clients(lake, "alice")[0].get_file_system_client(WS)
    fs.get_file_client(f"{HOME}/alice/nb.ipynb").upload_data(b"{}", overwrite=True)
    fs.get_directory_client(f"{HOME}/alice/sub").create_directory()
    fs.get_file_client(f"{HOME}/alice/nb.ipynb").rename_file(f"{WS}/{HOME}/alice/sub/nb.ipynb")
    assert fs.get_file_client(f"{HOME}/alice/sub/nb.ipynb").download_file().readall() == b"{}"
    fs.get_directory_client(f"{HOME}/alice/sub").delete_directory()


def test_another_users_home_is_403_for_every_operation(lake):
    datalake, blobs = clients(lake, "alice")
    fs = datalake.get_file_system_client(WS)
    secret = f"{HOME}/bob/secret.txt"
    denied(lambda: fs.get_file_client(secret).download_file().readall())
    denied(lambda: fs.get_file_client(secret).get_file_properties())
    denied(lambda: list(fs.get_paths(f"{HOME}/bob")))
    denied(lambda: fs.get_file_client(f"{HOME}/bob/new.txt").upload_data(b"x"))
    denied(lambda: blobs.get_blob_client(WS, secret).upload_blob(b"over", overwrite=True))
    denied(lambda: fs.get_file_client(secret).delete_file())
    denied(lambda: fs.get_file_client(secret).rename_file(f"{WS}/{HOME}/alice/stolen.txt"))
    denied(lambda: fs.get_file_client(f"{ITEM}/Files/private/x.txt").download_file().readall())
    # nothing changed
    admin = clients(lake, None)[0].get_file_system_client(WS)
    assert admin.get_file_client(secret).download_file().readall() == f"bytes of {secret}".encode()
    assert not admin.get_file_client(f"{HOME}/bob/new.txt").exists()


def test_shared_is_read_only(lake):
    fs = clients(lake, "bob")[0].get_file_system_client(WS)
    assert fs.get_file_client(f"{SHARED}/data.csv").download_file().readall() == f"bytes of {SHARED}/data.csv".encode()
    denied(lambda: fs.get_file_client(f"{SHARED}/data.csv").upload_data(b"changed", overwrite=True))
    denied(lambda: fs.get_file_client(f"{SHARED}/new.csv").upload_data(b"new"))
    denied(lambda: fs.get_file_client(f"{SHARED}/data.csv").delete_file())
    fs.get_directory_client(f"{HOME}/bob").get_directory_properties()
    denied(lambda: fs.get_file_client(f"{HOME}/bob/secret.txt").rename_file(f"{WS}/{SHARED}/leak.txt"))


def test_listings_show_only_what_the_caller_may_read(lake):
    datalake, blobs = clients(lake, "alice")
    fs = datalake.get_file_system_client(WS)
    assert [p.name for p in fs.get_paths(f"{ITEM}/Files", recursive=False)] == [HOME, SHARED]
    assert [p.name for p in fs.get_paths(HOME, recursive=False)] == [f"{HOME}/alice"]
    everything = [p.name for p in fs.get_paths(recursive=True)]
    assert not [n for n in everything if "bob" in n or "private" in n or "Tables" in n]
    assert f"{SHARED}/data.csv" in everything
    container = blobs.get_container_client(WS)
    assert not [b.name for b in container.list_blobs(name_starts_with=f"{ITEM}/") if "bob" in b.name]
    walked = {b.name.rstrip("/") for b in container.walk_blobs(name_starts_with=f"{HOME}/")}
    assert walked == {f"{HOME}/alice"}
    admin = clients(lake, None)[0].get_file_system_client(WS)
    assert [p.name for p in admin.get_paths(HOME, recursive=False)] == [f"{HOME}/alice", f"{HOME}/bob"]


def test_a_user_can_create_their_home_but_not_the_folders_above_it(lake):
    lake.add_user("carol")
    fs = clients(lake, "carol")[0].get_file_system_client(WS)
    fs.get_directory_client(f"{HOME}/carol").create_directory()
    denied(lambda: fs.get_directory_client(f"{ITEM}/Files/elsewhere").create_directory())
    assert lake.info.users["carol"]["home"] == f"{HOME}/carol"


def test_a_token_of_nobody_in_the_workspace_is_403(lake):
    from onelake_contents.emulator.access import Principal

    stranger, _ = lake.authority.issue(600, Principal("stranger", admin=False))
    response = requests.get(
        f"{lake.endpoint}/{WS}/{SHARED}/data.csv",
        headers={"Authorization": f"Bearer {stranger}", "x-ms-version": "2023-11-03"},
        verify=lake.ca_file,
        timeout=10,
    )
    assert response.status_code == 403
    assert response.headers["x-ms-error-code"] == "AuthorizationPermissionMismatch"


def test_a_rename_source_is_checked_as_strictly_as_its_destination(lake):
    headers = {"Authorization": f"Bearer {access_token(lake, 'alice')}", "x-ms-version": "2023-11-03"}
    for source in (f"{HOME}/alice/../bob/secret.txt", f"{HOME}/alice/%2e%2e/bob/secret.txt", f"{HOME}/alice//x"):
        answer = requests.put(
            f"{lake.endpoint}/{WS}/{HOME}/alice/taken.txt",
            headers={**headers, "x-ms-rename-source": f"/{WS}/{source}"},
            verify=lake.ca_file,
            timeout=10,
        )
        assert (answer.status_code, answer.headers.get("x-ms-error-code")) == (400, "InvalidResourceName"), source
    admin = clients(lake, None)[0].get_file_system_client(WS)
    assert admin.get_file_client(f"{HOME}/bob/secret.txt").download_file().readall().startswith(b"bytes of")
    assert not admin.get_file_client(f"{HOME}/alice/taken.txt").exists()

"""OneLake's soft delete in the emulator, through the real SDK: List Blobs with deleted blobs
included (`list_blobs(include=["deleted"])`, `list_deleted_paths`), Undelete Blob
(`undelete_blob`, and `_undelete_path` with a deletion id), retention, OneLake security."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient
from azure.storage.filedatalake import DataLakeServiceClient

from onelake_contents.credential import BrokerCredential
from onelake_contents.emulator import Emulator
from tests.conftest import FILES, ITEM, WORKSPACE


def _deleted(container, prefix: str = FILES + "/") -> list[tuple[str, int]]:
    return [
        (b.name[len(FILES) + 1 :], b.remaining_retention_days)
        for b in container.list_blobs(name_starts_with=prefix, include=["deleted"])
        if b.deleted
    ]


def test_a_deleted_file_is_listed_with_its_deletion_and_restored_whole(fs, container, emulator):
    fs.get_file_client(f"{FILES}/a.txt").upload_data(b"first", overwrite=True, metadata={"k": "v"})
    fs.get_file_client(f"{FILES}/a.txt").delete_file()
    assert [b.name for b in container.list_blobs(name_starts_with=f"{FILES}/")] == []
    (blob,) = [b for b in container.list_blobs(name_starts_with=f"{FILES}/", include=["deleted"]) if b.deleted]
    assert blob.name == f"{FILES}/a.txt"
    assert blob.size == 5 and blob.deleted_time is not None and blob.remaining_retention_days == 7
    emulator.reset_requests()
    container.get_blob_client(f"{FILES}/a.txt").undelete_blob()
    assert [r.operation for r in emulator.requests()] == ["UndeleteBlob"]
    restored = container.get_blob_client(f"{FILES}/a.txt")
    assert restored.download_blob().readall() == b"first"
    assert restored.get_blob_properties().metadata == {"k": "v"}
    assert _deleted(container) == []


def test_a_deleted_directory_lists_as_itself_and_restores_its_contents(fs, container):
    for name in ("d/x.txt", "d/sub/y.txt"):
        fs.get_file_client(f"{FILES}/{name}").upload_data(name.encode(), overwrite=True)
    fs.get_directory_client(f"{FILES}/d").delete_directory()
    assert _deleted(container) == [("d", 7)]  # Azure: only the deleted directory, not its contents
    container.get_blob_client(f"{FILES}/d").undelete_blob()
    names = [p.name[len(FILES) + 1 :] for p in fs.get_paths(FILES, recursive=True)]
    assert names == ["d", "d/sub", "d/sub/y.txt", "d/x.txt"]
    assert fs.get_file_client(f"{FILES}/d/sub/y.txt").download_file().readall() == b"d/sub/y.txt"


def test_restoring_onto_a_taken_path_is_a_conflict(fs, container):
    fs.get_file_client(f"{FILES}/a.txt").upload_data(b"old", overwrite=True)
    fs.get_file_client(f"{FILES}/a.txt").delete_file()
    fs.get_file_client(f"{FILES}/a.txt").upload_data(b"new", overwrite=True)
    with pytest.raises(ResourceExistsError) as caught:
        container.get_blob_client(f"{FILES}/a.txt").undelete_blob()
    assert caught.value.status_code == 409
    assert fs.get_file_client(f"{FILES}/a.txt").download_file().readall() == b"new"
    assert _deleted(container) == [("a.txt", 7)]


def test_a_path_whose_parent_is_gone_cannot_be_restored(fs, container):
    fs.get_file_client(f"{FILES}/d/a.txt").upload_data(b"x", overwrite=True)
    fs.get_file_client(f"{FILES}/d/a.txt").delete_file()
    fs.get_directory_client(f"{FILES}/d").delete_directory()
    with pytest.raises(ResourceNotFoundError):
        container.get_blob_client(f"{FILES}/d/a.txt").undelete_blob()
    container.get_blob_client(f"{FILES}/d").undelete_blob()
    container.get_blob_client(f"{FILES}/d/a.txt").undelete_blob()
    assert fs.get_file_client(f"{FILES}/d/a.txt").download_file().readall() == b"x"


def test_undeleting_nothing_is_404(container):
    with pytest.raises(ResourceNotFoundError):
        container.get_blob_client(f"{FILES}/never.txt").undelete_blob()


def test_several_deletions_of_one_path_are_kept_apart_by_deletion_id(fs, container, emulator):
    for content in (b"one", b"two"):
        fs.get_file_client(f"{FILES}/a.txt").upload_data(content, overwrite=True)
        fs.get_file_client(f"{FILES}/a.txt").delete_file()
    deleted = list(fs.list_deleted_paths(path_prefix=f"{FILES}/"))
    assert [p.name for p in deleted] == [f"{FILES}/a.txt"] * 2
    first, second = deleted  # oldest first
    assert first.deletion_id != second.deletion_id and first.deleted_time <= second.deleted_time
    emulator.reset_requests()
    fs._undelete_path(f"{FILES}/a.txt", first.deletion_id)
    assert [r.operation for r in emulator.requests()] == ["UndeleteBlob"]
    assert fs.get_file_client(f"{FILES}/a.txt").download_file().readall() == b"one"
    assert [p.deletion_id for p in fs.list_deleted_paths(path_prefix=f"{FILES}/")] == [second.deletion_id]
    fs.get_file_client(f"{FILES}/a.txt").delete_file()
    # without a deletion id, Undelete Blob restores the newest deletion of the path
    container.get_blob_client(f"{FILES}/a.txt").undelete_blob()
    assert fs.get_file_client(f"{FILES}/a.txt").download_file().readall() == b"one"
    with pytest.raises(ResourceNotFoundError):
        fs._undelete_path(f"{FILES}/a.txt", "123")


def test_the_delete_answer_names_its_deletion_id(fs):
    fs.get_file_client(f"{FILES}/a.txt").upload_data(b"x", overwrite=True)
    ids = []
    fs.get_file_client(f"{FILES}/a.txt").delete_file(
        raw_response_hook=lambda r: ids.append(r.http_response.headers["x-ms-deletion-id"])
    )
    assert [p.deletion_id for p in fs.list_deleted_paths(path_prefix=f"{FILES}/")] == ids


def test_a_rename_onto_an_existing_file_soft_deletes_it(fs, container):
    fs.get_file_client(f"{FILES}/a.txt").upload_data(b"replaced", overwrite=True)
    fs.get_file_client(f"{FILES}/b.txt").upload_data(b"mover", overwrite=True)
    fs.get_file_client(f"{FILES}/b.txt").rename_file(f"{WORKSPACE}/{FILES}/a.txt")
    assert _deleted(container) == [("a.txt", 7)]


def test_deleted_blobs_page_and_group_like_live_ones(fs, container):
    for i in range(5):
        fs.get_file_client(f"{FILES}/f{i}.txt").upload_data(b"x", overwrite=True)
        fs.get_file_client(f"{FILES}/f{i}.txt").delete_file()
    fs.get_file_client(f"{FILES}/f0.txt").upload_data(b"x", overwrite=True)
    fs.get_file_client(f"{FILES}/sub/g.txt").upload_data(b"x", overwrite=True)
    fs.get_file_client(f"{FILES}/sub/g.txt").delete_file()
    pages = container.list_blobs(name_starts_with=f"{FILES}/", include=["deleted"], results_per_page=2).by_page()
    seen = [[(b.name[len(FILES) + 1 :], bool(b.deleted)) for b in page] for page in pages]
    assert [len(page) for page in seen] == [2, 2, 2, 2]
    assert [item for page in seen for item in page] == [
        ("f0.txt", False),
        ("f0.txt", True),
        ("f1.txt", True),
        ("f2.txt", True),
        ("f3.txt", True),
        ("f4.txt", True),
        ("sub", False),
        ("sub/g.txt", True),
    ]
    walked = [b.name[len(FILES) + 1 :] for b in container.walk_blobs(name_starts_with=f"{FILES}/", include=["deleted"])]
    assert sorted(walked) == ["f0.txt", "f0.txt", "f1.txt", "f2.txt", "f3.txt", "f4.txt", "sub", "sub/"]


def test_retention_is_per_workspace_and_expired_deletions_are_gone(fs, container, emulator):
    fs.get_file_client(f"{FILES}/week.txt").upload_data(b"x", overwrite=True)
    fs.get_file_client(f"{FILES}/week.txt").delete_file()
    emulator.set_retention(WORKSPACE, 2)
    fs.get_file_client(f"{FILES}/two.txt").upload_data(b"x", overwrite=True)
    fs.get_file_client(f"{FILES}/two.txt").delete_file()
    assert _deleted(container) == [("two.txt", 2), ("week.txt", 7)]
    emulator.advance_clock(1.5 * 86400)
    assert _deleted(container) == [("two.txt", 1), ("week.txt", 6)]
    emulator.advance_clock(86400)
    assert _deleted(container) == [("week.txt", 5)]
    with pytest.raises(ResourceNotFoundError):
        container.get_blob_client(f"{FILES}/two.txt").undelete_blob()
    with pytest.raises(ValueError):
        emulator.set_retention(WORKSPACE, 366)


def test_with_soft_delete_turned_off_deletions_are_final(fs, container, emulator):
    emulator.set_retention(WORKSPACE, None)
    fs.get_file_client(f"{FILES}/a.txt").upload_data(b"x", overwrite=True)
    headers = []
    fs.get_file_client(f"{FILES}/a.txt").delete_file(
        raw_response_hook=lambda r: headers.append(r.http_response.headers)
    )
    assert "x-ms-deletion-id" not in headers[0]
    assert _deleted(container) == []
    with pytest.raises(ResourceNotFoundError):
        container.get_blob_client(f"{FILES}/a.txt").undelete_blob()


def test_deletions_persist_in_the_data_directory(tmp_path):
    def open_clients(emu):
        credential = BrokerCredential(emu.broker_url, client_token=emu.broker_token, ca_file=emu.ca_file)
        options = {"credential": credential, "connection_verify": emu.ca_file, "retry_total": 0}
        return (
            DataLakeServiceClient(emu.endpoint, **options).get_file_system_client(WORKSPACE),
            BlobServiceClient(emu.endpoint, **options).get_container_client(WORKSPACE),
        )

    with Emulator({WORKSPACE: [ITEM]}, data_dir=tmp_path) as emu:
        fs, _ = open_clients(emu)
        fs.get_file_client(f"{FILES}/d/a.txt").upload_data(b"kept", overwrite=True)
        fs.get_directory_client(f"{FILES}/d").delete_directory()
        emu.set_retention(WORKSPACE, 3)
    with Emulator({WORKSPACE: [ITEM]}, data_dir=tmp_path) as emu:
        fs, container = open_clients(emu)
        assert _deleted(container) == [("d", 7)]
        container.get_blob_client(f"{FILES}/d").undelete_blob()
        assert fs.get_file_client(f"{FILES}/d/a.txt").download_file().readall() == b"kept"
        fs.get_file_client(f"{FILES}/b.txt").upload_data(b"x", overwrite=True)
        fs.get_file_client(f"{FILES}/b.txt").delete_file()
        assert _deleted(container) == [("b.txt", 3)]


def test_a_user_sees_and_restores_only_deletions_they_may_read_and_write():
    home, shared = f"{ITEM}/Files/home", f"{ITEM}/Files/shared"
    with Emulator({WORKSPACE: [ITEM]}, users=["alice", "bob"]) as emu:

        def clients(user):
            token = emu.user_tokens[user] if user else emu.broker_token
            credential = BrokerCredential(emu.broker_url, client_token=token, ca_file=emu.ca_file)
            options = {"credential": credential, "connection_verify": emu.ca_file, "retry_total": 0}
            return (
                DataLakeServiceClient(emu.endpoint, **options).get_file_system_client(WORKSPACE),
                BlobServiceClient(emu.endpoint, **options).get_container_client(WORKSPACE),
            )

        admin, _ = clients(None)
        for path in (f"{home}/alice/a.txt", f"{home}/bob/b.txt", f"{shared}/s.txt", f"{ITEM}/Files/other/o.txt"):
            admin.get_file_client(path).upload_data(b"x", overwrite=True)
            admin.get_file_client(path).delete_file()
        admin.get_directory_client(f"{home}/carol").create_directory()
        admin.get_directory_client(f"{home}/carol").delete_directory()
        bob_fs, bob = clients("bob")
        names = [b.name for b in bob.list_blobs(name_starts_with=f"{ITEM}/", include=["deleted"]) if b.deleted]
        assert names == [f"{home}/bob/b.txt", f"{shared}/s.txt"]
        assert [p.name for p in bob_fs.list_deleted_paths(path_prefix=f"{ITEM}/")] == names
        with pytest.raises(HttpResponseError) as caught:
            bob.get_blob_client(f"{home}/alice/a.txt").undelete_blob()
        assert caught.value.status_code == 403
        with pytest.raises(HttpResponseError) as caught:  # restoring needs write access
            bob.get_blob_client(f"{shared}/s.txt").undelete_blob()
        assert caught.value.status_code == 403
        bob.get_blob_client(f"{home}/bob/b.txt").undelete_blob()
        assert bob_fs.get_file_client(f"{home}/bob/b.txt").download_file().readall() == b"x"
        with pytest.raises(HttpResponseError) as caught:  # a folder not shared with bob is not listed at all
            list(bob.list_blobs(name_starts_with=f"{home}/alice/", include=["deleted"]))
        assert caught.value.status_code == 403
        emu.deny(f"{WORKSPACE}/{home}/bob")
        with pytest.raises(HttpResponseError) as caught:
            list(bob.list_blobs(name_starts_with=f"{home}/bob/", include=["deleted"]))
        assert caught.value.status_code == 403


def test_the_control_api_sets_retention_and_moves_the_clock(fs, container, emulator):
    import requests

    def control(method, what, body):
        return requests.request(
            method,
            f"{emulator.endpoint}/$emulator/{what}",
            json=body,
            headers={"Authorization": f"Bearer {emulator.broker_token}"},
            verify=emulator.ca_file,
            timeout=10,
        )

    assert control("PUT", "soft-delete", {"workspace": WORKSPACE, "days": 1}).json() == {
        "workspace": WORKSPACE,
        "days": 1,
    }
    assert control("PUT", "soft-delete", {"workspace": WORKSPACE, "days": 0}).status_code == 400
    assert control("PUT", "soft-delete", {"workspace": "nope", "days": 3}).status_code == 400
    fs.get_file_client(f"{FILES}/a.txt").upload_data(b"x", overwrite=True)
    fs.get_file_client(f"{FILES}/a.txt").delete_file()
    assert _deleted(container) == [("a.txt", 1)]
    assert control("POST", "clock", {"advance_seconds": 86400}).status_code == 200
    assert _deleted(container) == []
    assert control("POST", "clock", {"advance_seconds": "soon"}).status_code == 400

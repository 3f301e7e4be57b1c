"""Create, rename, delete and properties of paths, with OneLake's managed-folder rules."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)

from tests.conftest import FILES, ITEM, WORKSPACE

ODD_NAMES = ["with space.txt", "ünïcødé-日本.txt", "per%cent.txt", "hash#tag.txt", "plus+sign.txt", "a&b=c;d.txt"]


def test_create_directory_then_file_makes_both_visible(fs):
    fs.get_directory_client(f"{FILES}/d1").create_directory()
    fs.get_file_client(f"{FILES}/d1/f.txt").upload_data(b"abc", overwrite=True)
    names = {(p.name, p.is_directory) for p in fs.get_paths(f"{FILES}/d1", recursive=False)}
    assert names == {(f"{FILES}/d1/f.txt", False)}
    assert fs.get_file_client(f"{FILES}/d1/f.txt").download_file().readall() == b"abc"


def test_create_file_creates_missing_parent_directories(fs):
    fs.get_file_client(f"{FILES}/a/b/c/deep.txt").create_file()
    props = fs.get_directory_client(f"{FILES}/a/b").get_directory_properties()
    assert props.metadata.get("hdi_isfolder") == "true"
    assert fs.get_file_client(f"{FILES}/a/b/c/deep.txt").get_file_properties().size == 0


def test_create_with_if_none_match_star_on_existing_is_409(fs):
    f = fs.get_file_client(f"{FILES}/exists.txt")
    f.create_file()
    with pytest.raises(ResourceExistsError) as info:
        f.create_file(match_condition=MatchConditions.IfMissing)
    assert info.value.error_code == "PathAlreadyExists"


def test_create_with_stale_if_match_is_412(fs):
    f = fs.get_file_client(f"{FILES}/c.txt")
    old = f.create_file()["etag"]
    f.create_file()
    with pytest.raises(ResourceModifiedError):
        f.create_file(etag=old, match_condition=MatchConditions.IfNotModified)


def test_create_file_over_directory_is_path_conflict(fs):
    fs.get_directory_client(f"{FILES}/dir").create_directory()
    with pytest.raises(HttpResponseError) as info:
        fs.get_file_client(f"{FILES}/dir").create_file()
    assert info.value.status_code == 409
    assert info.value.error_code == "PathConflict"


def test_create_below_a_file_is_path_conflict(fs):
    fs.get_file_client(f"{FILES}/plain").create_file()
    with pytest.raises(HttpResponseError) as info:
        fs.get_file_client(f"{FILES}/plain/child.txt").create_file()
    assert info.value.status_code == 409


def test_create_file_overwrites_and_truncates(fs):
    f = fs.get_file_client(f"{FILES}/t.txt")
    f.upload_data(b"0123456789", overwrite=True)
    created = f.get_file_properties().creation_time
    f.create_file()
    props = f.get_file_properties()
    assert props.size == 0
    assert props.creation_time == created


def test_x_ms_properties_become_metadata(fs):
    f = fs.get_file_client(f"{FILES}/m.txt")
    f.create_file(metadata={"owner_note": "hello", "n": "1"})
    assert f.get_file_properties().metadata == {"owner_note": "hello", "n": "1"}


def test_head_reports_resource_type_and_hdi_isfolder(fs, emulator):
    fs.get_directory_client(f"{FILES}/hd").create_directory()
    fs.get_file_client(f"{FILES}/hd/f").create_file()
    seen = {}

    def hook(response):
        seen.update(response.http_response.headers)

    fs.get_directory_client(f"{FILES}/hd").get_directory_properties(raw_response_hook=hook)
    assert seen["x-ms-resource-type"] == "directory"
    assert seen["x-ms-meta-hdi_isfolder"] == "true"
    fs.get_file_client(f"{FILES}/hd/f").get_file_properties(raw_response_hook=hook)
    assert seen["x-ms-resource-type"] == "file"
    assert "x-ms-meta-hdi_isfolder" not in {
        k.lower(): v for k, v in seen.items() if k.lower() != "x-ms-meta-hdi_isfolder"
    }


def test_set_metadata_on_directory_keeps_it_a_directory(fs):
    d = fs.get_directory_client(f"{FILES}/md")
    d.create_directory()
    d.set_metadata({"color": "blue"})
    props = d.get_directory_properties()
    assert props.metadata == {"color": "blue", "hdi_isfolder": "true"}
    assert [p.is_directory for p in fs.get_paths(FILES) if p.name.endswith("/md")] == [True]


def test_set_metadata_with_stale_etag_is_412(fs):
    f = fs.get_file_client(f"{FILES}/sm.txt")
    etag = f.create_file()["etag"]
    f.set_metadata({"a": "1"})
    with pytest.raises(ResourceModifiedError):
        f.set_metadata({"a": "2"}, etag=etag, match_condition=MatchConditions.IfNotModified)


# ---- rename ------------------------------------------------------------------------------------
def test_rename_file_moves_content(fs):
    f = fs.get_file_client(f"{FILES}/r1.txt")
    f.upload_data(b"data", overwrite=True)
    moved = f.rename_file(f"{WORKSPACE}/{FILES}/r2.txt")
    assert moved.download_file().readall() == b"data"
    assert not f.exists()


def test_rename_directory_moves_every_descendant_in_one_request(fs, emulator):
    for i in range(20):
        fs.get_file_client(f"{FILES}/src/sub{i % 3}/f{i}.txt").upload_data(str(i).encode(), overwrite=True)
    emulator.reset_requests()
    fs.get_directory_client(f"{FILES}/src").rename_directory(f"{WORKSPACE}/{FILES}/dst")
    assert [r.operation for r in emulator.requests()] == ["RenamePath"]
    names = sorted(p.name for p in fs.get_paths(f"{FILES}/dst", recursive=True) if not p.is_directory)
    assert len(names) == 20
    assert fs.get_file_client(f"{FILES}/dst/sub1/f4.txt").download_file().readall() == b"4"
    with pytest.raises(ResourceNotFoundError):
        list(fs.get_paths(f"{FILES}/src"))


def test_rename_to_missing_parent_is_404(fs):
    f = fs.get_file_client(f"{FILES}/orphan.txt")
    f.create_file()
    with pytest.raises(ResourceNotFoundError) as info:
        f.rename_file(f"{WORKSPACE}/{FILES}/no/such/dir/x.txt")
    assert info.value.error_code == "RenameDestinationParentPathNotFound"


def test_rename_onto_existing_with_if_none_match_star_is_409(fs):
    fs.get_file_client(f"{FILES}/a.txt").upload_data(b"a", overwrite=True)
    fs.get_file_client(f"{FILES}/b.txt").upload_data(b"b", overwrite=True)
    with pytest.raises(ResourceExistsError):
        fs.get_file_client(f"{FILES}/a.txt").rename_file(
            f"{WORKSPACE}/{FILES}/b.txt", match_condition=MatchConditions.IfMissing
        )
    assert fs.get_file_client(f"{FILES}/b.txt").download_file().readall() == b"b"


def test_rename_onto_existing_without_condition_overwrites(fs):
    fs.get_file_client(f"{FILES}/a.txt").upload_data(b"a", overwrite=True)
    fs.get_file_client(f"{FILES}/b.txt").upload_data(b"b", overwrite=True)
    fs.get_file_client(f"{FILES}/a.txt").rename_file(f"{WORKSPACE}/{FILES}/b.txt")
    assert fs.get_file_client(f"{FILES}/b.txt").download_file().readall() == b"a"


def test_rename_with_stale_source_etag_is_412(fs):
    f = fs.get_file_client(f"{FILES}/s.txt")
    etag = f.create_file()["etag"]
    f.upload_data(b"changed", overwrite=True)
    with pytest.raises(HttpResponseError) as info:
        f.rename_file(
            f"{WORKSPACE}/{FILES}/s2.txt", source_etag=etag, source_match_condition=MatchConditions.IfNotModified
        )
    assert info.value.status_code == 412
    assert info.value.error_code == "SourceConditionNotMet"


def test_rename_missing_source_is_404(fs):
    with pytest.raises(ResourceNotFoundError) as info:
        fs.get_file_client(f"{FILES}/ghost.txt").rename_file(f"{WORKSPACE}/{FILES}/x.txt")
    assert info.value.error_code == "SourcePathNotFound"


def test_rename_directory_into_itself_is_refused(fs):
    fs.get_directory_client(f"{FILES}/loop/inner").create_directory()
    with pytest.raises(HttpResponseError) as info:
        fs.get_directory_client(f"{FILES}/loop").rename_directory(f"{WORKSPACE}/{FILES}/loop/inner/loop")
    assert info.value.status_code == 400


# ---- delete ------------------------------------------------------------------------------------
def test_delete_directory_is_recursive(fs, emulator):
    for i in range(5):
        fs.get_file_client(f"{FILES}/gone/x{i}/f.txt").create_file()
    emulator.reset_requests()
    fs.get_directory_client(f"{FILES}/gone").delete_directory()
    assert [r.operation for r in emulator.requests()] == ["DeletePath"]
    assert [p.name for p in fs.get_paths(FILES)] == []


def test_delete_non_empty_directory_without_recursive_is_409(container, fs):
    fs.get_file_client(f"{FILES}/full/f.txt").create_file()
    with pytest.raises(ResourceExistsError) as info:
        container.get_blob_client(f"{FILES}/full").delete_blob()
    assert info.value.error_code == "DirectoryNotEmpty"
    fs.get_file_client(f"{FILES}/full/f.txt").delete_file()
    container.get_blob_client(f"{FILES}/full").delete_blob()
    assert not fs.get_directory_client(f"{FILES}/full").exists()


def test_delete_with_stale_etag_is_412(fs):
    f = fs.get_file_client(f"{FILES}/del.txt")
    etag = f.create_file()["etag"]
    f.upload_data(b"new", overwrite=True)
    with pytest.raises(ResourceModifiedError):
        f.delete_file(etag=etag, match_condition=MatchConditions.IfNotModified)
    assert f.exists()


def test_delete_missing_is_404(fs):
    with pytest.raises(ResourceNotFoundError):
        fs.get_file_client(f"{FILES}/never.txt").delete_file()


# ---- odd names ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_names_round_trip(fs, container, name):
    path = f"{FILES}/odd dir/{name}"
    fs.get_file_client(path).upload_data(name.encode(), overwrite=True)
    assert fs.get_file_client(path).download_file().readall() == name.encode()
    assert [p.name for p in fs.get_paths(f"{FILES}/odd dir")] == [path]
    assert [b.name for b in container.list_blobs(name_starts_with=f"{FILES}/odd dir/")] == [path]
    # The SDK builds the rename source as quote(unquote(path)), which mangles a literal "%ce";
    # a pre-quoted source path survives that round trip (the store layer does the same).
    moved = fs.get_file_client(quote(path)).rename_file(f"{WORKSPACE}/{FILES}/odd dir/renamed {name}")
    assert moved.download_file().readall() == name.encode()
    assert not fs.get_file_client(path).exists()


# ---- OneLake rules -----------------------------------------------------------------------------
def test_workspace_allows_only_head(datalake, container):
    assert container.get_container_properties().name == WORKSPACE
    with pytest.raises(HttpResponseError) as info:
        datalake.create_file_system("new-workspace")
    assert info.value.status_code == 403
    with pytest.raises(HttpResponseError) as info:
        container.delete_container()
    assert info.value.status_code == 403
    with pytest.raises(HttpResponseError) as info:
        container.set_container_metadata({"a": "b"})
    assert info.value.status_code == 403


@pytest.mark.parametrize("managed", [ITEM, f"{ITEM}/Files", f"{ITEM}/Tables"])
def test_managed_folders_cannot_be_deleted_or_renamed(fs, managed):
    d = fs.get_directory_client(managed)
    with pytest.raises(HttpResponseError) as info:
        d.delete_directory()
    assert info.value.status_code == 403
    with pytest.raises(HttpResponseError) as info:
        d.rename_directory(f"{WORKSPACE}/{ITEM}/Files/moved")
    assert info.value.status_code == 403
    assert d.exists()


@pytest.mark.parametrize("path", ["Other.Lakehouse", f"{ITEM}/Extra", f"{ITEM}/file-at-item-level.txt"])
def test_items_and_first_level_folders_cannot_be_created(fs, path):
    with pytest.raises(HttpResponseError) as info:
        fs.get_directory_client(path).create_directory()
    assert info.value.status_code == 403


def test_rename_into_managed_level_is_refused(fs):
    fs.get_directory_client(f"{FILES}/mine").create_directory()
    with pytest.raises(HttpResponseError) as info:
        fs.get_directory_client(f"{FILES}/mine").rename_directory(f"{WORKSPACE}/{ITEM}/Mine")
    assert info.value.status_code == 403


def test_set_access_control_is_rejected(fs):
    f = fs.get_file_client(f"{FILES}/acl.txt")
    f.create_file()
    with pytest.raises(HttpResponseError) as info:
        f.set_access_control(permissions="rwxrwxrwx")
    assert info.value.status_code == 400
    with pytest.raises(HttpResponseError):
        fs.get_directory_client(FILES).set_access_control_recursive(acl="user::rwx")


def test_owner_and_permission_headers_are_ignored_and_echoed(fs):
    seen = {}
    fs.get_file_client(f"{FILES}/perm.txt").create_file(
        permissions="rwx------",
        umask="0000",
        owner="someone",
        raw_response_hook=lambda r: seen.update(r.http_response.headers),
    )
    rejected = set(seen["x-ms-rejected-headers"].split(","))
    assert {"x-ms-permissions", "x-ms-umask", "x-ms-owner"} <= rejected
    assert fs.get_file_client(f"{FILES}/perm.txt").exists()


def test_snapshots_and_versions_are_refused(container):
    blob = container.get_blob_client(f"{FILES}/snap.txt")
    blob.upload_blob(b"x")
    with pytest.raises(HttpResponseError) as info:
        blob.create_snapshot()
    assert info.value.status_code == 409
    with pytest.raises(HttpResponseError):
        container.get_blob_client(f"{FILES}/snap.txt", version_id="2024-01-01T00:00:00.0000000Z").download_blob()

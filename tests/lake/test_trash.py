"""lake.trash on the emulator: which deletions are items, how a file's versions pair with it, and
item ids."""

from __future__ import annotations

import pytest

from onelake_contents.lake.files import LakeFiles
from onelake_contents.lake.trash import NameTaken, Trash, item_token, parse_token
from onelake_contents.lake.versions import Versions, version_folder
from onelake_contents.paths import PathMapper
from onelake_contents.storage import OneLakeStore
from tests.conftest import FILES, WORKSPACE

ROOT = f"{FILES}/home/t"


@pytest.fixture
async def files(emulator, async_credential):
    store = OneLakeStore(emulator.endpoint, WORKSPACE, async_credential, ca_file=emulator.ca_file, retry_total=0)
    files = LakeFiles(store, PathMapper(ROOT))
    yield files
    await files.close()


async def delete_with_versions(files: LakeFiles, path: str) -> None:
    await files.delete(path, is_dir=False)
    await Versions(files).delete_all(path)


async def test_versions_pair_with_their_file_and_are_never_items(files, emulator):
    versions = Versions(files)
    await files.write(f"{ROOT}/n.ipynb", b"{}", None)
    await versions.create(f"{ROOT}/n.ipynb")
    await delete_with_versions(files, f"{ROOT}/n.ipynb")
    await files.write(f"{ROOT}/.hidden.txt", b"h", None)
    await files.delete(f"{ROOT}/.hidden.txt", is_dir=False)
    (item,) = await Trash(files).list(ROOT)
    assert (item.name, item.is_dir, item.versions_id is not None) == ("n.ipynb", False, True)
    assert [i.name for i in await Trash(files).list(ROOT, hidden=True)] == [".hidden.txt", "n.ipynb"]
    await Trash(files).restore(item.path, item.deletion_id, item.versions_id)
    assert [e.name for e in await versions.list(f"{ROOT}/n.ipynb")]


async def test_versions_deleted_much_later_are_not_the_files(files, emulator):
    versions = Versions(files)
    await files.write(f"{ROOT}/a.txt", b"a", None)
    await versions.create(f"{ROOT}/a.txt")
    await files.delete(f"{ROOT}/a.txt", is_dir=False)
    emulator.advance_clock(3600)  # the versions folder goes an hour later: some other deletion
    await files.delete(version_folder(f"{ROOT}/a.txt"), is_dir=True)
    (item,) = await Trash(files).list(ROOT)
    assert item.versions_id is None


async def test_restoring_in_place_onto_a_taken_name_changes_nothing(files, emulator):
    await files.write(f"{ROOT}/a.txt", b"old", None)
    await files.delete(f"{ROOT}/a.txt", is_dir=False)
    await files.write(f"{ROOT}/a.txt", b"new", None)
    (item,) = await Trash(files).list(ROOT)
    emulator.reset_requests()
    with pytest.raises(NameTaken):
        await Trash(files).restore(item.path, item.deletion_id)
    assert [r.operation for r in emulator.requests()] == ["UndeleteBlob"]
    assert (await files.store.read(f"{ROOT}/a.txt")).data == b"new"


async def test_restoring_to_a_name_in_another_folder_is_refused(files):
    with pytest.raises(ValueError):
        await Trash(files).restore(f"{ROOT}/a/x.txt", "1", to=f"{ROOT}/b/x.txt")


def test_item_ids_round_trip_and_refuse_garbage():
    token = item_token("d/n 1.ipynb", "134410734261143424", None)
    assert parse_token(token) == ("d/n 1.ipynb", "134410734261143424", None)
    for bad in ("", "!!!", item_token("", "1", None), item_token("x", "1;drop", None)):
        with pytest.raises(ValueError):
            parse_token(bad)

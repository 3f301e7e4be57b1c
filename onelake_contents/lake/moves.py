"""Moving a file or a folder from one root to another (another item or workspace, where OneLake's
rename does not reach): OneLake copies it (`LakeFiles.copy_file_from` / `copy_tree_from`), a
file with its versions, then the source is deleted. Used by the contents manager and the command
line alike.

The outcome is always one of three, never half of one: moved; nothing moved (the copy failed: what
it made is removed, the source is whole: `NothingMoved`); or copied but the source still there (its
delete failed: `SourceKept`, both exist and nothing is lost).
"""

from __future__ import annotations

import contextlib

from ..storage import Entry, StoreError
from .files import LakeFiles
from .versions import version_folder


class NothingMoved(StoreError):
    """The copy failed; the destination holds nothing of it and the source is whole (`cause`)."""

    def __init__(self, cause: StoreError):
        super().__init__(cause.message, cause.code, cause.status)
        self.cause = cause


class SourceKept(StoreError):
    """Copied, but the source could not be deleted afterwards: both are there."""


async def move_between(source_files: LakeFiles, source: str, dest_files: LakeFiles, dest: str, entry: Entry) -> None:
    """Move `source` (described by `entry`) of one root to `dest` of another."""
    try:
        await _copy(source_files, source, dest_files, dest, entry)
    except StoreError as error:
        with contextlib.suppress(StoreError):
            await dest_files.delete_if_there(dest, is_dir=entry.is_dir)
            if not entry.is_dir:
                await dest_files.delete_if_there(version_folder(dest), is_dir=True)
        raise NothingMoved(error) from None
    try:
        await source_files.delete(source, is_dir=entry.is_dir)
        if not entry.is_dir:
            await source_files.delete_if_there(version_folder(source), is_dir=True)
    except StoreError as error:
        raise SourceKept(f"{source} was copied to {dest}, but could not be deleted: {error.message}") from None


async def _copy(source_files: LakeFiles, source: str, dest_files: LakeFiles, dest: str, entry: Entry) -> None:
    if entry.is_dir:
        await dest_files.copy_tree_from(source_files, source, dest)
        return
    await dest_files.copy_file_from(source_files, source, dest, size=entry.size)
    versions = await source_files.entry(version_folder(source))
    if versions is not None and versions.is_dir:
        await dest_files.copy_tree_from(source_files, version_folder(source), version_folder(dest))

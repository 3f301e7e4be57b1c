"""The trash: what OneLake's soft delete keeps of a folder, and putting it back.

OneLake keeps every deleted file and folder for the workspace's retention (7 days unless the
workspace sets 1 to 365) and restores it only where it was (Undelete Blob); see
`storage.deleted`. A deleted folder comes back with its contents, and so with the versions of the
files in it (`.ipynb_checkpoints/` is inside). Deleting a file deletes its versions folder
separately, a moment later: the trash pairs the two deletions (the versions folder of that file
deleted within `PAIRING_WINDOW` of it) and restores both, and never lists versions on their own.

Restoring under another name, since restoring in place is all OneLake offers, is four atomic
renames or undeletes (eight with versions), each undone if a later one fails:
1. the file now holding the name moves aside to a hidden name in the same folder (one rename);
2. the deletion is undeleted to its own name;
3. it is renamed to the name chosen;
4. the holder comes back to its name.
If step 2 fails, step 1 is undone. If step 3 fails (the chosen name was taken meanwhile), the
restored item is deleted again (back into the trash, under a new deletion id) and step 1 undone.
If step 4 fails, nothing is lost but the holder stays under its hidden name: `Stranded` says which.
Paths here are OneLake paths.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..paths import CHECKPOINT_DIR, in_checkpoint_dir, is_hidden, join, split
from ..storage import AlreadyExists, NotFound, StoreError
from ..storage.deleted import Deleted
from .files import LakeFiles
from .versions import version_folder

# a file's versions folder is deleted right after the file (one more request): a deletion of
# it this close to the file's belongs to it
PAIRING_WINDOW = timedelta(minutes=2)
_DELETION_ID = re.compile(r"^[\w-]{1,64}$")


class NameTaken(AlreadyExists):
    """The name to restore to is taken: restore under another name."""


class Stranded(StoreError):
    """The restore is done, but the file that held the name could not come back to it: it is at
    `holder` (hidden), with nothing lost."""

    def __init__(self, message: str, holder: str):
        super().__init__(message, status=500)
        self.holder = holder


@dataclass(frozen=True)
class TrashItem:
    """One deleted file or folder (OneLake path where it was), with the deletion of its versions
    folder when it is a file deleted with its versions."""

    path: str
    deletion_id: str | None
    is_dir: bool
    size: int
    deleted: datetime
    remaining_days: int | None
    versions_id: str | None = None

    @property
    def name(self) -> str:
        return split(self.path)[1]


def item_token(api_path: str, deletion_id: str | None, versions_id: str | None) -> str:
    """An item's id in the API and the command line: where it was (API path) and its deletions."""
    raw = json.dumps([api_path, deletion_id, versions_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_token(token: str) -> tuple[str, str | None, str | None]:
    """(API path, deletion id, versions deletion id) of an item id; ValueError if it is none."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        api_path, deletion_id, versions_id = json.loads(raw)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise ValueError(f"not a trash item id: {token!r}") from None
    if not isinstance(api_path, str) or not api_path:
        raise ValueError(f"not a trash item id: {token!r}")
    for value in (deletion_id, versions_id):
        if value is not None and not (isinstance(value, str) and _DELETION_ID.match(value)):
            raise ValueError(f"not a trash item id: {token!r}")
    return api_path, deletion_id, versions_id


def recency(item: TrashItem) -> tuple:
    """Deletion times have whole seconds; within one, OneLake's deletion ids (Windows file times
    of the deletion) tell the order."""
    order = int(item.deletion_id) if item.deletion_id and item.deletion_id.isdigit() else 0
    return item.deleted, order, item.path


class Trash:
    """The deleted files and folders of one root, on the files layer."""

    def __init__(self, files: LakeFiles, log: logging.Logger | None = None):
        self.files = files
        self.log = log or logging.getLogger(__name__)

    async def list(self, folder: str, *, hidden: bool = False) -> list[TrashItem]:
        """What was deleted anywhere below `folder` and can still be restored, newest first: one
        request per 5,000 deletions. Versions are never items of their own; hidden paths (below
        `folder`) are left out unless `hidden`."""
        found = await self.files.deleted_below(folder)
        versions: dict[str, list[Deleted]] = {}
        items: list[Deleted] = []
        for deleted in found:
            below = deleted.path[len(folder) + 1 :] if folder else deleted.path
            if in_checkpoint_dir(below):
                if deleted.is_dir and split(split(deleted.path)[0])[1] == CHECKPOINT_DIR:
                    versions.setdefault(deleted.path, []).append(deleted)
            elif hidden or not is_hidden(below):
                items.append(deleted)
        result = [self._item(deleted, versions) for deleted in items]
        return sorted(result, key=recency, reverse=True)

    @staticmethod
    def _item(deleted: Deleted, versions: dict[str, list[Deleted]]) -> TrashItem:
        paired = None
        if not deleted.is_dir:
            candidates = [
                v
                for v in versions.get(version_folder(deleted.path), ())
                if deleted.deleted - PAIRING_WINDOW / 4 <= v.deleted <= deleted.deleted + PAIRING_WINDOW
            ]
            if candidates:
                paired = min(candidates, key=lambda v: abs(v.deleted - deleted.deleted))
                versions[version_folder(deleted.path)].remove(paired)
        return TrashItem(
            deleted.path,
            deleted.deletion_id,
            deleted.is_dir,
            deleted.size,
            deleted.deleted,
            deleted.remaining_days,
            paired.deletion_id if paired else None,
        )

    async def restore(
        self, path: str, deletion_id: str | None, versions_id: str | None = None, *, to: str | None = None
    ) -> str:
        """Put a deletion back at `path`, or at `to` (a path in the same folder) when given, with
        its versions; returns where it is now. NameTaken when the name to restore to is taken,
        NotFound when OneLake keeps no such deletion (restored already, or past its retention)."""
        if to is None or to == path:
            await self._undelete(path, deletion_id)
            await self._undelete_versions(path, versions_id)
            return path
        if split(to)[0] != split(path)[0]:
            raise ValueError("a deletion is restored within its own folder")
        if await self.files.entry(to) is not None:
            raise NameTaken(f"{to} exists", status=409)
        holder = await self._aside(path)
        try:
            await self._undelete(path, deletion_id)
        except BaseException:
            await self._back(holder, path)
            raise
        await self._undelete_versions(path, versions_id)
        try:
            await self.files.rename(path, to)
        except BaseException:
            self.log.warning("Could not rename the restored %s to %s; it goes back to the trash", path, to)
            restored = await self.files.entry(path)
            if restored is not None:
                await self.files.delete(path, is_dir=restored.is_dir)
            await self.files.delete_if_there(version_folder(path), is_dir=True)
            await self._back(holder, path)
            raise
        await self.files.replace_folder(version_folder(path), version_folder(to))
        await self._back(holder, path)
        return to

    async def _undelete(self, path: str, deletion_id: str | None) -> None:
        try:
            await self.files.undelete(path, deletion_id)
        except AlreadyExists:
            raise NameTaken(f"{path} exists: restore it under another name", status=409) from None

    async def _undelete_versions(self, path: str, versions_id: str | None) -> None:
        """The versions come back with the file when they can (the file matters more: a versions
        folder in the way leaves them in the trash, with a warning)."""
        if versions_id is None:
            return
        try:
            await self.files.undelete(version_folder(path), versions_id)
        except (AlreadyExists, NotFound) as error:
            self.log.warning("The versions of %s stay in the trash: %s", path, error.message)

    async def _aside(self, path: str) -> str | None:
        """Move what holds `path` (and its versions) to a hidden name beside it; None if nothing does."""
        if await self.files.entry(path) is None:
            return None
        parent, name = split(path)
        holder = join(parent, f".{name}.restoring-{secrets.token_hex(4)}")
        await self.files.rename(path, holder)
        await self.files.replace_folder(version_folder(path), version_folder(holder))
        return holder

    async def _back(self, holder: str | None, path: str) -> None:
        if holder is None:
            return
        try:
            await self.files.rename(holder, path)
        except StoreError as error:
            raise Stranded(f"{path} was moved aside to {holder} and could not come back: {error}", holder) from None
        await self.files.replace_folder(version_folder(holder), version_folder(path))

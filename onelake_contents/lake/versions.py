"""A file's versions (Jupyter checkpoints), kept as ordinary files in OneLake.

OneLake has neither blob versions nor snapshots (hierarchical namespace), and its soft delete does
not cover overwrites, so versions are files we manage: `<dir>/.ipynb_checkpoints/<name>/<id>`, one
file per version, ids `<UTC time>-<random>` (match `[\\w-]+`, sort by time). Keeping them in the
file's own directory means a directory rename or delete carries them along in the same single
request; a file's versions live in one folder, so renaming or deleting the file moves or deletes
them in one more request. Paths here are OneLake paths.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from ..paths import CHECKPOINT_DIR, join, split
from ..storage import Entry, NotFound
from ..turns import off_the_loop
from .cache import MISSING
from .content import content_type, sha256
from .files import IsADirectory, LakeFiles

VERSION_ID = re.compile(r"^[\w-]+$")


def new_version_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def version_folder(path: str) -> str:
    """The folder holding a file's versions."""
    parent, name = split(path)
    return join(join(parent, CHECKPOINT_DIR), name)


def version_path(path: str, version_id: str) -> str | None:
    """Where one version of a file lives; None for an id that cannot be ours."""
    if not isinstance(version_id, str) or not VERSION_ID.match(version_id):
        return None
    return join(version_folder(path), version_id)


def oldest_first(entries) -> list[Entry]:
    """The versions among a version folder's entries, oldest first (the order JupyterLab reads
    a checkpoint list in: the last one is the latest)."""
    return sorted((e for e in entries if not e.is_dir and VERSION_ID.match(e.name)), key=lambda e: e.name)


class NoSuchVersion(NotFound):
    """No version with that id."""


class Versions:
    """The versions of the files of one root, on the files layer (`keep` newest per file)."""

    def __init__(self, files: LakeFiles, keep: int = 10):
        self.files = files
        self.keep = keep
        self._has_version: set[str] = set()
        # the newest version this server made of each file, with the hash of its bytes
        self._latest: dict[str, tuple[str, Entry]] = {}

    async def list(self, path: str) -> list[Entry]:
        """A file's versions, oldest to newest (one listing, or none when fresh in the cache);
        the oldest beyond `keep` are deleted."""
        try:
            entries = await self.files.listing(version_folder(path))
        except NotFound:
            return []
        versions = oldest_first(entries)
        if versions:
            self._has_version.add(path)
        return await self._prune(versions)

    async def newest_holding(self, path: str, data: bytes) -> Entry | None:
        """The newest version this server made of the file, if it holds exactly these bytes (and
        still exists as far as it knows): what `create(path, data)` would return, unwritten."""
        if path not in self._latest:
            return None
        return self._latest_with(path, await off_the_loop(sha256, data))

    def _latest_with(self, path: str, digest: str) -> Entry | None:
        latest = self._latest.get(path)
        if latest is not None and latest[0] == digest and self.files.known(latest[1].path) is not MISSING:
            return latest[1]
        return None

    async def create(self, path: str, data: bytes | None = None) -> Entry:
        """A new version with the file's current bytes (or `data`): one request when the files
        layer holds them (this server just read or wrote them), else two. Bytes identical to the
        newest version this server made are that version: JupyterLab asks for a checkpoint right
        after the save that made the first one, and a second copy of the same bytes is no history."""
        if data is None:
            blob = self.files.held_current(path)
            if blob is None:
                blob = await self.files.read_once(path)
                if blob.entry.is_dir:
                    raise IsADirectory(f"{path} is a directory")
            data = blob.data
        digest = await off_the_loop(sha256, data)
        same = self._latest_with(path, digest)
        if same is not None:
            return same
        entry = await self.files.write_new(version_path(path, new_version_id()), data, content_type(path))
        self._latest[path] = (digest, entry)
        self._has_version.add(path)
        listing = self.files.cached_listing(version_folder(path))
        if listing is not None:
            await self._prune(oldest_first(listing))
        return entry

    async def ensure_one(self, path: str) -> None:
        """After a save: the file has a first version (as jupyter_server's file manager does it)."""
        if path in self._has_version:
            return
        if not await self.list(path):
            await self.create(path)

    async def _prune(self, oldest: list[Entry]) -> list[Entry]:
        """The newest `keep` of versions listed oldest first; the others are deleted."""
        beyond = max(len(oldest) - self.keep, 0)
        extra, kept = oldest[:beyond], oldest[beyond:]
        for entry in extra:
            await self.files.delete_if_there(entry.path, is_dir=False)
        return kept

    async def read(self, path: str, version_id: str):
        version = version_path(path, version_id)
        if version is None:
            raise NoSuchVersion(f"no version {version_id!r} of {path}")
        try:
            return await self.files.read_once(version)
        except NotFound:
            raise NoSuchVersion(f"no version {version_id!r} of {path}") from None

    async def delete(self, path: str, version_id: str) -> None:
        version = version_path(path, version_id)
        if version is None:
            raise NoSuchVersion(f"no version {version_id!r} of {path}")
        if not await self.files.delete_if_there(version, is_dir=False):
            raise NoSuchVersion(f"no version {version_id!r} of {path}")
        self._has_version.discard(path)  # it may have been the last one: the next save asks again
        self._latest.pop(path, None)

    async def delete_all(self, path: str) -> None:
        await self.files.delete_if_there(version_folder(path), is_dir=True)
        self._has_version.discard(path)
        self._latest.pop(path, None)

    async def move_one(self, version_id: str, old_path: str, new_path: str) -> None:
        source, dest = version_path(old_path, version_id), version_path(new_path, version_id)
        if source is None or dest is None:
            raise NoSuchVersion(f"no version {version_id!r} of {old_path}")
        await self.files.replace_folder(source, dest)

    async def move_all(self, old_path: str, new_path: str) -> None:
        """All of a file's versions follow it: one request (two more if the target folder's
        parent is new)."""
        await self.files.replace_folder(version_folder(old_path), version_folder(new_path))
        if old_path in self._has_version:
            self._has_version.discard(old_path)
            self._has_version.add(new_path)
        latest = self._latest.pop(old_path, None)
        if latest is not None:
            digest, entry = latest
            moved = version_path(new_path, entry.name)
            self._latest[new_path] = (
                digest,
                Entry(moved, False, entry.size, entry.last_modified, entry.created, entry.etag),
            )

    # ---- a file with its versions: what the manager's checkpoints and the command line share ----
    async def restore(self, path: str, version_id: str, *, overwrite_changes: bool = False) -> Entry:
        """The file's content becomes the version's: a save like the user's own (conditional on
        the version of the file this server last saw, unless `overwrite_changes`). Two requests."""
        blob = await self.read(path, version_id)
        current = await self.files.entry(path)
        if current is not None and current.is_dir:
            raise IsADirectory(f"{path} is a directory")
        return await self.files.write(path, blob.data, content_type(path), overwrite_changes=overwrite_changes)

    async def remove(self, path: str) -> None:
        """A file and its versions (a request each)."""
        await self.files.delete(path, is_dir=False)
        await self.delete_all(path)

    async def move(self, source: str, dest: str) -> Entry | None:
        """A file with its versions, or a folder (its files' versions go with it in the same
        request), renamed within its root: one request, plus one for a file's versions."""
        moved = await self.files.rename(source, dest)
        if moved is None or not moved.is_dir:
            await self.move_all(source, dest)
        return moved

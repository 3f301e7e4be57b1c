"""The version ledger: what this server last read or wrote of each OneLake path.

It answers three questions, each in one place:
- *Which version may a save overwrite?* The ETag this server last saw (`seen`): saves are
  conditional on it, so a change made elsewhere meanwhile is never overwritten.
- *Did a request whose answer was lost land?* Every write carries a fresh write id in the blob's
  metadata (beside the content hash). A file holding the id of this very write is this write,
  landed (`landed`); one holding the id of the version we last saw, or of a write of ours whose
  outcome is unknown, changed only by our own hand (`ours`). Content alone never decides: two
  servers writing the same bytes (every new notebook is the same bytes) are told apart.
- *What `last_modified` do we report?* OneLake's times have whole seconds; a new version within
  the second of the previous one is reported 1 ms later (`modified`), so the value never goes
  back and clients that use it as a version see every change.

It also holds the bytes of recently read or written files (`held`), so reopening an unchanged file
is one 304 and a save of unchanged bytes writes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from cachetools import LRUCache

from ..storage import Blob, Entry
from .content import HASH_METADATA, WRITE_METADATA


def new_write_id() -> str:
    return uuid.uuid4().hex


class VersionLedger:
    def __init__(self, maxsize: int = 20000, content_bytes: int = 64 * 1024 * 1024):
        self.content_bytes = content_bytes
        self._seen: LRUCache = LRUCache(maxsize=maxsize)  # path -> (etag, write id or None)
        self._pending: LRUCache = LRUCache(maxsize=maxsize)  # path -> write ids of unknown outcome
        self._reported: LRUCache = LRUCache(maxsize=maxsize)  # path -> (etag, reported last_modified)
        self._held: LRUCache = LRUCache(maxsize=max(content_bytes, 1), getsizeof=lambda b: len(b.data) + 1)

    # ---- what we saw ---------------------------------------------------------------------------
    def seen_etag(self, path: str) -> str | None:
        seen = self._seen.get(path)
        return seen[0] if seen else None

    def remember(self, path: str, blob: Blob) -> None:
        """We read or wrote this version of the file (its bytes kept when small enough)."""
        self._seen[path] = (blob.entry.etag, blob.metadata.get(WRITE_METADATA))
        if len(blob.data) < self.content_bytes // 4:
            self._held[path] = blob
        else:
            self._held.pop(path, None)

    def remember_version(self, path: str, entry: Entry, write_id: str | None) -> None:
        """We wrote this version without keeping its bytes (a published upload)."""
        self._seen[path] = (entry.etag, write_id)
        self._held.pop(path, None)

    def held(self, path: str, etag: str | None = None) -> Blob | None:
        """The bytes of the version we last read or wrote (of `etag` when given)."""
        blob = self._held.get(path)
        if blob is None or (etag is not None and blob.entry.etag != etag):
            return None
        return blob

    # ---- did it land? --------------------------------------------------------------------------
    def expect(self, path: str, write_id: str) -> None:
        """A write is about to go out; until `settled`, its outcome is unknown."""
        self._pending.setdefault(path, set()).add(write_id)

    def settled(self, path: str) -> None:
        self._pending.pop(path, None)

    @staticmethod
    def landed(metadata: dict[str, str], write_id: str) -> bool:
        """The file holds this very write: a retried request whose first answer was lost."""
        return metadata.get(WRITE_METADATA) == write_id

    def ours(self, path: str, metadata: dict[str, str]) -> bool:
        """The file holds the version we last saw, or a write of ours whose outcome was unknown:
        its ETag may have moved (a rename, our own lost answer), but nobody else changed it."""
        found = metadata.get(WRITE_METADATA)
        if not found:
            return False
        seen = self._seen.get(path)
        return (seen is not None and seen[1] == found) or found in self._pending.get(path, ())

    # ---- reported times ------------------------------------------------------------------------
    def modified(self, entry: Entry) -> datetime:
        """`last_modified` that grows with every version this server sees of a file."""
        if entry.is_dir or not entry.etag:
            return entry.last_modified
        known = self._reported.get(entry.path)
        if known is not None and known[0] == entry.etag:
            return known[1]
        reported = entry.last_modified
        if known is not None and reported <= known[1]:
            reported = known[1] + timedelta(milliseconds=1)
        self._reported[entry.path] = (entry.etag, reported)
        return reported

    # ---- renames and deletes -------------------------------------------------------------------
    def forget(self, path: str) -> None:
        """Forget a path and everything below it (deleted)."""
        prefix = path + "/"
        for table in (self._seen, self._held, self._pending):
            for key in [k for k in list(table.keys()) if k == path or k.startswith(prefix)]:
                table.pop(key, None)

    def moved(self, source: str, dest: str, new_etag: str | None) -> None:
        """`source` (a file, or a directory with everything below it) is now `dest`; a moved
        file's new ETag, when OneLake told us, replaces the one we saw. What we reported as
        `last_modified` moves too: a rename changes no content, and the time never goes back."""
        prefix = source + "/"

        def below(table: LRUCache) -> dict:
            return {k: v for k, v in table.items() if k == source or k.startswith(prefix)}

        seen, reported = below(self._seen), below(self._reported)
        self.forget(source)
        for key in reported:
            self._reported.pop(key, None)
        for key, (etag, write_id) in seen.items():
            self._seen[dest + key[len(source) :]] = (new_etag if key == source and new_etag else etag, write_id)
        for key, (etag, when) in reported.items():
            self._reported[dest + key[len(source) :]] = (new_etag if key == source and new_etag else etag, when)

    def clear(self) -> None:
        for table in (self._seen, self._pending, self._reported, self._held):
            table.clear()


def write_metadata(digest: str, write_id: str) -> dict[str, str]:
    """The metadata every write of ours carries: content hash and write id."""
    return {HASH_METADATA: digest, WRITE_METADATA: write_id}

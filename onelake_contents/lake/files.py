"""The files layer: OneLake files under one root, as the contents manager and the checkpoints use them.

Entries and listings come from the metadata cache or one request shared by concurrent callers;
reads are conditional on the bytes we hold; writes are one Put Blob, conditional on the version we
last saw, and reconcile a lost answer through the version ledger; renames, deletes and tree copies
keep the cache and the ledger in step. Works on OneLake paths (`paths` maps API paths onto them).
Raises the storage errors and the few of its own below, never an HTTP error.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from datetime import UTC, datetime

from .. import metrics
from ..paths import PathMapper
from ..storage import (
    NOT_MODIFIED,
    AlreadyExists,
    BadRequest,
    Blob,
    Changed,
    Conflict,
    Entry,
    NotFound,
    OneLakeStore,
    StoreError,
    TooLarge,
)
from ..storage.deleted import Deleted
from ..turns import off_the_loop
from .cache import MISSING, MetadataCache
from .content import HASH_METADATA, WRITE_METADATA, content_type, sha256
from .ledger import VersionLedger, new_write_id, write_metadata


class NotADirectory(StoreError):
    """A directory was needed and a file is there."""


class IsADirectory(StoreError):
    """A file was needed and a directory is there."""


class MissingParent(NotFound):
    """The parent directory of a rename's destination does not exist."""


class LakeFiles:
    """The OneLake files of one root folder, through one store."""

    def __init__(
        self,
        store: OneLakeStore,
        paths: PathMapper,
        *,
        metadata_ttl: float = 10.0,
        cache_size: int = 20000,
        content_cache_bytes: int = 64 * 1024 * 1024,
        log: logging.Logger | None = None,
    ):
        self.store = store
        self.paths = paths
        self.cache = MetadataCache(ttl=metadata_ttl, maxsize=cache_size)
        self.ledger = VersionLedger(cache_size, content_cache_bytes)
        self.log = log or logging.getLogger(__name__)
        self._root_ready = False
        self._root_lock: asyncio.Lock | None = None
        # one write at a time per path (autosave and Ctrl+S of one notebook, say): the second
        # starts from the version the first made instead of failing its condition
        self._writing: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # folders where OneLake security refused us a change (OneLake does not say in advance)
        self._read_only: set[str] = set()

    # ---- what OneLake security lets us change ------------------------------------------------
    def refused_write(self, path: str) -> None:
        """OneLake refused a change at `path`: its folder is read-only for us."""
        self._read_only.add(path.rpartition("/")[0])

    def is_read_only(self, path: str) -> bool:
        return any(path == folder or path.startswith(folder + "/") for folder in self._read_only)

    def _wrote(self, entry: Entry) -> None:
        self.cache.created(entry)
        if self._read_only:  # a write went through: what we learnt about its folders is out of date
            self._read_only = {f for f in self._read_only if not entry.path.startswith(f + "/")}

    # ---- the root ------------------------------------------------------------------------------
    async def ensure_root(self, create: bool, home: str | None = None) -> None:
        """Once: the root folder exists (a new user's folder is created when `create`), and so
        does the folder `home` below it (the user's own, when the root is shared by everyone)."""
        if self._root_ready:
            return
        if self._root_lock is None:
            self._root_lock = asyncio.Lock()
        async with self._root_lock:
            if self._root_ready:
                return
            if home and create:
                mine = await self.entry(home)
                if mine is not None and mine.is_dir:
                    self._root_ready = True  # the user's own folder is there, so is the root above it
                    return
            root = self.paths.root
            try:
                entry, _ = await self.store.stat(root)
            except NotFound:
                if not create:
                    raise
                self.log.info("Creating the OneLake root folder %s", root)
                try:
                    entry = await self.store.mkdir(root)
                except AlreadyExists:
                    entry, _ = await self.store.stat(root)
            if not entry.is_dir:
                raise NotADirectory(f"the OneLake root {root} is a file, not a folder")
            self.cache.put(entry)
            if home and create:
                await self.make_directory(home)
            self._root_ready = True

    # ---- what is there -------------------------------------------------------------------------
    def known(self, path: str):
        """What the cache knows of a path: an Entry, MISSING, or None."""
        return self.cache.lookup(path)

    def known_by_name(self, path: str):
        """What the cache may answer when a path is asked for by name: an Entry, MISSING only
        when OneLake said so for the path itself within the TTL, else None. A path left out of a
        listing (up to `metadata_ttl` old) may have been made elsewhere since: a request confirms."""
        hit = self.cache.lookup(path)
        if hit is MISSING and not self.cache.seen_missing(path):
            return None
        return hit

    def known_dir(self, path: str) -> Entry | None:
        return self.cache.known_dir(path)

    async def entry(self, path: str) -> Entry | None:
        """The entry of a path from the cache, else one HEAD (shared by concurrent callers)."""
        hit = self.known_by_name(path)
        if hit is MISSING:
            metrics.count_cache("negative")
            return None
        if hit is not None:
            metrics.count_cache("hit")
            return hit
        metrics.count_cache("miss")

        async def head():
            try:
                entry, _ = await self.store.stat(path)
            except NotFound:
                self.cache.put_missing(path)
                return None
            self.cache.put(entry)
            return entry

        return await self.cache.single_flight(("stat", path), head)

    async def listing(self, path: str) -> list[Entry]:
        """The children of a directory from a fresh listing, else one List Paths (shared)."""
        hit = self.cache.listing(path)
        if hit is not None:
            metrics.count_cache("hit")
            return hit
        if self.known_by_name(path) is MISSING:
            metrics.count_cache("negative")
            raise NotFound(f"{path} does not exist", status=404)
        metrics.count_cache("miss")

        async def load():
            try:
                entries = await self.store.list_dir(path)
            except NotFound:
                self.cache.put_missing(path)
                raise
            if len(entries) == 1 and entries[0].path == path and not entries[0].is_dir:
                self.cache.put(entries[0])
                raise NotADirectory(f"{path} is not a directory")
            self.cache.put_listing(path, entries)
            return entries

        return await self.cache.single_flight(("list", path), load)

    async def explore(self, path: str) -> Entry | None:
        """A path seen in no listing, in one List Paths: a directory (its listing is cached), a
        file (OneLake lists a file as itself), or None when nothing is there.

        A listing does not describe the directory itself: unless its entry is known already, its
        times are taken from its contents (newest change, oldest creation; the time of the answer
        for an empty one) until a listing of its parent brings the real ones.
        """
        try:
            children = await self.listing(path)
        except NotFound:
            return None
        except NotADirectory:
            return self.cache.lookup(path)  # `listing` kept the file's entry
        known = self.cache.known_dir(path)
        if known is not None:
            return known
        now = datetime.now(UTC).replace(microsecond=0)
        entry = Entry(
            path,
            True,
            0,
            max((c.last_modified for c in children), default=now),
            min((c.created for c in children), default=now),
            "",
        )
        self.cache.put_dir(entry)
        return entry

    def modified(self, entry: Entry):
        """The `last_modified` to report for an entry (never going back, see the ledger)."""
        return self.ledger.modified(entry)

    # ---- reading -------------------------------------------------------------------------------
    async def read(self, path: str, *, max_bytes: int, size: int | None = None) -> Blob:
        """The file's bytes: one GET, conditional (304) when we hold the bytes of its ETag."""
        if size is not None and size > max_bytes:
            raise TooLarge(f"{path} has {size} bytes", status=413, size=size)
        # JupyterLab and the collaboration room open a notebook at the same moment: one GET for both
        return await self.cache.single_flight(("read", path, max_bytes), lambda: self._read(path, max_bytes))

    async def _read(self, path: str, max_bytes: int) -> Blob:
        held = self.ledger.held(path)
        try:
            result = await self.store.read(path, if_none_match=held.entry.etag if held else None, max_bytes=max_bytes)
        except NotFound:
            self.cache.put_missing(path)
            raise
        blob = held if result is NOT_MODIFIED else result
        self.cache.put(blob.entry)
        if not blob.entry.is_dir:
            self.ledger.remember(path, blob)
        return blob

    def held_current(self, path: str) -> Blob | None:
        """The bytes of the current version of a file, when this server just read or wrote them."""
        hit = self.cache.lookup(path)
        if not isinstance(hit, Entry):
            return None
        return self.ledger.held(path, hit.etag)

    def held_seen(self, path: str) -> Blob | None:
        """The bytes of the version of a file this server last read or wrote, however long ago:
        current as far as a write conditional on that version (`If-Match`) is concerned."""
        etag = self.ledger.seen_etag(path)
        return None if etag is None else self.ledger.held(path, etag)

    async def stream(self, path: str, offset: int = 0, length: int | None = None):
        """The entry and an iterator of the bytes of a range (4 MiB pieces at most in memory)."""
        return await self.store.stream(path, offset, length)

    async def described(self, path: str) -> tuple[Entry, dict[str, str]]:
        """A path's entry and metadata, asked of OneLake now (one HEAD)."""
        return await self.store.stat(path)

    async def everything_in(self, path: str) -> list[Entry]:
        """Every file and folder below `path`, at any depth (one recursive listing per 5,000)."""
        return await self.store.list_tree(path)

    async def read_once(self, path: str, *, max_bytes: int | None = None) -> Blob:
        """A file's bytes, kept nowhere (a version's, read for a restore or a diff); TooLarge
        over `max_bytes`."""
        return await self.store.read(path, max_bytes=max_bytes)

    def cached_listing(self, path: str) -> list[Entry] | None:
        """A folder's listing while fresh in the cache, else None (no request)."""
        return self.cache.listing(path)

    def forget(self, path: str) -> None:
        """Forget what is known of `path` (the next action asks OneLake again)."""
        self.cache.forget(path)

    async def list_now(self, path: str) -> list[Entry]:
        """A folder's entries as OneLake has them now (a housekeeping sweep; nothing cached)."""
        return await self.store.list_dir(path)

    # ---- staged files: uploads ------------------------------------------------------------------
    async def stage_block(self, path: str, block_id: str, data: bytes) -> None:
        """A block of `path`, invisible until committed (OneLake discards blocks never committed)."""
        await self.store.stage_block(path, block_id, data)

    async def publish_staged(
        self, staging: str, target: str, blocks: list[str], *, digest: str, size: int, content_type: str | None
    ) -> Entry:
        """The staged blocks committed as the file `staging`, then moved over `target` in one
        rename: `target` holds the old file or the whole new one, never half. A rename whose
        answer was lost is recognised by the write id it carries (the ledger's rule); a publish that
        fails leaves no committed staging file behind."""
        write_id = new_write_id()
        self.ledger.expect(target, write_id)
        cached = self.known(target)
        staged = await self.store.commit_blocks(
            staging, blocks, metadata=write_metadata(digest, write_id), content_type=content_type
        )
        try:
            etag = await self.store.rename(staging, target, overwrite=True)
        except NotFound:
            landed, metadata = await self.store.stat(target)
            if not self.ledger.landed(metadata, write_id):
                raise
            etag = landed.etag
        except StoreError:
            await self.discard(staging)
            raise
        created = cached.created if isinstance(cached, Entry) else staged.created
        entry = Entry(target, False, size, staged.last_modified, created, etag or staged.etag)
        self.ledger.settled(target)
        self.cache.put(entry)
        self.ledger.remember_version(target, entry, write_id)
        return entry

    async def discard(self, path: str) -> None:
        """Delete a file of ours that must not stay (a staged upload); a failure is only logged."""
        try:
            await self.store.delete(path, recursive=False)
        except StoreError as error:
            self.log.warning("Could not remove %s: %s", path, error.message)

    # ---- writing -------------------------------------------------------------------------------
    async def write(
        self,
        path: str,
        data: bytes,
        content_type: str | None,
        *,
        overwrite_changes: bool = False,
        if_match: str | None = None,
    ) -> Entry:
        """One Put Blob, conditional on what this server last saw of the file.

        - known ETag: `If-Match` (a change made elsewhere → Changed, unless `overwrite_changes`);
        - known to be absent: `If-None-Match: *` (someone created it meanwhile → AlreadyExists);
        - otherwise: unconditional (a file this server never read, e.g. an upload over it).
        A failed condition is checked against the write id in the blob's metadata (the ledger's
        rule), so our own write whose answer was lost, or an ETag moved by a rename, is not a
        conflict. Bytes identical to the version we hold are not written at all.
        `if_match`: this version exactly, even over a later save of this server's (a restore
        that kept this version's bytes must not write over bytes it did not keep).
        """
        lock = self._writing.get(path)
        if lock is None:
            lock = self._writing[path] = asyncio.Lock()
        async with lock:
            return await self._write(path, data, content_type, overwrite_changes, if_match)

    async def _write(
        self, path: str, data: bytes, content_type: str | None, overwrite_changes: bool, if_match: str | None = None
    ) -> Entry:
        cached = self.cache.lookup(path)
        if isinstance(cached, Entry) and cached.is_dir:
            raise IsADirectory(f"{path} is a directory")
        unchanged = await self._unchanged(path, data)
        if unchanged is not None:
            return unchanged
        digest = await off_the_loop(sha256, data)
        write_id = new_write_id()
        seen = if_match or (None if overwrite_changes else self.ledger.seen_etag(path))
        created = cached.created if isinstance(cached, Entry) else None
        options = {"metadata": write_metadata(digest, write_id), "content_type": content_type, "created": created}
        self.ledger.expect(path, write_id)
        try:
            if seen is not None:
                entry = await self.store.write(path, data, if_match=seen, **options)
            elif cached is MISSING:
                entry = await self.store.write(path, data, create_only=True, **options)
            else:
                entry = await self.store.write(path, data, **options)
        except Changed as refused:
            entry = await self._write_after_412(path, data, write_id, options, refused, exact=if_match is not None)
        except AlreadyExists:
            # `If-None-Match: *` failed: our own earlier try (answer lost), or someone else's file
            current, metadata = await self.store.stat(path)
            if not self.ledger.landed(metadata, write_id):
                self.cache.put(current)
                raise
            entry = current
        except Conflict:
            raise IsADirectory(f"{path}: a directory is in the way") from None
        self.ledger.settled(path)
        self._wrote(entry)
        self.ledger.remember(path, Blob(entry, data, options["metadata"]))
        return entry

    async def _unchanged(self, path: str, data: bytes) -> Entry | None:
        """The current entry when OneLake already holds exactly these bytes, else None.

        JupyterLab with real-time collaboration saves a notebook as soon as it is opened (the
        client re-applies trust marks and kernel metadata, which changes nothing in the file).
        When the bytes are those of the version this server last read or wrote (compared byte for
        byte with the copy it holds), one HEAD confirms that version is still the current one and
        nothing is written: OneLake holds the content, and no version is made for nothing.
        """
        held = self.ledger.held(path)
        if held is None or held.data != data:
            return None
        try:
            current, _ = await self.store.stat(path)
        except NotFound:
            return None
        if current.is_dir or current.etag != held.entry.etag:
            return None
        self.log.debug("Save of %s is identical to what OneLake holds; nothing written", path)
        self.cache.put(current)
        return current

    async def _write_after_412(
        self, path: str, data: bytes, write_id: str, options: dict, refused: Changed, *, exact: bool = False
    ) -> Entry:
        """A conditional save failed: did the file really change elsewhere? Not when it holds this
        write (landed, answer lost) or a version of ours (its ETag moved by a rename or by our own
        lost answer); the save is then retried on the current version (a few times, as those
        retries can race the same way). `exact`: only this write having landed is not a conflict."""
        for _ in range(4):
            try:
                current, metadata = await self.store.stat(path)
            except NotFound:
                # deleted meanwhile: the user's save re-creates it
                try:
                    return await self.store.write(path, data, create_only=True, **options)
                except (AlreadyExists, Changed):
                    continue
            if self.ledger.landed(metadata, write_id):
                self.log.info("Save of %s had already landed (its answer was lost); not a conflict", path)
                return current
            if exact or not self.ledger.ours(path, metadata):
                self.cache.put(current)
                self.log.info(
                    "Refusing to save %s: OneLake holds version %s, this server last saw %s",
                    path,
                    current.etag,
                    self.ledger.seen_etag(path) or "nothing",
                )
                raise refused  # OneLake's own 412 (its code and request id)
            self.log.info("Version of %s moved without a change by anyone else; saving over it", path)
            try:
                return await self.store.write(path, data, if_match=current.etag, **options)
            except Changed:
                continue
        raise Changed(f"{path} kept changing in OneLake")

    async def make_directory(self, path: str) -> Entry:
        existing = self.cache.lookup(path)
        if isinstance(existing, Entry):
            if not existing.is_dir:
                raise NotADirectory(f"{path} is a file")
            return existing
        try:
            entry = await self.store.mkdir(path)
        except AlreadyExists:
            entry, _ = await self.store.stat(path)
            if not entry.is_dir:
                raise NotADirectory(f"{path} is a file") from None
        except Conflict:
            raise NotADirectory(f"{path}: a file is in the way") from None
        self._wrote(entry)
        return entry

    async def write_new(self, path: str, data: bytes, content_type: str | None) -> Entry:
        """Create a file that must not exist yet (a version, a copy); a retried create whose first
        answer was lost is recognised by its write id."""
        write_id = new_write_id()
        metadata = write_metadata(await off_the_loop(sha256, data), write_id)
        try:
            entry = await self.store.write(path, data, create_only=True, metadata=metadata, content_type=content_type)
        except AlreadyExists:
            entry, found = await self.store.stat(path)
            if not self.ledger.landed(found, write_id):
                raise
        self._wrote(entry)
        return entry

    # ---- moving and deleting -------------------------------------------------------------------
    async def delete(self, path: str, *, is_dir: bool) -> None:
        """Delete a file, or a directory with everything in it (one request)."""
        if not await self.delete_if_there(path, is_dir=is_dir):
            # gone already (an earlier try whose answer was lost, or someone else): done
            self.log.info("%s was already gone when deleting it", path)

    async def delete_if_there(self, path: str, *, is_dir: bool) -> bool:
        """Delete what is at `path`, if anything; whether something was there."""
        try:
            await self.store.delete(path, recursive=is_dir)
            there = True
        except NotFound:
            there = False
        self.cache.removed(path)
        self.ledger.forget(path)
        return there

    async def rename(self, source: str, dest: str) -> Entry | None:
        """Move a file or a directory (one request; fails when `dest` exists). Returns the moved
        entry when the source was known, else None."""
        known = self.cache.lookup(source)
        try:
            etag = await self.store.rename(source, dest)
        except NotFound as error:
            if error.code == "RenameDestinationParentPathNotFound":
                raise MissingParent(error.message, error.code, error.status) from None
            etag = await self._rename_landed(source, dest, known)
            if etag is None:
                self.cache.put_missing(source)
                raise
        moved = None
        if isinstance(known, Entry):
            moved = Entry(dest, known.is_dir, known.size, known.last_modified, known.created, etag or known.etag)
            self.cache.renamed(source, moved)
        else:
            self.cache.put_missing(source)
            self.cache.forget(dest)
        self.ledger.moved(source, dest, etag if moved is None or not moved.is_dir else None)
        return moved

    async def _rename_landed(self, source: str, dest: str, known) -> str | None:
        """The source is gone: did an earlier try of this rename (answer lost, request retried)
        already move it? Yes when the destination now holds what we knew of the source."""
        try:
            found, _ = await self.store.stat(dest)
        except NotFound:
            return None
        # The rename was sent with `If-None-Match: *`: a destination that exists now appeared
        # after it was first sent, so it is the moved source unless what we knew says otherwise.
        if not isinstance(known, Entry) or (
            found.is_dir == known.is_dir and (known.is_dir or found.size == known.size)
        ):
            self.log.info("Rename %s -> %s had already landed (retried after a lost answer)", source, dest)
            return found.etag
        return None

    async def replace_folder(self, source: str, dest: str) -> None:
        """Move `source` to `dest`, replacing whatever `dest` holds; nothing to move is fine, and
        a missing parent of `dest` is created. The rename is sent with `If-None-Match: *`: a
        directory renamed onto an existing directory is not a replace in ADLS (it could end up
        nested inside), so an existing `dest` is deleted first, explicitly, and the move retried."""
        for _ in range(3):
            try:
                await self.store.rename(source, dest)
                break
            except AlreadyExists:
                self.log.info("Replacing %s (left behind by a file no longer there)", dest)
                await self.delete_if_there(dest, is_dir=True)
            except NotFound as error:
                if error.code != "RenameDestinationParentPathNotFound":
                    break  # nothing to move
                try:
                    await self.store.mkdir(dest.rpartition("/")[0])
                except AlreadyExists:
                    pass
        self.cache.forget(source)
        self.cache.forget(dest)

    async def copy_tree(self, source: str, dest: str, *, max_bytes: int, skip: Callable[[str], bool]) -> Entry:
        """Copy a directory: one listing plus two requests per file, at most `max_bytes` in all;
        paths (relative to `source`) for which `skip` is true are left out."""
        tree = await self.everything_in(source)
        total = sum(e.size for e in tree if not e.is_dir)
        if total > max_bytes:
            raise TooLarge(f"{source} holds {total} bytes", status=413, size=total)
        root = await self.make_directory(dest)
        semaphore = asyncio.Semaphore(8)

        async def copy_one(item: Entry) -> None:
            relative = item.path[len(source) + 1 :]
            if skip(relative):
                return
            target = f"{dest}/{relative}"
            async with semaphore:
                if item.is_dir:
                    await self.make_directory(target)
                    return
                blob = await self.store.read(item.path)
                await self.write_new(target, blob.data, content_type(target))

        await asyncio.gather(*(copy_one(item) for item in tree))
        return root

    # ---- between roots: OneLake copies ---------------------------------------------------------
    async def copy_file_from(self, other: LakeFiles, source: str, dest: str, *, size: int) -> Entry:
        """The file `source` of another root (`other`, any workspace) copied to the new file
        `dest` here: by OneLake itself when it copies (`store.copy_from`, no bytes through this
        server), else streamed through it one 4 MiB piece at a time, staged as blocks and
        committed at once. Either way `dest` appears whole or not at all (AlreadyExists when
        something is there). The copy carries the source's content hash and a write id of ours."""
        _, found = await other.described(source)
        write_id = new_write_id()
        metadata = {
            WRITE_METADATA: write_id,
            **({HASH_METADATA: found[HASH_METADATA]} if found.get(HASH_METADATA) else {}),
        }
        try:
            entry = await self.store.copy_from(
                other.store, source, dest, size=size, metadata=metadata, content_type=content_type(dest)
            )
        except BadRequest as refused:
            self.log.info("OneLake would not copy %s (%s); copying it through this server", source, refused.code)
            entry = await self._copy_through(other, source, dest, metadata)
        self._wrote(entry)
        self.ledger.remember_version(dest, entry, write_id)
        return entry

    async def _copy_through(self, other: LakeFiles, source: str, dest: str, metadata: dict[str, str]) -> Entry:
        if self.cache.lookup(dest) is not MISSING and await self.entry(dest) is not None:
            raise AlreadyExists(f"already exists in OneLake: {dest}", "BlobAlreadyExists", 409)
        _, chunks = await other.stream(source)
        blocks = []
        async for chunk in chunks:
            blocks.append(f"{len(blocks):08d}")
            await self.store.stage_block(dest, blocks[-1], chunk)
        if not blocks:
            return await self.store.write(
                dest, b"", create_only=True, metadata=metadata, content_type=content_type(dest)
            )
        return await self.store.commit_blocks(dest, blocks, metadata=metadata, content_type=content_type(dest))

    async def copy_tree_from(self, other: LakeFiles, source: str, dest: str, *, max_bytes: int | None = None) -> Entry:
        """A folder of another root copied to the new folder `dest` here, with everything in it
        (checkpoint folders too): one listing, then its folders made and its files copied by
        OneLake, eight at a time; at most `max_bytes` in all when given (TooLarge, nothing made)."""
        tree = await other.everything_in(source)
        total = sum(e.size for e in tree if not e.is_dir)
        if max_bytes is not None and total > max_bytes:
            raise TooLarge(f"{source} holds {total} bytes", status=413, size=total)
        if await self.entry(dest) is not None:
            raise AlreadyExists(f"already exists in OneLake: {dest}", "PathAlreadyExists", 409)
        root = await self.make_directory(dest)
        for folder in sorted(e.path for e in tree if e.is_dir):
            await self.make_directory(f"{dest}/{folder[len(source) + 1 :]}")
        semaphore = asyncio.Semaphore(8)

        async def copy_one(item: Entry) -> None:
            async with semaphore:
                await self.copy_file_from(other, item.path, f"{dest}/{item.path[len(source) + 1 :]}", size=item.size)

        await asyncio.gather(*(copy_one(item) for item in tree if not item.is_dir))
        return root

    # ---- soft delete: the trash ----------------------------------------------------------------
    async def deleted_below(self, folder: str) -> list[Deleted]:
        """What OneLake's soft delete keeps below `folder` (one request per 5,000 deletions)."""
        return await self.store.list_deleted(folder)

    async def undelete(self, path: str, deletion_id: str | None) -> None:
        """One deletion of `path` back where it was (one request); the parent's listing and what
        was held of the path are forgotten, whatever the answer."""
        try:
            await self.store.undelete(path, deletion_id)
        finally:
            self.cache.forget(path.rpartition("/")[0])
            self.ledger.forget(path)

    def clear_caches(self) -> None:
        """Forget everything known about OneLake (the next action asks it again)."""
        self.cache.clear()
        self.ledger.clear()

    async def close(self) -> None:
        await self.store.close()

"""MetadataCache: what we know about OneLake paths, for at most `ttl` seconds.

- entries: path → Entry, or MISSING (a negative entry: we saw a 404);
- listings: directory → {name: Entry}, from a List Paths (a fresh listing also answers "does
  `dir/x` exist?" and "what is `dir/x`?" for every child without a request);
- directories: path → Entry of directories we have seen, kept beyond the TTL (LRU). Only their own
  times come from here; a directory's children always come from a fresh listing, and listing a
  deleted directory is a 404, so this never hides a change of contents.

A listing larger than the whole cache (a folder of more entries than `maxsize`) is kept on its own,
one at a time, for the same TTL: listings of any size work, and the cache stays bounded.

A path absent from a fresh listing reads as MISSING like one OneLake answered 404 for, but the
two differ: `seen_missing` tells them apart, so that a path asked for by name and merely left out
of a listing (which may be `ttl` old) can be confirmed with OneLake before it is called missing.

Our own writes, renames and deletes are written through. Concurrent identical lookups share one
request (`single_flight`). Staleness is bounded by the TTL; lost updates are prevented by
conditional writes, not by this cache.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from cachetools import LRUCache, TTLCache

from ..storage import Entry

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


class MetadataCache:
    def __init__(self, ttl: float = 10.0, maxsize: int = 20000, timer: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self._entries: TTLCache = TTLCache(maxsize=maxsize, ttl=ttl, timer=timer)
        self._listings: TTLCache = TTLCache(maxsize=maxsize, ttl=ttl, timer=timer, getsizeof=lambda d: len(d) + 1)
        self._oversized: TTLCache = TTLCache(maxsize=1, ttl=ttl, timer=timer)
        self._dirs: LRUCache = LRUCache(maxsize=maxsize)
        self._inflight: dict[object, asyncio.Future] = {}

    # ---- lookups ---------------------------------------------------------------------------
    def lookup(self, path: str) -> Entry | _Missing | None:
        """What we know of `path`: an Entry, MISSING, or None (nothing fresh)."""
        hit = self._entries.get(path)
        if hit is not None:
            return hit
        parent, _, name = path.rpartition("/")
        listing = self._listing_of(parent)
        if listing is not None:
            return listing.get(name, MISSING)
        return None

    def seen_missing(self, path: str) -> bool:
        """`path` itself was found missing (a 404 for it, or our own delete or rename away), not
        only left out of its parent's listing."""
        return self._entries.get(path) is MISSING

    def _listing_of(self, path: str) -> dict | None:
        listing = self._listings.get(path)
        return listing if listing is not None else self._oversized.get(path)

    def listing(self, path: str) -> list[Entry] | None:
        listing = self._listing_of(path)
        return None if listing is None else list(listing.values())

    def known_dir(self, path: str) -> Entry | None:
        """A directory seen before (any age); its own times, not its contents."""
        hit = self.lookup(path)
        if isinstance(hit, Entry) and hit.is_dir:
            return hit
        return self._dirs.get(path)

    # ---- write-through -----------------------------------------------------------------------
    def put(self, entry: Entry) -> None:
        self._ancestors_exist(entry)
        self._entries[entry.path] = entry
        listing = self._listing_of(_parent(entry.path))
        if listing is not None:
            listing[entry.name] = entry
        if entry.is_dir:
            self._dirs[entry.path] = entry
        else:
            self._dirs.pop(entry.path, None)

    def created(self, entry: Entry) -> None:
        """We wrote `entry`. A folder OneLake told us was absent holds just that now: OneLake made
        it. (One only left out of a listing may have been made elsewhere, with things in it.)"""
        parent = _parent(entry.path)
        was_missing = self.seen_missing(parent)
        self.put(entry)
        if was_missing:
            self._listings[parent] = {entry.name: entry}

    def _ancestors_exist(self, entry: Entry) -> None:
        """OneLake creates missing parents of a new path: what says they are absent now holds
        them (made at the time of the entry that needed them)."""
        ancestor = _parent(entry.path)
        while "/" in ancestor:
            if self._entries.get(ancestor) is MISSING:
                del self._entries[ancestor]
            parent, _, name = ancestor.rpartition("/")
            for listings in (self._listings, self._oversized):
                listing = listings.get(parent)
                if listing is not None and name not in listing:
                    listing[name] = Entry(ancestor, True, 0, entry.last_modified, entry.last_modified, "")
            ancestor = parent

    def put_dir(self, entry: Entry) -> None:
        """A directory's own entry, unless a fresher source (its parent's listing) has one."""
        if self.known_dir(entry.path) is None:
            self._dirs[entry.path] = entry

    def put_listing(self, path: str, entries: list[Entry]) -> None:
        listing = {e.name: e for e in entries}
        if len(listing) + 1 <= self._listings.maxsize:
            self._listings[path] = listing
        else:
            self._oversized[path] = listing
        for e in entries:
            self._entries.pop(e.path, None)  # the listing is now the fresher source
            if e.is_dir:
                self._dirs[e.path] = e
            else:
                self._dirs.pop(e.path, None)

    def put_missing(self, path: str) -> None:
        self.forget(path)
        self._entries[path] = MISSING

    def forget(self, path: str) -> None:
        """Drop everything known about `path` and below it (and its line in its parent's listing)."""
        prefix = path + "/"
        for cache in (self._entries, self._listings, self._oversized, self._dirs):
            for key in [k for k in list(cache.keys()) if k == path or k.startswith(prefix)]:
                cache.pop(key, None)
        listing = self._listing_of(_parent(path))
        if listing is not None:
            listing.pop(path.rpartition("/")[2], None)

    def removed(self, path: str) -> None:
        """We deleted `path` (and everything below it)."""
        self.put_missing(path)

    def renamed(self, source: str, moved: Entry) -> None:
        """We moved `source` to `moved.path`; what was below the destination is unknown now."""
        self.put_missing(source)
        self.forget(moved.path)
        self.put(moved)

    def clear(self) -> None:
        for cache in (self._entries, self._listings, self._oversized, self._dirs):
            cache.clear()

    # ---- single flight -----------------------------------------------------------------------
    async def single_flight(self, key: object, load: Callable[[], Awaitable[T]]) -> T:
        """Run `load()` once for concurrent callers with the same key; all get its result."""
        running = self._inflight.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._inflight[key] = future
        try:
            result = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as error:
            future.set_exception(error)
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._inflight[key]

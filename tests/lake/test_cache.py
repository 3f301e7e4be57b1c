"""lake.cache: bounded, and listings of any size work (no server)."""

from __future__ import annotations

from datetime import UTC, datetime

from onelake_contents.lake.cache import MISSING, MetadataCache
from onelake_contents.storage import Entry

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def files(folder: str, count: int) -> list[Entry]:
    return [Entry(f"{folder}/f{i}", False, i, WHEN, WHEN, f"e{i}") for i in range(count)]


def test_a_listing_larger_than_the_cache_is_kept_alone_and_answers_lookups():
    cache = MetadataCache(maxsize=10)
    cache.put_listing("big", files("big", 50))  # more entries than the whole cache holds
    assert len(cache.listing("big")) == 50
    assert cache.lookup("big/f49").size == 49 and cache.lookup("big/nope") is MISSING
    cache.put(Entry("big/new", False, 1, WHEN, WHEN, "n"))  # written through
    assert len(cache.listing("big")) == 51
    cache.put_listing("other", files("other", 30))  # one oversized listing at a time
    assert cache.listing("big") is None and len(cache.listing("other")) == 30
    cache.put_listing("small", files("small", 3))
    assert len(cache.listing("small")) == 3 and len(cache.listing("other")) == 30
    cache.forget("other/f1")
    assert cache.lookup("other/f1") is None or cache.lookup("other/f1") is MISSING
    cache.clear()
    assert cache.listing("other") is None and cache.listing("small") is None


def test_listings_expire_with_the_ttl():
    now = [0.0]
    cache = MetadataCache(ttl=10, maxsize=10, timer=lambda: now[0])
    cache.put_listing("big", files("big", 50))
    cache.put_listing("small", files("small", 2))
    now[0] = 11
    assert cache.listing("big") is None and cache.listing("small") is None

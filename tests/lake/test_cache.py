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


def test_a_write_into_a_folder_known_absent_makes_its_listing_and_its_parents_entries():
    cache = MetadataCache()
    cache.put_listing("ws/nb", files("ws/nb", 2))
    cache.put_missing("ws/nb/.ipynb_checkpoints/a.ipynb")
    later = datetime(2026, 1, 2, tzinfo=UTC)
    version = Entry("ws/nb/.ipynb_checkpoints/a.ipynb/v1", False, 5, later, later, "v1")
    cache.created(version)
    # OneLake made both folders: the one known absent holds just the version now...
    assert cache.listing("ws/nb/.ipynb_checkpoints/a.ipynb") == [version]
    # ...and the listing of `ws/nb` gained the new hidden folder instead of being dropped
    made = cache.lookup("ws/nb/.ipynb_checkpoints")
    assert made.is_dir and made.last_modified == later
    assert sorted(e.name for e in cache.listing("ws/nb")) == [".ipynb_checkpoints", "f0", "f1"]
    # a folder not known absent: no listing is made up for it
    cache.created(Entry("ws/other/x", False, 1, later, later, "x"))
    assert cache.listing("ws/other") is None


def test_a_name_only_left_out_of_a_listing_is_not_seen_missing():
    """A listing may be `ttl` old: what it lacks may have been made elsewhere since. Only a 404
    for the path itself (or our own delete) says it is missing, and only then does a write into
    it make up its listing."""
    cache = MetadataCache()
    cache.put_listing("ws/root", files("ws/root", 2))
    assert cache.lookup("ws/root/fresh") is MISSING and not cache.seen_missing("ws/root/fresh")
    later = datetime(2026, 1, 2, tzinfo=UTC)
    cache.created(Entry("ws/root/fresh/mine", False, 1, later, later, "m"))
    assert cache.listing("ws/root/fresh") is None  # what else is in it is not known
    assert cache.lookup("ws/root/fresh").is_dir
    cache.put_missing("ws/root/gone")
    assert cache.seen_missing("ws/root/gone")
    cache.removed("ws/root/f0")
    assert cache.seen_missing("ws/root/f0")

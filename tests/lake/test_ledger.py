"""lake.ledger: what this server saw and wrote, and the one "did it land?" rule (no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from onelake_contents.lake.content import WRITE_METADATA
from onelake_contents.lake.ledger import VersionLedger, new_write_id, write_metadata
from onelake_contents.storage import Blob, Entry

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def entry(path: str, etag: str, when: datetime = T0, is_dir: bool = False, size: int = 1) -> Entry:
    return Entry(path, is_dir, size, when, T0, etag)


def blob(path: str, etag: str, data: bytes = b"x", write_id: str | None = None) -> Blob:
    return Blob(entry(path, etag, size=len(data)), data, {WRITE_METADATA: write_id} if write_id else {})


def test_a_write_landed_only_when_the_file_holds_its_own_write_id():
    ledger = VersionLedger()
    mine = new_write_id()
    assert ledger.landed(write_metadata("hash", mine), mine)
    assert not ledger.landed(write_metadata("hash", new_write_id()), mine)
    assert not ledger.landed({}, mine)


def test_same_bytes_written_by_someone_else_are_not_ours():
    ledger = VersionLedger()
    ledger.remember("f", blob("f", "e1", b"same", write_id="ours-1"))
    # the content hash would match; the write id does not
    assert not ledger.ours("f", write_metadata("same-hash", "theirs"))
    assert ledger.ours("f", write_metadata("other-hash", "ours-1"))  # the version we saw, ETag moved


def test_a_write_of_unknown_outcome_is_ours_until_settled():
    ledger = VersionLedger()
    ledger.expect("f", "w-2")
    assert ledger.ours("f", {WRITE_METADATA: "w-2"})
    ledger.settled("f")
    assert not ledger.ours("f", {WRITE_METADATA: "w-2"})


def test_held_bytes_are_those_of_the_etag_asked_for():
    ledger = VersionLedger(content_bytes=1000)
    ledger.remember("f", blob("f", "e1", b"abc"))
    assert ledger.held("f").data == b"abc" and ledger.held("f", "e1") is not None
    assert ledger.held("f", "e2") is None
    ledger.remember("big", blob("big", "e1", b"x" * 300))  # over a quarter of the budget: not kept
    assert ledger.held("big") is None and ledger.seen_etag("big") == "e1"


def test_last_modified_never_goes_back_within_a_second():
    ledger = VersionLedger()
    first = ledger.modified(entry("f", "e1", T0))
    second = ledger.modified(entry("f", "e2", T0))  # a new version within the same second
    assert second == first + timedelta(milliseconds=1)
    assert ledger.modified(entry("f", "e2", T0)) == second  # the same version reads the same
    later = T0 + timedelta(seconds=5)
    assert ledger.modified(entry("f", "e3", later)) == later
    assert ledger.modified(entry("d", "", T0, is_dir=True)) == T0


def test_renames_move_what_we_saw_and_deletes_forget_it():
    ledger = VersionLedger()
    ledger.remember("a/x", blob("a/x", "e1", write_id="w1"))
    ledger.remember("a/sub/y", blob("a/sub/y", "e2", write_id="w2"))
    ledger.remember("ab", blob("ab", "e3"))
    ledger.moved("a", "b", None)  # a directory: children keep their ETags
    assert ledger.seen_etag("b/x") == "e1" and ledger.seen_etag("b/sub/y") == "e2"
    assert ledger.seen_etag("a/x") is None and ledger.seen_etag("ab") == "e3"
    ledger.moved("b/x", "c", "e9")  # a file: OneLake reported its new ETag
    assert ledger.seen_etag("c") == "e9" and ledger.ours("c", {WRITE_METADATA: "w1"})
    ledger.forget("b")
    assert ledger.seen_etag("b/sub/y") is None and ledger.seen_etag("c") == "e9"


def test_a_rename_keeps_the_reported_last_modified():
    ledger = VersionLedger()
    ledger.modified(entry("a", "e1", T0))
    reported = ledger.modified(entry("a", "e2", T0))  # 12:00:00.001
    ledger.moved("a", "b", "e3")  # OneLake gave the moved file a new ETag, same whole-second time
    assert ledger.modified(entry("b", "e3", T0)) == reported

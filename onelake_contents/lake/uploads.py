"""Staged uploads: a big file sent in pieces and published atomically.

The pieces are uncommitted blocks of a hidden staging file beside the target (in the never-listed
checkpoint folder); the last one commits them (Put Block List) and publishes them with one rename
over the target. The old file stays whole and readable until then, and an abandoned upload leaves
nothing visible (OneLake discards uncommitted blocks; a crash between commit and publish leaves a
staged file, deleted by a later sweep). Memory per upload: one piece. K pieces cost K + 2 requests.

Pieces are numbered as jupyter_server's `LargeFileManager` takes them: 1 starts an upload (over
any unfinished one), every other number adds a piece, -1 adds the last one and publishes. Numbers
only ever grow (-1 after all others): a piece numbered lower than the one before it cannot belong
to the same sequence and drops the upload. A number repeated is one more piece, appended as
`LargeFileManager` appends it (pieces are not retried by number: a client that lost an answer
starts again from 1), and a -1 after the last piece appends to the file the upload published.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import metrics
from ..paths import CHECKPOINT_DIR, split
from ..storage import Changed, Entry, StoreError, TooLarge

UPLOAD_DIR = ".onelake-uploads~"
UPLOAD_BLOCK = 4 * 1024 * 1024


def staging_path(target: str) -> str:
    """A fresh staging file for an upload to `target` (a OneLake path)."""
    parent, name = split(target)
    return f"{parent}/{CHECKPOINT_DIR}/{UPLOAD_DIR}/{name}.{uuid.uuid4().hex[:12]}"


def block_id(index: int) -> str:
    """Azure wants block ids of one length within a blob, base64-encoded."""
    return base64.b64encode(f"{index:08d}".encode()).decode()


class UploadRefused(ValueError):
    """A piece that cannot be taken (out of order, no upload in progress); the upload is dropped."""


@dataclass
class StagedUpload:
    """One upload in progress: where it is staged and what has arrived.

    `continues` is the version an earlier upload published, when this one appends to it (a -1
    after the last piece): its bytes are staged first."""

    target: str
    staging: str
    last_piece: int = 1
    size: int = 0
    blocks: list[str] = field(default_factory=list)
    digest: Any = field(default_factory=hashlib.sha256)
    touched: float = field(default_factory=time.monotonic)
    continues: Entry | None = None

    def add(self, block: str, data: bytes) -> None:
        self.blocks.append(block)
        self.size += len(data)
        self.digest.update(data)
        self.touched = time.monotonic()


class Uploads:
    """The uploads in progress on one server, and their staging, publishing and sweeping."""

    def __init__(self, files, *, timeout: float = 3600.0, max_bytes: int = 10 * 1024**3):
        self.files = files
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._active: dict[str, StagedUpload] = {}
        # what the last piece of an upload published, and when: a further last piece appends to it
        self._published: dict[str, tuple[Entry, float]] = {}
        self._swept: set[str] = set()
        self._background: set[asyncio.Task] = set()

    def piece(self, target: str, number: int) -> StagedUpload:
        """The upload a piece numbered 1, 2, ... (or -1 for the last) belongs to (see the module's
        docstring for the order)."""
        self.expire()
        if number == 1:
            self.drop(target)
            self._published.pop(target, None)
            return self._start(target)
        upload = self._active.get(target)
        if upload is None:
            published = self._published.pop(target, None)
            if published is None:
                raise UploadRefused("no upload is in progress (it expired or the server restarted)")
            if number != -1:
                raise UploadRefused(f"piece {number} arrived out of order, after the last piece (-1)")
            return self._start(target, continues=published[0])
        if number != -1:
            if number < upload.last_piece:
                self.drop(target)
                raise UploadRefused(f"piece {number} arrived out of order, after piece {upload.last_piece}")
            upload.last_piece = number
        return upload

    def _start(self, target: str, continues: Entry | None = None) -> StagedUpload:
        upload = self._active[target] = StagedUpload(target, staging_path(target), continues=continues)
        metrics.upload_started()
        self.sweep(split(upload.staging)[0])
        return upload

    def new(self, target: str) -> StagedUpload:
        """An upload not tracked between requests (one caller sends every piece)."""
        return StagedUpload(target, staging_path(target))

    def drop(self, target: str) -> None:
        if self._active.pop(target, None) is not None:
            metrics.upload_ended()

    async def stage(self, upload: StagedUpload, data: bytes) -> None:
        """Stage one piece (after the bytes of the version it continues, if any)."""
        try:
            if upload.continues is not None:
                await self._stage_published(upload)
            await self._stage_block(upload, data)
        except StoreError:
            self.drop(upload.target)
            raise

    async def _stage_published(self, upload: StagedUpload) -> None:
        """The bytes an earlier upload published, staged again (read in pieces of at most 4 MiB),
        unless the file changed since: then there is nothing of ours to append to."""
        published, upload.continues = upload.continues, None
        entry, chunks = await self.files.stream(upload.target)
        if entry.etag != published.etag:
            await chunks.aclose()
            raise Changed(f"{upload.target} changed in OneLake since its upload was published", status=412)
        async for chunk in chunks:
            await self._stage_block(upload, chunk)

    async def _stage_block(self, upload: StagedUpload, data: bytes) -> None:
        if upload.size + len(data) > self.max_bytes:
            raise TooLarge(f"{upload.target} is larger than the {self.max_bytes}-byte upload limit", status=413)
        block = block_id(len(upload.blocks))
        await self.files.stage_block(upload.staging, block, data)
        upload.add(block, data)
        metrics.count_upload(len(data))

    async def publish(self, upload: StagedUpload, content_type: str | None) -> Entry:
        """Commit the staged blocks and move them over the target in one rename."""
        self.drop(upload.target)
        entry = await self.files.publish_staged(
            upload.staging,
            upload.target,
            upload.blocks,
            digest=upload.digest.hexdigest(),
            size=upload.size,
            content_type=content_type,
        )
        self._published[upload.target] = (entry, time.monotonic())
        return entry

    def expire(self) -> None:
        deadline = time.monotonic() - self.timeout
        for key in [k for k, u in self._active.items() if u.touched < deadline]:
            self.files.log.info("Abandoning the unfinished upload of %s", key)
            self.drop(key)
        for key in [k for k, (_, published) in self._published.items() if published < deadline]:
            del self._published[key]

    def sweep(self, folder: str) -> None:
        """In the background: delete staged files left by uploads that died between commit and
        publish (a crash), once older than the timeout. Uncommitted blocks need nothing: OneLake
        discards them."""
        if folder in self._swept:
            return
        self._swept.add(folder)
        files, timeout = self.files, self.timeout

        async def sweep() -> None:
            try:
                entries = await files.list_now(folder)
            except StoreError:
                return
            cutoff = datetime.now(UTC) - timedelta(seconds=timeout)
            for entry in entries:
                if not entry.is_dir and entry.last_modified < cutoff:
                    files.log.info("Removing the abandoned staged upload %s", entry.path)
                    await files.discard(entry.path)

        task = asyncio.get_running_loop().create_task(sweep())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

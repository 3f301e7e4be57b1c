"""OneLakeStore: the only module that talks to the Azure SDK.

Listing goes through DFS (List Paths, never recursive unless asked, 5,000 per page), reads and
whole-file writes through Blob (one GET; one Put Blob, which is atomic and honours `If-Match` /
`If-None-Match: *`, unlike DFS `upload_data` which truncates first), renames and deletes through
DFS (one request for a file or a whole directory). SDK errors become the small set of `StoreError`s
of `storage.errors`; nothing above this package sees an Azure exception.

Two SDK behaviours are worked around here (both checked against the emulator in tests):
- the aiohttp transport turns a CA-file `connection_verify` into a new SSL context per request,
  which defeats connection reuse; we hand it one session whose connector holds the context;
- `rename_file` builds its source as `quote(unquote(path))`, which corrupts names holding `%XX`;
  the source client is therefore created with an already-quoted path.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import random
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

import aiohttp
from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ClientAuthenticationError, ResourceModifiedError
from azure.core.pipeline.transport import AioHttpTransport
from azure.storage.blob import BlobBlock, ContentSettings
from azure.storage.blob.aio import BlobServiceClient, ExponentialRetry
from azure.storage.filedatalake.aio import DataLakeServiceClient
from cachetools import LRUCache

from .. import metrics
from ..config import STORAGE_SCOPE
from ..turns import fair_turn, in_slices
from .deleted import Deleted, ListDeleted, undelete_source
from .entry import Entry, bare_etag, utc
from .errors import TooLarge, retry_after_seconds, translate
from .listing import ListPaths, listed, retry_reason

MAX_PUT_BLOB = 5000 * 1024 * 1024
BLOB_CLIENTS = 128  # paths whose SDK client (~32 KB each) is kept for the next request
STREAM_CHUNK = 4 * 1024 * 1024
COPY_BLOCK = 100 * 1024 * 1024  # what one Put Block From URL copies of a source over 5,000 MiB


# Filled by whoever needs some context to reach the SDK despite `_isolated` (tracing: the current
# span, so that azure-core's request spans become its children): called in the caller's context,
# it returns what to run first in the operation's own.
context_carriers: list = []


def _isolated(method):
    """Run a store operation in an empty context.

    aiohttp and the SDK schedule timers (read timeouts, keep-alive) that capture the current
    context, and asyncio keeps cancelled timers until they fall due. Inside a Jupyter request that
    context holds the request handler and its body (jupyter_server's CallContext), so every
    upload chunk would stay in memory for the length of the read timeout. A fresh context per
    operation keeps the handler out of those timers.
    """

    @functools.wraps(method)
    async def run(*args, **kwargs):
        context = contextvars.Context()
        for carrier in context_carriers:
            context.run(carrier())
        return await asyncio.create_task(method(*args, **kwargs), context=context)

    return run


class CountingTransport(AioHttpTransport):
    """The aiohttp transport, counting each attempt where it leaves for OneLake (`metrics`)."""

    async def send(self, request, **kwargs):
        operation = metrics.operation_of(request.method, request.url, request.headers)
        started = time.perf_counter()
        try:
            response = await super().send(request, **kwargs)
        except Exception:
            metrics.count_request(operation, "error", time.perf_counter() - started)
            raise
        metrics.count_request(operation, response.status_code, time.perf_counter() - started)
        try:
            await fair_turn()  # the SDK reads the answer in this request's fair turn of the event loop
        except asyncio.CancelledError:
            response.internal_response.close()  # its connection is not left checked out
            raise
        return response


# ---- retry policy ------------------------------------------------------------------------------
class InteractiveRetry(ExponentialRetry):
    """Retries sized for a person waiting on a save: ~0.25, 0.5, 1 s (honouring Retry-After up to
    `max_retry_after`), and 429s retried too, which the storage SDK's policy never does."""

    def __init__(self, *, retry_total: int = 3, backoff: float = 0.25, max_retry_after: float = 5.0, **kwargs):
        super().__init__(
            initial_backoff=backoff, increment_base=2, retry_total=retry_total, random_jitter_range=0, **kwargs
        )
        self.backoff = backoff
        self.max_retry_after = max_retry_after

    def get_backoff_time(self, settings) -> float:
        delay = self.backoff * (2 ** settings["count"]) * random.uniform(0.8, 1.2)
        history = settings.get("history") or []
        response = getattr(history[-1], "http_response", None) if history else None
        hinted = retry_after_seconds(response)
        if hinted is not None:
            delay = max(delay, min(hinted, self.max_retry_after))
        return delay

    def increment(self, settings, request, response=None, error=None) -> bool:
        if isinstance(error, ClientAuthenticationError) and error.response is None:
            return False  # no token: the credential has asked (and retried) the broker already
        retrying = super().increment(settings, request, response=response, error=error)
        if retrying:
            metrics.count_retry(retry_reason(response, error))
        return retrying

    async def send(self, request):
        response = await super().send(request)
        for attempt in range(self.total_retries):
            if response.http_response.status_code != 429:
                break
            hinted = retry_after_seconds(response.http_response)
            if hinted is not None and hinted > self.max_retry_after:
                break  # too long to hold a user's request: report it with its Retry-After
            delay = hinted if hinted is not None else self.backoff * (2**attempt)
            metrics.count_retry("429")
            await asyncio.sleep(delay)
            response = await super().send(request)
        return response


@dataclass(frozen=True)
class Blob:
    """A read: the entry, its bytes and its metadata."""

    entry: Entry
    data: bytes
    metadata: dict[str, str] = field(default_factory=dict)


NOT_MODIFIED = object()


# ---- the connection: one endpoint, one pool, one credential -------------------------------------
class Connection:
    """One OneLake endpoint as the SDK reaches it: one pool of connections (`max_connections`,
    kept and reused), one credential, and the service clients built on them, opened on first use.
    The stores of several workspaces share it (`OneLakeStore.sibling`)."""

    def __init__(
        self,
        endpoint: str,
        credential,
        *,
        ca_file: str | None = None,
        retry_total: int = 3,
        connection_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_retry_after: float = 5.0,
        max_connections: int = 32,
    ):
        self.endpoint = endpoint.rstrip("/")
        self.credential = credential
        self.ca_file = ca_file
        self._options = {
            "retry_policy": InteractiveRetry(retry_total=retry_total, max_retry_after=max_retry_after),
            "connection_timeout": connection_timeout,
            "read_timeout": read_timeout,
        }
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._clients: tuple | None = None
        self._open_lock: asyncio.Lock | None = None

    @property
    def blob_endpoint(self) -> str:
        # The DataLake SDK does the same: the Blob API lives on the `.blob.` host.
        return self.endpoint.replace(".dfs.", ".blob.")

    async def clients(self) -> tuple:
        """(DataLake service, Blob service, Blob service for streaming in 4 MiB pieces)."""
        if self._clients is not None:
            return self._clients
        if self._open_lock is None:
            self._open_lock = asyncio.Lock()
        async with self._open_lock:
            if self._clients is None:
                self._clients = self._open()
        return self._clients

    def _open(self) -> tuple:
        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else ssl.create_default_context()
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context, limit=self.max_connections))
        transport = CountingTransport(session=self._session, session_owner=False)
        datalake = DataLakeServiceClient(
            self.endpoint, credential=self.credential, transport=transport, **self._options
        )
        blobs = BlobServiceClient(
            self.blob_endpoint,
            credential=self.credential,
            transport=transport,
            max_single_put_size=MAX_PUT_BLOB,
            **self._options,
        )
        streams = BlobServiceClient(
            self.blob_endpoint,
            credential=self.credential,
            transport=transport,
            max_single_get_size=STREAM_CHUNK,
            max_chunk_get_size=STREAM_CHUNK,
            **self._options,
        )
        return datalake, blobs, streams

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._clients = None


# ---- the store ---------------------------------------------------------------------------------
class OneLakeStore:
    """Async access to one workspace of OneLake through one long-lived set of SDK clients."""

    def __init__(
        self,
        endpoint: str,
        workspace: str,
        credential,
        *,
        connection: Connection | None = None,
        **connection_options,
    ):
        """`connection_options` (ca_file, retry_total, timeouts, max_connections) build the
        store's own `Connection` unless one to share is given."""
        self.connection = connection or Connection(endpoint, credential, **connection_options)
        self._owns_connection = connection is None
        self.endpoint = self.connection.endpoint
        self.workspace = workspace
        self.credential = credential
        # Blob clients by path: the SDK builds a new generated client for each `get_blob_client`
        self._blobs: LRUCache = LRUCache(maxsize=BLOB_CLIENTS)
        self._stream_blobs: LRUCache = LRUCache(maxsize=BLOB_CLIENTS)
        self._fs = None
        self._container = None
        self._stream_container = None

    def sibling(self, workspace: str) -> OneLakeStore:
        """A store of another workspace on the same connection (pool and credential)."""
        return OneLakeStore(self.endpoint, workspace, self.credential, connection=self.connection)

    @property
    def blob_endpoint(self) -> str:
        return self.connection.blob_endpoint

    async def _ensure_open(self) -> None:
        if self._fs is not None:
            return
        datalake, blobs, streams = await self.connection.clients()
        self._container = blobs.get_container_client(self.workspace)
        self._stream_container = streams.get_container_client(self.workspace)
        self._fs = datalake.get_file_system_client(self.workspace)

    async def close(self) -> None:
        """Forget the clients; close the connection when it is the store's own."""
        if self._owns_connection:
            await self.connection.close()
        self._fs = self._container = self._stream_container = None
        self._blobs.clear()
        self._stream_blobs.clear()

    def _blob(self, path: str):
        return self._kept_client(self._blobs, self._container, path)

    def _stream_blob(self, path: str):
        return self._kept_client(self._stream_blobs, self._stream_container, path)

    @staticmethod
    def _kept_client(kept: LRUCache, container, path: str):
        client = kept.get(path)
        if client is None:
            client = kept[path] = container.get_blob_client(path)
        return client

    # ---- reads -----------------------------------------------------------------------------
    @_isolated
    async def list_dir(self, path: str) -> list[Entry]:
        """The children of a directory (one request per 5,000 entries). A file lists as itself."""
        return await self._list(path, recursive=False)

    @_isolated
    async def list_tree(self, path: str) -> list[Entry]:
        """Every path below a directory, depth-first (for copies)."""
        return await self._list(path, recursive=True)

    async def _list(self, path: str, recursive: bool) -> list[Entry]:
        """List Paths, page after page (each page's continuation names the next).

        The request goes through the SDK's pipeline (authentication, retries, our transport); the
        answer is read once, straight into entries. The SDK's `get_paths` turns each path into a
        generated model and then into `PathProperties` first, which is most of the CPU of a large
        listing (about 0.1 ms per entry), and parses each time with `strptime`.
        """
        await self._ensure_open()
        pages = ListPaths(self._fs.url, self._fs.api_version, path, recursive=recursive)
        entries: list[Entry] = []
        try:
            while not pages.done:
                answer = await self._fs._client._send_request(pages.request())
                entries.extend(await in_slices(pages.read(answer), listed))
        except AzureError as error:
            raise translate(error, path) from None
        return entries

    @_isolated
    async def stat(self, path: str) -> tuple[Entry, dict[str, str]]:
        """One HEAD: the entry (directories carry `hdi_isfolder`) and the metadata."""
        await self._ensure_open()
        try:
            props = await self._blob(path).get_blob_properties()
        except AzureError as error:
            raise translate(error, path) from None
        return self._entry_from_properties(path, props), _user_metadata(props.metadata)

    @staticmethod
    def _entry_from_properties(path: str, props) -> Entry:
        metadata = {k.lower(): v for k, v in (props.metadata or {}).items()}
        modified = utc(props.last_modified)
        return Entry(
            path=path,
            is_dir=metadata.get("hdi_isfolder") == "true",
            size=props.size or 0,
            last_modified=modified,
            created=utc(props.creation_time) or modified,
            etag=bare_etag(props.etag),
        )

    @_isolated
    async def read(self, path: str, *, if_none_match: str | None = None, max_bytes: int | None = None):
        """One GET (two for an empty file: Azure answers its ranged GET with 416).

        Returns a `Blob`, or `NOT_MODIFIED` when `if_none_match` is still the current ETag.
        """
        await self._ensure_open()
        kwargs = {}
        if if_none_match:
            kwargs = {"etag": if_none_match, "match_condition": MatchConditions.IfModified}
        try:
            downloader = await self._blob(path).download_blob(**kwargs)
            props = downloader.properties
            if max_bytes is not None and props.size > max_bytes:
                raise TooLarge(
                    f"{path} has {props.size} bytes, more than the {max_bytes} allowed", status=413, size=props.size
                )
            data = await downloader.readall()
        except ResourceModifiedError as error:
            if error.status_code == 304:
                return NOT_MODIFIED
            raise translate(error, path) from None
        except AzureError as error:
            raise translate(error, path) from None
        return Blob(self._entry_from_properties(path, props), data, _user_metadata(props.metadata))

    @_isolated
    async def stream(self, path: str, offset: int = 0, length: int | None = None) -> tuple[Entry, AsyncIterator[bytes]]:
        """The entry and an iterator of chunks (at most 4 MiB each in memory) for a byte range."""
        await self._ensure_open()
        try:
            downloader = await self._stream_blob(path).download_blob(offset=offset, length=length)
        except AzureError as error:
            raise translate(error, path) from None

        async def chunks():
            try:
                async for chunk in downloader.chunks():
                    yield chunk
            except AzureError as error:
                raise translate(error, path) from None

        return self._entry_from_properties(path, downloader.properties), chunks()

    # ---- writes ----------------------------------------------------------------------------
    @_isolated
    async def write(
        self,
        path: str,
        data: bytes,
        *,
        if_match: str | None = None,
        create_only: bool = False,
        metadata: dict[str, str] | None = None,
        content_type: str | None = None,
        created: datetime | None = None,
    ) -> Entry:
        """One atomic Put Blob. `if_match`: only over that ETag (412 → Changed); `create_only`:
        only if nothing is there (→ AlreadyExists). Returns the new entry from the response."""
        await self._ensure_open()
        kwargs: dict = {"overwrite": not create_only, "metadata": metadata or {}}
        if if_match:
            kwargs.update(etag=if_match, match_condition=MatchConditions.IfNotModified)
        if content_type:
            kwargs["content_settings"] = ContentSettings(content_type=content_type)
        try:
            result = await self._blob(path).upload_blob(data, length=len(data), **kwargs)
        except AzureError as error:
            raise translate(error, path) from None
        modified = utc(result["last_modified"])
        return Entry(path, False, len(data), modified, created or modified, bare_etag(result["etag"]))

    @_isolated
    async def stage_block(self, path: str, block_id: str, data: bytes) -> None:
        """Put Block: data kept uncommitted (invisible) until `commit_blocks`; OneLake discards
        blocks never committed (Azure: after 7 days)."""
        await self._ensure_open()
        try:
            await self._blob(path).stage_block(block_id, data, length=len(data))
        except AzureError as error:
            raise translate(error, path) from None

    @_isolated
    async def commit_blocks(
        self,
        path: str,
        block_ids: list[str],
        *,
        metadata: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> Entry:
        """Put Block List: the staged blocks, in order, become the file in one atomic step."""
        await self._ensure_open()
        kwargs = {"metadata": metadata or {}}
        if content_type:
            kwargs["content_settings"] = ContentSettings(content_type=content_type)
        try:
            result = await self._blob(path).commit_block_list([BlobBlock(block_id=b) for b in block_ids], **kwargs)
        except AzureError as error:
            raise translate(error, path) from None
        modified = utc(result["last_modified"])
        return Entry(path, False, 0, modified, modified, bare_etag(result["etag"]))

    @_isolated
    async def copy_from(
        self,
        source: OneLakeStore,
        source_path: str,
        dest: str,
        *,
        size: int,
        metadata: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> Entry:
        """OneLake copies `source_path` of `source` (a store of any workspace on this endpoint)
        to a new file `dest`, server side: Put Blob From URL up to 5,000 MiB, else blocks staged
        from ranges of the source (Put Block From URL) and committed with one Put Block List.
        The source is read with the caller's own OAuth token; the destination appears whole or not
        at all, and only where nothing is (AlreadyExists). BadRequest when OneLake will not copy."""
        await self._ensure_open()
        await source._ensure_open()
        token = await self.credential.get_token(STORAGE_SCOPE)
        options = {"source_authorization": f"Bearer {token.token}", "metadata": metadata or {}}
        if content_type:
            options["content_settings"] = ContentSettings(content_type=content_type)
        url, target = source._blob(source_path).url, self._blob(dest)
        try:
            if size <= MAX_PUT_BLOB:
                result = await target.upload_blob_from_url(url, overwrite=False, **options)
            else:
                result = await self._copy_in_blocks(target, url, size, options)
        except AzureError as error:
            raise translate(error, f"{source.workspace}/{source_path} -> {self.workspace}/{dest}") from None
        modified = utc(result["last_modified"])
        return Entry(dest, False, size, modified, modified, bare_etag(result["etag"]))

    @staticmethod
    async def _copy_in_blocks(target, url: str, size: int, options: dict) -> dict:
        authorization = {"source_authorization": options["source_authorization"]}
        ids = []
        for number, offset in enumerate(range(0, size, COPY_BLOCK)):
            block_id = f"{number:08d}"
            await target.stage_block_from_url(block_id, url, offset, min(COPY_BLOCK, size - offset), **authorization)
            ids.append(block_id)
        commit = {k: v for k, v in options.items() if k != "source_authorization"}
        return await target.commit_block_list(
            [BlobBlock(block_id=b) for b in ids], match_condition=MatchConditions.IfMissing, **commit
        )

    @_isolated
    async def mkdir(self, path: str) -> Entry:
        """Create a directory (and missing parents); AlreadyExists if something is there."""
        await self._ensure_open()
        try:
            result = await self._fs.get_directory_client(path).create_directory(
                match_condition=MatchConditions.IfMissing
            )
        except AzureError as error:
            raise translate(error, path) from None
        modified = utc(result["last_modified"])
        return Entry(path, True, 0, modified, modified, bare_etag(result["etag"]))

    @_isolated
    async def rename(self, source: str, dest: str, *, overwrite: bool = False) -> str:
        """Move a file or a whole directory in one request; returns the ETag OneLake reports.

        Without `overwrite`, an existing destination is AlreadyExists (`If-None-Match: *`)."""
        await self._ensure_open()
        seen: dict[str, str] = {}
        kwargs = {} if overwrite else {"match_condition": MatchConditions.IfMissing}
        try:
            await self._fs.get_file_client(quote(source, safe="/~")).rename_file(
                f"{self.workspace}/{dest}",
                # header names as the transport spells them (aiohttp: `Etag`)
                raw_response_hook=lambda response: seen.update(
                    (name.lower(), value) for name, value in response.http_response.headers.items()
                ),
                **kwargs,
            )
        except AzureError as error:
            raise translate(error, f"{source} -> {dest}") from None
        return bare_etag(seen.get("etag"))

    @_isolated
    async def delete(self, path: str, *, recursive: bool) -> None:
        """Delete a file, or a directory with everything in it (one request; atomic in OneLake)."""
        await self._ensure_open()
        try:
            if recursive:
                await self._fs.get_directory_client(path).delete_directory()
            else:
                await self._fs.get_file_client(path).delete_file()
        except AzureError as error:
            raise translate(error, path) from None

    # ---- soft delete -----------------------------------------------------------------------
    @_isolated
    async def list_deleted(self, folder: str) -> list[Deleted]:
        """The soft-deleted paths below `folder` (anywhere under it; a deleted directory as
        itself), in OneLake's order: one List Blobs per 5,000 deletions."""
        await self._ensure_open()
        pages = ListDeleted(self._container.url, self._container.api_version, folder)
        found: list[Deleted] = []
        try:
            while not pages.done:
                answer = await self._container._client._send_request(pages.request())
                found.extend(pages.read(answer))
        except AzureError as error:
            raise translate(error, folder) from None
        return found

    @_isolated
    async def undelete(self, path: str, deletion_id: str | None = None) -> None:
        """Undelete Blob: one request puts the deletion `deletion_id` of `path` (None: its
        newest) back where it was, a directory with its contents. AlreadyExists when the path is
        taken, NotFound when no such deletion is kept (or the parent is gone)."""
        await self._ensure_open()
        headers = {"x-ms-undelete-source": undelete_source(path, deletion_id)} if deletion_id else {}
        try:
            await self._blob(path).undelete_blob(headers=headers)
        except AzureError as error:
            raise translate(error, path) from None


def _user_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (metadata or {}).items() if k.lower() != "hdi_isfolder"}

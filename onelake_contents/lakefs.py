"""The `onelake://` fsspec filesystem: adlfs on the broker's credential, with OneLake's rules.

Registered as fsspec's `onelake` protocol (the `fsspec.specs` entry point), so pandas, pyarrow,
polars and DuckDB open `onelake://` URLs with no `storage_options`; which path a URL names is
`lakepath`'s business. What it adds to adlfs' `AzureBlobFileSystem`:

- settings and credential from `config` (trait > `ONELAKE_*` > settings file): in a kernel, the
  relay of its server; in a script, the broker of the settings file; a private CA (`ca_file`) is
  trusted on one kept connection pool (azure-core would build an SSL context per request);
- reads in ranges, all of one version (`If-Match` on the ETag seen at open: a file replaced
  while it is read fails with `OSError(ESTALE)` rather than mixing versions), read ahead (4 MiB
  blocks) only while reading sequentially (`SequentialReadAhead`): pandas streaming a CSV gets
  4 MiB GETs, pyarrow reading a Parquet column gets exactly the footer and that column's
  (coalesced) ranges;
- no listings cache, and a path's size and version are reused for one second only (pandas and
  pyarrow ask five times to open one Parquet file): a file saved from the file browser is seen
  at once;
- writes are atomic and may replace any file: up to one block, one Put Blob on close; larger,
  blocks staged in a hidden staging file beside the target (as the server's chunked uploads),
  committed (Put Block List) and moved over the target with one DFS rename. Put Block List
  straight onto the target would be refused for a file created through DFS (Spark, pipelines),
  and deleting first would show a missing file. A `with` block that raises publishes nothing;
- folders are real (DFS Create Path); deleting a folder is one recursive DFS delete;
- errors are `FileNotFoundError`, `PermissionError` (OneLake's 403 with its reason),
  `FileExistsError`, or `OSError` naming the path and OneLake's error code.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import os
import ssl
import time
import uuid
import weakref

import aiohttp
from adlfs import AzureBlobFileSystem
from adlfs.spec import AzureBlobFile
from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceModifiedError
from azure.core.pipeline.transport import AioHttpTransport
from azure.storage.blob import BlobBlock
from azure.storage.blob.aio import BlobServiceClient
from fsspec.asyn import sync, sync_wrapper
from fsspec.caching import ReadAheadCache, register_cache

from . import config, lakepath
from .credential import AsyncBrokerCredential
from .lake.uploads import staging_path
from .storage import AlreadyExists, Forbidden, NotFound, OneLakeStore, StoreError, translate
from .storage.store import InteractiveRetry

BLOCK = 4 * 1024 * 1024
INFO_TTL = 1.0  # seconds a path's size and version are reused (see `_info`)
RECENT_PATHS = 1024


class SequentialReadAhead(ReadAheadCache):
    """Read-ahead for sequential reads only: a read that starts where the last one ended (or at
    the start of the file) fetches at least a block, any other read fetches exactly its range.
    pandas streaming a CSV costs one GET per block; pyarrow reading a Parquet footer and a column
    chunk costs those two ranges and nothing more."""

    name = "onelake-sequential"

    def _fetch(self, start: int | None, end: int | None) -> bytes:
        start = start or 0
        end = self.size if end is None or end > self.size else end
        if start >= self.size or start >= end:
            return b""
        if self.start <= start and end <= self.end:
            self.hit_count += 1
            return self.cache[start - self.start : end - self.start]
        self.miss_count += 1
        if self.start <= start < self.end:  # the read goes on past what is held: continue from there
            part, fetch_start, sequential = self.cache[start - self.start :], self.end, True
        else:
            part, fetch_start, sequential = b"", start, start in (0, self.end)
        fetch_end = min(self.size, max(end, fetch_start + self.blocksize)) if sequential else end
        self.total_requested_bytes += fetch_end - fetch_start
        self.cache = self.fetcher(fetch_start, fetch_end)
        self.start, self.end = fetch_start, fetch_start + len(self.cache)
        return part + self.cache[: end - fetch_start]


register_cache(SequentialReadAhead, clobber=True)


def _reason(error: BaseException) -> str:
    """OneLake's own words for a refusal (the first line of its error message)."""
    message = getattr(error, "message", None) or ""
    first = str(message).strip().splitlines()[0] if str(message).strip() else ""
    return "" if first.startswith("Operation returned an invalid status") else first


def os_error(error: BaseException, path: str) -> OSError:
    """The `OSError` a Python caller expects for a OneLake failure on `path`."""
    failure = error if isinstance(error, StoreError) else translate(error, path)
    reason = _reason(error)
    message = f"{failure.message} ({reason})" if reason and reason not in failure.message else failure.message
    if isinstance(failure, NotFound):
        return FileNotFoundError(errno.ENOENT, message, path)
    if isinstance(failure, Forbidden):
        return PermissionError(errno.EACCES, message, path)
    if isinstance(failure, AlreadyExists):
        return FileExistsError(errno.EEXIST, message, path)
    return OSError(errno.EIO, message, path)


def _onelake_failure(error: BaseException) -> BaseException | None:
    while error is not None:
        if isinstance(error, (AzureError, StoreError)):
            return error
        error = error.__cause__
    return None


def _translated(method):
    """Azure errors raised by an adlfs coroutine become `os_error`s naming the path."""

    @functools.wraps(method)
    async def run(self, path, *args, **kwargs):
        try:
            return await method(self, path, *args, **kwargs)
        except (AzureError, StoreError, RuntimeError) as error:
            cause = _onelake_failure(error)
            if cause is None:
                raise
            raise os_error(cause, path if isinstance(path, str) else str(path)) from None

    return run


class _KeptTLSTransport(AioHttpTransport):
    """azure-core's aiohttp transport with one connection pool trusting `ca_file`."""

    def __init__(self, ca_file: str | None, **kwargs):
        super().__init__(**kwargs)
        self._ca_file = ca_file

    async def open(self):
        if self.session is None and self._session_owner:
            context = ssl.create_default_context(cafile=self._ca_file)
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=context),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
            )
        await super().open()


class _SettingsKey:
    def __get__(self, obj, owner) -> tuple:
        return lakepath.settings_key()


def blob_host(settings: config.ResolvedSettings) -> str:
    host = str(settings.endpoint).split("://", 1)[-1].rstrip("/")
    return host.replace(".dfs.", ".blob.")


class OneLakeFileSystem(AzureBlobFileSystem):
    """fsspec's `onelake://` (see the module's docstring). Keyword arguments named like a setting
    (`workspace`, `root`, `broker_url`, `ca_file`, ...) override it; the rest go to adlfs."""

    protocol = (lakepath.SCHEME,)
    # fsspec keeps one instance per arguments and thread; the settings decide too
    _extra_tokenize_attributes = ("_settings_key",)
    _settings_key = _SettingsKey()

    def __init__(self, **options):
        overrides = {name: options.pop(name) for name in list(options) if name in config.SETTINGS}
        settings = config.resolve(overrides)
        settings.require("workspace", "broker_url")
        self.settings = settings
        credential = options.pop("credential", None) or AsyncBrokerCredential.from_settings(settings)
        options.setdefault("use_listings_cache", False)
        options.setdefault("blocksize", BLOCK)
        options.setdefault("default_cache_type", SequentialReadAhead.name)
        self._recent: dict[str, tuple[float, dict]] = {}
        super().__init__(account_name="onelake", account_host=blob_host(settings), credential=credential, **options)
        self._stores: dict[str, OneLakeStore] = {}
        weakref.finalize(self, _close_stores, self.loop, self._stores)

    def do_connect(self):
        ca_file = self.settings.ca_file
        # adlfs builds its client without TLS or retry options: a private CA (or the emulator's)
        # needs one, and the storage SDK's own retries wait ~85 s before reporting that the
        # broker said no
        self.service_client = BlobServiceClient(
            f"https://{self.account_host}",
            credential=self.credential,
            transport=_KeptTLSTransport(str(ca_file) if ca_file else None),
            retry_policy=InteractiveRetry(),
        )

    # ---- paths ---------------------------------------------------------------------------------
    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        return lakepath.lake_path(str(path))

    @staticmethod
    def _get_kwargs_from_urls(urlpath):
        return {}

    def unstrip_protocol(self, name: str) -> str:
        return lakepath.url_of(self._strip_protocol(name))

    def store(self, workspace: str) -> OneLakeStore:
        """The DFS side (rename, folders, recursive delete) for one workspace, on this credential."""
        found = self._stores.get(workspace)
        if found is None:
            settings = self.settings
            found = self._stores[workspace] = OneLakeStore(
                str(settings.endpoint), workspace, self.credential, ca_file=settings.ca_file
            )
        return found

    # ---- reads ---------------------------------------------------------------------------------
    _adlfs_info = _translated(AzureBlobFileSystem._info)

    async def _info(self, path, refresh=False, **kwargs):
        """A path's size, type and version; what OneLake said is reused for `INFO_TTL` seconds
        (pandas and pyarrow ask five times to open one Parquet file). Reads stay on the version
        it names, so a stale answer fails a read (and is forgotten) rather than mixing versions."""
        key = self._strip_protocol(path)
        held = self._recent.get(key)
        now = time.monotonic()
        if held is not None and not refresh and not kwargs.get("version_id") and now - held[0] < INFO_TTL:
            return dict(held[1])
        info = await self._adlfs_info(path, refresh=refresh, **kwargs)
        if len(self._recent) >= RECENT_PATHS:
            self._recent.clear()
        self._recent[key] = (now, info)
        return dict(info)

    async def _isfile(self, path):
        try:
            return (await self._info(path))["type"] == "file"
        except FileNotFoundError:
            return False

    def invalidate_cache(self, path=None):
        """Forget what was learnt about `path` and below (everything without a path)."""
        if path is None:
            self._recent.clear()
        else:
            key = self._strip_protocol(path)
            for known in [k for k in self._recent if k == key or k.startswith(key + "/")]:
                del self._recent[known]
        super().invalidate_cache(path)

    _ls = _translated(AzureBlobFileSystem._ls)
    _cat_file = _translated(AzureBlobFileSystem._cat_file)
    _get_file = _translated(AzureBlobFileSystem._get_file)
    _exists = _translated(AzureBlobFileSystem._exists)

    # ---- writes --------------------------------------------------------------------------------
    async def publish(self, path: str, chunks, *, overwrite: bool = True) -> None:
        """Write the file at `path` from an async iterator of byte chunks, atomically (see the
        module's docstring). `overwrite=False`: FileExistsError when something is there."""
        workspace, key, _ = self.split_path(path)
        self.invalidate_cache(path)
        try:
            await self._publish(workspace, key, chunks, overwrite)
        finally:
            self.invalidate_cache(path)

    async def _publish(self, workspace: str, key: str, chunks, overwrite: bool) -> None:
        first = b""
        async for chunk in chunks:
            if len(first) + len(chunk) <= BLOCK:
                first += chunk
                continue
            await self._publish_staged(workspace, key, first, chunk, chunks, overwrite)
            break
        else:
            async with self.service_client.get_blob_client(workspace, key) as blob:
                await blob.upload_blob(first, length=len(first), overwrite=overwrite)

    async def _publish_staged(self, workspace: str, key: str, first: bytes, chunk: bytes, chunks, overwrite: bool):
        staging = staging_path(key)
        blocks: list[str] = []
        async with self.service_client.get_blob_client(workspace, staging) as blob:

            async def stage(data: bytes) -> None:
                block = uuid.uuid4().hex
                await blob.stage_block(block, data, length=len(data))
                blocks.append(block)

            # until the commit nothing is visible, and OneLake discards uncommitted blocks itself
            pending = first + chunk
            while len(pending) >= BLOCK:
                await stage(pending[:BLOCK])
                pending = pending[BLOCK:]
            async for more in chunks:
                pending += more
                while len(pending) >= BLOCK:
                    await stage(pending[:BLOCK])
                    pending = pending[BLOCK:]
            if pending:
                await stage(pending)
            await blob.commit_block_list([BlobBlock(b) for b in blocks], headers={"If-None-Match": "*"})
            try:
                await self.store(workspace).rename(staging, key, overwrite=overwrite)
            except BaseException:
                await self._discard(workspace, staging)
                raise

    async def _discard(self, workspace: str, staging: str) -> None:
        try:
            await self.store(workspace).delete(staging, recursive=False)
        except StoreError:
            pass  # the server's upload sweep removes what is left in the staging folder

    @_translated
    async def _pipe_file(self, path, value, overwrite=True, mode="overwrite", **kwargs):
        async def one():
            yield bytes(value)

        await self.publish(path, one(), overwrite=overwrite and mode != "create")
        self.invalidate_cache(self._parent(path))

    @_translated
    async def _put_file(self, lpath, rpath, overwrite=True, mode="overwrite", callback=None, **kwargs):
        if os.path.isdir(lpath):
            await self._mkdir(rpath)
            return

        async def read():
            with open(lpath, "rb") as handle:
                while data := handle.read(BLOCK):
                    yield data

        await self.publish(rpath, read(), overwrite=overwrite and mode != "create")

    @_translated
    async def _cp_file(self, path1, path2, **kwargs):
        size = (await self._info(path1))["size"] or 0

        async def ranges():
            for start in range(0, size, BLOCK):
                yield await self._cat_file(path1, start=start, end=min(size, start + BLOCK))

        await self.publish(path2, ranges())

    @_translated
    async def _mkdir(self, path, create_parents=True, **kwargs):
        workspace, key, _ = self.split_path(path)
        if not key:
            raise PermissionError(errno.EPERM, "workspaces are created in Fabric, not here", path)
        self.invalidate_cache(path)
        try:
            await self.store(workspace).mkdir(key)
        except AlreadyExists:
            if not kwargs.get("exist_ok", True):
                raise FileExistsError(errno.EEXIST, "already exists in OneLake", path) from None

    async def _makedirs(self, path, exist_ok=False):
        await self._mkdir(path, exist_ok=exist_ok)

    mkdir = sync_wrapper(_mkdir)
    makedirs = sync_wrapper(_makedirs)
    pipe_file = sync_wrapper(_pipe_file)
    put_file = sync_wrapper(_put_file)
    cp_file = sync_wrapper(_cp_file)
    get_file = sync_wrapper(_get_file)

    @_translated
    async def _rm_file(self, path, **kwargs):
        workspace, key, _ = self.split_path(path)
        await self.store(workspace).delete(key, recursive=False)
        self.invalidate_cache(self._parent(path))

    @_translated
    async def _rm(self, path, recursive=False, maxdepth=None, **kwargs):
        paths = path if isinstance(path, list) else [path]
        for each in paths:
            for found in await self._expand_path(each, recursive=False):
                workspace, key, _ = self.split_path(found)
                info = await self._info(found)
                if info["type"] == "directory" and not recursive:
                    raise IsADirectoryError(errno.EISDIR, "a folder: delete it with recursive=True", found)
                await self.store(workspace).delete(key, recursive=info["type"] == "directory")
        self.invalidate_cache()

    rm_file = sync_wrapper(_rm_file)
    rm = sync_wrapper(_rm)

    def _open(self, path, mode="rb", block_size=None, autocommit=True, cache_options=None, **kwargs):
        if mode not in ("rb", "wb", "xb"):
            raise ValueError(f"onelake:// opens files with 'rb', 'wb' or 'xb' (text modes too), not {mode!r}")
        kwargs.setdefault("cache_type", self.default_cache_type)
        return OneLakeFile(
            self, path, mode=mode, block_size=block_size or self.blocksize, autocommit=autocommit,
            cache_options=cache_options or {}, **kwargs,
        )  # fmt: skip


class OneLakeFile(AzureBlobFile):
    """adlfs' file, read in ranges; written through `OneLakeFileSystem.publish` on close."""

    def __init__(self, fs: OneLakeFileSystem, path: str, mode: str = "rb", **kwargs):
        super().__init__(fs, path, mode=mode, **kwargs)
        self._queue: asyncio.Queue | None = None
        self._publishing = None

    async def _async_fetch_range(self, start: int, end: int | None = None, **kwargs):
        """One ranged GET, on the version seen when the file was opened (`If-Match`): a file
        replaced while it is read fails the read instead of mixing two versions."""
        end = self.size if end is None else min(end, self.size)
        etag = self.details.get("etag")
        condition = {"etag": etag, "match_condition": MatchConditions.IfNotModified} if etag else {}
        try:
            async with self.fs.service_client.get_blob_client(self.container_name, self.blob) as blob:
                stream = await blob.download_blob(offset=start, length=end - start, **condition)
                return await stream.readall()
        except ResourceModifiedError as error:
            if error.status_code != 412:
                raise os_error(error, self.path) from None
            self.fs.invalidate_cache(self.path)
            raise OSError(errno.ESTALE, "changed in OneLake while it was read: open it again", self.path) from None
        except AzureError as error:
            raise os_error(error, self.path) from None

    _fetch_range = sync_wrapper(_async_fetch_range)

    async def _async_initiate_upload(self, **kwargs):
        # the chunks flow into one `publish` running on the filesystem's loop
        self._queue = asyncio.Queue(maxsize=1)

        async def chunks():
            while (data := await self._queue.get()) is not None:
                yield data

        self._publishing = asyncio.ensure_future(self.fs.publish(self.path, chunks(), overwrite=self.mode == "wb"))

    _initiate_upload = sync_wrapper(_async_initiate_upload)

    async def _async_upload_chunk(self, final: bool = False, **kwargs):
        if self._queue is None:
            await self._async_initiate_upload()
        put = asyncio.ensure_future(self._queue.put(self.buffer.getvalue()))
        await asyncio.wait([put, self._publishing], return_when=asyncio.FIRST_COMPLETED)
        if not put.done():  # publishing failed before taking the chunk
            put.cancel()
        if final:
            if not self._publishing.done():
                await self._queue.put(None)
            try:
                await self._publishing
            except (AzureError, StoreError) as error:
                raise os_error(error, self.path) from None
        elif self._publishing.done():
            self._publishing.result()
        return True

    _upload_chunk = sync_wrapper(_async_upload_chunk)

    def discard(self):
        """Drop what was written: nothing is published (OneLake discards staged blocks)."""
        if self._publishing is not None and not self._publishing.done():
            sync(self.loop, _cancel, self._publishing)
        self.closed = True
        self.forced = True

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and self.mode != "rb" and not self.closed:
            self.discard()
            return
        self.close()


async def _cancel(task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _close_stores(loop, stores: dict) -> None:
    for store in list(stores.values()):
        try:
            sync(loop, store.close, timeout=5)
        except Exception:  # the loop may be gone at interpreter exit
            pass

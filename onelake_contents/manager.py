"""OneLakeContentsManager: Jupyter's contents API over a OneLake folder.

Every Jupyter semantic lives here, written against `OneLakeStore` (the SDK) and `MetadataCache`.
Request budgets (DESIGN §3) shape the code: a listing answers later `get(content=False)`,
`exists` and `is_hidden` for its children without requests; a save is one conditional Put Blob
whose response becomes the returned model; names for new files come from one listing.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import mimetypes
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import nbformat
from cachetools import LRUCache
from jupyter_core.utils import run_sync
from jupyter_server.services.contents.manager import AsyncContentsManager
from tornado.web import HTTPError
from traitlets import Bool, Enum, Float, Instance, Int, TraitError, Type, Unicode, default, validate

from . import config
from . import paths as api_paths
from .cache import MISSING, MetadataCache
from .checkpoints import OneLakeCheckpoints
from .credential import AsyncBrokerCredential
from .handlers import OneLakeFilesHandler, RetryAfterTransform, retry_after_hint
from .lake.content import HASH_METADATA, NOTEBOOK_MIME, sha256
from .lake.uploads import UPLOAD_BLOCK, block_id, staging_path
from .paths import CHECKPOINT_DIR, InvalidPath, PathMapper, in_checkpoint_dir, is_hidden, join, split
from .store import (
    NOT_MODIFIED,
    AlreadyExists,
    BadRequest,
    Blob,
    Changed,
    Conflict,
    Entry,
    Forbidden,
    NotFound,
    OneLakeStore,
    StoreError,
    TooLarge,
    Unavailable,
)

_COPY_SUFFIX = re.compile(r"\-Copy\d*\.")
_THREAD_THRESHOLD = 1024 * 1024


@dataclass
class _Upload:
    """A chunked upload in progress: where it is staged and what has arrived."""

    staging: str
    next_chunk: int = 1
    size: int = 0
    blocks: list[str] = field(default_factory=list)
    digest: Any = field(default_factory=hashlib.sha256)
    touched: float = field(default_factory=time.monotonic)

    def add(self, block_id: str, data: bytes) -> None:
        self.blocks.append(block_id)
        self.size += len(data)
        self.digest.update(data)
        self.next_chunk += 1
        self.touched = time.monotonic()


def normalize_api_path(path: str | None) -> str:
    """The canonical API path; a path that must never reach OneLake is the HTTP error it deserves."""
    try:
        return api_paths.normalize_api_path(path)
    except InvalidPath as error:
        raise HTTPError(error.status, error.message) from None


def _env_help(name: str, text: str) -> str:
    return f"{text} Environment variable: {config.SETTINGS[name].env}."


class OneLakeContentsManager(AsyncContentsManager):
    """Serves a OneLake folder as the Jupyter home.

    Enable with `c.ServerApp.contents_manager_class = "onelake_contents.OneLakeContentsManager"`.
    Every connection setting is a trait and an environment variable (see README).
    """

    # ---- connection settings (trait > environment > saved config file) -------------------------
    endpoint = Unicode(None, allow_none=True, config=True, help=_env_help("endpoint", "OneLake DFS endpoint (https)."))
    workspace = Unicode(None, allow_none=True, config=True, help=_env_help("workspace", "Workspace name or GUID."))
    root = Unicode(
        None,
        allow_none=True,
        config=True,
        help=_env_help("root", "Jupyter home inside the workspace: <item>/Files or a folder below it."),
    )
    broker_url = Unicode(None, allow_none=True, config=True, help=_env_help("broker_url", "Token broker URL."))
    broker_token = Unicode(None, allow_none=True, config=True, help=_env_help("broker_token", "Broker client token."))
    broker_token_file = Unicode(
        None, allow_none=True, config=True, help=_env_help("broker_token_file", "File with the broker client token.")
    )
    ca_file = Unicode(
        None, allow_none=True, config=True, help=_env_help("ca_file", "CA bundle for broker and OneLake.")
    )

    # ---- behaviour -----------------------------------------------------------------------------
    metadata_ttl = Float(
        10.0, config=True, help="Seconds a listing or a path's metadata is trusted without asking OneLake."
    )
    cache_size = Int(20000, config=True, help="Paths and listing entries kept in the metadata cache.")
    content_cache_bytes = Int(
        64 * 1024 * 1024,
        config=True,
        help="Bytes of recently read or written files kept, so reopening an unchanged file is one 304.",
    )
    max_content_bytes = Int(
        64 * 1024 * 1024,
        config=True,
        help="Largest file opened through the contents API (413 above it; /files/ streams any size).",
    )
    max_upload_bytes = Int(
        10 * 1024**3, config=True, help="Largest file uploaded in chunks through the contents API (413 above it)."
    )
    upload_timeout = Float(
        3600.0,
        config=True,
        help="Seconds after which an unfinished chunked upload is abandoned (its staged data is never published).",
    )
    max_copy_bytes = Int(500 * 1024 * 1024, config=True, help="Largest total size of a directory copy (413 above it).")
    create_root = Bool(True, config=True, help="Create the root folder on first use when it is missing.")
    last_writer_wins = Bool(
        False,
        config=True,
        help="Save over changes made in OneLake since the file was opened, instead of answering 409.",
    )
    hash_algorithm = Enum(
        sorted(hashlib.algorithms_available),
        default_value="sha256",
        config=True,
        help="Hash algorithm for `hash` in models (require_hash).",
    )
    request_retries = Int(3, config=True, help="Retries of a OneLake request on 5xx, 429 and connection errors.")
    read_timeout = Float(60.0, config=True, help="Seconds to wait for OneLake's answer before retrying a request.")
    max_retry_after = Float(5.0, config=True, help="Longest Retry-After (s) waited for inside one Jupyter request.")

    checkpoints_class = Type(OneLakeCheckpoints, config=True)
    files_handler_class = Type(OneLakeFilesHandler, config=True)
    store = Instance(OneLakeStore, allow_none=True)

    @default("files_handler_params")
    def _default_files_handler_params(self):
        return {}

    @validate("root")
    def _validate_root(self, proposal):
        value = proposal["value"]
        if value:
            PathMapper(value)
        return value

    @validate("preferred_dir")
    def _validate_preferred_dir(self, proposal):
        value = normalize_api_path(proposal["value"])
        # Checking needs OneLake, which is set up only at the end of __init__: check then.
        if not getattr(self, "_initialised", False) or not value:
            return value
        # Traitlets validates synchronously; the check runs on a private loop with its own
        # connection, closed there, so nothing is left bound to a loop that is gone.
        if not run_sync(self._probe_directory)(value):
            raise TraitError(f"Preferred directory not found in OneLake: {value!r}")
        if self.parent is not None and hasattr(self.parent, "preferred_dir"):
            try:
                self.parent.preferred_dir = os.path.join(self.parent.root_dir, *value.split("/"))
            except TraitError:
                pass
        return value

    async def _probe_directory(self, path: str) -> bool:
        store = OneLakeStore(
            self.store.endpoint, self.store.workspace, self.store.credential, ca_file=self.store.ca_file, retry_total=1
        )
        try:
            entry, _ = await store.stat(self._ol(path))
            return entry.is_dir
        except NotFound:
            return False
        finally:
            await store.close()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        explicit = {name: getattr(self, name) for name in config.SETTINGS if self.has_trait(name)}
        try:
            self.settings = config.resolve(explicit)
            self.settings.require("workspace", "root")
            if self.store is None:
                self.settings.require("broker_url")
        except config.SettingsError as error:
            raise ValueError(f"OneLakeContentsManager: {error}") from None
        self.paths = PathMapper(str(self.settings.root))
        self._export_settings_for_kernels()
        self._install_session_manager()
        if self.store is None:
            credential = AsyncBrokerCredential.from_settings(self.settings)
            self.store = OneLakeStore(
                str(self.settings.endpoint),
                str(self.settings.workspace),
                credential,
                ca_file=self.settings.ca_file,
                retry_total=self.request_retries,
                read_timeout=self.read_timeout,
                max_retry_after=self.max_retry_after,
            )
        self.cache = MetadataCache(ttl=self.metadata_ttl, maxsize=self.cache_size)
        # What this server last read or wrote, per OneLake path: (etag, sha256). Saves are
        # conditional on that ETag, so changes made elsewhere meanwhile are never overwritten.
        self._seen: LRUCache = LRUCache(maxsize=self.cache_size)
        self._contents: LRUCache = LRUCache(
            maxsize=max(self.content_cache_bytes, 1), getsizeof=lambda b: len(b.data) + 1
        )
        self._root_ready = False
        self._root_lock: asyncio.Lock | None = None
        self._transform_added = False
        self._uploads: dict[str, _Upload] = {}
        self._swept: set[str] = set()
        # hashes of saves whose outcome we do not know (an error after the request went out)
        self._pending: LRUCache = LRUCache(maxsize=self.cache_size)
        self._background: set[asyncio.Task] = set()
        self._versions: LRUCache = LRUCache(maxsize=self.cache_size)
        self._initialised = True
        if self.preferred_dir:
            self.preferred_dir = self.preferred_dir

    def _export_settings_for_kernels(self) -> None:
        """Kernels inherit the server's environment: give them the OneLake settings, so that
        `onelake_contents.fs()` works in a notebook without configuration."""
        for name, setting in config.SETTINGS.items():
            value = self.settings.values.get(name)
            if value:
                os.environ.setdefault(setting.env, str(value))

    def _install_session_manager(self) -> None:
        """Kernels learn their notebook's OneLake folder from OneLakeSessionManager; the server
        creates its session manager right after this manager, so swap in ours when it would use
        jupyter_server's own (a configured one is left alone)."""
        from jupyter_server.services.sessions.sessionmanager import SessionManager

        from .kernel import OneLakeSessionManager

        parent = self.parent
        if parent is not None and getattr(parent, "session_manager_class", None) is SessionManager:
            parent.session_manager_class = OneLakeSessionManager

    def info_string(self) -> str:
        return f"Serving contents from OneLake: workspace {self.settings.workspace}, folder {self.paths.root}"

    # ---- plumbing ------------------------------------------------------------------------------
    def _ol(self, path: str) -> str:
        try:
            return self.paths.to_onelake(path)
        except InvalidPath as error:
            raise HTTPError(error.status, error.message) from None

    @contextmanager
    def _errors(self, path: str):
        """Our store errors as the HTTP errors Jupyter documents; never a raw exception."""
        try:
            yield
        except HTTPError:
            raise
        except NotFound:
            raise HTTPError(404, f"No such file or directory: {path}") from None
        except AlreadyExists:
            raise HTTPError(409, f"File already exists: {path}") from None
        except Changed:
            raise HTTPError(
                409, f"{path} was changed in OneLake since it was opened; reload it before saving"
            ) from None
        except Conflict as error:
            raise HTTPError(409, f"Cannot do that to {path}: {error.code or error.message}") from None
        except Forbidden:
            raise HTTPError(403, f"Permission denied by OneLake: {path}") from None
        except TooLarge as error:
            raise HTTPError(413, f"{path}: {error.message}") from None
        except BadRequest as error:
            raise HTTPError(400, f"OneLake refused {path}: {error.code or error.message}") from None
        except Unavailable as error:
            retry_after_hint.set(error.retry_after if error.retry_after is not None else 5.0)
            raise HTTPError(503, f"OneLake is unavailable, try again shortly ({error.message})") from None
        except StoreError as error:
            self.log.error("OneLake error on %s: %s", path, error.message)
            raise HTTPError(500, f"Unexpected OneLake error on {path}: {error.code or error.message}") from None

    async def _ready(self) -> None:
        """Once: make sure the root folder exists (creating a new user's folder) and hook Retry-After."""
        if not self._transform_added:
            web_app = getattr(self.parent, "web_app", None)
            if web_app is not None:
                web_app.add_transform(RetryAfterTransform)
                self._transform_added = True
        if self._root_ready:
            return
        if self._root_lock is None:
            self._root_lock = asyncio.Lock()
        async with self._root_lock:
            if self._root_ready:
                return
            root = self.paths.root
            with self._errors(""):
                try:
                    entry, _ = await self.store.stat(root)
                except NotFound:
                    if not self.create_root:
                        raise HTTPError(404, f"The OneLake folder {root} does not exist (create_root is off)") from None
                    self.log.info("Creating the OneLake root folder %s", root)
                    try:
                        entry = await self.store.mkdir(root)
                    except AlreadyExists:
                        entry, _ = await self.store.stat(root)
                if not entry.is_dir:
                    raise HTTPError(500, f"The OneLake root {root} is a file, not a folder")
            self.cache.put(entry)
            self._root_ready = True

    async def _entry(self, path: str) -> Entry | None:
        """The entry of an API path from the cache, else one HEAD (shared by concurrent callers)."""
        ol = self._ol(path)
        hit = self.cache.lookup(ol)
        if hit is MISSING:
            return None
        if hit is not None:
            return hit

        async def head():
            try:
                entry, _ = await self.store.stat(ol)
            except NotFound:
                self.cache.put_missing(ol)
                return None
            self.cache.put(entry)
            return entry

        with self._errors(path):
            return await self.cache.single_flight(("stat", ol), head)

    async def _listing(self, path: str) -> list[Entry]:
        """The children of a directory from a fresh listing, else one List Paths (shared)."""
        ol = self._ol(path)
        hit = self.cache.listing(ol)
        if hit is not None:
            return hit

        async def load():
            try:
                entries = await self.store.list_dir(ol)
            except NotFound:
                self.cache.put_missing(ol)
                raise
            if len(entries) == 1 and entries[0].path == ol and not entries[0].is_dir:
                self.cache.put(entries[0])
                raise HTTPError(400, f"{path} is not a directory", reason="bad type")
            self.cache.put_listing(ol, entries)
            return entries

        with self._errors(path):
            return await self.cache.single_flight(("list", ol), load)

    def _visible(self, path: str) -> bool:
        return not in_checkpoint_dir(path) and (self.allow_hidden or not is_hidden(path))

    def _refuse_hidden(self, path: str, action: str) -> None:
        if in_checkpoint_dir(path):
            raise HTTPError(403, f"Cannot {action} {path}: checkpoints are managed by the server")
        if not self.allow_hidden and is_hidden(path):
            raise HTTPError(400, f"Cannot {action} hidden file or directory {path}")

    # ---- models --------------------------------------------------------------------------------
    def _modified(self, entry: Entry) -> datetime:
        """`last_modified` that grows with every version this server sees of a file.

        OneLake's Last-Modified has whole-second resolution, and clients use last_modified as a
        version (JupyterLab's "file changed on disk" check, jupyter-collaboration's out-of-band
        detection). A new ETag whose time is not later than the one reported for the previous
        version is reported 1 ms after it, so two versions within one second stay distinct.
        """
        if entry.is_dir or not entry.etag:
            return entry.last_modified
        known = self._versions.get(entry.path)
        if known is not None and known[0] == entry.etag:
            return known[1]
        reported = entry.last_modified
        if known is not None and reported <= known[1]:
            reported = known[1] + timedelta(milliseconds=1)
        self._versions[entry.path] = (entry.etag, reported)
        return reported

    def _base_model(self, path: str, entry: Entry) -> dict:
        return {
            "name": split(path)[1] if path else "",
            "path": path,
            "last_modified": self._modified(entry),
            "created": entry.created,
            "content": None,
            "format": None,
            "mimetype": None,
            "size": entry.size,
            "writable": True,
            "hash": None,
            "hash_algorithm": None,
        }

    def _dir_base(self, path: str, entry: Entry) -> dict:
        model = self._base_model(path, entry)
        model.update(type="directory", size=None)
        return model

    def _file_base(self, path: str, entry: Entry) -> dict:
        model = self._base_model(path, entry)
        model.update(type="file", mimetype=mimetypes.guess_type(path)[0])
        return model

    def _notebook_base(self, path: str, entry: Entry) -> dict:
        model = self._base_model(path, entry)
        model["type"] = "notebook"
        return model

    def _model_without_content(self, path: str, entry: Entry) -> dict:
        if entry.is_dir:
            return self._dir_base(path, entry)
        if path.endswith(".ipynb"):
            return self._notebook_base(path, entry)
        return self._file_base(path, entry)

    async def _dir_model(self, path: str, entry: Entry, content: bool) -> dict:
        model = self._dir_base(path, entry)
        if content:
            children = []
            for child in await self._listing(path):
                child_path = join(path, child.name)
                if not self._visible(child_path) or not self.should_list(child.name):
                    continue
                try:
                    children.append(self._model_without_content(child_path, child))
                except Exception:
                    self.log.warning("Skipping %s in the listing of %s", child.name, path, exc_info=True)
            model.update(content=children, format="json")
        return model

    def _hash(self, data: bytes) -> dict:
        digest = hashlib.new(self.hash_algorithm)
        digest.update(data)
        return {"hash": digest.hexdigest(), "hash_algorithm": self.hash_algorithm}

    async def _read(self, path: str, entry: Entry | None) -> Blob:
        """The file's bytes: one GET, conditional (304) when we hold the content of its ETag."""
        ol = self._ol(path)
        if entry is not None and entry.size > self.max_content_bytes:
            raise HTTPError(413, self._too_large_message(path, entry.size))
        held: Blob | None = self._contents.get(ol)
        with self._errors(path):
            try:
                result = await self.store.read(
                    ol, if_none_match=held.entry.etag if held else None, max_bytes=self.max_content_bytes
                )
            except NotFound:
                self.cache.put_missing(ol)
                raise
            except TooLarge:
                raise HTTPError(413, self._too_large_message(path, None)) from None
        blob = held if result is NOT_MODIFIED else result
        if blob.entry.is_dir:
            self.cache.put(blob.entry)
            return blob
        self.cache.put(blob.entry)
        self._remember(ol, blob)
        return blob

    def _remember(self, ol: str, blob: Blob) -> None:
        self._seen[ol] = (blob.entry.etag, blob.metadata.get(HASH_METADATA) or sha256(blob.data))
        if len(blob.data) < self.content_cache_bytes // 4:
            self._contents[ol] = blob
        else:
            self._contents.pop(ol, None)

    def _too_large_message(self, path: str, size: int | None) -> str:
        size_text = f"{size} bytes" if size is not None else "too large"
        return (
            f"{path} is {size_text}, above the {self.max_content_bytes}-byte limit for opening files; "
            f"download it from /files/{path} instead"
        )

    # ---- ContentsManager API: must implement ---------------------------------------------------
    async def get(self, path, content=True, type=None, format=None, require_hash=False):
        path = normalize_api_path(path)
        if type not in (None, "directory", "file", "notebook"):
            raise HTTPError(400, f"Unknown type {type!r}", reason="bad type")
        if format not in (None, "text", "base64", "json"):
            raise HTTPError(400, f"Unknown format {format!r}", reason="bad format")
        if path and not self._visible(path):
            raise HTTPError(404, f"No such file or directory: {path}")
        await self._ready()
        entry = await self._known_or_stat(path, need_stat=not (content or require_hash))
        if entry is None and content and (type == "directory" or (type is None and "." not in split(path)[1])):
            entry = await self._stat_and_list(path)
        elif entry is None and type == "directory":
            entry = await self._entry(path)
        if entry is None and type == "directory":
            raise HTTPError(404, f"No such file or directory: {path}")
        if entry is not None and entry.is_dir:
            model = await self._directory(path, entry, content, type)
        else:
            if type == "directory":
                raise HTTPError(400, f"{path} is not a directory", reason="bad type")
            model = await self._file_or_notebook(path, entry, content, type, format, require_hash)
        self.emit(data={"action": "get", "path": path})
        return model

    async def _known_or_stat(self, path: str, need_stat: bool) -> Entry | None:
        """The entry when cached or needed; None when a content read will tell (saves a HEAD)."""
        ol = self._ol(path)
        hit = self.cache.lookup(ol)
        if hit is MISSING:
            raise HTTPError(404, f"No such file or directory: {path}")
        if hit is not None:
            return hit
        known_dir = self.cache.known_dir(ol)
        if known_dir is not None:
            return known_dir
        if not need_stat:
            return None
        entry = await self._entry(path)
        if entry is None:
            raise HTTPError(404, f"No such file or directory: {path}")
        return entry

    async def _stat_and_list(self, path: str) -> Entry:
        """A path never seen that is likely a directory (no extension): HEAD and List Paths at
        once, one round trip; the listing lands in the cache for the directory model."""
        entry, _ = await asyncio.gather(self._entry(path), self._listing(path), return_exceptions=True)
        if isinstance(entry, BaseException):
            raise entry
        if entry is None:
            raise HTTPError(404, f"No such file or directory: {path}")
        return entry

    async def _directory(self, path: str, entry: Entry, content: bool, type: str | None) -> dict:
        if type not in (None, "directory"):
            raise HTTPError(400, f"{path} is a directory, not a {type}", reason="bad type")
        return await self._dir_model(path, entry, content)

    async def _file_or_notebook(self, path, entry, content, type, format, require_hash) -> dict:
        as_notebook = type == "notebook" or (type is None and path.endswith(".ipynb"))
        if not (content or require_hash):
            return self._notebook_base(path, entry) if as_notebook else self._file_base(path, entry)
        blob = await self._read(path, entry)
        if blob.entry.is_dir:
            return await self._directory(path, blob.entry, content, type)
        if as_notebook:
            model = self._notebook_base(path, blob.entry)
            if content:
                nb, validation_error = await self._to_thread(self._parse_notebook, blob.data, path)
                await self._mark_trusted(nb, path)
                model.update(content=nb, format="json")
                self.validate_notebook_model(model, validation_error)
        else:
            model = self._file_base(path, blob.entry)
            if content:
                text, fmt = self._decode(blob.data, format, path)
                model.update(content=text, format=fmt)
                if model["mimetype"] is None:
                    model["mimetype"] = "text/plain" if fmt == "text" else "application/octet-stream"
        if require_hash:
            model.update(await self._to_thread(self._hash, blob.data))
        return model

    @staticmethod
    async def _to_thread(func, data: bytes, *args):
        """Run CPU work over `data` off the event loop when `data` is big."""
        if len(data) > _THREAD_THRESHOLD:
            return await asyncio.to_thread(func, data, *args)
        return func(data, *args)

    @staticmethod
    def _parse_notebook(data: bytes, path: str):
        validation_error: dict = {}
        try:
            nb = nbformat.reads(data.decode("utf-8"), as_version=4, capture_validation_error=validation_error)
        except Exception as error:
            raise HTTPError(400, f"Unreadable Notebook: {path} {error!r}") from None
        return nb, validation_error

    @staticmethod
    def _decode(data: bytes, format: str | None, path: str) -> tuple[str, str]:
        if format in (None, "text"):
            try:
                return data.decode("utf-8"), "text"
            except UnicodeDecodeError:
                if format == "text":
                    raise HTTPError(400, f"{path} is not UTF-8 encoded", reason="bad format") from None
        return base64.encodebytes(data).decode("ascii"), "base64"

    async def save(self, model, path=""):
        path = normalize_api_path(path)
        if not isinstance(model, dict):
            raise HTTPError(400, "The model must be a JSON object")
        if model.get("chunk") is not None:
            return await self._save_chunk(model, path)
        self.run_pre_save_hooks(model=model, path=path)
        if "type" not in model:
            raise HTTPError(400, "No file type provided")
        if model["type"] not in ("notebook", "file", "directory") or not isinstance(model["type"], str):
            raise HTTPError(400, f"Unhandled contents type: {model['type']!r}")
        if "content" not in model and model["type"] != "directory":
            raise HTTPError(400, "No file content provided")
        if not path:
            raise HTTPError(400, "Cannot save over the root directory")
        self._refuse_hidden(path, "save")
        await self._ready()
        self.log.debug("Saving %s", path)
        validation_message = None
        kind = model["type"]
        if kind == "directory":
            entry = await self._make_directory(path)
            saved = self._dir_base(path, entry)
        elif kind == "notebook":
            data, validation_error = await self._notebook_bytes(model.get("content"), path)
            # a file that did not exist has no history to keep: its first version comes with its
            # first save (and JupyterLab makes one when it opens a file without any)
            is_new = self.cache.lookup(self._ol(path)) is MISSING
            entry = await self._write(path, data, NOTEBOOK_MIME)
            saved = self._notebook_base(path, entry)
            checked = {"content": model.get("content")}
            self.validate_notebook_model(checked, validation_error)
            validation_message = checked.get("message")
            if not is_new:
                await self.checkpoints.ensure_checkpoint(self, path)
        elif kind == "file":
            data = self._file_bytes(model.get("content"), model.get("format"), path)
            entry = await self._write(path, data, mimetypes.guess_type(path)[0])
            saved = self._file_base(path, entry)
        else:
            raise HTTPError(400, f"Unhandled contents type: {kind}")
        if validation_message:
            saved["message"] = validation_message
        self.run_post_save_hooks(model=saved, os_path=self.onelake_url(path))
        self.emit(data={"action": "save", "path": path})
        return saved

    async def _save_chunk(self, model: dict, path: str) -> dict:
        """One piece of a JupyterLab upload (`chunk` 1..n, then -1 for the last).

        Pieces are staged as uncommitted blocks of a hidden file beside the target; the last one
        commits them (Put Block List) and publishes with one rename over the target, so the old
        file stays whole and readable until then and an abandoned upload leaves nothing visible.
        Memory per upload: one piece. K pieces cost K + 2 requests.
        """
        chunk = model.get("chunk")
        if isinstance(chunk, bool) or not isinstance(chunk, int) or (chunk < 1 and chunk != -1):
            raise HTTPError(400, f"Invalid chunk number {chunk!r}: chunks are numbered 1, 2, ... and -1 for the last")
        if model.get("type") != "file" or model.get("format") != "base64":
            raise HTTPError(400, "Chunked uploads must be files with base64 content")
        if not path:
            raise HTTPError(400, "Cannot save over the root directory")
        self._refuse_hidden(path, "upload")
        await self._ready()
        self._expire_uploads()
        ol = self._ol(path)
        data = self._file_bytes(model.get("content"), "base64", path)
        if chunk == 1:
            upload = self._uploads[ol] = self._new_upload(ol)
            self._sweep_staging(upload.staging.rpartition("/")[0])
        else:
            upload = self._uploads.get(ol)
            if upload is None:
                raise HTTPError(
                    400, f"No upload of {path} is in progress (it expired or the server restarted); upload it again"
                )
            if chunk != -1 and chunk != upload.next_chunk:
                del self._uploads[ol]
                raise HTTPError(
                    400, f"Chunk {chunk} of {path} arrived out of order (expected {upload.next_chunk}); upload it again"
                )
        if upload.size + len(data) > self.max_upload_bytes:
            del self._uploads[ol]
            raise HTTPError(413, f"{path} is larger than the {self.max_upload_bytes}-byte upload limit")
        try:
            await self._stage(path, upload, data)
        except HTTPError:
            self._uploads.pop(ol, None)
            raise
        if chunk != -1:
            now = datetime.now(UTC)
            return self._model_without_content(path, Entry(ol, False, upload.size, now, now, ""))
        del self._uploads[ol]
        return await self._publish(path, ol, upload)

    @staticmethod
    def _new_upload(ol: str) -> _Upload:
        return _Upload(staging_path(ol))

    async def _stage(self, path: str, upload: _Upload, data: bytes) -> None:
        block = block_id(len(upload.blocks))
        with self._errors(path):
            await self.store.stage_block(upload.staging, block, data)
        upload.add(block, data)

    async def upload(self, path: str, handle, size: int, progress=None) -> dict:
        """Upload from a binary file object (the CLI's `put`): one Put Blob when small, else staged
        4 MiB blocks published with one rename, as for JupyterLab's chunked uploads."""
        path = normalize_api_path(path)
        if not path:
            raise HTTPError(400, "Cannot save over the root directory")
        self._refuse_hidden(path, "upload")
        await self._ready()
        if size <= UPLOAD_BLOCK:
            data = await asyncio.to_thread(handle.read)
            entry = await self._write(path, data, mimetypes.guess_type(path)[0])
            if progress:
                progress(len(data))
            return self._model_without_content(path, entry)
        if size > self.max_upload_bytes:
            raise HTTPError(413, f"{path} is larger than the {self.max_upload_bytes}-byte upload limit")
        ol = self._ol(path)
        upload = self._new_upload(ol)
        while data := await asyncio.to_thread(handle.read, UPLOAD_BLOCK):
            await self._stage(path, upload, data)
            if progress:
                progress(len(data))
        return await self._publish(path, ol, upload)

    async def _publish(self, path: str, ol: str, upload: _Upload) -> dict:
        digest = upload.digest.hexdigest()
        self._pending.setdefault(ol, set()).add(digest)  # until OneLake confirms, see _write
        content_type = NOTEBOOK_MIME if path.endswith(".ipynb") else mimetypes.guess_type(path)[0]
        cached = self.cache.lookup(ol)
        with self._errors(path):
            staged = await self.store.commit_blocks(
                upload.staging, upload.blocks, metadata={HASH_METADATA: digest}, content_type=content_type
            )
            try:
                etag = await self.store.rename(upload.staging, ol, overwrite=True)
            except Conflict:
                raise HTTPError(409, f"Cannot upload over {path}: it is a directory") from None
            except NotFound:
                # an earlier try of the publishing rename landed and its answer was lost?
                landed, metadata = await self.store.stat(ol)
                if metadata.get(HASH_METADATA) != digest:
                    raise
                etag = landed.etag
        created = cached.created if isinstance(cached, Entry) else staged.created
        entry = Entry(ol, False, upload.size, staged.last_modified, created, etag or staged.etag)
        self._pending.pop(ol, None)
        self.cache.put(entry)
        self._contents.pop(ol, None)
        self._seen[ol] = (entry.etag, digest)
        saved = self._model_without_content(path, entry)
        self.run_post_save_hooks(model=saved, os_path=self.onelake_url(path))
        self.emit(data={"action": "save", "path": path})
        return saved

    def _sweep_staging(self, folder: str) -> None:
        """In the background: delete staged files left by uploads that died between commit and
        publish (a crash), once older than `upload_timeout`. Uncommitted blocks need nothing:
        OneLake discards them."""
        if folder in self._swept:
            return
        self._swept.add(folder)

        async def sweep() -> None:
            try:
                entries = await self.store.list_dir(folder)
            except StoreError:
                return
            cutoff = datetime.now(UTC) - timedelta(seconds=self.upload_timeout)
            for entry in entries:
                if not entry.is_dir and entry.last_modified < cutoff:
                    self.log.info("Removing the abandoned staged upload %s", entry.path)
                    try:
                        await self.store.delete(entry.path, recursive=False)
                    except StoreError:
                        pass

        task = asyncio.get_running_loop().create_task(sweep())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _expire_uploads(self) -> None:
        deadline = time.monotonic() - self.upload_timeout
        for key in [k for k, u in self._uploads.items() if u.touched < deadline]:
            self.log.info("Abandoning the unfinished upload of %s", key)
            del self._uploads[key]

    # Trust, as jupyter_server's check_and_sign / mark_trusted_cells, with the signature (an HMAC
    # over the whole notebook) computed off the loop; the notary's SQLite store is used only on
    # the loop's thread, which owns it.
    async def _sign_if_trusted(self, nb, path: str) -> None:
        if not self.notary.check_cells(nb):
            self.log.warning("Notebook %s is not trusted", path)
            return
        signature = await asyncio.to_thread(self.notary.compute_signature, nb)
        try:
            self.notary.store.store_signature(signature, self.notary.algorithm)
        except Exception:
            self.log.warning("Signature store unavailable; recreating it", exc_info=True)
            self.notary.store = self.notary.store_factory()
            self.notary.store.store_signature(signature, self.notary.algorithm)

    async def _mark_trusted(self, nb, path: str) -> None:
        signature = await asyncio.to_thread(self.notary.compute_signature, nb)
        try:
            trusted = self.notary.store.check_signature(signature, self.notary.algorithm)
        except Exception:
            self.log.warning("Signature store unavailable for %s", path, exc_info=True)
            trusted = False
        self.notary.mark_cells(nb, trusted)

    async def _notebook_bytes(self, content, path: str) -> tuple[bytes, dict]:
        if not isinstance(content, dict):
            raise HTTPError(400, "A notebook's content must be a JSON object")

        if not isinstance(content.get("cells"), list) or not isinstance(content.get("nbformat"), int):
            raise HTTPError(400, f"Invalid notebook {path}: it needs a list of cells and an nbformat version")
        try:
            nb = await asyncio.to_thread(nbformat.from_dict, content)
            await self._sign_if_trusted(nb, path)
        except HTTPError:
            raise
        except Exception as error:
            raise HTTPError(400, f"Invalid notebook {path}: {type(error).__name__}: {error}") from None

        def serialise():
            validation_error: dict = {}
            try:
                text = nbformat.writes(nb, version=nbformat.NO_CONVERT, capture_validation_error=validation_error)
            except Exception as error:
                raise HTTPError(400, f"Invalid notebook {path}: {error}") from None
            return text.encode("utf-8"), validation_error

        return await asyncio.to_thread(serialise)

    def _file_bytes(self, content, format, path: str) -> bytes:
        if format not in ("text", "base64"):
            raise HTTPError(400, "Must specify format of file contents as 'text' or 'base64'")
        if not isinstance(content, str):
            raise HTTPError(400, f"The content of {path} must be a string for format {format!r}")
        try:
            if format == "text":
                return content.encode("utf-8")
            # strict, so garbage is a 400 instead of silently dropped bytes; line breaks are fine
            # (stripped only when present: an upload chunk is decoded without extra copies)
            if "\n" in content or "\r" in content or " " in content:
                content = "".join(content.split())
            return base64.b64decode(content, validate=True)
        except (UnicodeError, binascii.Error, ValueError) as error:
            raise HTTPError(400, f"Encoding error saving {path}: {error}") from None

    async def _make_directory(self, path: str) -> Entry:
        ol = self._ol(path)
        existing = self.cache.lookup(ol)
        if isinstance(existing, Entry):
            if not existing.is_dir:
                raise HTTPError(400, f"Not a directory: {path}")
            return existing
        with self._errors(path):
            try:
                entry = await self.store.mkdir(ol)
            except AlreadyExists:
                entry, _ = await self.store.stat(ol)
                if not entry.is_dir:
                    raise HTTPError(400, f"Not a directory: {path}") from None
            except Conflict:
                raise HTTPError(400, f"Not a directory: {path} (a file is in the way)") from None
        self.cache.put(entry)
        return entry

    async def _write(self, path: str, data: bytes, content_type: str | None) -> Entry:
        """One Put Blob, conditional on what this server last saw of the file.

        - known ETag: `If-Match` (a change made elsewhere → 409, unless `last_writer_wins`);
        - known to be absent: `If-None-Match: *` (someone created it meanwhile → 409);
        - otherwise: unconditional (a file this server never read, e.g. an upload over it).
        A 412 is checked against the content hash in the blob's metadata, so our own write whose
        response was lost, or an ETag moved by a rename, is not reported as a conflict.
        """
        if len(data) > self.max_content_bytes:
            raise HTTPError(413, f"{path} is {len(data)} bytes, above the {self.max_content_bytes}-byte limit")
        ol = self._ol(path)
        digest = await self._to_thread(sha256, data)
        cached = self.cache.lookup(ol)
        if isinstance(cached, Entry) and cached.is_dir:
            raise HTTPError(400, f"{path} is a directory")
        unchanged = await self._unchanged_in_onelake(path, ol, data)
        if unchanged is not None:
            return unchanged
        seen = None if self.last_writer_wins else self._seen.get(ol)
        created = cached.created if isinstance(cached, Entry) else None
        write = {"metadata": {HASH_METADATA: digest}, "content_type": content_type, "created": created}
        pending = self._pending.setdefault(ol, set())
        pending.add(digest)
        with self._errors(path):
            try:
                if seen is not None:
                    entry = await self.store.write(ol, data, if_match=seen[0], **write)
                elif cached is MISSING:
                    entry = await self.store.write(ol, data, create_only=True, **write)
                else:
                    entry = await self.store.write(ol, data, **write)
            except Changed:
                entry = await self._write_after_412(path, ol, data, digest, seen, write)
            except AlreadyExists:
                # `If-None-Match: *` failed: our own earlier try (answer lost), or someone else's file
                current, metadata = await self.store.stat(ol)
                if metadata.get(HASH_METADATA) != digest:
                    self.cache.put(current)
                    raise
                entry = current
            except Conflict:
                raise HTTPError(400, f"Cannot save {path}: a directory is in the way") from None
        self._pending.pop(ol, None)
        self.cache.put(entry)
        self._remember(ol, Blob(entry, data, {HASH_METADATA: digest}))
        return entry

    async def _unchanged_in_onelake(self, path: str, ol: str, data: bytes) -> Entry | None:
        """The current entry when OneLake already holds exactly these bytes, else None.

        JupyterLab with real-time collaboration saves a notebook as soon as it is opened (the
        client re-applies trust marks and kernel metadata, which changes nothing in the file).
        When the bytes are those of the version this server last read or wrote (compared byte for
        byte with the copy it holds), one HEAD confirms that version is still the current one and
        nothing is written: the save is done, since OneLake holds the content, and no version or
        checkpoint is made for nothing.
        """
        held: Blob | None = self._contents.get(ol)
        if held is None or held.data != data:
            return None
        with self._errors(path):
            try:
                current, _ = await self.store.stat(ol)
            except NotFound:
                return None
        if current.is_dir or current.etag != held.entry.etag:
            return None
        self.log.debug("Save of %s is identical to what OneLake holds; nothing written", path)
        self.cache.put(current)
        return current

    async def _write_after_412(self, path, ol, data, digest, seen, write) -> Entry:
        """A conditional save failed: decide from the content hash in OneLake's metadata whether
        the file really changed elsewhere. Our own landed write (its answer lost), an ETag moved
        by a rename, or an earlier save of ours reported as failed are not conflicts; the save is
        then retried on the current version (a few times, as those retries can race the same way).
        """
        for _ in range(4):
            try:
                current, metadata = await self.store.stat(ol)
            except NotFound:
                # deleted meanwhile: the user's save re-creates it
                try:
                    return await self.store.write(ol, data, create_only=True, **write)
                except (AlreadyExists, Changed):
                    continue
            stored = metadata.get(HASH_METADATA)
            if stored == digest:
                self.log.info("Save of %s had already landed (lost response); not a conflict", path)
                return current
            ours = (seen is not None and stored == seen[1]) or stored in self._pending.get(ol, ())
            if not ours:
                self.cache.put(current)
                self.log.info(
                    "Refusing to save %s: OneLake holds version %s (content %s), this server last saw %s",
                    path,
                    current.etag,
                    (stored or "unknown")[:12],
                    seen[0] if seen else "nothing",
                )
                raise Changed(f"{path} changed in OneLake")
            self.log.info("Version of %s moved without a change by anyone else; saving over it", path)
            try:
                return await self.store.write(ol, data, if_match=current.etag, **write)
            except Changed:
                continue
        raise Changed(f"{path} kept changing in OneLake")

    async def delete_file(self, path):
        path = normalize_api_path(path)
        await self._delete(path)

    async def _delete(self, path: str) -> Entry:
        if not path:
            raise HTTPError(400, "Can't delete root")
        self._refuse_hidden(path, "delete")
        await self._ready()
        entry = await self._entry(path)
        if entry is None:
            raise HTTPError(404, f"File or directory does not exist: {path}")
        ol = self._ol(path)
        self.log.debug("Deleting %s", path)
        with self._errors(path):
            try:
                await self.store.delete(ol, recursive=entry.is_dir)
            except NotFound:
                # gone already (an earlier try whose answer was lost, or someone else): done
                self.log.info("%s was already gone when deleting it", path)
        self.cache.removed(ol)
        self._forget_seen(ol)
        return entry

    async def delete(self, path):
        """Delete a file or a directory (with everything in it: OneLake's soft delete keeps it
        recoverable for 7 days) and a file's checkpoints."""
        path = normalize_api_path(path)
        entry = await self._delete(path)
        if not entry.is_dir:
            await self.checkpoints.delete_all_checkpoints(path)
        self.emit(data={"action": "delete", "path": path})

    async def rename_file(self, old_path, new_path):
        await self._rename(normalize_api_path(old_path), normalize_api_path(new_path))

    async def _rename(self, old_path: str, new_path: str) -> Entry | None:
        if old_path == new_path:
            return None
        if not old_path or not new_path:
            raise HTTPError(400, "Can't rename the root directory")
        self._refuse_hidden(old_path, "rename")
        self._refuse_hidden(new_path, "rename to")
        await self._ready()
        source, dest = self._ol(old_path), self._ol(new_path)
        known = self.cache.lookup(source)
        with self._errors(old_path):
            try:
                etag = await self.store.rename(source, dest)
            except AlreadyExists:
                raise HTTPError(409, f"File already exists: {new_path}") from None
            except NotFound as error:
                if error.code == "RenameDestinationParentPathNotFound":
                    raise HTTPError(404, f"No such directory: {split(new_path)[0]}") from None
                etag = await self._rename_landed(source, dest, known)
                if etag is None:
                    self.cache.put_missing(source)
                    raise HTTPError(404, f"File or directory does not exist: {old_path}") from None
        moved = None
        if isinstance(known, Entry):
            moved = Entry(dest, known.is_dir, known.size, known.last_modified, known.created, etag or known.etag)
            self.cache.renamed(source, moved)
        else:
            self.cache.put_missing(source)
            self.cache.forget(dest)
        self._move_seen(source, dest, etag if moved is None or not moved.is_dir else None)
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

    async def rename(self, old_path, new_path):
        """Rename a file or directory; a file's checkpoints follow it (a directory's move with it)."""
        old_path, new_path = normalize_api_path(old_path), normalize_api_path(new_path)
        moved = await self._rename(old_path, new_path)
        if old_path != new_path and (moved is None or not moved.is_dir):
            await self.checkpoints.rename_all_checkpoints(old_path, new_path)
        self.emit(data={"action": "rename", "path": new_path, "source_path": old_path})

    def _forget_seen(self, ol: str) -> None:
        prefix = ol + "/"
        for store in (self._seen, self._contents):
            for key in [k for k in list(store.keys()) if k == ol or k.startswith(prefix)]:
                store.pop(key, None)

    def _move_seen(self, source: str, dest: str, new_etag: str | None) -> None:
        prefix = source + "/"
        seen = {k: v for k, v in self._seen.items() if k == source or k.startswith(prefix)}
        self._forget_seen(source)
        for key, (etag, digest) in seen.items():
            target = dest + key[len(source) :]
            self._seen[target] = (new_etag if key == source and new_etag else etag, digest)

    async def file_exists(self, path=""):
        path = normalize_api_path(path)
        if not path:
            return False
        await self._ready()
        entry = await self._entry(path)
        return entry is not None and not entry.is_dir

    async def dir_exists(self, path=""):
        path = normalize_api_path(path)
        await self._ready()
        if not path:
            return True
        entry = await self._entry(path)
        return entry is not None and entry.is_dir

    async def exists(self, path=""):
        path = normalize_api_path(path)
        await self._ready()
        return not path or await self._entry(path) is not None

    async def is_hidden(self, path=""):
        return is_hidden(normalize_api_path(path))

    async def get_kernel_path(self, path, model=None):
        """Kernels run in the kernel manager's local root directory: OneLake is not a POSIX
        filesystem a process could `cd` into."""
        return ""

    # ---- usable defaults, made cheap -----------------------------------------------------------
    async def increment_filename(self, filename, path="", insert=""):
        """The first free name, from one listing of the directory instead of a probe per name."""
        path = normalize_api_path(path)
        taken = {e.name for e in await self._listing(path)}
        basename, dot, ext = filename.rpartition(".")
        if ext != "ipynb":
            basename, dot, ext = filename.partition(".")
        suffix = dot + ext
        counter = 0
        while True:
            name = f"{basename}{insert}{counter}{suffix}" if counter else f"{basename}{suffix}"
            if name not in taken:
                return name
            counter += 1

    async def new_untitled(self, path="", type="", ext=""):
        path = normalize_api_path(path)
        if not await self.dir_exists(path):
            raise HTTPError(404, f"No such directory: {path}")
        for _ in range(5):
            try:
                return await super().new_untitled(path=path, type=type, ext=ext)
            except HTTPError as error:
                if error.status_code != 409:
                    raise
                self.cache.forget(self._ol(path))  # someone took the name meanwhile: list again
        raise HTTPError(409, f"Could not find a free name in {path}")

    async def copy(self, from_path, to_path=None):
        """Copy a file (two requests), or a directory (one listing plus two per file, at most
        `max_copy_bytes` in all)."""
        from_path = normalize_api_path(from_path)
        self._refuse_hidden(from_path, "copy")
        await self._ready()
        entry = await self._entry(from_path)
        if entry is None:
            raise HTTPError(404, f"No such file or directory: {from_path}")
        if not entry.is_dir:
            return await super().copy(from_path, to_path)
        to_path = normalize_api_path(to_path) if to_path is not None else split(from_path)[0]
        if await self.dir_exists(to_path):
            name = await self.increment_filename(_COPY_SUFFIX.sub(".", split(from_path)[1]), to_path, insert="-Copy")
            target = join(to_path, name)
        else:
            parent = split(to_path)[0]
            if not await self.dir_exists(parent):
                raise HTTPError(404, f"No such parent directory: {parent} to copy file in")
            target = to_path
        self._refuse_hidden(target, "copy to")
        model = await self._copy_directory(from_path, target)
        self.emit(data={"action": "copy", "path": target, "source_path": from_path})
        return model

    async def _copy_directory(self, from_path: str, target: str) -> dict:
        source_ol = self._ol(from_path)
        with self._errors(from_path):
            tree = await self.store.list_tree(source_ol)
        total = sum(e.size for e in tree if not e.is_dir)
        if total > self.max_copy_bytes:
            raise HTTPError(413, f"{from_path} holds {total} bytes, above the {self.max_copy_bytes}-byte copy limit")
        root_entry = await self._make_directory(target)
        semaphore = asyncio.Semaphore(8)

        async def copy_one(item: Entry) -> None:
            relative = item.path[len(source_ol) + 1 :]
            if in_checkpoint_dir(relative):
                return
            dest = join(target, relative)
            async with semaphore:
                if item.is_dir:
                    await self._make_directory(dest)
                    return
                with self._errors(dest):
                    blob = await self.store.read(item.path)
                    written = await self.store.write(
                        self._ol(dest),
                        blob.data,
                        create_only=True,
                        metadata={HASH_METADATA: sha256(blob.data)},
                        content_type=mimetypes.guess_type(dest)[0],
                    )
                self.cache.put(written)

        await asyncio.gather(*(copy_one(item) for item in tree))
        return self._dir_base(target, root_entry)

    # ---- for the files handler and the checkpoints ---------------------------------------------
    async def file_entry(self, path: str) -> Entry:
        path = normalize_api_path(path)
        await self._ready()
        entry = await self._entry(path)
        if entry is None:
            raise HTTPError(404, f"No such file: {path}")
        if entry.is_dir:
            raise HTTPError(400, f"{path} is a directory, not a file", reason="bad type")
        return entry

    async def stream_file(self, path: str, offset: int, length: int):
        path = normalize_api_path(path)
        with self._errors(path):
            _, chunks = await self.store.stream(self._ol(path), offset, length)
        with self._errors(path):
            async for chunk in chunks:
                yield chunk

    def held_content(self, path: str) -> Blob | None:
        """The bytes of the current version of a file, when this server just read or wrote them."""
        ol = self._ol(path)
        blob = self._contents.get(ol)
        hit = self.cache.lookup(ol)
        if blob is not None and isinstance(hit, Entry) and hit.etag == blob.entry.etag:
            return blob
        return None

    def onelake_url(self, path: str) -> str:
        """`abfss://<workspace>@<host>/<path>`: where a file lives, for hooks and kernels."""
        host = self.settings.endpoint.split("://", 1)[-1].rstrip("/")
        return f"abfss://{self.settings.workspace}@{host}/{self._ol(path)}"

    async def close(self) -> None:
        await self.store.close()
        credential = self.store.credential
        if hasattr(credential, "close"):
            await credential.close()


__all__ = ["CHECKPOINT_DIR", "OneLakeContentsManager"]

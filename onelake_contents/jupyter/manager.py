"""OneLakeContentsManager: Jupyter's contents API over a OneLake folder.

Jupyter semantics live here (argument checks, models, hidden rules, the first checkpoint of a
save, names for new files, chunked uploads as JupyterLab sends them), written against the files
layer (`lake.files`), which owns the cache, the version ledger and every request. Request budgets
(README, "Requests per action") shape the code: a listing answers later `get(content=False)`, `exists` and
`is_hidden` for its children without requests; a save is one conditional Put Blob whose response
becomes the returned model; names for new files come from one listing.
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import getpass
import hashlib
import os
import re
from datetime import UTC, datetime

from azure.core.credentials import AccessTokenInfo
from jupyter_core.utils import run_sync
from jupyter_server.services.contents.checkpoints import AsyncCheckpoints
from jupyter_server.services.contents.manager import AsyncContentsManager
from tornado.web import HTTPError
from traitlets import Bool, Enum, Float, Int, TraitError, Type, default, validate

from .. import config
from .. import metrics as onelake_metrics
from ..credential import AsyncBrokerCredential
from ..lake.cache import MISSING
from ..lake.content import NOTEBOOK_MIME, content_type
from ..lake.files import IsADirectory, LakeFiles, MissingParent, NotADirectory
from ..lake.moves import NothingMoved, SourceKept, move_between
from ..lake.uploads import Uploads
from ..paths import InvalidPath, RootTree, check_new_name, in_checkpoint_dir, is_hidden, join, split
from ..storage import AlreadyExists, Connection, Entry, Forbidden, NotFound, OneLakeStore, TooLarge
from ..turns import fair_turn, in_slices, off_the_loop
from . import models
from .checkpoints import OneLakeCheckpoints
from .chunks import ChunkedUploads
from .errors import api_path, http_errors
from .handlers import OneLakeFilesHandler
from .observe import Tracing, observed
from .settings import OneLakeSettings
from .trust import NotebookTrust

_COPY_SUFFIX = re.compile(r"\-Copy\d*\.")
EXTENSION = "onelake_contents"  # the server extension's name (jupyter/extension.py)


def _save_action(model=None, path="") -> str:
    """A save of one piece of a chunked upload is an upload."""
    return "upload" if isinstance(model, dict) and model.get("chunk") is not None else "save"


@functools.lru_cache(maxsize=8)
def _globs_pattern(globs: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(fnmatch.translate(glob) for glob in globs) or "(?!)")


class OneLakeContentsManager(OneLakeSettings, ChunkedUploads, NotebookTrust, AsyncContentsManager):
    """Serves a OneLake folder as the Jupyter home.

    Enable with `c.ServerApp.contents_manager_class = "onelake_contents.OneLakeContentsManager"`.
    Every connection setting is a trait and an environment variable (see README).
    """

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
    metrics = Bool(
        True,
        config=True,
        help="Count OneLake requests, actions, cache lookups, broker calls and uploads in Prometheus "
        "metrics (served at the server's /metrics).",
    )
    tracing = Bool(
        False,
        config=True,
        help="An OpenTelemetry span per contents action, with its OneLake requests beneath (azure-core's "
        'tracing); needs pip install "onelake-contents[tracing]" and an OpenTelemetry SDK set up by the operator.',
    )
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
    max_connections = Int(
        32,
        config=True,
        help="Most connections open to OneLake at once; more requests wait for a free one. Connections "
        "are kept and reused (one TLS handshake each).",
    )

    checkpoints_class = Type(
        OneLakeCheckpoints,
        klass=AsyncCheckpoints,
        config=True,
        help="The checkpoints (versions) of files: OneLakeCheckpoints keeps them in OneLake beside the "
        "file; any AsyncCheckpoints subclass may be used instead.",
    )
    files_handler_class = Type(OneLakeFilesHandler, config=True)
    hide_unreadable_roots = Bool(
        False,
        config=True,
        help="With named roots (the roots setting): leave a root the user may not read out of the "
        "tree's top, instead of listing it read-only (opening it then says why).",
    )

    @default("files_handler_params")
    def _default_files_handler_params(self):
        return {}

    @validate("preferred_dir")
    def _validate_preferred_dir(self, proposal):
        value = api_path(proposal["value"])
        # Checking needs OneLake, which is set up only at the end of __init__: check then.
        if not getattr(self, "_initialised", False) or not value:
            return value
        # Traitlets validates synchronously; as jupyter_server's own validator, the check runs
        # on a private loop, with a connection of its own closed there.
        if not run_sync(self._probe_directory)(value):
            raise TraitError(f"Preferred directory not found in OneLake: {value!r}")
        return value

    async def _probe_directory(self, path: str) -> bool:
        with http_errors(path):
            _, workspace, ol = self.tree.locate(path)
        store = OneLakeStore(self.settings.endpoint, workspace, self._credential, connection=self._connection_for(1))
        try:
            entry, _ = await store.stat(ol)
            return entry.is_dir
        except NotFound:
            return False
        finally:
            await store.close()
            await store.connection.close()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._require_the_extension()
        self.resolve_settings()
        onelake_metrics.set_enabled(self.metrics)
        self.tracer = Tracing() if self.tracing else None
        self.tree = self._root_tree()
        self._credential = AsyncBrokerCredential.from_settings(self.settings)
        # one connection (pool, credential) for every root, whatever its workspace
        connection = self._connection_for(self.request_retries)
        self.lakes = {
            name: LakeFiles(
                OneLakeStore(connection.endpoint, workspace, self._credential, connection=connection),
                mapper,
                metadata_ttl=self.metadata_ttl,
                cache_size=self.cache_size,
                content_cache_bytes=self.content_cache_bytes,
                log=self.log,
            )
            for name, (workspace, mapper) in self.tree.roots.items()
        }
        self._connection = connection
        self.files = self.lakes[self.tree.names[0]]  # the one root (the first, with named roots)
        self._uploads = {
            name: Uploads(files, timeout=self.upload_timeout, max_bytes=self.max_upload_bytes)
            for name, files in self.lakes.items()
        }
        self._initialised = True
        if self.preferred_dir:
            self.preferred_dir = self.preferred_dir

    def _require_the_extension(self) -> None:
        """Fail closed: in a Jupyter server, the server extension is what keeps the broker secret,
        the broker's address and JupyterHub's token out of kernels and terminals. A server whose
        extension is not linked (an editable install skips its config file; an admin listed
        `jpserver_extensions` without it) does not start."""
        extensions = getattr(self.parent, "extension_manager", None)
        if extensions is not None and not extensions.linked_extensions.get(EXTENSION):
            raise TraitError(
                "OneLakeContentsManager needs its server extension, which keeps the broker's secret and "
                f"JupyterHub's token away from kernels and terminals: enable it with `jupyter server extension "
                f"enable {EXTENSION}` or --ServerApp.jpserver_extensions=\"{{'{EXTENSION}': True}}\""
            )

    def _connection_for(self, retry_total: int) -> Connection:
        """A connection to OneLake (pool, credential, SDK clients) with this manager's options."""
        return Connection(
            str(self.settings.endpoint),
            self._credential,
            ca_file=self.settings.ca_file,
            retry_total=retry_total,
            read_timeout=self.read_timeout,
            max_retry_after=self.max_retry_after,
            max_connections=self.max_connections,
        )

    def _root_tree(self) -> RootTree:
        """The roots: the `roots` setting's named folders, else the one `workspace`/`root`."""
        roots = self.settings.values.get("roots")
        if not roots:
            self.settings.require("workspace", "root")
            return RootTree.single(str(self.settings.workspace), str(self.settings.root))
        try:
            return RootTree.parse(str(roots), os.environ.get("JUPYTERHUB_USER") or getpass.getuser())
        except ValueError as error:
            raise TraitError(
                f"OneLakeContentsManager: setting roots ({self.settings.source('roots')}): {error}"
            ) from None

    def info_string(self) -> str:
        places = ", ".join(
            f"{name or '/'} = {workspace}/{mapper.root}" for name, (workspace, mapper) in self.tree.roots.items()
        )
        return f"Serving contents from OneLake: {places}"

    # ---- plumbing ------------------------------------------------------------------------------
    def place(self, path: str) -> tuple[LakeFiles, str]:
        """The files layer of the root an API path is in, and the path's OneLake path there."""
        with http_errors(path):
            name, _, ol = self.tree.locate(path)
        return self.lakes[name], ol

    def place_of_versions(self, path: str, action: str) -> tuple[str, LakeFiles, str]:
        """(API path, its root's files layer, OneLake path) of a file whose versions are asked
        for, under the contents methods' own rules: nothing in a checkpoint folder (403), nothing
        hidden unless allowed (404, as if it were not there)."""
        path = api_path(path)
        if in_checkpoint_dir(path):
            raise HTTPError(403, f"Cannot {action} {path}: checkpoints are managed by the server")
        if not self.allow_hidden and is_hidden(path):
            raise HTTPError(404, f"No such file or directory: {path}")
        return (path, *self.place(path))

    def uploads_at(self, path: str) -> Uploads:
        """The chunked uploads of the root an API path is in."""
        with http_errors(path):
            return self._uploads[self.tree.root_of(path)]

    def _lake(self, path: str) -> LakeFiles:
        return self.place(path)[0]

    def _ol(self, path: str) -> str:
        return self.place(path)[1]

    def _errors(self, path: str):
        return http_errors(path, self.log, self._refused_write)

    def _refused_write(self, path: str) -> None:
        try:
            name, _, ol = self.tree.locate(path)
        except InvalidPath:
            self.log.debug("not a OneLake path: %s", path)
            return
        self.lakes[name].refused_write(ol)

    async def _ready(self, path: str = "") -> None:
        """Once per root: its folder exists (a new user's folder is created). Every action
        starts here, in its fair turn of the event loop (many requests arriving at once take
        turns); with named roots, the root of `path` (none for the tree's top)."""
        await fair_turn()
        if self.tree.named and not api_path(path):
            return
        files = self._lake(path)
        root = files.paths.root
        with self._errors(path):
            try:
                home = self._ol(self.home_dir) if self.home_dir and not self.tree.named else None
                await files.ensure_root(self.create_root, home)
            except NotFound:
                raise HTTPError(404, f"The OneLake folder {root} does not exist (create_root is off)") from None
            except Forbidden:
                raise HTTPError(403, f"OneLake denied access to the folder {root}: not yours") from None
            except NotADirectory:
                raise HTTPError(500, f"The OneLake root {root} is a file, not a folder") from None

    async def _entry(self, path: str) -> Entry | None:
        with self._errors(path):
            return await self._lake(path).entry(self._ol(path))

    async def _listing(self, path: str) -> list[Entry]:
        with self._errors(path):
            return await self._lake(path).listing(self._ol(path))

    def should_list(self, name: str) -> bool:
        """As jupyter_server's (no match in `hide_globs`), with the globs compiled once, not
        matched one by one for every entry of a listing."""
        return _globs_pattern(tuple(self.hide_globs)).match(name) is None

    def _visible(self, path: str) -> bool:
        return not in_checkpoint_dir(path) and (self.allow_hidden or not is_hidden(path))

    def _refuse_hidden(self, path: str, action: str) -> None:
        if in_checkpoint_dir(path):
            raise HTTPError(403, f"Cannot {action} {path}: checkpoints are managed by the server")
        if not self.allow_hidden and is_hidden(path):
            raise HTTPError(400, f"Cannot {action} hidden file or directory {path}")

    def _refuse_target(self, path: str, action: str, *, renamed: bool = False) -> None:
        """What a write, an upload, a rename or a copy creates: not hidden, managed or unstorable
        (`renamed`: a rename will reach it, see `paths.check_new_name`)."""
        self._refuse_hidden(path, action)
        with http_errors(path):
            check_new_name(path, renamed=renamed)

    # ---- models --------------------------------------------------------------------------------
    def _model(self, build, path: str, entry: Entry) -> dict:
        files = self._lake(path)
        model = build(path, entry, files.modified(entry))
        if files.is_read_only(entry.path):
            model["writable"] = False
        return model

    async def _dir_model(self, path: str, entry: Entry, content: bool) -> dict:
        model = self._model(models.directory_model, path, entry)
        if content:

            def child_model(child: Entry) -> dict | None:
                child_path = join(path, child.name)
                if not self._visible(child_path) or not self.should_list(child.name):
                    return None
                try:
                    return self._model(models.model_without_content, child_path, child)
                except Exception:
                    self.log.warning("Skipping %s in the listing of %s", child.name, path, exc_info=True)
                    return None

            children = await in_slices(await self._listing(path), child_model)
            model.update(content=[child for child in children if child is not None], format="json")
        return model

    def _too_large_message(self, path: str, size: int | None) -> str:
        size_text = f"{size} bytes" if size is not None else "too large"
        return (
            f"{path} is {size_text}, above the {self.max_content_bytes}-byte limit for opening files; "
            f"download it from /files/{path} instead"
        )

    async def _read(self, path: str, entry: Entry | None):
        """The file's bytes: one GET, conditional (304) when we hold the content of its ETag."""
        with self._errors(path):
            try:
                return await self._lake(path).read(
                    self._ol(path), max_bytes=self.max_content_bytes, size=entry.size if entry else None
                )
            except TooLarge as error:
                raise HTTPError(413, self._too_large_message(path, error.size)) from None

    # ---- ContentsManager API: must implement ---------------------------------------------------
    @observed("get")
    async def get(self, path, content=True, type=None, format=None, require_hash=False):
        path = api_path(path)
        if type not in (None, "directory", "file", "notebook"):
            raise HTTPError(400, f"Unknown type {type!r}", reason="bad type")
        if format not in (None, "text", "base64", "json"):
            raise HTTPError(400, f"Unknown format {format!r}", reason="bad format")
        if path and not self._visible(path):
            raise HTTPError(404, f"No such file or directory: {path}")
        await self._ready(path)
        if self.tree.named and not path:
            return await self._top(content, type)
        entry = await self._known_or_stat(path, need_stat=not (content or require_hash))
        if entry is None and content and (type == "directory" or (type is None and "." not in split(path)[1])):
            entry = await self._explore(path)
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

    async def _top(self, content: bool, type: str | None) -> dict:
        """The top of a tree of named roots: a folder per root, as its OneLake folder describes
        itself (one HEAD per root the first time, cached after). A root the user may not read is
        listed read-only, and opening it says why (OneLake's 403), unless `hide_unreadable_roots`."""
        if type not in (None, "directory"):
            raise HTTPError(400, f"The top of the tree is a directory, not a {type}", reason="bad type")

        async def describe(name: str) -> dict | None:
            try:
                await self._ready(name)
                entry = await self._entry(name)
                if entry is None:
                    raise HTTPError(404, f"No such file or directory: {name}")
            except HTTPError as error:
                if error.status_code not in (403, 404):
                    raise
                self.log.warning("The root %s cannot be read: %s", name, error.log_message)
                if self.hide_unreadable_roots:
                    return None
                now = datetime.now(UTC)
                return {**models.directory_model(name, Entry(name, True, 0, now, now, ""), now), "writable": False}
            return self._model(models.directory_model, name, entry)

        roots = [r for r in await asyncio.gather(*(describe(n) for n in self.tree.names)) if r is not None]
        times = [r["last_modified"] for r in roots] or [datetime.now(UTC)]
        top = models.directory_model("", Entry("", True, 0, max(times), min(times), ""), max(times))
        top["writable"] = False  # nothing but the roots lives there
        if content:
            top.update(content=roots, format="json")
        return top

    async def _known_or_stat(self, path: str, need_stat: bool) -> Entry | None:
        """The entry when cached or needed; None when a content read will tell (saves a HEAD).
        A path only left out of a listing is asked of OneLake, as one never seen."""
        files, ol = self.place(path)
        hit = files.known(ol)
        if hit is None:
            hit = files.known_dir(ol)
        if hit is MISSING and files.known_by_name(ol) is MISSING:
            onelake_metrics.count_cache("negative")
            raise HTTPError(404, f"No such file or directory: {path}")
        if isinstance(hit, Entry):
            onelake_metrics.count_cache("hit")
            return hit
        if not need_stat:
            onelake_metrics.count_cache("miss")  # the content read will ask OneLake
            return None
        entry = await self._entry(path)  # counted there
        if entry is None:
            raise HTTPError(404, f"No such file or directory: {path}")
        return entry

    async def _explore(self, path: str) -> Entry:
        """A path never seen that is likely a directory (no extension): one List Paths tells what
        it is, and its listing lands in the cache for the directory model."""
        with self._errors(path):
            entry = await self._lake(path).explore(self._ol(path))
        if entry is None:
            raise HTTPError(404, f"No such file or directory: {path}")
        return entry

    async def _directory(self, path: str, entry: Entry, content: bool, type: str | None) -> dict:
        if type not in (None, "directory"):
            raise HTTPError(400, f"{path} is a directory, not a {type}", reason="bad type")
        return await self._dir_model(path, entry, content)

    async def _file_or_notebook(self, path, entry, content, type, format, require_hash) -> dict:
        as_notebook = type == "notebook" or (type is None and path.endswith(".ipynb"))
        build = models.notebook_model if as_notebook else models.file_model
        if not (content or require_hash):
            return self._model(build, path, entry)
        blob = None
        if not content and entry is not None:
            # the hash alone (the collaboration room asks after each save): from the bytes of
            # that version when this server holds them, like the rest of a content=False model
            blob = self._lake(path).held_current(self._ol(path))
        blob = blob or await self._read(path, entry)
        if blob.entry.is_dir:
            return await self._directory(path, blob.entry, content, type)
        model = self._model(build, path, blob.entry)
        if content and as_notebook:
            nb, validation_error = await off_the_loop(models.parse_notebook, blob.data, path)
            await self.mark_trusted(nb, path)
            model.update(content=nb, format="json")
            self.validate_notebook_model(model, validation_error)
        elif content:
            text, fmt = models.decode(blob.data, format, path)
            model.update(content=text, format=fmt)
            if model["mimetype"] is None:
                model["mimetype"] = "text/plain" if fmt == "text" else "application/octet-stream"
        if require_hash:
            model.update(await off_the_loop(models.hash_fields, blob.data, self.hash_algorithm))
        return model

    @observed(_save_action)
    async def save(self, model, path=""):
        path = api_path(path)
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
        self._refuse_target(path, "save")
        await self._ready(path)
        self.log.debug("Saving %s", path)
        validation_message = None
        kind = model["type"]
        if kind == "directory":
            entry = await self._make_directory(path)
            saved = self._model(models.directory_model, path, entry)
        elif kind == "notebook":
            data, validation_error = await self._notebook_bytes(model.get("content"), path)
            # a file that did not exist has no history to keep: its first version comes with its
            # first save (and JupyterLab makes one when it opens a file without any)
            is_new = self._lake(path).known(self._ol(path)) is MISSING
            entry = await self._write(path, data, NOTEBOOK_MIME)
            saved = self._model(models.notebook_model, path, entry)
            checked = {"content": model.get("content")}
            self.validate_notebook_model(checked, validation_error)
            validation_message = checked.get("message")
            if not is_new:
                await self._first_checkpoint(path)
        else:
            data = models.file_bytes(model.get("content"), model.get("format"), path)
            entry = await self._write(path, data, content_type(path))
            saved = self._model(models.file_model, path, entry)
        if validation_message:
            saved["message"] = validation_message
        self.run_post_save_hooks(model=saved, os_path=self.onelake_url(path))
        self.emit(data={"action": "save", "path": path})
        return saved

    async def _first_checkpoint(self, path: str) -> None:
        """After a save of an existing notebook, it has a checkpoint, as jupyter_server's file
        manager makes sure (OneLakeCheckpoints remember which files have one: no listing)."""
        if isinstance(self.checkpoints, OneLakeCheckpoints):
            await self.checkpoints.ensure_checkpoint(path)
        elif not await self.checkpoints.list_checkpoints(path):
            await self.checkpoints.create_checkpoint(self, path)

    async def _make_directory(self, path: str) -> Entry:
        with self._errors(path):
            try:
                return await self._lake(path).make_directory(self._ol(path))
            except NotADirectory:
                raise HTTPError(400, f"Not a directory: {path} (a file is in the way)") from None

    async def _write(self, path: str, data: bytes, kind: str | None) -> Entry:
        if len(data) > self.max_content_bytes:
            raise HTTPError(413, f"{path} is {len(data)} bytes, above the {self.max_content_bytes}-byte limit")
        with self._errors(path):
            try:
                return await self._lake(path).write(self._ol(path), data, kind, overwrite_changes=self.last_writer_wins)
            except IsADirectory:
                raise HTTPError(400, f"Cannot save {path}: a directory is in the way") from None

    async def delete_file(self, path):
        await self._delete(api_path(path))

    async def _delete(self, path: str) -> Entry:
        if not path:
            raise HTTPError(400, "Can't delete root")
        self._refuse_hidden(path, "delete")
        self._refuse_root(path, "delete")
        await self._ready(path)
        entry = await self._entry(path)
        if entry is None:
            raise HTTPError(404, f"File or directory does not exist: {path}")
        self.log.debug("Deleting %s", path)
        with self._errors(path):
            await self._lake(path).delete(self._ol(path), is_dir=entry.is_dir)
        return entry

    @observed("delete")
    async def delete(self, path):
        """Delete a file or a directory (with everything in it: OneLake's soft delete keeps it
        recoverable for 7 days) and a file's checkpoints."""
        path = api_path(path)
        entry = await self._delete(path)
        if not entry.is_dir:
            await self.checkpoints.delete_all_checkpoints(path)
        self.emit(data={"action": "delete", "path": path})

    async def rename_file(self, old_path, new_path):
        old_path, new_path = api_path(old_path), api_path(new_path)
        if self._between_roots(old_path, new_path):
            await self._move_between_roots(old_path, new_path)
        else:
            await self._rename(old_path, new_path)

    def _between_roots(self, old_path: str, new_path: str) -> bool:
        with http_errors(old_path):
            return self.tree.root_of(old_path) != self.tree.root_of(new_path)

    def _refuse_root(self, path: str, action: str) -> None:
        """The roots of a tree of named roots are its fixed top level (the `roots` setting)."""
        if self.tree.named and path in self.tree.roots:
            raise HTTPError(403, f"Cannot {action} {path}: it is one of the tree's roots (the roots setting)")

    async def _rename(self, old_path: str, new_path: str) -> Entry | None:
        if old_path == new_path:
            return None
        if not old_path or not new_path:
            raise HTTPError(400, "Can't rename the root directory")
        self._refuse_hidden(old_path, "rename")
        self._refuse_target(new_path, "rename to", renamed=True)
        self._refuse_root(old_path, "rename")
        self._refuse_root(new_path, "rename onto")
        await self._ready(old_path)
        await self._ready(new_path)
        files, source = self.place(old_path)
        dest = self._ol(new_path)
        with self._errors(old_path):
            try:
                return await files.rename(source, dest)
            except AlreadyExists:
                raise HTTPError(409, f"File already exists: {new_path}") from None
            except MissingParent:
                raise HTTPError(404, f"No such directory: {split(new_path)[0]}") from None
            except NotFound:
                raise HTTPError(404, f"File or directory does not exist: {old_path}") from None

    @observed("rename")
    async def rename(self, old_path, new_path):
        """Rename a file or directory; a file's checkpoints follow it (a directory's move with it).
        Between two roots it is a move: OneLake copies, then the source goes (`_move_between_roots`)."""
        old_path, new_path = api_path(old_path), api_path(new_path)
        if self._between_roots(old_path, new_path):
            await self._move_between_roots(old_path, new_path)
        else:
            moved = await self._rename(old_path, new_path)
            if old_path != new_path and (moved is None or not moved.is_dir):
                await self.checkpoints.rename_all_checkpoints(old_path, new_path)
        self.emit(data={"action": "rename", "path": new_path, "source_path": old_path})

    async def _move_between_roots(self, old_path: str, new_path: str) -> None:
        """A file or folder moved to another root (another item or workspace, where OneLake's
        rename does not reach): OneLake copies it, with a file's versions and everything in a
        folder, then the source is deleted. A copy that fails removes what it made and leaves the
        source whole ("nothing moved"); a source that cannot be deleted afterwards is said so
        (both are there: nothing is lost)."""
        self._refuse_hidden(old_path, "move")
        self._refuse_target(new_path, "move to")
        self._refuse_root(old_path, "move")
        await self._ready(old_path)
        await self._ready(new_path)
        entry = await self._entry(old_path)
        if entry is None:
            raise HTTPError(404, f"File or directory does not exist: {old_path}")
        if await self._entry(new_path) is not None:
            raise HTTPError(409, f"File already exists: {new_path}")
        if not await self.dir_exists(split(new_path)[0]):
            raise HTTPError(404, f"No such directory: {split(new_path)[0]}")
        (source_files, source), (dest_files, dest) = self.place(old_path), self.place(new_path)
        with self._errors(old_path):
            try:
                await move_between(source_files, source, dest_files, dest, entry)
            except NothingMoved as error:
                raise error.cause from None
            except SourceKept as error:
                raise HTTPError(500, f"{old_path} was copied to {new_path}: {error.message}") from None

    @observed("exists")
    async def file_exists(self, path=""):
        path = api_path(path)
        if not path:
            return False
        await self._ready(path)
        entry = await self._entry(path)
        return entry is not None and not entry.is_dir

    @observed("exists")
    async def dir_exists(self, path=""):
        path = api_path(path)
        await self._ready(path)
        if not path:
            return True
        entry = await self._entry(path)
        return entry is not None and entry.is_dir

    async def exists(self, path=""):
        path = api_path(path)
        await self._ready(path)
        return not path or await self._entry(path) is not None

    async def is_hidden(self, path=""):
        return is_hidden(api_path(path))

    async def get_kernel_path(self, path, model=None):
        """Kernels run in the kernel manager's local root directory: OneLake is not a POSIX
        filesystem a process could `cd` into."""
        return ""

    # ---- usable defaults, made cheap -----------------------------------------------------------
    async def increment_filename(self, filename, path="", insert=""):
        """The first free name, from one listing of the directory instead of a probe per name."""
        path = api_path(path)
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

    @observed("new")
    async def new_untitled(self, path="", type="", ext=""):
        path = api_path(path)
        if not await self.dir_exists(path):
            raise HTTPError(404, f"No such directory: {path}")
        for _ in range(5):
            try:
                return await super().new_untitled(path=path, type=type, ext=ext)
            except HTTPError as error:
                if error.status_code != 409:
                    raise
                self._lake(path).forget(self._ol(path))  # someone took the name meanwhile: list again
        raise HTTPError(409, f"Could not find a free name in {path}")

    @observed("copy")
    async def copy(self, from_path, to_path=None):
        """Copy a file (two requests), or a directory (one listing plus two per file, at most
        `max_copy_bytes` in all)."""
        from_path = api_path(from_path)
        self._refuse_hidden(from_path, "copy")
        if to_path is not None:
            self._refuse_target(api_path(to_path), "copy to")
        await self._ready(from_path)
        entry = await self._entry(from_path)
        if entry is None:
            raise HTTPError(404, f"No such file or directory: {from_path}")
        elsewhere = to_path is not None and self._between_roots(from_path, api_path(to_path))
        if not entry.is_dir:
            if elsewhere:
                return await self._copy_file_between_roots(from_path, api_path(to_path), entry)
            return await super().copy(from_path, to_path)
        # as jupyter_server's file manager: the copy goes *into* the destination folder (created
        # when missing), named after the source, `-Copy1`, `-Copy2`... when the name is taken
        to_path = api_path(to_path) if to_path is not None else split(from_path)[0]
        name = _COPY_SUFFIX.sub(".", split(from_path)[1])
        if await self.dir_exists(to_path):
            name = await self.increment_filename(name, to_path, insert="-Copy")
        target = join(to_path, name)
        self._refuse_target(target, "copy to")
        await self._ready(target)
        (source_files, source), (dest_files, dest) = self.place(from_path), self.place(target)
        with self._errors(from_path):
            try:
                if source_files is dest_files:
                    copied = await dest_files.copy_tree(
                        source, dest, max_bytes=self.max_copy_bytes, skip=in_checkpoint_dir
                    )
                else:
                    copied = await dest_files.copy_tree_from(source_files, source, dest, max_bytes=self.max_copy_bytes)
            except TooLarge as error:
                raise HTTPError(
                    413, f"{from_path} holds {error.size} bytes, above the {self.max_copy_bytes}-byte copy limit"
                ) from None
        self.emit(data={"action": "copy", "path": target, "source_path": from_path})
        return self._model(models.directory_model, target, copied)

    async def _copy_file_between_roots(self, from_path: str, to_path: str, entry: Entry) -> dict:
        """A file copied into another root, by OneLake (no bytes through this server, no size
        limit but OneLake's), named as jupyter_server's copy names it (into a folder: the same
        name, `-Copy1`... when taken)."""
        await self._ready(to_path)
        if await self.dir_exists(to_path):
            name = await self.increment_filename(_COPY_SUFFIX.sub(".", split(from_path)[1]), to_path, insert="-Copy")
            to_path = join(to_path, name)
        elif not await self.dir_exists(split(to_path)[0]):
            raise HTTPError(404, f"No such parent directory: {split(to_path)[0]} to copy file in")
        self._refuse_target(to_path, "copy to")
        (source_files, source), (dest_files, dest) = self.place(from_path), self.place(to_path)
        with self._errors(from_path):
            try:
                copied = await dest_files.copy_file_from(source_files, source, dest, size=entry.size)
            except AlreadyExists:
                raise HTTPError(409, f"File already exists: {to_path}") from None
        self.emit(data={"action": "copy", "path": to_path, "source_path": from_path})
        build = models.notebook_model if to_path.endswith(".ipynb") else models.file_model
        return self._model(build, to_path, copied)

    # ---- for the files handler, the session manager and hooks ----------------------------------
    async def file_entry(self, path: str) -> Entry:
        path = api_path(path)
        await self._ready(path)
        entry = await self._entry(path)
        if entry is None:
            raise HTTPError(404, f"No such file: {path}")
        if entry.is_dir:
            raise HTTPError(400, f"{path} is a directory, not a file", reason="bad type")
        return entry

    async def stream_file(self, path: str, offset: int, length: int):
        path = api_path(path)
        with self._errors(path):
            _, chunks = await self._lake(path).stream(self._ol(path), offset, length)
        with self._errors(path):
            async for chunk in chunks:
                yield chunk

    def _located(self, path: str) -> tuple[str, str]:
        with http_errors(path):
            _, workspace, ol = self.tree.locate(path)
        return workspace, ol

    def onelake_url(self, path: str) -> str:
        """`abfss://<workspace>@<host>/<path>`: where a file lives, for hooks and kernels."""
        host = self.settings.endpoint.split("://", 1)[-1].rstrip("/")
        workspace, ol = self._located(path)
        return f"abfss://{workspace}@{host}/{ol}"

    def fsspec_path(self, path: str) -> str:
        """`<workspace>/<onelake path>`: where a file lives, as `onelake_contents.fs()` names it."""
        return "/".join(self._located(path))

    def kernel_environment(self, path: str | None) -> dict[str, str]:
        """What a kernel started for `path` gets: the OneLake settings but the broker's secret and
        address (kernels get tokens from their server, see `relay`), and its notebook's place."""
        env = {
            s.env: str(v)
            for name, s in config.SETTINGS.items()
            if s.env not in config.WITHHELD_FROM_CHILDREN and (v := self.settings.values.get(name))
        }
        if path and (not self.tree.named or "/" in api_path(path)):
            notebook = api_path(path)
            folder = split(notebook)[0]
            env.update(
                ONELAKE_NOTEBOOK_PATH=notebook,
                ONELAKE_NOTEBOOK_DIR=self.fsspec_path(folder),
                ONELAKE_NOTEBOOK_URL=self.onelake_url(folder),
            )
        return env

    @property
    def token_scope(self) -> str:
        return str(self.settings.scope)

    async def access_token(self) -> AccessTokenInfo:
        """The OneLake token this server works with (its kernels get it through `relay`)."""
        return await self._credential.get_token_info(self.token_scope)

    # ---- checkpoints, observed as actions -------------------------------------------------------
    create_checkpoint = observed("checkpoint")(AsyncContentsManager.create_checkpoint)
    list_checkpoints = observed("list_checkpoints")(AsyncContentsManager.list_checkpoints)
    restore_checkpoint = observed("restore_checkpoint")(AsyncContentsManager.restore_checkpoint)
    delete_checkpoint = observed("delete_checkpoint")(AsyncContentsManager.delete_checkpoint)

    async def close(self) -> None:
        """Close the connections to OneLake and the broker (a manager used on its own:
        `await cm.close()`, or `async with cm:`)."""
        for files in self.lakes.values():
            await files.close()
        await self._connection.close()
        await self._credential.close()
        await self._stop_notary()

    async def __aenter__(self) -> OneLakeContentsManager:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

"""`import helpers` in a notebook's kernel finds `helpers.py` beside the notebook, in OneLake.

A meta path finder appended to the end of `sys.meta_path`, so it is asked only after the kernel's
own `sys.path` (the standard library and site-packages are never shadowed). It looks in the
notebook's OneLake folder (`ONELAKE_NOTEBOOK_DIR`) for `name/__init__.py` (a package, searched
further in its own folder) and then `name.py`, as Python's own finder orders them.

Requests: a name is looked up in the folder's listing (one List Blobs, kept `LISTING_TTL`
seconds, so the misses of one cell cost one request together), then read with one GET. A module
imported before (`importlib.reload`, or a new import after `del sys.modules[...]`) is read again
with one conditional GET on the version held: 304 when unchanged, the new source when the file
browser saved another. Modules carry their `onelake://` URL as `__file__` and as the code's file
name, and their source is in `linecache`, so tracebacks show the OneLake path and the lines.

`ONELAKE_IMPORTS=0` turns it off. The kernel installs it at start through IPython's
`PYTHONSTARTUP` (`kernel_startup_env()` gives the variables, `startup/onelake_kernel_startup.py`
is the file), which runs any `PYTHONSTARTUP` of the user's after it.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import linecache
import logging
import os
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceModifiedError, ResourceNotFoundError

from . import config, lakepath

log = logging.getLogger(__name__)

SWITCH = "ONELAKE_IMPORTS"
OFF = ("0", "false", "no", "off")
PREVIOUS_STARTUP = "ONELAKE_PREVIOUS_PYTHONSTARTUP"
STARTUP_FILE = str(Path(__file__).with_name("startup") / "onelake_kernel_startup.py")
LISTING_TTL = 2.0
_asking = threading.local()


def enabled(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return env.get(SWITCH, "1").strip().lower() not in OFF


def kernel_startup_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a notebook's kernel needs so that it installs the finder at start (IPython
    runs `PYTHONSTARTUP`); `env` is the kernel's environment so far (a user's own
    `PYTHONSTARTUP` is kept and run after ours). Empty when `ONELAKE_IMPORTS` is off."""
    env = os.environ if env is None else env
    if not enabled(env):
        return {}
    added = {"PYTHONSTARTUP": STARTUP_FILE}
    previous = env.get("PYTHONSTARTUP")
    if previous and previous != STARTUP_FILE:
        added[PREVIOUS_STARTUP] = previous
    return added


@dataclass
class _Source:
    path: str  # workspace/item/... of the file
    etag: str | None
    data: bytes
    package: bool


class _Blobs:
    """The Blob API on the importing thread itself, with the synchronous SDK and credential.

    Python asks meta path finders while holding its global import lock, so an import in any
    other thread waits for us: a client whose requests run on another thread (adlfs' event loop,
    which imports lazily, or the async credential's worker) could wait for us in turn, forever.
    """

    def __init__(self, settings: config.ResolvedSettings):
        from azure.storage.blob import BlobServiceClient

        from .credential import BrokerCredential

        settings.require("workspace", "broker_url")
        endpoint = str(settings.endpoint).rstrip("/").replace(".dfs.", ".blob.")
        self.service = BlobServiceClient(
            endpoint,
            credential=BrokerCredential.from_settings(settings),
            connection_verify=str(settings.ca_file) if settings.ca_file else True,
        )

    def children(self, folder: str) -> dict[str, str]:
        """name → "file" or "directory" for what is in `folder` (one List Blobs per 5,000)."""
        workspace, _, path = folder.partition("/")
        found: dict[str, str] = {}
        container = self.service.get_container_client(workspace)
        try:
            for item in container.walk_blobs(name_starts_with=f"{path}/", delimiter="/"):
                # a folder with something in it is a prefix ("pkg/"); the folder's own blob (an
                # empty file with hdi_isfolder) may come too, and must not make it a file
                name = item.name.rstrip("/").rpartition("/")[2]
                found[name] = "directory" if item.name.endswith("/") else found.get(name, "file")
        except ResourceNotFoundError:
            return {}
        return found

    def read(self, path: str, etag: str | None) -> tuple[bytes | None, str | None]:
        """(bytes, etag), or (None, etag) when the file still has `etag`: one (conditional) GET."""
        workspace, _, key = path.partition("/")
        kwargs = {"etag": etag, "match_condition": MatchConditions.IfModified} if etag else {}
        try:
            downloader = self.service.get_blob_client(workspace, key).download_blob(**kwargs)
        except ResourceNotFoundError:
            raise FileNotFoundError(path) from None
        except ResourceModifiedError as error:
            if error.status_code == 304:
                return None, etag
            raise
        return downloader.readall(), downloader.properties.etag


class OneLakeLoader(importlib.abc.InspectLoader):
    """Runs a module's source read from OneLake, under its `onelake://` URL."""

    def __init__(self, source: _Source):
        self.source = source
        self.url = lakepath.url_of(source.path)

    def create_module(self, spec):
        return None

    def is_package(self, fullname: str) -> bool:
        return self.source.package

    def get_filename(self, fullname: str) -> str:
        return self.url

    def get_source(self, fullname: str) -> str:
        return importlib.util.decode_source(self.source.data)

    def get_code(self, fullname: str):
        return compile(self.get_source(fullname), self.url, "exec", dont_inherit=True)

    def exec_module(self, module) -> None:
        text = self.get_source(module.__name__)
        # mtime None: `linecache.checkcache` keeps the entry (there is no local file to compare)
        linecache.cache[self.url] = (len(text), None, text.splitlines(True), self.url)
        exec(self.get_code(module.__name__), module.__dict__)


class OneLakeFinder(importlib.abc.MetaPathFinder):
    """Finds modules and packages in one OneLake folder (and in packages found there)."""

    def __init__(self, folder: str):
        self.folder = lakepath.lake_path(folder)
        self._blobs: _Blobs | None = None
        self._known: dict[str, _Source] = {}
        self._listings: dict[str, tuple[float, dict[str, str]]] = {}
        self._lock = threading.RLock()

    @property
    def blobs(self) -> _Blobs:
        if self._blobs is None:
            self._blobs = _Blobs(config.resolve())
        return self._blobs

    def find_spec(self, fullname: str, path=None, target=None):
        if path is None:
            folders = [self.folder]
        else:
            folders = [lakepath.lake_path(p) for p in path if isinstance(p, str) and p.startswith(lakepath.PREFIX)]
        if not folders or getattr(_asking, "now", False):
            return None  # an import made by our own requests (the SDK imports lazily) is not ours
        with self._lock:
            _asking.now = True
            try:
                source = self._reread(fullname) or self._look_up(fullname.rpartition(".")[2], folders)
            except (OSError, AzureError) as error:
                log.warning("import %s: OneLake could not be asked (%s)", fullname, error)
                return None
            finally:
                _asking.now = False
            if source is None:
                return None
            self._known[fullname] = source
        loader = OneLakeLoader(source)
        spec = importlib.util.spec_from_loader(fullname, loader, origin=loader.url, is_package=source.package)
        spec.has_location = True
        if source.package:
            spec.submodule_search_locations = [loader.url.rpartition("/")[0]]
        return spec

    def invalidate_caches(self) -> None:
        self._listings.clear()

    def _reread(self, fullname: str) -> _Source | None:
        """A module read before: one conditional GET (None when it is gone)."""
        known = self._known.get(fullname)
        if known is None:
            return None
        try:
            data, etag = self.blobs.read(known.path, known.etag)
        except FileNotFoundError:
            del self._known[fullname]
            return None
        return known if data is None else _Source(known.path, etag, data, known.package)

    def _look_up(self, name: str, folders: list[str]) -> _Source | None:
        for folder in folders:
            children = self._listing(folder)
            if children.get(name) == "directory":
                found = self._read(f"{folder}/{name}/__init__.py", package=True)
                if found is not None:
                    return found
            if children.get(f"{name}.py") == "file":
                found = self._read(f"{folder}/{name}.py", package=False)
                if found is not None:
                    return found
        return None

    def _listing(self, folder: str) -> dict[str, str]:
        """The folder's children (name → "file" or "directory"), kept `LISTING_TTL` seconds."""
        held = self._listings.get(folder)
        if held is not None and time.monotonic() - held[0] < LISTING_TTL:
            return held[1]
        children = self.blobs.children(folder)
        self._listings[folder] = (time.monotonic(), children)
        return children

    def _read(self, path: str, *, package: bool) -> _Source | None:
        try:
            data, etag = self.blobs.read(path, None)
        except FileNotFoundError:
            return None
        return _Source(path, etag, data, package)


def installed() -> OneLakeFinder | None:
    return next((f for f in sys.meta_path if isinstance(f, OneLakeFinder)), None)


def install(folder: str | None = None) -> OneLakeFinder | None:
    """Append the finder for `folder` (default: the notebook's, `ONELAKE_NOTEBOOK_DIR`) to
    `sys.meta_path`, once. Nothing when `ONELAKE_IMPORTS` is off or there is no notebook folder."""
    folder = folder or os.environ.get("ONELAKE_NOTEBOOK_DIR")
    if not enabled() or not folder:
        return None
    finder = installed()
    if finder is None:
        finder = OneLakeFinder(folder)
        sys.meta_path.append(finder)
    return finder

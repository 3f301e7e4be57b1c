"""Notebook trust with jupyter_server's own `check_and_sign` and `mark_trusted_cells` (and so
nbformat's notary, with its handling of a corrupted signature database), run off the event loop:
the signature is an HMAC over the whole notebook.

nbformat's signature store is a SQLite connection, usable only on the thread that opened it, and
the notary is public: jupyter_server's `trust_notebook`, extensions and our own reads and saves
reach it from different threads. So the notary's store is a `ThreadBoundStore`: every store call,
from whatever thread, runs on the one notary thread, where the real store is opened (and, after
`check_and_sign` found it broken, opened again through the same factory).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import nbformat
from nbformat.sign import NotebookNotary, SignatureStore
from tornado.web import HTTPError
from traitlets import default
from traitlets.config import LoggingConfigurable

from . import models


class NotaryThread:
    """The one thread that uses the notary's signature store."""

    def __init__(self) -> None:
        self._ident: int | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onelake-notary", initializer=self._mark)

    def _mark(self) -> None:
        self._ident = threading.get_ident()

    def call(self, function, *args):
        """`function(*args)` on the notary thread, waited for (directly when already there)."""
        if threading.get_ident() == self._ident:
            return function(*args)
        return self._executor.submit(function, *args).result()

    async def run(self, function, *args):
        """`function(*args)` on the notary thread, the event loop free meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    def stop(self) -> None:
        self._executor.shutdown(wait=False)


class ThreadBoundStore(SignatureStore):
    """A signature store usable from any thread: the store `factory` makes is opened on first
    use on the notary thread (`thread()`, the one in service), and every call runs there."""

    def __init__(self, factory, thread):
        self._factory = factory
        self._thread = thread
        self._store: SignatureStore | None = None

    def _on_thread(self, method: str, *args):
        def call():
            if self._store is None:
                self._store = self._factory()
            return getattr(self._store, method)(*args)

        return self._thread().call(call)

    def store_signature(self, digest, algorithm):
        return self._on_thread("store_signature", digest, algorithm)

    def check_signature(self, digest, algorithm):
        return self._on_thread("check_signature", digest, algorithm)

    def remove_signature(self, digest, algorithm):
        return self._on_thread("remove_signature", digest, algorithm)

    def close(self):
        """Closed until its next use, which opens the store again (a manager used after `close`)."""
        if self._store is not None:
            store, self._store = self._store, None
            self._thread().call(store.close)


class NotebookTrust(LoggingConfigurable):
    """The trust half of OneLakeContentsManager's notebook reads and saves."""

    _notary_thread: NotaryThread | None = None

    @property
    def _notary_worker(self) -> NotaryThread:
        if self._notary_thread is None:
            self._notary_thread = NotaryThread()
        return self._notary_thread

    @default("notary")
    def _default_notary(self):
        notary = NotebookNotary(parent=self)
        notary.store.close()  # opened by the notary's constructor on this thread: reopened on ours
        opened_by = notary.store_factory
        notary.store_factory = lambda: ThreadBoundStore(opened_by, lambda: self._notary_worker)
        notary.store = notary.store_factory()
        return notary

    async def _with_notary(self, method, *args):
        return await self._notary_worker.run(method, *args)

    async def _stop_notary(self) -> None:
        worker = self._notary_thread
        if worker is None:
            return
        if self.trait_has_value("notary"):
            await worker.run(self.notary.store.close)
        self._notary_thread = None
        worker.stop()

    async def trust_notebook(self, path):
        """As jupyter_server's (all cells trusted, the notebook signed), signed on the notary thread."""
        model = await self.get(path, type="notebook")
        nb = model["content"]
        self.log.warning("Trusting notebook %s", path)
        self.notary.mark_cells(nb, True)
        await self._with_notary(self.check_and_sign, nb, path)

    async def mark_trusted(self, nb, path: str) -> None:
        """`mark_trusted_cells` on the notary thread, the event loop free meanwhile."""
        await self._with_notary(self.mark_trusted_cells, nb, path)

    async def _notebook_bytes(self, content, path: str) -> tuple[bytes, dict]:
        """The signed notebook's bytes (and nbformat's validation error), made on the notary's
        thread in one hand-over: the event loop stays free, and a small save pays one switch."""
        models.check_notebook_content(content, path)
        return await self._with_notary(self._signed_bytes, content, path)

    def _signed_bytes(self, content, path: str) -> tuple[bytes, dict]:
        try:
            nb = nbformat.from_dict(content)
        except Exception as error:
            raise HTTPError(400, f"Invalid notebook {path}: {type(error).__name__}: {error}") from None
        try:
            self.check_and_sign(nb, path)
        except Exception as error:
            # the signature store is broken beyond what the notary repairs itself
            raise HTTPError(500, f"Cannot sign {path}: the notebook signature store failed ({error})") from None
        return models.serialise_notebook(nb, path)

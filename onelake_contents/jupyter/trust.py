"""Notebook trust with jupyter_server's own `check_and_sign` and `mark_trusted_cells` (and so
nbformat's notary, with its handling of a corrupted signature database), run off the event loop:
the signature is an HMAC over the whole notebook. Every use of the notary runs on one worker
thread, which owns the notary's SQLite connection."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import nbformat
from tornado.web import HTTPError

from . import models


class NotebookTrust:
    """The trust half of OneLakeContentsManager's notebook reads and saves."""

    _notary_thread: ThreadPoolExecutor | None = None

    async def _with_notary(self, method, nb, path: str):
        if self._notary_thread is None:
            # SQLite connections belong to the thread that opened them: the notary's store is
            # (re)opened on the worker thread, before anything else runs there
            self._notary_thread = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="onelake-notary", initializer=self._open_notary_store
            )
        return await asyncio.get_running_loop().run_in_executor(self._notary_thread, method, nb, path)

    def _stop_notary(self) -> None:
        if self._notary_thread is not None:
            self._notary_thread.shutdown(wait=False)
            self._notary_thread = None

    def _open_notary_store(self) -> None:
        self.notary.store = self.notary.store_factory()

    async def _mark_trusted(self, nb, path: str) -> None:
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

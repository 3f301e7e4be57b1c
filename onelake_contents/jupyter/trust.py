"""Notebook trust, as jupyter_server's `check_and_sign` / `mark_trusted_cells`, with the signature
(an HMAC over the whole notebook) computed off the loop; the notary's SQLite store is used only on
the loop's thread, which owns it."""

from __future__ import annotations

import asyncio

import nbformat
from tornado.web import HTTPError

from . import models


class NotebookTrust:
    """The trust half of OneLakeContentsManager's notebook reads and saves."""

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
        models.check_notebook_content(content, path)
        try:
            nb = await asyncio.to_thread(nbformat.from_dict, content)
            await self._sign_if_trusted(nb, path)
        except HTTPError:
            raise
        except Exception as error:
            raise HTTPError(400, f"Invalid notebook {path}: {type(error).__name__}: {error}") from None
        return await asyncio.to_thread(models.serialise_notebook, nb, path)

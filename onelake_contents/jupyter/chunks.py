"""JupyterLab's chunked uploads, as jupyter_server's `LargeFileManager` takes them: a model with
`chunk` (1 to start, higher numbers or the same again to add, -1 for the last) is one piece of a
file, staged and published atomically by the files layer's uploads (`lake.uploads`, where the
order the pieces may come in is written down)."""

from __future__ import annotations

from datetime import UTC, datetime

from tornado.web import HTTPError

from ..lake.content import content_type
from ..lake.uploads import UploadRefused
from ..storage import Changed, Conflict, Entry, TooLarge
from . import models


class ChunkedUploads:
    """The chunk half of OneLakeContentsManager's `save()`."""

    async def _save_chunk(self, model: dict, path: str) -> dict:
        """One piece of a JupyterLab upload (`chunk` 1..n, then -1 for the last), staged and
        published atomically by the uploads of the files layer (`lake.uploads`)."""
        chunk = model.get("chunk")
        if isinstance(chunk, bool) or not isinstance(chunk, int) or (chunk < 1 and chunk != -1):
            raise HTTPError(400, f"Invalid chunk number {chunk!r}: chunks are numbered 1, 2, ... and -1 for the last")
        # as jupyter_server's LargeFileManager, with its messages
        if chunk == 1:
            self.run_pre_save_hooks(model=model, path=path)
        if "type" not in model:
            raise HTTPError(400, "No file type provided")
        if model["type"] != "file":
            raise HTTPError(400, f'File type "{model["type"]}" is not supported for large file transfer')
        if "content" not in model:
            raise HTTPError(400, "No file content provided")
        if not path:
            raise HTTPError(400, "Cannot save over the root directory")
        self._refuse_target(path, "upload", renamed=True)
        data = models.file_bytes(model["content"], model.get("format"), path)
        await self._ready(path)
        ol = self._ol(path)
        uploads = self.uploads_at(path)
        try:
            upload = uploads.piece(ol, chunk)
        except UploadRefused as error:
            raise HTTPError(400, f"Cannot take this piece of {path}: {error}; upload it again") from None
        with self._errors(path):
            try:
                await uploads.stage(upload, data)
            except TooLarge:
                raise HTTPError(413, f"{path} is larger than the {self.max_upload_bytes}-byte upload limit") from None
            except Changed:
                raise HTTPError(
                    409,
                    f"Cannot append to {path}: it changed in OneLake since its upload was published; upload it again",
                ) from None
        if chunk != -1:
            now = datetime.now(UTC)
            return self._model(models.model_without_content, path, Entry(ol, False, upload.size, now, now, ""))
        with self._errors(path):
            try:
                entry = await uploads.publish(upload, content_type(path))
            except Conflict:
                raise HTTPError(409, f"Cannot upload over {path}: it is a directory") from None
        saved = self._model(models.model_without_content, path, entry)
        self.run_post_save_hooks(model=saved, os_path=self.onelake_url(path))
        self.emit(data={"action": "save", "path": path})
        return saved

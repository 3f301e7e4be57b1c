"""OneLakeCheckpoints: Jupyter's checkpoints API over a file's versions in OneLake.

Built on the files layer the way jupyter_server's `FileCheckpoints` builds on its file I/O mixin:
the versions themselves (`lake.versions`) are ordinary files beside the file, several per file
(the newest `max_checkpoints` kept), so they survive the container and follow renames. The
contents manager is only asked where a path lives (`parent.place(path)`: the files layer of its
root, and its OneLake path there).

Besides the Checkpoints API, the four methods of jupyter_server's generic checkpoints (a
checkpoint's content as a model, a checkpoint made from a model's content): nbdime's checkpoint
diff reads checkpoints only through them (and passes the checkpoint's model where the id goes).
"""

from __future__ import annotations

from jupyter_server.services.contents.checkpoints import AsyncCheckpoints, AsyncGenericCheckpointsMixin
from tornado.web import HTTPError
from traitlets import Int

from ..lake.files import IsADirectory, LakeFiles
from ..lake.versions import NoSuchVersion, Versions
from ..storage import Blob, Entry, NotFound
from ..turns import off_the_loop
from . import models
from .errors import http_errors


class OneLakeCheckpoints(AsyncGenericCheckpointsMixin, AsyncCheckpoints):
    """Several versions per file, in OneLake, newest `max_checkpoints` kept."""

    max_checkpoints = Int(10, config=True, help="Versions kept per file; older ones are pruned.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._versions: dict[int, Versions] = {}  # by files layer (one per root)

    def _at(self, path: str) -> tuple[Versions, str]:
        """The versions of the root `path` is in, and its OneLake path, under the contents
        methods' own rules: nothing in a checkpoint folder, nothing hidden unless allowed."""
        _, files, ol = self.parent.place_of_versions(path, "use checkpoints of")
        return self.versions_of(files), ol

    def versions_of(self, files: LakeFiles) -> Versions:
        """The versions of a root's files: one `Versions` per root, shared with the history API,
        so that a restore knows the version the last save made."""
        versions = self._versions.get(id(files))
        if versions is None:
            versions = self._versions[id(files)] = Versions(files, keep=self.max_checkpoints)
        return versions

    @staticmethod
    def _model(entry: Entry) -> dict:
        return {"id": entry.name, "last_modified": entry.last_modified}

    # ---- the Checkpoints API -------------------------------------------------------------------
    async def create_checkpoint(self, contents_mgr, path):
        """One request when the manager holds the current bytes (it just read or saved them), else two."""
        versions, ol = self._at(path)
        with http_errors(path, self.log):
            try:
                return self._model(await versions.create(ol))
            except NotFound:
                raise HTTPError(404, f"No such file: {path}") from None

    async def ensure_checkpoint(self, path) -> None:
        """After a notebook save: the first version exists, as jupyter_server's file manager does it."""
        versions, ol = self._at(path)
        with http_errors(path, self.log):
            await versions.ensure_one(ol)

    async def list_checkpoints(self, path):
        """Oldest to newest, as JupyterLab reads the list: its "Last Checkpoint", its revert
        without an id and the top of its picker (which it shows reversed) are the last entry."""
        versions, ol = self._at(path)
        with http_errors(path, self.log):
            return [self._model(e) for e in await versions.list(ol)]

    async def _read(self, checkpoint_id, path) -> Blob:
        versions, ol = self._at(path)
        with http_errors(path, self.log):
            try:
                return await versions.read(ol, checkpoint_id)
            except NoSuchVersion:
                raise HTTPError(404, f"No such checkpoint {checkpoint_id} for {path}") from None

    async def restore_checkpoint(self, contents_mgr, checkpoint_id, path):
        """The file's content becomes the version's (a conditional save, like the user's own)."""
        versions, ol = self._at(path)
        with http_errors(path, self.log):
            try:
                await versions.restore(ol, checkpoint_id, overwrite_changes=self.parent.last_writer_wins)
            except NoSuchVersion:
                raise HTTPError(404, f"No such checkpoint {checkpoint_id} for {path}") from None
            except IsADirectory:
                raise HTTPError(400, f"{path} is a directory") from None

    # ---- jupyter_server's generic checkpoints: checkpoints as content models ------------------
    async def get_notebook_checkpoint(self, checkpoint_id, path):
        """`{"type": "notebook", "content": <notebook>}` of a version (`checkpoint_id` may be its
        checkpoint model, as nbdime passes it), its cells marked trusted or not as the contents
        manager's `get` marks them: a version equal to the file compares equal to it."""
        blob = await self._read(_checkpoint_id(checkpoint_id), path)
        nb, _ = await off_the_loop(models.parse_notebook, blob.data, path)
        await self.parent.mark_trusted(nb, path)
        return {"type": "notebook", "content": nb}

    async def get_file_checkpoint(self, checkpoint_id, path):
        """`{"type": "file", "content": ..., "format": "text" | "base64"}` of a version."""
        blob = await self._read(_checkpoint_id(checkpoint_id), path)
        content, format = models.decode(blob.data, None, path)
        return {"type": "file", "content": content, "format": format}

    async def create_notebook_checkpoint(self, nb, path):
        data, _ = models.serialise_notebook(nb, path)
        return await self._create_from(data, path)

    async def create_file_checkpoint(self, content, format, path):
        return await self._create_from(models.file_bytes(content, format, path), path)

    async def _create_from(self, data: bytes, path) -> dict:
        versions, ol = self._at(path)
        with http_errors(path, self.log):
            return self._model(await versions.create(ol, data))

    async def delete_checkpoint(self, checkpoint_id, path):
        versions, ol = self._at(path)
        with http_errors(path, self.log):
            try:
                await versions.delete(ol, checkpoint_id)
            except NoSuchVersion:
                raise HTTPError(404, f"No such checkpoint {checkpoint_id} for {path}") from None

    async def rename_checkpoint(self, checkpoint_id, old_path, new_path):
        (versions, source), (_, dest) = self._at(old_path), self._at(new_path)
        with http_errors(old_path, self.log):
            try:
                await versions.move_one(checkpoint_id, source, dest)
            except NoSuchVersion:
                raise HTTPError(404, f"No such checkpoint {checkpoint_id} for {old_path}") from None

    async def rename_all_checkpoints(self, old_path, new_path):
        """All of a file's versions move in one request (two more if the target folder is new)."""
        (versions, source), (_, dest) = self._at(old_path), self._at(new_path)
        with http_errors(old_path, self.log):
            await versions.move_all(source, dest)

    async def delete_all_checkpoints(self, path):
        versions, ol = self._at(path)
        with http_errors(path, self.log):
            await versions.delete_all(ol)


def _checkpoint_id(checkpoint) -> str:
    """A checkpoint's id, also when given its model (`{"id": ..., "last_modified": ...}`)."""
    return checkpoint.get("id") if isinstance(checkpoint, dict) else checkpoint

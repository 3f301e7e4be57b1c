"""OneLakeCheckpoints: Jupyter's checkpoints API over a file's versions in OneLake (see
`lake.versions` for where they live). They survive the container, unlike checkpoints on local disk.
"""

from __future__ import annotations

from jupyter_server.services.contents.checkpoints import AsyncCheckpoints
from tornado.web import HTTPError
from traitlets import Int

from .lake.versions import new_version_id, newest_first, version_folder, version_path
from .store import AlreadyExists, Entry, NotFound


class OneLakeCheckpoints(AsyncCheckpoints):
    """Several versions per file, in OneLake, newest `max_checkpoints` kept."""

    max_checkpoints = Int(10, config=True, help="Versions kept per file; older ones are pruned.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._has_checkpoint: set[str] = set()

    # ---- where ---------------------------------------------------------------------------------
    @staticmethod
    def folder(path: str) -> str:
        """API path of the folder holding a file's versions."""
        return version_folder(path)

    def _version(self, path: str, checkpoint_id: str) -> str:
        version = version_path(path, checkpoint_id)
        if version is None:
            raise HTTPError(404, f"No such checkpoint {checkpoint_id!r} for {path}")
        return version

    @property
    def manager(self):
        return self.parent

    @staticmethod
    def _model(entry: Entry) -> dict:
        return {"id": entry.name, "last_modified": entry.last_modified}

    async def _versions(self, path: str) -> list[Entry]:
        """A file's versions, newest first (one listing, or none when fresh in the cache)."""
        try:
            entries = await self.manager._listing(self.folder(path))
        except HTTPError as error:
            if error.status_code == 404:
                return []
            raise
        return newest_first(entries)

    # ---- the Checkpoints API -------------------------------------------------------------------
    async def create_checkpoint(self, contents_mgr, path):
        """One request when the manager holds the current bytes (it just read or saved them), else two."""
        cm = contents_mgr
        blob = cm.held_content(path)
        if blob is None:
            await cm._ready()
            entry = await cm._entry(path)
            if entry is None or entry.is_dir:
                raise HTTPError(404, f"No such file: {path}")
            with cm._errors(path):
                blob = await cm.store.read(cm._ol(path))
        version = cm._ol(version_path(path, new_version_id()))
        with cm._errors(path):
            try:
                entry = await cm.store.write(version, blob.data, create_only=True, metadata=dict(blob.metadata))
            except AlreadyExists:
                # ids are unique: an earlier try of this very write landed and its answer was lost
                entry, _ = await cm.store.stat(version)
        cm.cache.put(entry)
        self._has_checkpoint.add(path)
        listing = cm.cache.listing(cm._ol(self.folder(path)))
        if listing is not None:
            await self._prune(path, newest_first(listing))
        return self._model(entry)

    async def ensure_checkpoint(self, contents_mgr, path) -> None:
        """After a notebook save: the first version exists, as jupyter_server's file manager does it."""
        if path in self._has_checkpoint:
            return
        if await self._versions(path):
            self._has_checkpoint.add(path)
            return
        await self.create_checkpoint(contents_mgr, path)

    async def list_checkpoints(self, path):
        versions = await self._versions(path)
        if versions:
            self._has_checkpoint.add(path)
        kept = await self._prune(path, versions)
        return [self._model(e) for e in kept]

    async def _prune(self, path: str, newest_first: list[Entry]) -> list[Entry]:
        cm = self.manager
        kept, extra = newest_first[: self.max_checkpoints], newest_first[self.max_checkpoints :]
        for entry in extra:
            with cm._errors(path):
                try:
                    await cm.store.delete(entry.path, recursive=False)
                except NotFound:
                    pass
            cm.cache.removed(entry.path)
        return kept

    async def restore_checkpoint(self, contents_mgr, checkpoint_id, path):
        """The file's content becomes the version's (a conditional save, like the user's own)."""
        cm = contents_mgr
        await cm._ready()
        version = cm._ol(self._version(path, checkpoint_id))
        with cm._errors(path):
            try:
                blob = await cm.store.read(version)
            except NotFound:
                raise HTTPError(404, f"No such checkpoint {checkpoint_id} for {path}") from None
        current = await cm._entry(path)
        content_type = "application/x-ipynb+json" if path.endswith(".ipynb") else None
        if current is not None and current.is_dir:
            raise HTTPError(400, f"{path} is a directory")
        await cm._write(path, blob.data, content_type)

    async def delete_checkpoint(self, checkpoint_id, path):
        cm = self.manager
        await cm._ready()
        version = cm._ol(self._version(path, checkpoint_id))
        with cm._errors(path):
            try:
                await cm.store.delete(version, recursive=False)
            except NotFound:
                raise HTTPError(404, f"No such checkpoint {checkpoint_id} for {path}") from None
        cm.cache.removed(version)

    async def rename_checkpoint(self, checkpoint_id, old_path, new_path):
        cm = self.manager
        await cm._ready()
        source = cm._ol(self._version(old_path, checkpoint_id))
        dest = cm._ol(self._version(new_path, checkpoint_id))
        await self._move(cm, source, dest, old_path)

    async def rename_all_checkpoints(self, old_path, new_path):
        """All of a file's versions move in one request (two more if the target folder is new)."""
        cm = self.manager
        source, dest = cm._ol(self.folder(old_path)), cm._ol(self.folder(new_path))
        await self._move(cm, source, dest, old_path)
        if old_path in self._has_checkpoint:
            self._has_checkpoint.discard(old_path)
            self._has_checkpoint.add(new_path)

    async def _move(self, cm, source: str, dest: str, path: str) -> None:
        with cm._errors(path):
            for _ in range(3):
                try:
                    await cm.store.rename(source, dest, overwrite=True)
                    break
                except NotFound as error:
                    if error.code != "RenameDestinationParentPathNotFound":
                        return  # no versions to move
                    try:
                        await cm.store.mkdir(dest.rpartition("/")[0])
                    except AlreadyExists:
                        pass
        cm.cache.forget(source)
        cm.cache.forget(dest)

    async def delete_all_checkpoints(self, path):
        cm = self.manager
        folder = cm._ol(self.folder(path))
        with cm._errors(path):
            try:
                await cm.store.delete(folder, recursive=True)
            except NotFound:
                pass
        cm.cache.removed(folder)
        self._has_checkpoint.discard(path)

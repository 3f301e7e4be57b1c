"""The history API: a file's versions (list, read, diff, restore) and the trash (list, restore).

    GET  /onelake/api                                  what this API is (JupyterLab's probe)  none
    GET  /onelake/api/versions/<path>                  versions, newest first        1 request
    GET  /onelake/api/versions/<path>?id=<id>          one version as a contents model  1 request
    GET  /onelake/api/diff/<path>?base=<id>&remote=<id|current>
    POST /onelake/api/versions/<path>/<id>/restore     {} or {"as": "copy", "name": ...}
    GET  /onelake/api/trash/<folder>                   deletions below it, newest first  1 per page
    POST /onelake/api/trash/<item id>/restore          {} or {"name": <new name>} when taken

The contents API's rules hold: the same authentication and `contents` permissions (read for GET,
write for POST), XSRF on POST, API paths checked by `errors.api_path` (outside the root 404),
hidden paths 404 unless `allow_hidden`, checkpoint folders 403, and OneLake's refusals as the
contents API words them (`errors.http_errors`). Built on `lake.history` and `lake.trash`; notebooks
are diffed cell by cell with nbdime, other text line by line.
"""

from __future__ import annotations

import asyncio
import json

from jupyter_client.jsonutil import json_default
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.web import HTTPError

from .. import __version__
from ..lake.files import LakeFiles
from ..lake.history import CURRENT, History, text_diff
from ..lake.trash import NameTaken, Stranded, Trash, TrashItem, item_token, parse_token, recency
from ..lake.versions import VERSION_ID, NoSuchVersion
from ..paths import check_new_name, in_checkpoint_dir, is_hidden, join, split
from ..storage import Blob, Entry, NotFound
from ..turns import off_the_loop
from . import models
from .checkpoints import OneLakeCheckpoints
from .errors import api_path, http_errors
from .manager import OneLakeContentsManager

PREFIX = "onelake/api"


class HistoryHandler(APIHandler):
    """What the history handlers share: the manager's files, versions and path rules."""

    auth_resource = "contents"

    @property
    def cm(self) -> OneLakeContentsManager:
        cm = self.contents_manager
        if not isinstance(cm, OneLakeContentsManager):
            raise HTTPError(404, "The history API needs OneLakeContentsManager")
        return cm

    def history(self, files: LakeFiles) -> History:
        """The versions of a root's files, kept as its checkpoints keep them."""
        checkpoints = self.cm.checkpoints
        if not isinstance(checkpoints, OneLakeCheckpoints):
            raise HTTPError(404, "Versions are OneLakeCheckpoints' (the server has another checkpoints class)")
        return History(checkpoints.versions_of(files))

    def checked(self, path: str, action: str) -> tuple[str, LakeFiles, str]:
        """(API path, its root's files layer, OneLake path) under the contents API's rules."""
        return self.cm.place_of_versions(path, action)

    def errors(self, path: str):
        return http_errors(path, self.log)

    async def read(self, history: History, path: str, ol: str, wanted: str) -> Blob:
        with self.errors(path):
            try:
                return await history.read(ol, wanted, max_bytes=self.cm.max_content_bytes)
            except NoSuchVersion:
                raise HTTPError(404, f"No version {wanted} of {path}") from None

    def reply(self, body: dict, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, default=json_default))

    def body(self) -> dict:
        if not self.request.body:
            return {}
        try:
            body = json.loads(self.request.body)
        except ValueError:
            raise HTTPError(400, "The body must be JSON") from None
        if not isinstance(body, dict):
            raise HTTPError(400, "The body must be a JSON object")
        return body


def version_id(value: str | None) -> str:
    if not value or not VERSION_ID.match(value):
        raise HTTPError(400, f"Invalid version id {value!r}")
    return value


def version_model(entry: Entry) -> dict:
    return {"id": entry.name, "last_modified": entry.last_modified, "size": entry.size}


class VersionsHandler(HistoryHandler):
    """`GET versions/<path>`: the file's versions, newest first; `?id=`: one as a contents model.
    `POST versions/<path>/<id>/restore`: the file gets the version's content, its current content
    kept as a version first; `{"as": "copy"}` makes a new file beside it instead."""

    @web.authenticated
    @authorized
    async def post(self, target: str = "") -> None:
        path, wanted, action = _rsplit(target, 2)
        if action != "restore":
            raise HTTPError(404, "POST versions/<path>/<version id>/restore")
        path, files, ol = self.checked(path, "restore a version of")
        if not path:
            raise HTTPError(400, "The root directory has no versions")
        wanted = version_id(wanted)
        body = self.body()
        if body.get("as", "file") not in ("file", "copy"):
            raise HTTPError(400, '"as" is "file" (the default) or "copy"')
        if body.get("as") == "copy":
            await self._as_copy(path, files, ol, wanted, body.get("name"))
            return
        with self.errors(path):
            try:
                entry, kept = await self.history(files).restore(
                    ol, wanted, max_bytes=self.cm.max_content_bytes, overwrite_changes=self.cm.last_writer_wins
                )
            except NoSuchVersion:
                raise HTTPError(404, f"No version {wanted} of {path}") from None
        build = models.notebook_model if path.endswith(".ipynb") else models.file_model
        self.reply({"path": path, "model": build(path, entry, files.modified(entry)), "kept": version_model(kept)})

    async def _as_copy(self, path: str, files: LakeFiles, ol: str, wanted: str, name) -> None:
        if name is not None:
            if not isinstance(name, str) or not name or "/" in name:
                raise HTTPError(400, "A copy's name is a file name, without '/'")
            target = join(split(path)[0], name)
            if in_checkpoint_dir(target) or (not self.cm.allow_hidden and is_hidden(target)):
                raise HTTPError(400, f"Cannot restore to hidden file {target}")
            with http_errors(target):
                check_new_name(target, renamed=False)
        with self.errors(path):
            try:
                entry = await self.history(files).restore_copy(ol, wanted, name, max_bytes=self.cm.max_content_bytes)
            except NoSuchVersion:
                raise HTTPError(404, f"No version {wanted} of {path}") from None
        target = join(split(path)[0], entry.name)
        build = models.notebook_model if target.endswith(".ipynb") else models.file_model
        self.reply({"path": target, "model": build(target, entry, files.modified(entry))}, 201)

    @web.authenticated
    @authorized
    async def get(self, path: str = "") -> None:
        path, files, ol = self.checked(path, "read the versions of")
        if not path:
            raise HTTPError(400, "The root directory has no versions")
        wanted = self.get_argument("id", None)
        if wanted is None:
            with self.errors(path):
                versions = await self.history(files).list(ol)
                if not versions and await files.entry(ol) is None:
                    raise HTTPError(404, f"No such file: {path}")
            self.reply({"path": path, "versions": [version_model(v) for v in versions]})
            return
        blob = await self.read(self.history(files), path, ol, version_id(wanted))
        self.reply(await self._content_model(path, blob, wanted))

    async def _content_model(self, path: str, blob: Blob, wanted: str) -> dict:
        """The version as `GET /api/contents/<path>` would give the file (never writable)."""
        entry = blob.entry
        if path.endswith(".ipynb"):
            model = models.notebook_model(path, entry, entry.last_modified)
            nb, _ = await off_the_loop(models.parse_notebook, blob.data, path)
            await self.cm.mark_trusted(nb, path)
            model.update(content=nb, format="json")
        else:
            model = models.file_model(path, entry, entry.last_modified)
            text, fmt = models.decode(blob.data, None, path)
            model.update(content=text, format=fmt)
            if model["mimetype"] is None:
                model["mimetype"] = "text/plain" if fmt == "text" else "application/octet-stream"
        model.update(writable=False, version=wanted)
        return model


class DiffHandler(HistoryHandler):
    """`GET diff/<path>?base=<id|current>&remote=<id|current>` (remote defaults to current):
    notebooks as nbdime's diff of `base` (`{"base": nb, "diff": [...]}`, the shape of nbdime's own
    API), other text as a unified diff."""

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        path, files, ol = self.checked(path, "diff the versions of")
        if not path:
            raise HTTPError(400, "The root directory has no versions")
        base_id = self._side("base", None)
        remote_id = self._side("remote", CURRENT)
        history = self.history(files)
        base, remote = await self.read(history, path, ol, base_id), await self.read(history, path, ol, remote_id)
        body = {"path": path, "base_id": base_id, "remote_id": remote_id}
        if path.endswith(".ipynb"):
            base_nb, _ = await off_the_loop(models.parse_notebook, base.data, path)
            remote_nb, _ = await off_the_loop(models.parse_notebook, remote.data, path)
            body.update(type="notebook", base=base_nb, diff=await _notebook_diff(base_nb, remote_nb))
        else:
            diff = text_diff(base.data, remote.data, f"{path}@{base_id}", f"{path}@{remote_id}")
            body.update(type="file", diff=diff)
            if diff is None:
                body["message"] = "Binary content: no line-by-line diff"
        self.reply(body)

    def _side(self, name: str, default: str | None) -> str:
        value = self.get_argument(name, default)
        if value is None:
            raise HTTPError(400, f"Which version to compare? ({name}=<version id> or {name}=current)")
        return value if value == CURRENT else version_id(value)


async def _notebook_diff(base, remote) -> list:
    """nbdime's cell-by-cell diff, in a thread (it is CPU work); nbdime is imported on the first
    diff, not with the server."""
    from nbdime import diff_notebooks

    return await asyncio.to_thread(diff_notebooks, base, remote)


class TrashHandler(HistoryHandler):
    """`GET trash/<folder>`: what was deleted below the folder and OneLake still keeps, newest
    first. `POST trash/<item id>/restore`: back where it was (with its versions), or
    `{"name": ...}` in the same folder when that name is taken (409 says so)."""

    @web.authenticated
    @authorized
    async def post(self, target: str = "") -> None:
        extra, token, action = _rsplit(target, 2)
        if action != "restore" or extra:
            raise HTTPError(404, "POST trash/<item id>/restore")
        try:
            where, deletion_id, versions_id = parse_token(token)
        except ValueError:
            raise HTTPError(400, f"Invalid trash item id {token!r}") from None
        path, files, ol = self.checked(where, "restore")
        if not path:
            raise HTTPError(400, "The root directory cannot be restored")
        name = self.body().get("name")
        target = None
        if name is not None:
            if not isinstance(name, str) or not name or "/" in name:
                raise HTTPError(400, "The new name is a file or folder name, without '/'")
            if is_hidden(name):
                raise HTTPError(400, f"Cannot restore to hidden name {name}")
            new_path, _, target = self.checked(join(split(path)[0], name), "restore to")
            with http_errors(new_path):
                check_new_name(new_path, renamed=True)
            path_after = new_path
        else:
            path_after = path
        trash = Trash(files, self.log)
        with self.errors(path):
            try:
                restored = await trash.restore(ol, deletion_id, versions_id, to=target)
            except NameTaken:
                raise HTTPError(409, f"{path_after} exists: restore it under another name") from None
            except NotFound:
                raise HTTPError(
                    404,
                    f"OneLake keeps no such deletion of {path} (restored already, or past its retention), "
                    "or the folder it was in is gone (restore that first)",
                ) from None
            except Stranded as error:
                aside = join(split(path)[0], split(error.holder)[1])
                raise HTTPError(
                    500, f"Restored as {path_after}, but what held {path} is now at {aside} and could not move back"
                ) from None
        self.reply({"path": join(split(path)[0], split(restored)[1]), "restored_from": path})

    @web.authenticated
    @authorized
    async def get(self, path: str = "") -> None:
        path = api_path(path)
        if not path and self.cm.tree.named:
            # the tree's top holds only its roots: their trash together, one listing each
            listed = await asyncio.gather(*(self._listed(name, quiet=True) for name in self.cm.tree.names))
            found = sorted((i for each in listed for i in each), key=lambda i: recency(i[0]), reverse=True)
        else:
            found = await self._listed(path)
        self.reply({"path": path, "items": [trash_model(*item) for item in found]})

    async def _listed(self, folder: str, *, quiet: bool = False) -> list[tuple[TrashItem, str, str]]:
        """The trash of a folder (each item with the folder's API and OneLake paths); `quiet`:
        a root OneLake refuses is left out."""
        folder, files, ol = self.checked(folder, "list the trash of")
        try:
            with self.errors(folder):
                items = await Trash(files, self.log).list(ol, hidden=self.cm.allow_hidden)
        except HTTPError as error:
            if quiet and error.status_code in (403, 404):
                return []
            raise
        return [(item, folder, ol) for item in items]


def trash_model(item: TrashItem, folder: str, folder_ol: str) -> dict:
    """An item of the trash of `folder` (API path; `folder_ol` its OneLake path)."""
    path = join(folder, item.path[len(folder_ol) + 1 :])
    return {
        "id": item_token(path, item.deletion_id, item.versions_id),
        "name": item.name,
        "path": path,
        "folder": split(path)[0],
        "type": "directory" if item.is_dir else "notebook" if path.endswith(".ipynb") else "file",
        "deleted": item.deleted,
        "size": item.size,
        "remaining_days": item.remaining_days,
        "has_versions": item.versions_id is not None,
    }


class AboutHandler(HistoryHandler):
    """`GET /onelake/api`: the API is here, and how many versions of a file are kept (0: versions
    are another checkpoints class's); the JupyterLab extension asks before it shows its panels.
    No request to OneLake."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        checkpoints = self.cm.checkpoints
        kept = checkpoints.max_checkpoints if isinstance(checkpoints, OneLakeCheckpoints) else 0
        self.reply({"name": "onelake-contents", "version": __version__, "versions_kept": kept})


def _rsplit(target: str, parts: int) -> list[str]:
    """`a/b/id/restore` → ["a/b", "id", "restore"] (missing parts empty)."""
    pieces = target.strip("/").rsplit("/", parts)
    return [""] * (parts + 1 - len(pieces)) + pieces


def handlers() -> list[tuple]:
    """The routes, relative to the server's base URL (GET reads, POST restores)."""
    return [
        (rf"/{PREFIX}/?", AboutHandler),
        (rf"/{PREFIX}/versions/?(.*)", VersionsHandler),
        (rf"/{PREFIX}/diff/?(.*)", DiffHandler),
        (rf"/{PREFIX}/trash/?(.*)", TrashHandler),
    ]

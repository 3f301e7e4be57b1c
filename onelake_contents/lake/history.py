"""A file's version history: its versions newest first, one version's bytes, a text diff, and
restoring a version (in place, undoable, or as a copy). Built on `Versions` (the checkpoints);
shared by the server's history API and the command line. Paths here are OneLake paths.

Who saved a version is not known: OneLake records no writer on a file (its ACL owner is
`$superuser`, see the README's OneLake facts) and a listing carries no metadata, so `writer` is
left out rather than guessed.
"""

from __future__ import annotations

import difflib
import json
from datetime import datetime

from ..paths import split
from ..storage import AlreadyExists, Blob, Changed, Entry, NotFound
from .content import content_type
from .files import IsADirectory, LakeFiles
from .versions import NoSuchVersion, Versions, version_path

CURRENT = "current"  # names the file itself where a version id is expected (diffs)


class History:
    """The versions of the files of one root, as a history panel and the command line use them."""

    def __init__(self, versions: Versions):
        self.versions = versions

    @property
    def files(self) -> LakeFiles:
        return self.versions.files

    async def list(self, path: str) -> list[Entry]:
        """The file's versions, newest first (one listing, none when fresh in the cache)."""
        return list(reversed(await self.versions.list(path)))

    async def read(self, path: str, version_id: str, *, max_bytes: int | None = None) -> Blob:
        """One version's bytes and entry (one GET); `CURRENT`: the file's own. NoSuchVersion,
        TooLarge over `max_bytes`."""
        if version_id == CURRENT:
            blob = await self.files.read_once(path, max_bytes=max_bytes)
            if blob.entry.is_dir:
                raise IsADirectory(f"{path} is a directory")
            return blob
        version = version_path(path, version_id)
        if version is None:
            raise NoSuchVersion(f"no version {version_id!r} of {path}")
        try:
            return await self.files.read_once(version, max_bytes=max_bytes)
        except NotFound:
            raise NoSuchVersion(f"no version {version_id!r} of {path}") from None

    async def restore(
        self, path: str, version_id: str, *, max_bytes: int, overwrite_changes: bool = False
    ) -> tuple[Entry, Entry]:
        """The file's content becomes the version's, after its current content became a version
        (so a restore is undone by restoring that one). Returns (the file's new entry, the version
        that holds what it held). NoSuchVersion, NotFound, IsADirectory, TooLarge over `max_bytes`,
        Changed when the file keeps changing meanwhile (nothing written over what was not kept).

        Requests: one GET of the version and one Put Blob of the file, conditional on the exact
        version kept. After a save in JupyterLab that is all: the save made a version of what the
        file holds and this server holds its bytes. Otherwise the file is read first (a 304 when
        this server holds it) and its content written as a version; and if the file changed since
        this server saw it, it is read and kept again before the write."""
        blob = await self.read(path, version_id, max_bytes=max_bytes)
        seen = None if overwrite_changes else self.files.held_seen(path)
        kept = None if seen is None else await self.versions.newest_holding(path, seen.data)
        if kept is not None:
            try:
                return await self._restore_over(path, blob, seen, overwrite_changes, kept)
            except Changed:
                pass  # changed since this server saw it: keep what it holds now instead
        current = await self.files.read(path, max_bytes=max_bytes)
        return await self._restore_over(path, blob, current, overwrite_changes)

    async def _restore_over(
        self, path: str, blob: Blob, current: Blob, overwrite_changes: bool, kept: Entry | None = None
    ) -> tuple[Entry, Entry]:
        """Keeps `current` as a version (unless `kept` is one that holds it), then writes the
        version's bytes over exactly it."""
        if current.entry.is_dir:
            raise IsADirectory(f"{path} is a directory")
        if kept is None:
            kept = await self.versions.create(path, current.data)
        entry = await self.files.write(
            path,
            blob.data,
            content_type(path),
            overwrite_changes=overwrite_changes,
            if_match=None if overwrite_changes else current.entry.etag,
        )
        return entry, kept

    async def restore_copy(
        self, path: str, version_id: str, name: str | None = None, *, max_bytes: int | None = None
    ) -> Entry:
        """A new file beside this one with the version's content (one GET, one Put Blob that
        never overwrites); named `name`, else after the file and the version's time."""
        blob = await self.read(path, version_id, max_bytes=max_bytes)
        parent, _ = split(path)
        dest = f"{parent}/{name or copy_name(path, blob.entry.last_modified)}"
        try:
            return await self.files.write_new(dest, blob.data, content_type(dest))
        except AlreadyExists:
            raise AlreadyExists(f"{dest} exists", status=409) from None


def copy_name(path: str, when: datetime) -> str:
    """`report (version 2026-12-06 21-05-03).ipynb` for a version of `report.ipynb`."""
    name = split(path)[1]
    stem, dot, suffix = name.rpartition(".")
    if not stem:
        stem, dot, suffix = name, "", ""
    return f"{stem} (version {when:%Y-%m-%d %H-%M-%S}){dot}{suffix}"


def text_diff(base: bytes, remote: bytes, base_label: str, remote_label: str) -> str | None:
    """A unified diff of two texts, line by line; None when either is not UTF-8 text."""
    try:
        before, after = base.decode("utf-8"), remote.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), base_label, remote_label
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def notebook_text(data: bytes) -> bytes:
    """A notebook as plain text, cell by cell (type and source; outputs left out), for a
    terminal diff without the Jupyter stack: `# [3] code` then the cell's source."""
    try:
        cells = json.loads(data).get("cells", [])
    except (ValueError, AttributeError):
        return data
    out = []
    for number, cell in enumerate(cells, 1):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        out.append(f"# [{number}] {cell.get('cell_type', '?')}\n{source.rstrip()}\n")
    return "\n".join(out).encode()


__all__ = ["CURRENT", "History", "NoSuchVersion", "copy_name", "notebook_text", "text_diff"]

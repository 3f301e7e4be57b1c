"""`onelake-contents`: check a user's setup and move files without starting Jupyter.

Same settings as the contents manager (flags > ONELAKE_* > saved config file). Paths are relative
to the configured root, like the Jupyter file browser's. Exit codes: 0 done, 1 the operation failed
(OneLake said no, not found, conflict...), 2 bad usage or settings. The global flags (connection
settings, `--json`, `--metrics-file`) go before or after the verb; `--json` prints one JSON
document on stdout. Nothing prompts unless stdin is a terminal.

Built on the storage layer (`store`, `lake`), never on the Jupyter server stack: a command starts
in a fraction of a second. It follows the contents manager's conventions (versions in
`.ipynb_checkpoints/<name>/`, content hash in the metadata, staged uploads published by rename).
"""

from __future__ import annotations

import argparse
import getpass
import importlib.util
import json
import os
import sys
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import config
from .paths import InvalidPath, RootTree, check_new_name, in_checkpoint_dir, is_hidden, join, normalize_api_path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CONNECTION_FLAGS = config.FLAGS
# what `demo` needs beyond the base install and the emulator extra, by import name
DEMO_MODULES = ("jupyterlab", "adlfs")


class CommandError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


EPILOG = """\
connection settings: each flag above > its ONELAKE_* environment variable > the settings file
(ONELAKE_CONFIG, else ~/.config/onelake-contents/config.json; see `configure`) > the default.
The broker's client token comes from ONELAKE_BROKER_TOKEN or a token file, never from a flag.
Global flags may come before or after the verb.

exit codes: 0 done; 1 the operation failed (OneLake said no: missing, conflict, denied,
unavailable); 2 bad usage or settings, a path outside the root, a missing extra."""


def _global_flags(parser: argparse.ArgumentParser, *, after_verb: bool) -> None:
    """The connection flags, --json and --metrics-file. After the verb they default to SUPPRESS, so
    that a verb's parser does not reset a value given before the verb."""

    def default(value):
        return argparse.SUPPRESS if after_verb else value

    connection = parser.add_argument_group("connection (all optional, see below)")
    for name in CONNECTION_FLAGS:
        connection.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            default=default(None),
            help=f"{config.SETTINGS[name].help} (env {config.SETTINGS[name].env})",
        )
    parser.add_argument("--json", action="store_true", default=default(False), help="machine-readable output")
    parser.add_argument(
        "--metrics-file",
        default=default(None),
        help="write the command's Prometheus metrics (OneLake requests, broker, uploads) to this file "
        "when it ends, for node_exporter's textfile collector",
    )


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _global_flags(common, after_verb=True)
    parser = argparse.ArgumentParser(
        prog="onelake-contents",
        description="Jupyter contents in Microsoft OneLake.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _global_flags(parser, after_verb=False)
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("check", parents=[common], help="check settings, broker, listing, write and delete")
    ls = verbs.add_parser("ls", parents=[common], help="list a folder (or describe a file)")
    ls.add_argument("path", nargs="?", default="")
    ls.add_argument("-l", "--long", action="store_true", help="sizes and times")
    ls.add_argument("-a", "--all", action="store_true", help="show hidden files too (never the checkpoint folders)")
    get = verbs.add_parser("get", parents=[common], help="download a file")
    get.add_argument("remote")
    get.add_argument("local")
    put = verbs.add_parser("put", parents=[common], help="upload a file (atomic; in blocks when large)")
    put.add_argument("local")
    put.add_argument("remote")
    rm = verbs.add_parser("rm", parents=[common], help="delete a file (or a folder with -r)")
    rm.add_argument("path")
    rm.add_argument("-r", "--recursive", action="store_true")
    mv = verbs.add_parser("mv", parents=[common], help="rename or move (fails if the target exists)")
    mv.add_argument("source")
    mv.add_argument("dest")
    checkpoints = verbs.add_parser("checkpoints", parents=[common], help="a file's versions")
    checkpoints.add_argument("action", choices=["list", "create", "restore"])
    checkpoints.add_argument("path")
    checkpoints.add_argument("id", nargs="?")
    versions = verbs.add_parser("versions", parents=[common], help="a file's version history (newest first)")
    versions.add_argument("action", choices=["list", "show", "diff", "restore"])
    versions.add_argument("path")
    versions.add_argument("id", nargs="?", help="a version id (see `versions list`)")
    versions.add_argument("other", nargs="?", default="current", help="diff: the other side (default: current)")
    versions.add_argument("--copy", action="store_true", help="restore: as a new file beside it")
    versions.add_argument("--name", help="restore --copy: the new file's name")
    trash = verbs.add_parser("trash", parents=[common], help="deleted files and folders OneLake still keeps")
    trash.add_argument("action", choices=["list", "restore"])
    trash.add_argument("target", nargs="?", default="", help="list: a folder (default: the root); restore: an id")
    trash.add_argument("--name", help="restore: a new name, when the old one is taken")
    trash.add_argument("-a", "--all", action="store_true", help="list: hidden files too")
    configure = verbs.add_parser("configure", parents=[common], help="save settings to the config file")
    configure.add_argument("--file", help="where (default $ONELAKE_CONFIG or ~/.config/onelake-contents/config.json)")
    # the demo runs its own OneLake: none of the connection flags applies to it
    demo = verbs.add_parser("demo", help="JupyterLab on an embedded local OneLake (until Ctrl-C)")
    demo.add_argument("--data-dir", default=".onelake-demo", help="where the local OneLake keeps its data")
    demo.add_argument("--port", type=int, default=8888, help="JupyterLab's port (default 8888)")
    demo.add_argument("--host", default="127.0.0.1", help="JupyterLab's address (default 127.0.0.1)")
    demo.add_argument("--user", help="the home folder's name (default: the current user)")
    return parser


# ---- output ------------------------------------------------------------------------------------
def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _emit(args, data, text: str) -> None:
    if args.json:
        print(json.dumps(data, default=_iso, indent=None))
    elif text:
        print(text)


class Progress:
    """A one-line progress bar on stderr, only when it is a terminal."""

    def __init__(self, total: int, label: str):
        self.total, self.label, self.done = total, label, 0
        self.enabled = sys.stderr.isatty()

    def advance(self, count: int) -> None:
        self.done += count
        if self.enabled and self.total:
            share = self.done / self.total
            bar = "#" * int(share * 30)
            sys.stderr.write(f"\r{self.label} [{bar:<30}] {share:6.1%}")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


# ---- the storage session -------------------------------------------------------------------------
STATUS = {
    "NotFound": 404,
    "AlreadyExists": 409,
    "Conflict": 409,
    "Changed": 409,
    "Forbidden": 403,
    "TooLarge": 413,
    "BadRequest": 400,
    "Unavailable": 503,
    "Throttled": 503,
}


def _explicit(args) -> dict:
    return {name: getattr(args, name, None) for name in CONNECTION_FLAGS}


def _settings(args) -> config.ResolvedSettings:
    settings = config.resolve(_explicit(args))
    # named roots say where everything is; else the workspace and the root folder do
    places = () if settings.values.get("roots") else ("workspace", "root")
    settings.require(*places, "broker_url")
    return settings


def check_settings_file() -> None:
    """The settings file as a command line user expects it: the one ONELAKE_CONFIG names must
    exist, and every key in it must be a setting (a misspelt key would otherwise go unnoticed)."""
    path = config.config_file_path()
    if os.environ.get("ONELAKE_CONFIG") and not path.is_file():
        raise config.SettingsError(f"ONELAKE_CONFIG names {path}, which does not exist")
    unknown = sorted(set(config.read_config_file(path)) - set(config.SETTINGS))
    if unknown:
        raise config.SettingsError(
            f"settings file {path}: unknown setting {', '.join(unknown)} (known: {', '.join(config.SETTINGS)})"
        )


def workspace_missing(error) -> bool:
    """A 404 about the workspace itself (Azure's codes for a missing container or filesystem)."""
    return error.code in ("ContainerNotFound", "FilesystemNotFound")


def _no_workspace(settings: config.ResolvedSettings) -> CommandError:
    which = f"workspace {settings.workspace}" if settings.workspace else "the workspace of a root"
    return CommandError(f"{which} does not exist (or is not visible to you)", EXIT_FAILED, 404)


@dataclass
class Place:
    """Where a path lives: its root's files layer, versions and uploads, and its OneLake path."""

    files: object
    versions: object
    uploads: object
    ol: str
    root: str


def tree_of(settings: config.ResolvedSettings) -> RootTree:
    """The tree the file browser shows: the `roots` setting's named roots, else the one root."""
    if settings.values.get("roots"):
        try:
            return RootTree.parse(str(settings.roots), os.environ.get("JUPYTERHUB_USER") or getpass.getuser())
        except ValueError as error:
            raise CommandError(f"setting roots ({settings.source('roots')}): {error}", EXIT_USAGE) from None
    settings.require("workspace", "root")
    return RootTree.single(str(settings.workspace), str(settings.root))


class Session:
    """The files layer (store, cache, ledger), versions and uploads of one command, per root of
    the tree, on one connection."""

    def __init__(self, settings: config.ResolvedSettings):
        from .credential import AsyncBrokerCredential
        from .lake.files import LakeFiles
        from .lake.uploads import Uploads
        from .lake.versions import Versions
        from .storage import OneLakeStore

        self.settings = settings
        self.tree = tree_of(settings)
        self.credential = AsyncBrokerCredential.from_settings(settings)
        connection = None
        self._places = {}
        for name, (workspace, mapper) in self.tree.roots.items():
            store = OneLakeStore(
                str(settings.endpoint), workspace, self.credential, ca_file=settings.ca_file, connection=connection
            )
            connection = store.connection
            files = LakeFiles(store, mapper)
            self._places[name] = (files, Versions(files), Uploads(files))
        self._connection = connection

    def at(self, path: str) -> Place:
        """Where an API path lives (InvalidPath for one in no root)."""
        name, _, ol = self.tree.locate(path)
        return Place(*self._places[name], ol, name)

    async def close(self) -> None:
        for files, _, _ in self._places.values():
            await files.close()
        await self._connection.close()
        await self.credential.close()


@asynccontextmanager
async def _session(args, settings: config.ResolvedSettings | None = None):
    session = Session(settings or _settings(args))
    try:
        yield session
    finally:
        await session.close()


def _kind(entry) -> str:
    if entry.is_dir:
        return "directory"
    return "notebook" if entry.name.endswith(".ipynb") else "file"


def _row(path: str, entry) -> dict:
    return {
        "name": entry.name,
        "path": path,
        "type": _kind(entry),
        "size": None if entry.is_dir else entry.size,
        "last_modified": entry.last_modified,
        "created": entry.created,
    }


def _refuse_managed(path: str) -> str:
    path = normalize_api_path(path)
    if in_checkpoint_dir(path):
        raise CommandError(f"{path}: checkpoint folders are managed by the server", EXIT_USAGE, 403)
    return path


def _new_name(path: str, *, renamed: bool) -> str:
    path = _refuse_managed(path)
    check_new_name(path, renamed=renamed)
    return path


# ---- verbs -------------------------------------------------------------------------------------
def _ls(args) -> None:
    """One List Paths through azure-core alone (`PathLister`): no storage SDK, no event loop."""
    from .credential import BrokerCredential
    from .storage import NotFound
    from .storage.listing import PathLister, lists_itself

    path = normalize_api_path(args.path)
    settings = _settings(args)
    tree = tree_of(settings)
    if tree.named and not path:  # the top of the tree: its roots, as the file browser shows them
        rows = [{"name": name, "path": name, "type": "directory", "size": None} for name in tree.names]
        _emit(args, rows, "\n".join(f"{name}/" for name in tree.names))
        return
    _, workspace, ol = tree.locate(path)
    with (
        BrokerCredential.from_settings(settings) as credential,
        PathLister(str(settings.endpoint), workspace, credential, ca_file=settings.ca_file) as lister,
    ):
        try:
            entries = lister.list(ol)
        except NotFound as error:
            if workspace_missing(error):
                raise _no_workspace(settings) from None
            if path:
                raise
            entries = []  # a new user's home is created by the server on first use
    if lists_itself(ol, entries):
        rows = [_row(path, entries[0])]
    else:
        rows = [
            _row(join(path, e.name), e)
            for e in entries
            if not in_checkpoint_dir(e.name) and (args.all or not is_hidden(e.name))
        ]
    rows.sort(key=lambda r: (r["type"] != "directory", r["name"]))
    if args.long:
        text = "\n".join(
            f"{'d' if r['type'] == 'directory' else '-'} {r['size'] if r['size'] is not None else '':>12} "
            f"{r['last_modified']:%Y-%m-%d %H:%M:%S} {r['name']}{'/' if r['type'] == 'directory' else ''}"
            for r in rows
        )
    else:
        text = "\n".join(r["name"] + ("/" if r["type"] == "directory" else "") for r in rows)
    _emit(args, rows, text)


async def _get(args) -> None:
    remote = normalize_api_path(args.remote)
    target = Path(args.local)
    if target.is_dir():
        target = target / remote.rsplit("/", 1)[-1]
    partial = target.with_name(f".{target.name}.part-{uuid.uuid4().hex[:6]}")
    async with _session(args) as session:
        place = session.at(remote)
        entry, chunks = await place.files.stream(place.ol, 0, None)
        if entry.is_dir:
            raise CommandError(f"{remote} is a directory", EXIT_FAILED, 400)
        progress = Progress(entry.size, f"get {remote}")
        try:
            out = open(partial, "wb")
        except OSError as error:
            raise CommandError(f"cannot write {target}: {error.strerror}", EXIT_USAGE) from None
        try:
            with out:
                async for chunk in chunks:
                    out.write(chunk)
                    progress.advance(len(chunk))
            os.replace(partial, target)
        except OSError as error:
            raise CommandError(f"cannot write {target}: {error.strerror}", EXIT_USAGE) from None
        finally:
            partial.unlink(missing_ok=True)
        progress.finish()
    _emit(
        args, {"remote": remote, "local": str(target), "size": entry.size}, f"{remote} -> {target} ({entry.size} bytes)"
    )


async def _put(args) -> None:
    from .lake.content import content_type
    from .lake.uploads import UPLOAD_BLOCK

    source = Path(args.local)
    if not source.is_file():
        raise CommandError(f"{source} is not a file", EXIT_USAGE)
    if not os.access(source, os.R_OK):
        raise CommandError(f"cannot read {source}: permission denied", EXIT_USAGE)
    size = source.stat().st_size
    remote = _new_name(args.remote, renamed=size > UPLOAD_BLOCK)
    if not remote:
        raise CommandError("cannot write over the root folder", EXIT_USAGE, 400)
    progress = Progress(size, f"put {remote}")
    async with _session(args) as session:
        place, kind = session.at(remote), content_type(remote)
        with open(source, "rb") as handle:
            if size <= UPLOAD_BLOCK:
                data = handle.read()
                entry = await place.files.write(place.ol, data, kind)
                progress.advance(len(data))
            else:
                # as JupyterLab's chunked uploads: staged blocks, one commit, one rename over the target
                upload = place.uploads.new(place.ol)
                while data := handle.read(UPLOAD_BLOCK):
                    await place.uploads.stage(upload, data)
                    progress.advance(len(data))
                entry = await place.uploads.publish(upload, kind)
    progress.finish()
    _emit(
        args,
        {"remote": remote, "size": entry.size, "last_modified": entry.last_modified},
        f"{source} -> {remote} ({entry.size} bytes)",
    )


async def _rm(args) -> None:
    from .lake.files import NotADirectory

    path = _refuse_managed(args.path)
    if not path:
        raise CommandError("cannot delete the root folder", EXIT_USAGE, 400)
    async with _session(args) as session:
        place = session.at(path)
        if session.tree.named and path == place.root:
            raise CommandError(f"cannot delete {path}: it is one of the tree's roots", EXIT_USAGE, 403)
        try:
            entries = await place.files.listing(place.ol)
        except NotADirectory:
            await place.versions.remove(place.ol)
        else:
            if entries and not args.recursive:
                raise CommandError(f"{path} is a folder that is not empty; use -r to delete it with its contents")
            await place.files.delete(place.ol, is_dir=True)
    _emit(args, {"deleted": path}, f"deleted {path}")


async def _mv(args) -> None:
    from .lake.files import MissingParent
    from .storage import AlreadyExists, NotFound

    source, dest = _refuse_managed(args.source), _new_name(args.dest, renamed=True)
    if not source or not dest:
        raise CommandError("cannot move the root folder", EXIT_USAGE, 400)
    async with _session(args) as session:
        here, there = session.at(source), session.at(dest)
        if session.tree.named and source == here.root:
            raise CommandError(f"cannot move {source}: it is one of the tree's roots", EXIT_USAGE, 403)
        if here.root != there.root:
            await _mv_between_roots(here, there, source, dest)
        else:
            try:
                await here.versions.move(here.ol, there.ol)
            except AlreadyExists:
                raise CommandError(f"{dest} already exists", EXIT_FAILED, 409) from None
            except MissingParent:
                raise CommandError(f"no such folder: {dest.rpartition('/')[0]}", EXIT_FAILED, 404) from None
            except NotFound:
                raise CommandError(f"no such file or folder: {source}", EXIT_FAILED, 404) from None
    _emit(args, {"source": source, "dest": dest}, f"{source} -> {dest}")


async def _mv_between_roots(here: Place, there: Place, source: str, dest: str) -> None:
    """Another root: OneLake copies (a file with its versions), then the source is deleted."""
    from .lake.moves import NothingMoved, SourceKept, move_between

    entry = await here.files.entry(here.ol)
    if entry is None:
        raise CommandError(f"no such file or folder: {source}", EXIT_FAILED, 404)
    if await there.files.entry(there.ol) is not None:
        raise CommandError(f"{dest} already exists", EXIT_FAILED, 409)
    try:
        await move_between(here.files, here.ol, there.files, there.ol, entry)
    except NothingMoved as error:
        raise CommandError(f"nothing moved: {error.message}", EXIT_FAILED, error.status) from None
    except SourceKept as error:
        raise CommandError(error.message, EXIT_FAILED, 500) from None


async def _checkpoints(args) -> None:
    from .lake.versions import NoSuchVersion

    path = _refuse_managed(args.path)
    if args.action == "restore" and not args.id:
        raise CommandError("restore needs a checkpoint id (see `checkpoints list`)", EXIT_USAGE)
    async with _session(args) as session:
        place = session.at(path)
        ol = place.ol
        if args.action == "list":
            items = [{"id": v.name, "last_modified": v.last_modified} for v in await place.versions.list(ol)]
            if not items and await place.files.entry(ol) is None:
                raise CommandError(f"no such file: {path}", EXIT_FAILED, 404)
            _emit(args, items, "\n".join(f"{c['id']}  {c['last_modified']:%Y-%m-%d %H:%M:%S}" for c in items))
        elif args.action == "create":
            entry = await place.versions.create(ol)
            item = {"id": entry.name, "last_modified": entry.last_modified}
            _emit(args, item, item["id"])
        else:
            try:
                await place.versions.restore(ol, args.id)
            except NoSuchVersion:
                raise CommandError(f"no such checkpoint {args.id} for {path}", EXIT_FAILED, 404) from None
            _emit(args, {"restored": args.id, "path": path}, f"{path} restored to {args.id}")


# the most a version restore holds in memory (the version and the current content)
RESTORE_MAX_BYTES = 1024 * 1024 * 1024


def _version_row(entry) -> dict:
    return {"id": entry.name, "last_modified": entry.last_modified, "size": entry.size}


async def _versions(args) -> None:
    """`versions list|show|diff|restore PATH [ID]` on lake.history, as the server's history API."""
    from .lake.history import CURRENT, History, notebook_text, text_diff
    from .lake.versions import NoSuchVersion

    path = _refuse_managed(args.path)
    if not path:
        raise CommandError("the root folder has no versions", EXIT_USAGE, 400)
    if args.action != "list" and not args.id:
        raise CommandError(f"{args.action} needs a version id (see `versions list`)", EXIT_USAGE)
    if args.name is not None:
        _new_name(join(path.rpartition("/")[0], args.name), renamed=False)
    async with _session(args) as session:
        place = session.at(path)
        ol, history = place.ol, History(place.versions)
        try:
            if args.action == "list":
                rows = [_version_row(v) for v in await history.list(ol)]
                if not rows and await place.files.entry(ol) is None:
                    raise CommandError(f"no such file: {path}", EXIT_FAILED, 404)
                text = "\n".join(f"{r['id']}  {r['last_modified']:%Y-%m-%d %H:%M:%S}  {r['size']:>10}" for r in rows)
                _emit(args, rows, text)
            elif args.action == "show":
                blob = await history.read(ol, args.id)
                if args.json:
                    text = blob.data.decode("utf-8", errors="replace")
                    _emit(args, {**_version_row(blob.entry), "id": args.id, "path": path, "content": text}, "")
                else:
                    sys.stdout.buffer.write(blob.data)
                    sys.stdout.flush()
            elif args.action == "diff":
                base, remote = await history.read(ol, args.id), await history.read(ol, args.other)
                render = notebook_text if path.endswith(".ipynb") else bytes
                diff = text_diff(render(base.data), render(remote.data), f"{path}@{args.id}", f"{path}@{args.other}")
                if diff is None:
                    raise CommandError(f"{path}: binary content, no line-by-line diff", EXIT_FAILED, 400)
                _emit(args, {"path": path, "base": args.id, "remote": args.other, "diff": diff}, diff.rstrip("\n"))
            elif args.copy:
                entry = await history.restore_copy(ol, args.id, args.name)
                copy = join(path.rpartition("/")[0], entry.name)
                _emit(args, {"restored": args.id, "path": copy}, f"{path}@{args.id} -> {copy}")
            else:
                if args.id == CURRENT:
                    raise CommandError("restore needs a version id, not `current`", EXIT_USAGE)
                _, kept = await history.restore(ol, args.id, max_bytes=RESTORE_MAX_BYTES)
                _emit(
                    args,
                    {"restored": args.id, "path": path, "kept": kept.name},
                    f"{path} restored to {args.id} (what it held is version {kept.name})",
                )
        except NoSuchVersion:
            raise CommandError(f"no version {args.id} of {path}", EXIT_FAILED, 404) from None


async def _trash(args) -> None:
    """`trash list [FOLDER]` (newest first) and `trash restore ID [--name NEW]` on lake.trash."""
    from .lake.trash import NameTaken, Trash, item_token, parse_token
    from .storage import NotFound

    if args.action == "list":
        folder = _refuse_managed(args.target)
        async with _session(args) as session:
            place = session.at(folder)
            rows = []
            for item in await Trash(place.files).list(place.ol, hidden=args.all):
                where = join(folder, item.path[len(place.ol) + 1 :])
                rows.append(
                    {
                        "id": item_token(where, item.deletion_id, item.versions_id),
                        "path": where,
                        "type": "directory" if item.is_dir else "notebook" if where.endswith(".ipynb") else "file",
                        "size": item.size,
                        "deleted": item.deleted,
                        "remaining_days": item.remaining_days,
                        "has_versions": item.versions_id is not None,
                    }
                )
        text = "\n".join(
            f"{r['deleted']:%Y-%m-%d %H:%M:%S}  {r['remaining_days'] if r['remaining_days'] is not None else '?':>3}d "
            f"{r['size']:>10}  {r['path']}{'/' if r['type'] == 'directory' else ''}  {r['id']}"
            for r in rows
        )
        _emit(args, rows, text)
        return
    try:
        where, deletion_id, versions_id = parse_token(args.target)
    except ValueError as error:
        raise CommandError(str(error), EXIT_USAGE, 400) from None
    where = _refuse_managed(where)
    if not where or (is_hidden(where) and not args.all):
        raise CommandError(f"not a trash item of yours: {args.target}", EXIT_USAGE, 404)
    target = None
    if args.name:
        if "/" in args.name or is_hidden(args.name):
            raise CommandError("the new name is a plain, visible name (no '/', no leading '.')", EXIT_USAGE, 400)
        target = _new_name(join(where.rpartition("/")[0], args.name), renamed=True)
    async with _session(args) as session:
        place = session.at(where)
        try:
            restored = await Trash(place.files).restore(
                place.ol, deletion_id, versions_id, to=session.at(target).ol if target else None
            )
        except NameTaken:
            raise CommandError(f"{where} exists: restore it with --name NEW", EXIT_FAILED, 409) from None
        except NotFound:
            raise CommandError(
                f"OneLake keeps no such deletion of {where} (restored already, or past its retention)", EXIT_FAILED, 404
            ) from None
    path = join(where.rpartition("/")[0], restored.rpartition("/")[2])
    _emit(args, {"restored": path}, f"restored {path}")


def _configure(args) -> None:
    values = {k: v for k, v in _explicit(args).items() if v}
    path = Path(args.file).expanduser() if args.file else config.config_file_path()
    current = config.read_config_file(path) if path.exists() else {}
    merged = {**current, **values}
    if sys.stdin.isatty() and not args.json:
        for name in ("workspace", "root", "broker_url"):
            if not merged.get(name):
                answer = input(f"{name} ({config.SETTINGS[name].help}): ").strip()
                if answer:
                    merged[name] = answer
    try:
        config.validate(config.ResolvedSettings(merged, {k: f"configure --{k.replace('_', '-')}" for k in merged}))
        written = config.write_config_file(merged, path)
    except config.SettingsError as error:
        raise CommandError(str(error), EXIT_USAGE) from None
    _emit(args, {"file": str(written), "settings": merged}, f"saved {written}")


async def _check(args) -> int:
    """Each step with its time (that step's alone) and, on failure, its cause; later steps are
    skipped after one fails."""
    from .lake import files  # noqa: F401 - loaded before any step is timed
    from .storage import NotFound

    steps: list[dict] = []

    async def step(name: str, action):
        started = time.monotonic()
        try:
            detail = await action()
            steps.append(
                {"step": name, "ok": True, "ms": round((time.monotonic() - started) * 1000, 1), "detail": detail}
            )
            return True
        except Exception as error:  # the command reports every failure as a step
            steps.append(
                {"step": name, "ok": False, "ms": round((time.monotonic() - started) * 1000, 1), "error": str(error)}
            )
            return False

    box: dict = {}
    probe = f".onelake-contents-check-{uuid.uuid4().hex[:8]}.txt"

    async def settings():
        resolved = _settings(args)
        box["session"] = Session(resolved)
        return {name: {"value": shown, "source": source} for name, shown, source in resolved.describe()}

    async def token():
        info = await box["session"].credential.get_token_info(config.STORAGE_SCOPE)
        return {"expires_in_s": int(info.expires_on - time.time())}

    async def listing():
        session = box["session"]
        place = session.at(session.tree.names[0])  # the root, or the first named root
        try:
            entries = await place.files.listing(place.ol)
        except NotFound as error:
            if workspace_missing(error):
                raise _no_workspace(session.settings) from None
            return {"entries": 0, "note": "the root folder does not exist yet (the server creates it on first use)"}
        return {"entries": len(entries)}

    async def write():
        session = box["session"]
        place = session.at(join(session.tree.names[0], probe))
        entry = await place.files.write_new(place.ol, b"onelake-contents check\n", "text/plain")
        return {"path": probe, "size": entry.size}

    async def delete():
        session = box["session"]
        place = session.at(join(session.tree.names[0], probe))
        await place.files.delete(place.ol, is_dir=False)
        return {"path": probe}

    try:
        for name, action in (
            ("settings", settings),
            ("broker token", token),
            ("list root", listing),
            ("write probe", write),
            ("delete probe", delete),
        ):
            if not await step(name, action):
                break
    finally:
        if "session" in box:
            await box["session"].close()
    ok = len(steps) == 5 and all(s["ok"] for s in steps)
    if args.json:
        print(json.dumps({"ok": ok, "steps": steps}, default=_iso))
    else:
        for s in steps:
            mark = "ok  " if s["ok"] else "FAIL"
            print(f"[{mark}] {s['step']:<13} {s['ms']:>8.1f} ms  {s.get('error') or ''}")
            if s["step"] == "settings" and s["ok"]:
                for name, shown in s["detail"].items():
                    print(f"         {name:<18} {shown['value'] or '-':<50} ({shown['source']})")
    return EXIT_OK if ok else EXIT_FAILED


def _demo(args) -> int:
    from .emulator import missing_modules

    if missing_modules() or any(importlib.util.find_spec(name) is None for name in DEMO_MODULES):
        raise CommandError('the demo needs the demo extra: pip install "onelake-contents[demo]"', EXIT_USAGE)
    given = [f"--{name.replace('_', '-')}" for name in CONNECTION_FLAGS if getattr(args, name, None)]
    if given:
        raise CommandError(f"the demo runs its own local OneLake and does not use {', '.join(given)}", EXIT_USAGE)
    from .demo import DemoError, run

    try:
        return run(args.data_dir, port=args.port, user=args.user, host=args.host)
    except DemoError as error:
        raise CommandError(str(error), EXIT_USAGE) from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from . import metrics

    metrics.set_enabled(bool(getattr(args, "metrics_file", None)))  # nothing to count for otherwise
    try:
        return _run(args)
    finally:
        if getattr(args, "metrics_file", None):
            metrics.write_file(args.metrics_file)


def _run(args) -> int:
    try:
        if args.verb == "demo":
            return _demo(args)
        if args.verb == "configure":
            _configure(args)
            return EXIT_OK
        check_settings_file()
        if args.verb == "ls":
            _ls(args)
            return EXIT_OK
        import asyncio  # not for `ls`, which starts without the event loop's modules

        if args.verb == "check":
            return asyncio.run(_check(args))
        action = {
            "get": _get,
            "put": _put,
            "rm": _rm,
            "mv": _mv,
            "checkpoints": _checkpoints,
            "versions": _versions,
            "trash": _trash,
        }[args.verb]
        asyncio.run(action(args))
        return EXIT_OK
    except CommandError as error:
        return _fail(args, str(error), error.code, error.status)
    except InvalidPath as error:
        return _fail(args, error.message, EXIT_USAGE, error.status)
    except config.SettingsError as error:
        return _fail(args, str(error), EXIT_USAGE)
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        from .storage import NotFound, StoreError

        if not isinstance(error, StoreError):
            raise
        message = error.message
        if isinstance(error, NotFound) and workspace_missing(error):
            message = str(_no_workspace(config.resolve(_explicit(args))))
        return _fail(args, message, EXIT_FAILED, STATUS.get(type(error).__name__, error.status))


def _fail(args, message: str, code: int, status: int | None = None) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"error": message, "status": status}))
    else:
        print(f"onelake-contents {args.verb}: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())

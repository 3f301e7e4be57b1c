"""The emulator's namespace: workspaces, items, directories and files, with OneLake's rules.

Everything here is synchronous and runs on the emulator's event loop, so each operation is atomic
with respect to the others (no await inside an operation). With a data directory, every committed
change is written to SQLite in one transaction before the operation returns, so a crash leaves the
previous or the new state, never a torn one. Uncommitted appends and blocks are kept in memory
only, as they are worthless after a restart anyway.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

MAX_PUT_BLOB_BYTES = 5000 * 1024 * 1024
MAX_BLOCK_BYTES = 4000 * 1024 * 1024
MANAGED_FIRST_LEVEL = ("Files", "Tables")
_METADATA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The 1601-01-01 epoch of Windows file times, in seconds before the Unix epoch.
_FILETIME_EPOCH_OFFSET = 11644473600
# OneLake's soft delete: on in every workspace, 7 days unless the workspace sets 1 to 365.
DEFAULT_RETENTION_DAYS = 7
DAY = 86400.0


class StorageError(Exception):
    """An error answer: HTTP status, Azure error code and message."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def not_found(api: str) -> StorageError:
    if api == "dfs":
        return StorageError(404, "PathNotFound", "The specified path does not exist.")
    return StorageError(404, "BlobNotFound", "The specified blob does not exist.")


def condition_not_met() -> StorageError:
    return StorageError(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")


def path_conflict() -> StorageError:
    return StorageError(
        409,
        "PathConflict",
        "The specified path, or an element of the path, exists and its resource type is invalid for this operation.",
    )


def managed_folder(path: str) -> StorageError:
    # OneLake documents that these folders are protected; it does not document the error code.
    return StorageError(
        403,
        "OperationNotAllowedOnManagedFolder",
        f"'{path}' is a workspace, item or managed folder of OneLake; it cannot be created, deleted "
        "or renamed through the storage APIs.",
    )


def filetime(epoch_seconds: float) -> str:
    """Windows file time (100 ns ticks since 1601), as List Paths reports `creationTime`."""
    return str(int((epoch_seconds + _FILETIME_EPOCH_OFFSET) * 10_000_000))


def parent_of(path: str) -> str:
    return path.rpartition("/")[0]


def sort_key(path: str) -> tuple[str, ...]:
    """Depth-first order (a directory, then its children, then its next sibling)."""
    return tuple(path.split("/"))


@dataclass
class Node:
    is_dir: bool
    etag: str
    created: float
    modified: float
    data: bytes = b""
    metadata: dict[str, str] = field(default_factory=dict)
    content_settings: dict[str, str] = field(default_factory=dict)
    content_md5: bytes | None = None
    # Azure refuses Put Block List over a file written through the DFS API (create/append/flush).
    dfs_created: bool = False
    committed_blocks: list[tuple[str, int]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Pending:
    """Uncommitted data of one path: DFS appends by position, Blob blocks by id."""

    appends: dict[int, bytes] = field(default_factory=dict)
    blocks: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Deletion:
    """One soft-deleted path: the path itself and, for a directory, everything that was below it.

    Azure (hierarchical namespace): only the deleted path is listed and can be restored; its
    contents come back with it. Each deletion has its own id, so deleting a path, making it
    again and deleting it again keeps two deletions apart."""

    id: str
    path: str
    deleted: float  # on the namespace's soft-delete clock (`Namespace.now`)
    expires: float
    nodes: dict[str, Node]

    @property
    def root(self) -> Node:
        return self.nodes[self.path]

    def remaining_days(self, now: float) -> int:
        return max(math.ceil((self.expires - now) / DAY), 0)


@dataclass
class Workspace:
    name: str
    etag: str
    created: float
    nodes: dict[str, Node] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)
    pending: dict[str, Pending] = field(default_factory=dict)
    deleted: dict[str, Deletion] = field(default_factory=dict)  # by deletion id
    retention_days: int | None = DEFAULT_RETENTION_DAYS  # None: soft delete turned off


class EtagClock:
    """Unique, increasing ETags in Azure's `0x8D...` shape."""

    def __init__(self, last: int = 0):
        self._last = last
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns() // 100)
            return f"0x8D{self._last:014X}"

    @property
    def last(self) -> int:
        return self._last


class Conditions:
    """The conditional headers of one request, evaluated against the current node."""

    def __init__(self, headers, prefix: str = ""):
        """`prefix` is `x-ms-source-` for the source conditions of a rename (headers are case-blind)."""
        self.if_match = headers.get(f"{prefix}If-Match")
        self.if_none_match = headers.get(f"{prefix}If-None-Match")
        self.if_modified_since = _parse_http_date(headers.get(f"{prefix}If-Modified-Since"))
        self.if_unmodified_since = _parse_http_date(headers.get(f"{prefix}If-Unmodified-Since"))

    @property
    def any(self) -> bool:
        return any(
            v is not None for v in (self.if_match, self.if_none_match, self.if_modified_since, self.if_unmodified_since)
        )

    def check_write(self, node: Node | None, exists_error: StorageError, failed: StorageError | None = None):
        """Writes: a failed condition is 412; `If-None-Match: *` on an existing path is a 409."""
        failed = failed or condition_not_met()
        if self.if_match is not None:
            if node is None:
                raise failed
            if self.if_match.strip() != "*" and not _etag_in(node.etag, self.if_match):
                raise failed
        if self.if_none_match is not None and node is not None:
            if self.if_none_match.strip() == "*":
                raise exists_error
            if _etag_in(node.etag, self.if_none_match):
                raise failed
        if node is not None:
            if self.if_modified_since is not None and int(node.modified) <= self.if_modified_since:
                raise failed
            if self.if_unmodified_since is not None and int(node.modified) > self.if_unmodified_since:
                raise failed

    def check_read(self, node: Node) -> bool:
        """Reads: returns False when the answer is 304 Not Modified; raises 412 on a failed If-Match."""
        if self.if_match is not None and self.if_match.strip() != "*" and not _etag_in(node.etag, self.if_match):
            raise condition_not_met()
        if self.if_unmodified_since is not None and int(node.modified) > self.if_unmodified_since:
            raise condition_not_met()
        if self.if_none_match is not None:
            if self.if_none_match.strip() == "*" or _etag_in(node.etag, self.if_none_match):
                return False
        if self.if_modified_since is not None and int(node.modified) <= self.if_modified_since:
            return False
        return True


def _etag_in(etag: str, header: str) -> bool:
    wanted = {v.strip().removeprefix("W/").strip('"') for v in header.split(",")}
    return etag in wanted


def _parse_http_date(value: str | None) -> int | None:
    if not value:
        return None
    from email.utils import parsedate_to_datetime

    try:
        return int(parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError):
        raise StorageError(400, "InvalidHeaderValue", f"The value '{value}' is not a valid HTTP date.") from None


def parse_properties(header: str | None) -> dict[str, str]:
    """DFS `x-ms-properties`: `name=base64value,name2=base64value2`."""
    result: dict[str, str] = {}
    if not header:
        return result
    for pair in header.split(","):
        name, sep, value = pair.strip().partition("=")
        if not sep or not _METADATA_NAME.match(name):
            raise StorageError(400, "InvalidPropertyName", f"The property '{pair}' is not valid.")
        try:
            result[name] = base64.b64decode(value, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise StorageError(400, "InvalidHeaderValue", f"The value of property '{name}' is not base64.") from None
    return result


def format_properties(metadata: dict[str, str]) -> str:
    return ",".join(f"{k}={base64.b64encode(v.encode()).decode()}" for k, v in metadata.items())


def check_metadata(metadata: dict[str, str]) -> None:
    for name, value in metadata.items():
        if not _METADATA_NAME.match(name):
            raise StorageError(400, "InvalidMetadata", f"The metadata name '{name}' is not a valid identifier.")
        if not value.isascii():
            raise StorageError(400, "InvalidMetadata", f"The metadata value of '{name}' is not ASCII.")


_NODE_COLUMNS = (
    "ws TEXT, path TEXT, is_dir INTEGER, etag TEXT, created REAL, modified REAL, data BLOB, metadata TEXT, "
    "content_settings TEXT, content_md5 BLOB, dfs_created INTEGER, blocks TEXT"
)
_NODE_FIELDS = (
    "ws, path, is_dir, etag, created, modified, data, metadata, content_settings, content_md5, dfs_created, blocks"
)


def _node_row(ws: str, path: str, n: Node) -> tuple:
    return (
        ws,
        path,
        int(n.is_dir),
        n.etag,
        n.created,
        n.modified,
        n.data,
        json.dumps(n.metadata),
        json.dumps(n.content_settings),
        n.content_md5,
        int(n.dfs_created),
        json.dumps(n.committed_blocks),
    )


def _node_from_row(row) -> Node:
    is_dir, etag, created, modified, data, md, cs, md5, dfs, blocks = row
    return Node(
        bool(is_dir),
        etag,
        created,
        modified,
        bytes(data or b""),
        json.loads(md),
        json.loads(cs),
        bytes(md5) if md5 is not None else None,
        bool(dfs),
        [tuple(b) for b in json.loads(blocks)],
    )


class Namespace:
    """All workspaces of one emulator, with OneLake's managed-folder rules."""

    def __init__(self, data_dir: str | os.PathLike | None = None):
        self.workspaces: dict[str, Workspace] = {}
        self.clock = EtagClock()
        # seconds added to the wall clock for soft delete (tests move time on to expire deletions)
        self.clock_shift = 0.0
        self._last_deletion = 0
        self._db: sqlite3.Connection | None = None
        if data_dir is not None:
            self._open_db(Path(data_dir))

    # ---- persistence -------------------------------------------------------------------------
    def _open_db(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(data_dir / "onelake.sqlite3", check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(
            f"""
            CREATE TABLE IF NOT EXISTS workspaces (name TEXT PRIMARY KEY, etag TEXT, created REAL);
            CREATE TABLE IF NOT EXISTS nodes ({_NODE_COLUMNS}, PRIMARY KEY (ws, path));
            CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE IF NOT EXISTS deletions (
                ws TEXT, id TEXT, path TEXT, deleted REAL, expires REAL, PRIMARY KEY (ws, id));
            CREATE TABLE IF NOT EXISTS deleted_nodes ({_NODE_COLUMNS}, id TEXT, PRIMARY KEY (ws, id, path));
            """
        )
        self._db = db
        last = 0
        for name, etag, created in db.execute("SELECT name, etag, created FROM workspaces"):
            self.workspaces[name] = Workspace(name, etag, created)
            days = self.setting(f"retention:{name}")
            if days is not None:
                self.workspaces[name].retention_days = None if days == "off" else int(days)
        for ws, path, *row in db.execute(f"SELECT {_NODE_FIELDS} FROM nodes"):
            node = _node_from_row(row)
            w = self.workspaces[ws]
            w.nodes[path] = node
            w.children.setdefault(parent_of(path), set()).add(path)
            last = max(last, int(node.etag[4:], 16))
        for ws, deletion_id, path, deleted, expires in db.execute(
            "SELECT ws, id, path, deleted, expires FROM deletions"
        ):
            self.workspaces[ws].deleted[deletion_id] = Deletion(deletion_id, path, deleted, expires, {})
        for ws, path, *row, deletion_id in db.execute(f"SELECT {_NODE_FIELDS}, id FROM deleted_nodes"):
            self.workspaces[ws].deleted[deletion_id].nodes[path] = _node_from_row(row)
        self.clock = EtagClock(last)

    def setting(self, key: str) -> str | None:
        if self._db is None:
            return None
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def save_setting(self, key: str, value: str) -> None:
        if self._db is not None:
            self._db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))

    def _persist(
        self,
        ws: Workspace,
        changed: list[str],
        removed: list[str] = (),
        *,
        deleted: Deletion | None = None,
        restored: Deletion | None = None,
        purged: list[Deletion] = (),
    ) -> None:
        """One transaction: nodes changed and removed, a deletion kept, restored or purged."""
        if self._db is None:
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for path in removed:
                db.execute("DELETE FROM nodes WHERE ws = ? AND path = ?", (ws.name, path))
            for path in changed:
                db.execute(
                    "INSERT OR REPLACE INTO nodes VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    _node_row(ws.name, path, ws.nodes[path]),
                )
            for gone in [*purged, *([restored] if restored else [])]:
                db.execute("DELETE FROM deletions WHERE ws = ? AND id = ?", (ws.name, gone.id))
                db.execute("DELETE FROM deleted_nodes WHERE ws = ? AND id = ?", (ws.name, gone.id))
            if deleted is not None:
                db.execute(
                    "INSERT INTO deletions VALUES (?,?,?,?,?)",
                    (ws.name, deleted.id, deleted.path, deleted.deleted, deleted.expires),
                )
                for path, node in deleted.nodes.items():
                    db.execute(
                        "INSERT INTO deleted_nodes VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (*_node_row(ws.name, path, node), deleted.id),
                    )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # ---- setup -------------------------------------------------------------------------------
    def add_workspace(self, name: str) -> Workspace:
        ws = self.workspaces.get(name)
        if ws is None:
            ws = Workspace(name, self.clock.next(), time.time())
            self.workspaces[name] = ws
            if self._db is not None:
                self._db.execute("INSERT OR REPLACE INTO workspaces VALUES (?,?,?)", (name, ws.etag, ws.created))
        return ws

    def add_item(self, workspace: str, item: str) -> None:
        """An item (e.g. `Demo.Lakehouse`) with its managed `Files` and `Tables` folders."""
        ws = self.add_workspace(workspace)
        changed = []
        for path in (item, *(f"{item}/{sub}" for sub in MANAGED_FIRST_LEVEL)):
            if path not in ws.nodes:
                self._put(ws, path, self._new_node(True))
                changed.append(path)
        self._persist(ws, changed)

    # ---- lookups -----------------------------------------------------------------------------
    def workspace(self, name: str, api: str) -> Workspace:
        ws = self.workspaces.get(name)
        if ws is None:
            if api == "dfs":
                raise StorageError(404, "FilesystemNotFound", "The specified filesystem does not exist.")
            raise StorageError(404, "ContainerNotFound", "The specified container does not exist.")
        return ws

    @staticmethod
    def get(ws: Workspace, path: str) -> Node | None:
        return ws.nodes.get(path)

    @staticmethod
    def children(ws: Workspace, path: str) -> list[str]:
        return sorted(ws.children.get(path, ()), key=sort_key)

    def descendants(self, ws: Workspace, path: str) -> list[str]:
        """Every path below `path`, depth-first."""
        out: list[str] = []
        stack = [path]
        while stack:
            for child in ws.children.get(stack.pop(), ()):
                out.append(child)
                if ws.nodes[child].is_dir:
                    stack.append(child)
        out.sort(key=sort_key)
        return out

    # ---- rules -------------------------------------------------------------------------------
    @staticmethod
    def is_managed(path: str) -> bool:
        """The item folder and its first level are Fabric's, not the API's (depth 1 and 2)."""
        return path.count("/") <= 1

    def check_writable(self, ws: Workspace, path: str) -> None:
        """A path may be created or changed only inside an existing item's `Files`/`Tables`."""
        if self.is_managed(path):
            raise managed_folder(path)
        item, first = path.split("/")[:2]
        if item not in ws.nodes:
            raise StorageError(404, "PathNotFound", f"The item '{item}' does not exist in this workspace.")
        if first not in MANAGED_FIRST_LEVEL:
            raise managed_folder(f"{item}/{first}")

    # ---- mutations ---------------------------------------------------------------------------
    def _new_node(self, is_dir: bool, **kwargs) -> Node:
        now = time.time()
        return Node(is_dir=is_dir, etag=self.clock.next(), created=now, modified=now, **kwargs)

    @staticmethod
    def _put(ws: Workspace, path: str, node: Node) -> None:
        ws.nodes[path] = node
        ws.children.setdefault(parent_of(path), set()).add(path)

    @staticmethod
    def _drop(ws: Workspace, path: str) -> None:
        del ws.nodes[path]
        siblings = ws.children.get(parent_of(path))
        if siblings is not None:
            siblings.discard(path)
            if not siblings:
                del ws.children[parent_of(path)]
        ws.children.pop(path, None)
        ws.pending.pop(path, None)

    def _make_parents(self, ws: Workspace, path: str) -> list[str]:
        """HNS creates missing parent directories of a new path; a file in the way is a conflict."""
        created = []
        parts = path.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            node = ws.nodes.get(parent)
            if node is None:
                self._put(ws, parent, self._new_node(True))
                created.append(parent)
            elif not node.is_dir:
                raise path_conflict()
        return created

    def write_file(
        self,
        ws: Workspace,
        path: str,
        data: bytes,
        *,
        metadata: dict[str, str] | None = None,
        content_settings: dict[str, str] | None = None,
        content_md5: bytes | None = None,
        dfs_created: bool = False,
        committed_blocks: list[tuple[str, int]] | None = None,
        keep_metadata: bool = False,
    ) -> Node:
        """Replace (or create) a file's whole content in one step."""
        self.check_writable(ws, path)
        old = ws.nodes.get(path)
        if old is not None and old.is_dir:
            raise path_conflict()
        created = self._make_parents(ws, path)
        node = self._new_node(
            False,
            data=data,
            metadata=dict(old.metadata) if keep_metadata and old else dict(metadata or {}),
            content_settings=dict(content_settings or {}),
            content_md5=content_md5,
            dfs_created=dfs_created,
            committed_blocks=list(committed_blocks or []),
        )
        if old is not None:
            node.created = old.created
        self._put(ws, path, node)
        self._persist(ws, [*created, path])
        return node

    def make_directory(self, ws: Workspace, path: str, metadata: dict[str, str]) -> Node:
        self.check_writable(ws, path)
        old = ws.nodes.get(path)
        if old is not None and not old.is_dir:
            raise path_conflict()
        created = self._make_parents(ws, path)
        node = self._new_node(True, metadata=dict(metadata))
        if old is not None:
            node.created = old.created
        self._put(ws, path, node)
        self._persist(ws, [*created, path])
        return node

    def touch(self, ws: Workspace, path: str, **changes) -> Node:
        """Change a node's properties (metadata, content settings): new ETag and Last-Modified."""
        node = ws.nodes[path]
        for key, value in changes.items():
            setattr(node, key, value)
        node.etag = self.clock.next()
        node.modified = time.time()
        self._persist(ws, [path])
        return node

    def delete(self, ws: Workspace, path: str, recursive: bool) -> Deletion | None:
        """Soft delete (on in every workspace unless turned off): the path, and everything below a
        directory, leave the namespace and are kept as one deletion until the workspace's
        retention ends (None: soft delete is off, nothing is kept)."""
        if self.is_managed(path):
            raise managed_folder(path)
        node = ws.nodes[path]
        if node.is_dir and ws.children.get(path) and not recursive:
            raise StorageError(
                409,
                "DirectoryNotEmpty",
                "The recursive query parameter value must be true to delete a non-empty directory.",
            )
        removed = self.descendants(ws, path) if node.is_dir else []
        deletion = self._new_deletion(ws, path, {p: ws.nodes[p] for p in [path, *removed]})
        for p in reversed(removed):
            self._drop(ws, p)
        self._drop(ws, path)
        self._persist(ws, [], [path, *removed], deleted=deletion)
        return deletion

    # ---- soft delete -------------------------------------------------------------------------
    def now(self) -> float:
        """The soft-delete clock: the wall clock plus what tests moved it on by."""
        return time.time() + self.clock_shift

    def _new_deletion(self, ws: Workspace, path: str, nodes: dict[str, Node]) -> Deletion | None:
        """The deletion kept of `nodes`; None when the workspace has soft delete turned off."""
        if ws.retention_days is None:
            return None
        now = self.now()
        # Azure's deletion ids are Windows file times of the deletion; ours are unique too
        self._last_deletion = max(self._last_deletion + 1, int(filetime(now)))
        deletion = Deletion(str(self._last_deletion), path, now, now + ws.retention_days * DAY, nodes)
        ws.deleted[deletion.id] = deletion
        return deletion

    def deletions(self, ws: Workspace) -> list[Deletion]:
        """The deletions still kept (those past their retention are purged first), by path, oldest first."""
        self._purge(ws)
        return sorted(ws.deleted.values(), key=lambda d: (sort_key(d.path), d.deleted, int(d.id)))

    def _purge(self, ws: Workspace) -> None:
        now = self.now()
        gone = [d for d in ws.deleted.values() if d.expires <= now]
        for deletion in gone:
            del ws.deleted[deletion.id]
        if gone:
            self._persist(ws, [], purged=gone)

    def set_retention(self, ws: Workspace, days: int | None) -> None:
        """The workspace's soft-delete retention (Fabric: 1 to 365 days, or None: soft delete
        off, deletions are final). As in Fabric, a new retention applies to what is deleted from
        now on; earlier deletions keep theirs."""
        if days is not None and not 1 <= days <= 365:
            raise ValueError(f"retention must be 1 to 365 days, not {days}")
        ws.retention_days = days
        self.save_setting(f"retention:{ws.name}", "off" if days is None else str(days))

    def undelete(self, ws: Workspace, path: str, deletion_id: str | None) -> Node:
        """Undelete Blob: the deletion `deletion_id` of `path` (none given: its newest) comes back
        where it was, a directory with its contents. Azure: a path that is taken cannot be
        restored onto, and a deleted path whose parent is gone cannot be restored; undeleting a
        path that exists and has no deletion to restore has no effect."""
        self.check_writable(ws, path)
        self._purge(ws)
        kept = [d for d in ws.deleted.values() if d.path == path and deletion_id in (None, d.id)]
        if not kept:
            if deletion_id is None and path in ws.nodes:
                return ws.nodes[path]
            raise not_found("blob")
        deletion = max(kept, key=lambda d: (d.deleted, int(d.id)))
        if path in ws.nodes:
            raise StorageError(409, "PathAlreadyExists", "The specified path already exists.")
        parent = ws.nodes.get(parent_of(path))
        if parent is None or not parent.is_dir:
            raise StorageError(404, "ParentNotFound", "The parent directory of the deleted path does not exist.")
        for p in sorted(deletion.nodes, key=sort_key):
            self._put(ws, p, deletion.nodes[p])
        del ws.deleted[deletion.id]
        self._persist(ws, list(deletion.nodes), restored=deletion)
        return deletion.root

    def rename(self, ws: Workspace, source: str, dest: str) -> Node:
        """Move a file or a whole directory in one step; the destination is replaced if allowed."""
        if self.is_managed(source):
            raise managed_folder(source)
        self.check_writable(ws, dest)
        node = ws.nodes[source]
        if source == dest:
            return node
        if dest.startswith(source + "/"):
            raise StorageError(400, "InvalidDestinationPath", "The destination path is inside the source directory.")
        parent = ws.nodes.get(parent_of(dest))
        if parent is None:
            raise StorageError(
                404,
                "RenameDestinationParentPathNotFound",
                "The parent directory of the destination path does not exist.",
            )
        if not parent.is_dir:
            raise path_conflict()
        removed: list[str] = []
        replaced = None
        existing = ws.nodes.get(dest)
        if existing is not None:
            if existing.is_dir != node.is_dir:
                raise path_conflict()
            if existing.is_dir and ws.children.get(dest):
                raise StorageError(409, "DirectoryNotEmpty", "The destination directory is not empty.")
            # Azure: a rename onto an existing file or empty directory soft-deletes it
            replaced = self._new_deletion(ws, dest, {dest: existing})
            self._drop(ws, dest)
            removed.append(dest)
        moved = self.descendants(ws, source) if node.is_dir else []
        nodes = {p: ws.nodes[p] for p in [source, *moved]}
        for p in reversed(moved):
            self._drop(ws, p)
        self._drop(ws, source)
        changed = []
        for old_path, n in nodes.items():
            new_path = dest + old_path[len(source) :]
            self._put(ws, new_path, n)
            changed.append(new_path)
        # A rename is a change of the moved path: it gets a new ETag (contents and times stay).
        node.etag = self.clock.next()
        self._persist(ws, changed, [*removed, source, *moved], deleted=replaced)
        return node


def md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()

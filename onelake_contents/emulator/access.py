"""Who may touch what: workspace roles and OneLake security data access roles, as the emulator has them.

OneLake security (Microsoft Learn, "OneLake security overview" and "data access roles"): members of
the workspace roles Admin, Member and Contributor are not bound by data access roles and may do
everything; a Viewer sees and touches only what their roles grant, folder by folder, read or
read-write. A denied request is 403 `AuthorizationPermissionMismatch`, and a listing leaves out what
the caller may not read (the folders above a granted one stay visible, so they can be walked to).

The emulator has one fixed set of roles, the one a Jupyter deployment needs: every user (a Viewer)
reads and writes `<item>/Files/home/<name>` and reads `<item>/Files/shared`, in every item; the
workspace admin (the broker's top-level client token) is a Member. Principals are known by the `oid`
of their token, as OneLake knows them by their Entra object id.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from .state import StorageError

Filter = Callable[[str], bool]  # which names of a listing the caller may see

ADMIN_NAME = "emulator-user"  # the subject of the workspace admin's tokens
UPN_DOMAIN = "onelake-emulator.local"
HOME_FOLDER = "Files/home"
SHARED_FOLDER = "Files/shared"

# What only looks: everything else on a path changes it. Listings are filtered, not refused.
READ_OPERATIONS = frozenset(
    {"GetBlob", "GetBlobProperties", "GetBlobMetadata", "GetBlockList", "GetPathStatus", "ListPaths", "ListBlobs"}
)
WORKSPACE_OPERATIONS = frozenset({"GetFilesystemProperties", "GetContainerProperties", "GetServiceProperties"})


def object_id(name: str) -> str:
    """The stable `oid` of a principal (an Entra object id is a GUID that never changes)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"onelake-emulator:{name}"))


@dataclass(frozen=True)
class Principal:
    name: str
    admin: bool  # workspace Admin/Member/Contributor: data access roles do not apply

    @property
    def oid(self) -> str:
        return object_id(self.name)

    @property
    def upn(self) -> str:
        return f"{self.name}@{UPN_DOMAIN}"

    def claims(self) -> dict[str, str]:
        return {"sub": self.oid, "oid": self.oid, "upn": self.upn, "name": self.name}


def denied(reason: str = "") -> StorageError:
    message = "This request is not authorized to perform this operation using this permission."
    return StorageError(403, "AuthorizationPermissionMismatch", f"{message} {reason}".strip())


class AccessPolicy:
    """The principals of the emulated tenant and what each may read and write."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        admin = Principal(ADMIN_NAME, admin=True)
        self._by_oid: dict[str, Principal] = {admin.oid: admin}

    @property
    def admin(self) -> Principal:
        return self._by_oid[object_id(ADMIN_NAME)]

    def add_user(self, name: str) -> Principal:
        """A Viewer with the `home` (read-write) and `shared` (read) roles; idempotent."""
        if not name or "/" in name or name in (".", "..") or name == ADMIN_NAME:
            raise ValueError(f"not a usable user name: {name!r}")
        with self._lock:
            principal = self._by_oid.setdefault(object_id(name), Principal(name, admin=False))
        return principal

    def users(self) -> list[Principal]:
        return sorted((p for p in self._by_oid.values() if not p.admin), key=lambda p: p.name)

    def principal(self, claims: dict) -> Principal:
        found = self._by_oid.get(str(claims.get("oid")))
        if found is None:
            raise denied("The caller is not a member of this workspace.")
        return found

    def authorize(self, principal: Principal, operation: str, path: str, source: str | None = None) -> Filter | None:
        """None when `principal` may do `operation` on `path` (a rename also writes its `source`),
        else raise 403; for a listing, the filter its entries pass through (None: no filter)."""
        if principal.admin or operation in WORKSPACE_OPERATIONS:
            return None
        rules = _Rules(principal.name)
        if operation in ("ListPaths", "ListBlobs"):
            if path and not (rules.readable(path) or rules.above_granted(path)):
                raise denied()
            return rules.listed
        if operation in READ_OPERATIONS:
            if not (rules.readable(path) or rules.above_granted(path)):
                raise denied()
            return None
        for target in (path, source):
            if target is not None and not rules.writable(target):
                raise denied()
        return None

    def reader(self, principal: Principal) -> Filter | None:
        """What `principal` may read (None: everything). Soft-deleted paths are listed only to
        those who may read them: the folders above a granted one do not count."""
        return None if principal.admin else _Rules(principal.name).readable


class _Rules:
    """The two roles of one Viewer, on workspace-relative paths (`<item>/Files/...`)."""

    def __init__(self, name: str):
        self.home = f"{HOME_FOLDER}/{name}"

    @staticmethod
    def _inside(path: str, folder: str) -> bool:
        item, _, rest = path.partition("/")
        return bool(item) and (rest == folder or rest.startswith(folder + "/"))

    def writable(self, path: str) -> bool:
        return self._inside(path, self.home)

    def readable(self, path: str) -> bool:
        return self.writable(path) or self._inside(path, SHARED_FOLDER)

    def above_granted(self, path: str) -> bool:
        """A folder on the way to a granted one: the item, `Files`, `Files/home`."""
        item, _, rest = path.strip("/").partition("/")
        return bool(item) and (
            rest == "" or any(g == rest or g.startswith(rest + "/") for g in (self.home, SHARED_FOLDER))
        )

    def listed(self, name: str) -> bool:
        name = name.rstrip("/")
        return self.readable(name) or self.above_granted(name)

"""Jupyter API paths and OneLake paths.

An API path is `/`-separated, relative to the Jupyter root, never URL-escaped; leading and trailing
slashes are dropped (so `/a/b/` is `a/b`). Its OneLake path is `<root>/<api path>` inside the
workspace, where the root is `<item>/Files` or a folder below it (OneLake manages the item folder
and its first level). Anything that could leave the root or that OneLake would misread is refused
here, before any request: `.`/`..` components (404, like jupyter_server's "outside root"),
backslashes, NUL and other control characters, unpaired surrogates, and names over OneLake's
limits (400). The error, `InvalidPath`, carries the HTTP status the contents API answers with; this
module stays free of tornado so that the command line does not load the web stack.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata

CHECKPOINT_DIR = ".ipynb_checkpoints"
# Azure: a path segment is at most 255 characters and a blob name at most 1,024.
MAX_SEGMENT = 255
MAX_PATH = 1024


class InvalidPath(ValueError):
    """A path that must never reach OneLake; `status` is 404 for one leaving the root, else 400."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def normalize_api_path(path: str | None) -> str:
    """The canonical API path, or InvalidPath for input that must never reach OneLake."""
    path = (path or "").strip("/")
    if not path:
        return ""
    if "\\" in path:
        raise InvalidPath(400, f"Invalid path {path!r}: backslashes are not allowed in OneLake paths")
    if any(unicodedata.category(ch) == "Cc" for ch in path):
        raise InvalidPath(400, f"Invalid path {path!r}: control characters are not allowed")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidPath(400, f"Invalid path {path!r}: not valid Unicode") from None
    parts = path.split("/")
    if any(part in (".", "..") for part in parts):
        raise InvalidPath(404, f"{path!r} is outside root contents directory")
    if any(part == "" for part in parts):
        raise InvalidPath(400, f"Invalid path {path!r}: empty path component")
    if any(len(part) > MAX_SEGMENT for part in parts):
        raise InvalidPath(400, f"Invalid path {path!r}: a name may have at most {MAX_SEGMENT} characters")
    return path


# what the DataLake SDK takes for a SAS token after the last `?` of a rename's destination
_SAS_LIKE = re.compile(r"sv=\d{4}-\d{2}-\d{2}")


def check_new_name(path: str, *, renamed: bool) -> None:
    """A path we are about to create holds only names OneLake keeps as given.

    - a trailing `.` or space: Azure Storage advises against them (URL normalisation strips them);
    - for a path a rename will reach (a rename's destination, a staged upload's target): no text
      after its last `?` that the DataLake SDK takes for a SAS token (`sv=YYYY-MM-DD` and `sig=`),
      which it would cut off (`b.txt?sv=2020-01-01&sig=x` became `b.txt`). Other `?`s are fine.
    """
    for part in path.split("/"):
        if part.endswith((".", " ")):
            raise InvalidPath(400, f"Invalid name {part!r}: a name may not end with '.' or a space")
    if renamed and "?" in path:
        tail = path.rsplit("?", 1)[1]
        if _SAS_LIKE.search(tail) and "sig=" in tail:
            raise InvalidPath(
                400, f"Invalid path {path!r}: the text after its last '?' would be taken for a SAS token and dropped"
            )


def split(path: str) -> tuple[str, str]:
    """(parent, name) of an API path; the root's parent is itself."""
    parent, _, name = path.rpartition("/")
    return parent, name


def join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def is_hidden(path: str) -> bool:
    """Hidden: any component starting with a dot."""
    return any(part.startswith(".") for part in path.split("/") if part)


def in_checkpoint_dir(path: str) -> bool:
    return CHECKPOINT_DIR in path.split("/")


def matches_any(name: str, globs: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, glob) for glob in globs)


class PathMapper:
    """Maps API paths to OneLake paths under one root."""

    def __init__(self, root: str):
        parts = [p for p in root.strip("/").split("/") if p]
        if len(parts) < 2 or parts[1] != "Files" or any(p in (".", "..") for p in parts):
            raise ValueError(f"root {root!r} must be <item>/Files or a folder below it")
        self.root = "/".join(parts)

    def to_onelake(self, api_path: str) -> str:
        path = normalize_api_path(api_path)
        full = f"{self.root}/{path}" if path else self.root
        if len(full.encode("utf-8")) > MAX_PATH:
            raise InvalidPath(400, f"Invalid path {path!r}: the OneLake path would exceed {MAX_PATH} bytes")
        return full


class RootTree:
    """Jupyter's tree over one or more OneLake folders.

    One root (`workspace` and `root`): the tree is that folder, as before. Named roots (the
    `roots` setting, `{"home": "Analytics/Team.Lakehouse/Files/home/{username}", "sales":
    "Sales/Sales.Lakehouse/Files"}`): the tree's top level holds one folder per name, each a
    OneLake folder of any workspace; `sales/q3.csv` is `Sales.Lakehouse/Files/q3.csv` in the
    workspace `Sales`. A path names its root by its first component; nothing else does.
    """

    def __init__(self, roots: dict[str, tuple[str, PathMapper]]):
        """`roots`: name -> (workspace, mapper); the one unnamed root has the name ''."""
        self.roots = roots
        self.named = "" not in roots

    @classmethod
    def single(cls, workspace: str, root: str) -> RootTree:
        return cls({"": (workspace, PathMapper(root))})

    @classmethod
    def parse(cls, setting: str | dict, username: str = "") -> RootTree:
        """The `roots` setting: a JSON object of names to `<workspace>/<item>/Files/...`
        (`{username}` becomes the user's name); ValueError says what is wrong."""
        import json

        try:
            given = json.loads(setting) if isinstance(setting, str) else setting
        except ValueError as error:
            raise ValueError(f"roots must be a JSON object of names to OneLake folders: {error}") from None
        if not isinstance(given, dict) or not given:
            raise ValueError("roots must be a non-empty JSON object of names to OneLake folders")
        roots = {}
        for name, place in given.items():
            if not isinstance(name, str) or not name or "/" in name or name.startswith(".") or name != name.strip():
                raise ValueError(f"root name {name!r}: a name of one folder, not hidden")
            normalize_api_path(name)
            if not isinstance(place, str):
                raise ValueError(f"root {name!r}: {place!r} is not <workspace>/<item>/Files/...")
            workspace, _, folder = place.replace("{username}", username).strip("/").partition("/")
            try:
                roots[name] = (workspace, PathMapper(folder))
            except ValueError:
                raise ValueError(
                    f"root {name!r}: {place!r} is not <workspace>/<item>/Files or a folder below it"
                ) from None
            if not workspace:
                raise ValueError(f"root {name!r}: {place!r} names no workspace")
        return cls(roots)

    @property
    def names(self) -> list[str]:
        return sorted(self.roots)

    def root_of(self, api_path: str) -> str:
        """The name of the root a (normalised) API path is in; InvalidPath 404 for no root."""
        if not self.named:
            return ""
        name = api_path.split("/", 1)[0]
        if name not in self.roots:
            raise InvalidPath(
                404, f"No such file or directory: {api_path}" if name else "The tree's top holds only its roots"
            )
        return name

    def locate(self, api_path: str) -> tuple[str, str, str]:
        """(root name, workspace, OneLake path) of an API path."""
        path = normalize_api_path(api_path)
        name = self.root_of(path)
        workspace, mapper = self.roots[name]
        rest = path[len(name) :].lstrip("/") if name else path
        return name, workspace, mapper.to_onelake(rest)

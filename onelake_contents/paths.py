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

"""Jupyter models from OneLake entries and bytes, and bytes from models: no I/O here.

Models are exactly jupyter_server's (`created`/`last_modified` tz-aware, `content`/`format` None
without content, `hash`/`hash_algorithm` when asked); listing entries equal `get(child,
content=False)`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import mimetypes
from datetime import datetime

import nbformat
from tornado.web import HTTPError

from ..paths import split
from ..storage import Entry


def base_model(path: str, entry: Entry, last_modified: datetime) -> dict:
    return {
        "name": split(path)[1] if path else "",
        "path": path,
        "last_modified": last_modified,
        "created": min(entry.created, last_modified),
        "content": None,
        "format": None,
        "mimetype": None,
        "size": entry.size,
        "writable": True,
        "hash": None,
        "hash_algorithm": None,
    }


def directory_model(path: str, entry: Entry, last_modified: datetime) -> dict:
    model = base_model(path, entry, last_modified)
    model.update(type="directory", size=None)
    return model


@functools.lru_cache(maxsize=1024)
def _mimetype_of_suffixes(suffixes: str) -> str | None:
    return mimetypes.guess_type("x" + suffixes)[0]


def mimetype(path: str) -> str | None:
    """`mimetypes.guess_type`, which looks only at the suffixes: computed once per suffixes."""
    name = split(path)[1]
    dot = name.find(".", 1)  # a leading dot names a hidden file, it is no suffix
    return _mimetype_of_suffixes(name[dot:]) if dot > 0 else None


def file_model(path: str, entry: Entry, last_modified: datetime) -> dict:
    model = base_model(path, entry, last_modified)
    model.update(type="file", mimetype=mimetype(path))
    return model


def notebook_model(path: str, entry: Entry, last_modified: datetime) -> dict:
    model = base_model(path, entry, last_modified)
    model["type"] = "notebook"
    return model


def model_without_content(path: str, entry: Entry, last_modified: datetime) -> dict:
    if entry.is_dir:
        return directory_model(path, entry, last_modified)
    if path.endswith(".ipynb"):
        return notebook_model(path, entry, last_modified)
    return file_model(path, entry, last_modified)


def hash_fields(data: bytes, algorithm: str) -> dict:
    digest = hashlib.new(algorithm)
    digest.update(data)
    return {"hash": digest.hexdigest(), "hash_algorithm": algorithm}


def decode(data: bytes, format: str | None, path: str) -> tuple[str, str]:
    """A file's content and format: text when asked or when it is UTF-8, else base64."""
    if format in (None, "text"):
        try:
            return data.decode("utf-8"), "text"
        except UnicodeDecodeError:
            if format == "text":
                raise HTTPError(400, f"{path} is not UTF-8 encoded", reason="bad format") from None
    return base64.encodebytes(data).decode("ascii"), "base64"


def parse_notebook(data: bytes, path: str):
    """(notebook, validation error dict) from a file's bytes; 400 when it is no notebook."""
    validation_error: dict = {}
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4, capture_validation_error=validation_error)
    except Exception as error:
        raise HTTPError(400, f"Unreadable Notebook: {path} {error!r}") from None
    return nb, validation_error


def check_notebook_content(content, path: str) -> None:
    if not isinstance(content, dict):
        raise HTTPError(400, "A notebook's content must be a JSON object")
    if not isinstance(content.get("cells"), list) or not isinstance(content.get("nbformat"), int):
        raise HTTPError(400, f"Invalid notebook {path}: it needs a list of cells and an nbformat version")


def serialise_notebook(nb, path: str) -> tuple[bytes, dict]:
    validation_error: dict = {}
    try:
        text = nbformat.writes(nb, version=nbformat.NO_CONVERT, capture_validation_error=validation_error)
    except Exception as error:
        raise HTTPError(400, f"Invalid notebook {path}: {error}") from None
    return text.encode("utf-8"), validation_error


def file_bytes(content, format, path: str) -> bytes:
    """The bytes of a file model's content ('text' or strict 'base64')."""
    if format not in ("text", "base64"):
        raise HTTPError(400, "Must specify format of file contents as 'text' or 'base64'")
    if not isinstance(content, str):
        raise HTTPError(400, f"The content of {path} must be a string for format {format!r}")
    try:
        if format == "text":
            return content.encode("utf-8")
        # strict, so garbage is a 400 instead of silently dropped bytes; line breaks are fine
        # (stripped only when present: an upload chunk is decoded without extra copies)
        if "\n" in content or "\r" in content or " " in content:
            content = "".join(content.split())
        return base64.b64decode(content, validate=True)
    except (UnicodeError, binascii.Error, ValueError) as error:
        raise HTTPError(400, f"Encoding error saving {path}: {error}") from None

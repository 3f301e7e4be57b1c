"""What we write beside a file's bytes: its content hash (in the blob's metadata) and content type."""

from __future__ import annotations

import hashlib
import mimetypes

# Blob metadata holding the SHA-256 of the content we wrote: tells a lost-response retry or a
# moved ETag (our own write, a rename) from a real change by someone else.
HASH_METADATA = "onelake_contents_sha256"
NOTEBOOK_MIME = "application/x-ipynb+json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_type(path: str) -> str | None:
    """The Content-Type OneLake stores for a path (notebooks get Jupyter's own type)."""
    if path.endswith(".ipynb"):
        return NOTEBOOK_MIME
    return mimetypes.guess_type(path)[0]

"""What we write beside a file's bytes: its content hash (in the blob's metadata) and content type."""

from __future__ import annotations

import hashlib
import mimetypes

# Blob metadata holding the SHA-256 of the content we wrote (for tools and audits; whether a write
# is ours is decided by its write id, below).
HASH_METADATA = "onelake_contents_sha256"
# Blob metadata holding a fresh id per write: tells our own landed write (its answer lost) from
# the same bytes written by someone else (see lake.ledger).
WRITE_METADATA = "onelake_contents_write"
NOTEBOOK_MIME = "application/x-ipynb+json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_type(path: str) -> str | None:
    """The Content-Type OneLake stores for a path (notebooks get Jupyter's own type)."""
    if path.endswith(".ipynb"):
        return NOTEBOOK_MIME
    return mimetypes.guess_type(path)[0]

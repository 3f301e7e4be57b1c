"""Where staged uploads live and how their blocks are named.

A large file is sent as uncommitted blocks of a hidden staging file beside its target (in the
never-listed checkpoint folder), committed with Put Block List and published with one rename over
the target: the old file stays whole and readable until then, and an abandoned upload leaves
nothing visible (OneLake discards uncommitted blocks; a crash between commit and publish leaves a
staged file that is swept later).
"""

from __future__ import annotations

import base64
import uuid

from ..paths import CHECKPOINT_DIR, split

UPLOAD_DIR = ".onelake-uploads~"
UPLOAD_BLOCK = 4 * 1024 * 1024


def staging_path(target: str) -> str:
    """A fresh staging file for an upload to `target` (a OneLake path)."""
    parent, name = split(target)
    return f"{parent}/{CHECKPOINT_DIR}/{UPLOAD_DIR}/{name}.{uuid.uuid4().hex[:12]}"


def staging_folder(target: str) -> str:
    return split(staging_path(target))[0]


def block_id(index: int) -> str:
    """Azure wants block ids of one length within a blob, base64-encoded."""
    return base64.b64encode(f"{index:08d}".encode()).decode()

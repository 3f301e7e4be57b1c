"""A file's versions (Jupyter checkpoints), kept as ordinary files in OneLake.

OneLake has neither blob versions nor snapshots (hierarchical namespace), and its soft delete does
not cover overwrites, so versions are files we manage: `<dir>/.ipynb_checkpoints/<name>/<id>`, one
file per version, ids `<UTC time>-<random>` (match `[\\w-]+`, sort by time). Keeping them in the
file's own directory means a directory rename or delete carries them along in the same single
request; a file's versions live in one folder, so renaming or deleting the file moves or deletes
them in one more request. The functions here work on API paths and on OneLake paths alike.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from ..paths import CHECKPOINT_DIR, join, split

VERSION_ID = re.compile(r"^[\w-]+$")


def new_version_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def version_folder(path: str) -> str:
    """The folder holding a file's versions."""
    parent, name = split(path)
    return join(join(parent, CHECKPOINT_DIR), name)


def version_path(path: str, version_id: str) -> str | None:
    """Where one version of a file lives; None for an id that cannot be ours."""
    if not isinstance(version_id, str) or not VERSION_ID.match(version_id):
        return None
    return join(version_folder(path), version_id)


def newest_first(entries) -> list:
    """The versions among a version folder's entries, newest first."""
    return sorted((e for e in entries if not e.is_dir and VERSION_ID.match(e.name)), key=lambda e: e.name, reverse=True)

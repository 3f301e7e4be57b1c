"""onelake-contents: Jupyter's contents in Microsoft OneLake.

Public names are loaded on first use, so `onelake_contents.emulator` can be imported without the
product (the emulator never depends on it).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "BrokerCredential": "onelake_contents.credential",
    "AsyncBrokerCredential": "onelake_contents.credential",
    "OneLakeContentsManager": "onelake_contents.manager",
    "OneLakeCheckpoints": "onelake_contents.checkpoints",
    "OneLakeStore": "onelake_contents.store",
    "fs": "onelake_contents.kernel",
    "notebook_dir": "onelake_contents.kernel",
    "url": "onelake_contents.kernel",
    "storage_options": "onelake_contents.kernel",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'onelake_contents' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

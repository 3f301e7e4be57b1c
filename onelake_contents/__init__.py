"""onelake-contents: Jupyter's contents in Microsoft OneLake.

Public names are loaded on first use, so that `onelake_contents.emulator`, the command line and
kernels import only what they use.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "BrokerCredential": "onelake_contents.credential",
    "AsyncBrokerCredential": "onelake_contents.credential",
    "OneLakeContentsManager": "onelake_contents.jupyter.manager",
    "OneLakeCheckpoints": "onelake_contents.jupyter.checkpoints",
    "OneLakeSessionManager": "onelake_contents.jupyter.sessions",
    "OneLakeStore": "onelake_contents.storage",
    "fs": "onelake_contents.kernel",
    "notebook_dir": "onelake_contents.kernel",
    "url": "onelake_contents.kernel",
    "storage_options": "onelake_contents.kernel",
    "path_of": "onelake_contents.lakepath",
}

__all__ = ["__version__", *_PUBLIC]


def _jupyter_server_extension_points():
    """The server extension (enabled by jupyter_server_config.d/onelake_contents.json)."""
    from .jupyter.extension import OneLakeExtension

    return [{"module": "onelake_contents.jupyter.extension", "app": OneLakeExtension}]


def _jupyter_labextension_paths():
    """The JupyterLab extension (version history and trash), built into this package."""
    return [{"src": "labextension", "dest": "onelake-contents"}]


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'onelake_contents' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

"""A local OneLake for tests, benchmarks and the demo. The product never imports this package.

It needs the `emulator` extra (trustme for its certificates, PyJWT for its tokens). Names load on
first use, so that `onelake-emulator` can say which extra to install instead of a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util

# import names of what the `emulator` extra installs
REQUIRED_MODULES = ("trustme", "jwt")
INSTALL_HINT = 'pip install "onelake-contents[emulator]"'

_PUBLIC = {
    "STORAGE_AUDIENCE": "auth",
    "STORAGE_SCOPE": "auth",
    "TokenAuthority": "auth",
    "FaultSettings": "instrument",
    "RequestRecord": "instrument",
    "count": "instrument",
    "Emulator": "runner",
    "EmulatorInfo": "runner",
    "parse_layout": "runner",
}

__all__ = sorted(_PUBLIC)


def missing_modules() -> list[str]:
    """The modules of the `emulator` extra that are not installed."""
    return [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'onelake_contents.emulator' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

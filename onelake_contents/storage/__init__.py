"""The storage layer: OneLake through the Azure SDK, and the errors it can raise."""

from __future__ import annotations

from .entry import Entry
from .errors import (
    AlreadyExists,
    BadRequest,
    Changed,
    Conflict,
    Forbidden,
    NotFound,
    StoreError,
    Throttled,
    TooLarge,
    Unavailable,
    translate,
)

# The store (and with it the storage SDK and aiohttp, half a second to import) loads on first use:
# `errors` and `listing` are enough for a command's quick listing.
_FROM_STORE = ("NOT_MODIFIED", "Blob", "Connection", "OneLakeStore")


def __getattr__(name: str):
    if name in _FROM_STORE:
        from . import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "NOT_MODIFIED",
    "AlreadyExists",
    "BadRequest",
    "Blob",
    "Changed",
    "Conflict",
    "Connection",
    "Entry",
    "Forbidden",
    "NotFound",
    "OneLakeStore",
    "StoreError",
    "Throttled",
    "TooLarge",
    "Unavailable",
    "translate",
]

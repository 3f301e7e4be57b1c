"""The storage layer: OneLake through the Azure SDK, and the errors it can raise."""

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
from .store import NOT_MODIFIED, Blob, Entry, OneLakeStore, in_slices

__all__ = [
    "NOT_MODIFIED",
    "AlreadyExists",
    "BadRequest",
    "Blob",
    "Changed",
    "Conflict",
    "Entry",
    "Forbidden",
    "NotFound",
    "OneLakeStore",
    "StoreError",
    "Throttled",
    "TooLarge",
    "Unavailable",
    "in_slices",
    "translate",
]

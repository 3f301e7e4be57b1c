"""The errors of the storage layer, and the one function that maps SDK errors onto them.

    StoreError                 a OneLake operation failed (`code`: Azure's error code, `status`)
    ├── NotFound               404: no such path (or its parent)
    ├── AlreadyExists          409 PathAlreadyExists / BlobAlreadyExists: `If-None-Match: *` failed
    ├── Conflict               409 otherwise: the path's type or state forbids it
    ├── Changed                412: a condition failed, the path changed since the ETag we hold
    ├── Forbidden              403: OneLake denied access
    ├── BadRequest             400: OneLake refused the request
    ├── TooLarge               413 (or a read over the caller's limit)
    └── Unavailable            401, 5xx, no answer, no token: try again later (`retry_after`)
        └── Throttled          429

Everything above the storage layer sees only these; `translate()` is the single place where an
Azure exception becomes one of them.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)


class StoreError(Exception):
    """A OneLake operation failed; `code` is Azure's error code when there is one."""

    def __init__(self, message: str, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.request_id: str | None = None  # OneLake's x-ms-request-id, to quote to Microsoft support


class NotFound(StoreError):
    pass


class AlreadyExists(StoreError):
    pass


class Conflict(StoreError):
    """The path's type or state forbids the operation (directory not empty, file in the way)."""


class Changed(StoreError):
    """A condition failed: the path changed since the ETag we hold (HTTP 412)."""


class Forbidden(StoreError):
    """OneLake security refused the caller; `writing`: the refused request would have changed something."""

    def __init__(self, message: str, code: str | None = None, status: int | None = None, writing: bool = False):
        super().__init__(message, code, status)
        self.writing = writing


class BadRequest(StoreError):
    pass


class TooLarge(StoreError):
    """Over a size limit; `size` is the file's size when known."""

    def __init__(self, message: str, code: str | None = None, status: int | None = None, size: int | None = None):
        super().__init__(message, code, status)
        self.size = size


class Unavailable(StoreError):
    """OneLake or the token broker cannot be reached, or refuses our credentials."""

    def __init__(
        self, message: str, code: str | None = None, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message, code, status)
        self.retry_after = retry_after


class Throttled(Unavailable):
    pass


def translate(error: Exception, path: str) -> StoreError:
    """Our error for an SDK error on `path` (with OneLake's request id when there was an answer)."""
    result = _translate(error, path)
    response = getattr(error, "response", None)
    if result.request_id is None and response is not None:
        result.request_id = response.headers.get("x-ms-request-id")
    return result


def _translate(error: Exception, path: str) -> StoreError:
    if isinstance(error, StoreError):
        return error
    if isinstance(error, ClientAuthenticationError) and getattr(error, "response", None) is None:
        return Unavailable(f"cannot authenticate to OneLake: {error.message}")
    if isinstance(error, (ServiceRequestError, ServiceResponseError)):
        return Unavailable(f"OneLake did not answer for {path}: {type(error).__name__}")
    if not isinstance(error, HttpResponseError):
        return StoreError(f"unexpected error on {path}: {error}")
    status = error.status_code
    # the storage SDK hands its codes over as `StorageErrorCode` members, whose str() is the
    # member's name: keep the code as Azure sent it
    code = getattr(error, "error_code", None)
    code = getattr(code, "value", code)
    if code is None and error.response is not None:
        code = error.response.headers.get("x-ms-error-code")
    detail = f"{path}: {code or status}"
    if status == 404 or isinstance(error, ResourceNotFoundError):
        return NotFound(f"not found in OneLake: {detail}", code, status)
    if status == 412:
        return Changed(f"changed in OneLake: {detail}", code, status)
    if status == 409 or isinstance(error, ResourceExistsError):
        if code in ("PathAlreadyExists", "BlobAlreadyExists"):
            return AlreadyExists(f"already exists in OneLake: {detail}", code, status)
        return Conflict(f"conflict in OneLake: {detail}", code, status)
    if status == 401:
        return Unavailable(f"OneLake refused the server's token ({code}); check the token broker", code, status)
    if status == 403:
        request = getattr(error.response, "request", None)
        writing = getattr(request, "method", "GET") not in ("GET", "HEAD")
        return Forbidden(f"OneLake denied access to {detail}", code, status, writing)
    if status == 413:
        return TooLarge(f"too large for OneLake: {detail}", code, status)
    if status == 429:
        return Throttled(
            f"OneLake is throttling requests ({detail})", code, status, retry_after_seconds(error.response)
        )
    if status is not None and status >= 500:
        return Unavailable(f"OneLake is unavailable ({detail})", code, status, retry_after_seconds(error.response))
    if status == 400:
        return BadRequest(f"OneLake refused the request for {detail}", code, status)
    return StoreError(f"OneLake error on {detail}", code, status)


def retry_after_seconds(response) -> float | None:
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())

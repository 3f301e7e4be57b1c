"""Storage and path errors as the HTTP errors Jupyter's contents API documents (never a raw
exception), in one place for the manager, the checkpoints and the handlers."""

from __future__ import annotations

from contextlib import contextmanager

from tornado.web import HTTPError

from .. import paths
from ..lake.files import IsADirectory, MissingParent, NotADirectory
from ..storage import (
    AlreadyExists,
    BadRequest,
    Changed,
    Conflict,
    Forbidden,
    NotFound,
    StoreError,
    TooLarge,
    Unavailable,
)
from .handlers import retry_after_hint


def api_path(path: str | None) -> str:
    """The canonical API path; a path that must never reach OneLake is the HTTP error it deserves."""
    try:
        return paths.normalize_api_path(path)
    except paths.InvalidPath as error:
        raise HTTPError(error.status, error.message) from None


@contextmanager
def http_errors(path: str, log=None, refused_write=None):
    """Run a block whose storage errors become Jupyter's HTTP errors about `path`
    (`refused_write(path)` is told when OneLake security refused a change)."""
    try:
        yield
    except HTTPError:
        raise
    except paths.InvalidPath as error:
        raise HTTPError(error.status, error.message) from None
    except MissingParent:
        raise HTTPError(404, f"No such directory: {path.rpartition('/')[0]}") from None
    except NotFound:
        raise HTTPError(404, f"No such file or directory: {path}") from None
    except AlreadyExists:
        raise HTTPError(409, f"File already exists: {path}") from None
    except Changed:
        raise HTTPError(409, f"{path} was changed in OneLake since it was opened; reload it before saving") from None
    except NotADirectory:
        raise HTTPError(400, f"{path} is not a directory", reason="bad type") from None
    except IsADirectory:
        raise HTTPError(400, f"{path} is a directory", reason="bad type") from None
    except Conflict as error:
        raise HTTPError(409, f"Cannot do that to {path}: {error.code or error.message}") from None
    except Forbidden as error:
        if error.writing:
            if refused_write is not None:
                refused_write(path)
            raise HTTPError(403, f"OneLake denied access to {path or '/'}: read-only for you") from None
        raise HTTPError(403, f"OneLake denied access to {path or '/'}: not shared with you") from None
    except TooLarge as error:
        raise HTTPError(413, f"{path}: {error.message}") from None
    except BadRequest as error:
        raise HTTPError(400, f"OneLake refused {path}: {error.code or error.message}") from None
    except Unavailable as error:
        retry_after_hint.set(error.retry_after if error.retry_after is not None else 5.0)
        raise HTTPError(503, f"OneLake is unavailable, try again shortly ({error.message})") from None
    except StoreError as error:
        if log is not None:
            log.error("OneLake error on %s: %s", path, error.message)
        raise HTTPError(500, f"Unexpected OneLake error on {path}: {error.code or error.message}") from None

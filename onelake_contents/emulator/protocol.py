"""What the emulator's operations share: request classification, constants, headers and the
helpers every DFS and Blob operation uses (see server.py for the HTTP surface)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import unquote

from aiohttp import web

from .state import (
    Namespace,
    Node,
    StorageError,
    Workspace,
    check_metadata,
    md5,
    not_found,
)

DEFAULT_VERSION = "2025-01-05"
MAX_LIST_RESULTS = 5000
CONTROL_PREFIX = "$emulator/"
# Headers OneLake ignores and names back in `x-ms-rejected-headers` (OneLake API parity).
REJECTED_HEADERS = (
    "x-ms-owner",
    "x-ms-group",
    "x-ms-permissions",
    "x-ms-acl",
    "x-ms-umask",
    "x-ms-encryption-key",
    "x-ms-encryption-key-sha256",
    "x-ms-encryption-algorithm",
    "x-ms-access-tier",
)
CONTENT_SETTINGS_DFS = {
    "x-ms-content-type": "content_type",
    "x-ms-content-encoding": "content_encoding",
    "x-ms-content-language": "content_language",
    "x-ms-content-disposition": "content_disposition",
    "x-ms-cache-control": "cache_control",
}
CONTENT_SETTINGS_BLOB = {
    "x-ms-blob-content-type": "content_type",
    "x-ms-blob-content-encoding": "content_encoding",
    "x-ms-blob-content-language": "content_language",
    "x-ms-blob-content-disposition": "content_disposition",
    "x-ms-blob-cache-control": "cache_control",
}
CONTENT_SETTINGS_OUT = {
    "content_type": "Content-Type",
    "content_encoding": "Content-Encoding",
    "content_language": "Content-Language",
    "content_disposition": "Content-Disposition",
    "cache_control": "Cache-Control",
}
BAD_REQUEST = {"api": "blob", "operation": "Invalid"}


def split_resource(raw: str) -> tuple[str, str]:
    """`workspace/path` (percent-encoded, as in a URL or `x-ms-rename-source`) as (workspace,
    path); empty, `.` and `..` segments are refused, whichever header or URL they come in."""
    workspace, _, rest = raw.lstrip("/").partition("/")
    workspace = unquote(workspace)
    path = unquote(rest).rstrip("/")
    if path and any(part in ("", ".", "..") for part in path.split("/")):
        raise StorageError(400, "InvalidResourceName", "The specifed resource name contains invalid characters.")
    if len(path) > 1024 * 4:
        raise StorageError(400, "InvalidResourceName", "The resource name is too long.")
    return workspace, path


def rename_source(headers) -> tuple[str, str]:
    """The (workspace, path) a rename moves, from `x-ms-rename-source` (a SAS query is cut off)."""
    return split_resource(headers["x-ms-rename-source"].split("?", 1)[0])


def http_date(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)


def quoted(etag: str) -> str:
    return f'"{etag}"'


@dataclass
class Call:
    """One parsed request."""

    request: web.Request
    api: str
    operation: str
    workspace: str
    path: str
    token_id: str | None = None
    principal: str | None = None  # who the token names (a user, or the workspace admin)
    visible: Callable[[str], bool] | None = None  # a listing shows only the names this passes
    readable: Callable[[str], bool] | None = None  # ... and only the deletions this passes

    @property
    def headers(self):
        return self.request.headers

    @property
    def query(self):
        return self.request.query


def classify(method: str, query, headers, workspace: str, path: str) -> tuple[str, str]:
    """(api, operation) of a request, as the service would see it."""
    comp = query.get("comp")
    if not workspace:
        return "blob", "GetServiceProperties" if method == "HEAD" else "AccountOperation"
    if not path:
        if query.get("resource") == "filesystem":
            if method == "GET":
                return "dfs", "ListPaths"
            return "dfs", "GetFilesystemProperties" if method == "HEAD" else "FilesystemOperation"
        if method == "GET" and comp == "list":
            return "blob", "ListBlobs"
        if method in ("GET", "HEAD") and comp is None:
            return "blob", "GetContainerProperties"
        return "blob", "ContainerOperation"
    if "snapshot" in query or "versionid" in query or comp == "snapshot":
        return "blob", "Snapshot"
    if method == "PUT":
        if "x-ms-rename-source" in headers:
            return "dfs", "RenamePath"
        if "resource" in query:
            return "dfs", "CreatePath"
        if "x-ms-copy-source" in headers and comp in (None, "block"):
            return "blob", "PutBlobFromURL" if comp is None else "PutBlockFromURL"
        return "blob", {
            "block": "PutBlock",
            "blocklist": "PutBlockList",
            "metadata": "SetBlobMetadata",
            "properties": "SetBlobProperties",
            "undelete": "UndeleteBlob",
            None: "PutBlob",
        }.get(comp, "BlobOperation")
    if method == "PATCH":
        return "dfs", {
            "append": "AppendData",
            "flush": "FlushData",
            "setProperties": "SetProperties",
            "setAccessControl": "SetAccessControl",
            "setAccessControlRecursive": "SetAccessControlRecursive",
        }.get(query.get("action"), "PathUpdate")
    if method == "DELETE":
        if "recursive" in query or "paginated" in query:
            return "dfs", "DeletePath"
        return "blob", "DeleteBlob"
    if method == "HEAD":
        if "action" in query:
            return "dfs", "GetPathStatus"
        return "blob", "GetBlobMetadata" if comp == "metadata" else "GetBlobProperties"
    if method == "GET":
        if comp == "blocklist":
            return "blob", "GetBlockList"
        if comp == "metadata":
            return "blob", "GetBlobMetadata"
        if comp is None:
            return "blob", "GetBlob"
    return "blob", "Unsupported"


def copy_source_error(status: int, reason: str) -> StorageError:
    """A copy whose source could not be read: Azure answers `CannotVerifyCopySource` with the
    source's own status (and names it in `x-ms-copy-source-status-code`)."""
    return StorageError(
        status if status in (400, 401, 403, 404) else 400,
        "CannotVerifyCopySource",
        f"Could not verify the copy source within the specified time. {reason}".strip(),
        {"x-ms-copy-source-status-code": str(status), "x-ms-copy-source-error-code": "CannotVerifyCopySource"},
    )


def condition_not_met_dfs() -> StorageError:
    # `If-None-Match: *` on an existing path is the only way to get here; for updates it is a 412.
    return StorageError(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")


def positive_int(value: str | None, default: int, name: str) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise StorageError(
            400,
            "InvalidQueryParameterValue",
            f"Value for one of the query parameters specified in the request URI is invalid. ({name})",
        )
    return number


def non_negative_int(value: str | None, name: str) -> int:
    if value is None:
        raise StorageError(
            400,
            "MissingRequiredQueryParameter",
            f"A query parameter that's mandatory for this request is not specified. ({name})",
        )
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise StorageError(
            400,
            "InvalidQueryParameterValue",
            f"Value for one of the query parameters specified in the request URI is invalid. ({name})",
        )
    return number


def parse_range(header: str) -> tuple[int, int | None]:
    try:
        unit, _, spec = header.partition("=")
        first, _, last = spec.partition("-")
        if unit.strip() != "bytes" or "," in spec:
            raise ValueError
        start = int(first)
        end = int(last) if last.strip() else None
        if start < 0 or (end is not None and end < start):
            raise ValueError
        return start, end
    except ValueError:
        raise StorageError(400, "InvalidHeaderValue", f"The range '{header}' is not valid.") from None


def parse_block_id(value: str | None) -> str:
    if not value:
        raise StorageError(
            400,
            "MissingRequiredQueryParameter",
            "A query parameter that's mandatory for this request is not specified. (blockid)",
        )
    try:
        if len(base64.b64decode(value, validate=True)) > 64:
            raise ValueError
    except (binascii.Error, ValueError):
        raise StorageError(
            400, "InvalidQueryParameterValue", "The block id is not valid base64 of at most 64 bytes."
        ) from None
    return value


def check_transactional_md5(header: str | None, data: bytes) -> None:
    if header and base64.b64decode(header) != md5(data):
        raise StorageError(
            400,
            "Md5Mismatch",
            "The MD5 value specified in the request did not match with the MD5 value calculated by the server.",
        )


def encode_marker(name: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([name]).encode()).decode()


def decode_marker(token: str) -> str:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))[0]
    except (ValueError, IndexError, KeyError, TypeError):
        raise StorageError(400, "InvalidQueryParameterValue", "The continuation token is not valid.") from None


class Operations:
    """Helpers of the DFS and Blob operations (mixed into OneLakeServer)."""

    namespace: Namespace

    def copy_source(self, call: Call) -> tuple[Node, bytes]:
        """The file `x-ms-copy-source` names, read with `x-ms-copy-source-authorization` (the
        host checks that token as it checks every request's own)."""
        raise NotImplementedError

    # ---- helpers -----------------------------------------------------------------------------
    def _ws(self, call: Call) -> Workspace:
        return self.namespace.workspace(call.workspace, call.api)

    def _node(self, call: Call) -> tuple[Workspace, Node]:
        ws = self._ws(call)
        node = ws.nodes.get(call.path)
        if node is None:
            raise not_found(call.api)
        return ws, node

    @staticmethod
    def _properties_headers(node: Node, *, content_length: int | None = None) -> dict[str, str]:
        headers = {
            "ETag": quoted(node.etag),
            "Last-Modified": http_date(node.modified),
            "x-ms-creation-time": http_date(node.created),
            "x-ms-blob-type": "BlockBlob",
            "x-ms-lease-status": "unlocked",
            "x-ms-lease-state": "available",
            "x-ms-server-encrypted": "true",
            "x-ms-resource-type": "directory" if node.is_dir else "file",
            "Accept-Ranges": "bytes",
            "Content-Length": str(node.size if content_length is None else content_length),
            "Content-Type": node.content_settings.get("content_type", "application/octet-stream"),
        }
        for key, header in CONTENT_SETTINGS_OUT.items():
            if key in node.content_settings and key != "content_type":
                headers[header] = node.content_settings[key]
        metadata = dict(node.metadata)
        if node.is_dir:
            metadata["hdi_isfolder"] = "true"
        for name, value in metadata.items():
            headers[f"x-ms-meta-{name}"] = value
        return headers

    @staticmethod
    def _write_response(node: Node, status: int = 201, **extra: str) -> web.Response:
        response = web.Response(status=status)
        response.headers["ETag"] = quoted(node.etag)
        response.headers["Last-Modified"] = http_date(node.modified)
        response.headers["x-ms-request-server-encrypted"] = "true"
        response.headers.update(extra)
        return response

    @staticmethod
    def _metadata_from_headers(headers) -> dict[str, str]:
        metadata = {k[len("x-ms-meta-") :]: v for k, v in headers.items() if k.lower().startswith("x-ms-meta-")}
        check_metadata(metadata)
        return metadata

    @staticmethod
    def _content_settings(headers, names: dict[str, str]) -> dict[str, str]:
        return {key: headers[h] for h, key in names.items() if h in headers}

    @staticmethod
    def _exists_error(api: str) -> StorageError:
        if api == "dfs":
            return StorageError(409, "PathAlreadyExists", "The specified path already exists.")
        return StorageError(409, "BlobAlreadyExists", "The specified blob already exists.")

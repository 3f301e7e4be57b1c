"""The OneLake HTTP surface: DFS and Blob REST operations on one port.

Requests are told apart the way the services tell them apart: DFS operations carry `resource=`,
`action=`, `recursive=` or `x-ms-rename-source`; Blob operations carry `comp=`, `restype=` or
`x-ms-blob-type`; a plain GET/HEAD/DELETE on a path means the same on both. Errors carry
`x-ms-error-code` plus Azure's body (XML for Blob, JSON for DFS).

Sources: Azure Storage REST reference (Path - Create/Update/Delete/List/Read/Get Properties, Put
Blob, Put Block List, List Blobs, Get Blob, Get Blob Properties), Microsoft Learn "OneLake API
parity" and "Data Lake Storage known issues". Status codes follow those pages; where OneLake's own
error code is undocumented (managed folders, Put Block List over a DFS file) the code is ours.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import json
import time
import uuid
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from aiohttp import web

from .auth import TokenAuthority
from .instrument import FaultInjector, FaultSettings, RequestLog
from .state import (
    MAX_BLOCK_BYTES,
    MAX_PUT_BLOB_BYTES,
    Conditions,
    Namespace,
    Node,
    Pending,
    StorageError,
    Workspace,
    check_metadata,
    filetime,
    format_properties,
    md5,
    not_found,
    parse_properties,
    path_conflict,
    sort_key,
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
_CONTENT_SETTINGS_DFS = {
    "x-ms-content-type": "content_type",
    "x-ms-content-encoding": "content_encoding",
    "x-ms-content-language": "content_language",
    "x-ms-content-disposition": "content_disposition",
    "x-ms-cache-control": "cache_control",
}
_CONTENT_SETTINGS_BLOB = {
    "x-ms-blob-content-type": "content_type",
    "x-ms-blob-content-encoding": "content_encoding",
    "x-ms-blob-content-language": "content_language",
    "x-ms-blob-content-disposition": "content_disposition",
    "x-ms-blob-cache-control": "cache_control",
}
_CONTENT_SETTINGS_OUT = {
    "content_type": "Content-Type",
    "content_encoding": "Content-Encoding",
    "content_language": "Content-Language",
    "content_disposition": "Content-Disposition",
    "cache_control": "Cache-Control",
}
_BAD_REQUEST = {"api": "blob", "operation": "Invalid"}


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
        return "blob", {
            "block": "PutBlock",
            "blocklist": "PutBlockList",
            "metadata": "SetBlobMetadata",
            "properties": "SetBlobProperties",
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


class OneLakeServer:
    """aiohttp application serving one emulated OneLake (all workspaces)."""

    def __init__(
        self,
        namespace: Namespace,
        authority: TokenAuthority,
        control_token: str,
        latency_ms: float = 0.0,
    ):
        self.namespace = namespace
        self.authority = authority
        self.control_token = control_token
        self.latency_ms = latency_ms
        self.log = RequestLog()
        self.faults = FaultInjector()
        self.denied: tuple[str, ...] = ()  # "workspace/path-prefix" entries answered with 403

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_PUT_BLOB_BYTES + 1)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    # ---- entry point -------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = request.rel_url.raw_path.lstrip("/")
        if raw.startswith(CONTROL_PREFIX) or raw.startswith("%24emulator/"):
            return await self.control(request, unquote(raw).removeprefix(CONTROL_PREFIX))
        started = time.monotonic()
        bytes_in = int(request.headers.get("Content-Length") or 0)
        fault = None
        call = None
        try:
            workspace, path = self._split(raw)
            api, operation = classify(request.method, request.query, request.headers, workspace, path)
        except StorageError as error:
            workspace, path = "", raw
            api, operation = _BAD_REQUEST["api"], _BAD_REQUEST["operation"]
            response = self.error(request, error, api)
        else:
            call = Call(request, api, operation, workspace, path)
            if self.latency_ms:
                await asyncio.sleep(self.latency_ms / 1000)
            fault = self.faults.choose(operation)
            try:
                response = await self.serve(call, fault)
            except StorageError as error:
                response = self.error(request, error, api)
            except ConnectionResetError:
                response = None
        status = response.status if response is not None else 0
        error_code = response.headers.get("x-ms-error-code") if response is not None else None
        bytes_out = response.content_length or 0 if response is not None else 0
        self.log.add(
            time=time.time(),
            method=request.method,
            api=api,
            operation=operation,
            workspace=workspace,
            path=path,
            status=status,
            error_code=error_code,
            bytes_in=bytes_in,
            bytes_out=bytes_out,
            duration_ms=round((time.monotonic() - started) * 1000, 3),
            fault=fault,
            token_id=call.token_id if call is not None else None,
        )
        # After an injected reset the transport is gone; what is returned here is never sent.
        return response if response is not None else web.Response(status=500)

    @staticmethod
    def _split(raw: str) -> tuple[str, str]:
        workspace, _, rest = raw.partition("/")
        workspace = unquote(workspace)
        path = unquote(rest).rstrip("/")
        if path and any(part in ("", ".", "..") for part in path.split("/")):
            raise StorageError(400, "InvalidResourceName", "The specifed resource name contains invalid characters.")
        if len(path) > 1024 * 4:
            raise StorageError(400, "InvalidResourceName", "The resource name is too long.")
        return workspace, path

    async def serve(self, call: Call, fault: str | None) -> web.StreamResponse:
        self._authenticate(call)
        if fault == "503":
            raise StorageError(
                503, "ServerBusy", "The server is currently unable to receive requests. Please retry your request."
            )
        if fault == "429":
            retry_after = self.faults.settings.retry_after
            raise StorageError(
                429,
                "TooManyRequests",
                "The capacity is throttled; retry after the time given in Retry-After.",
                {"Retry-After": f"{retry_after:g}"},
            )
        if fault == "reset":
            self._drop_connection(call.request)
        if fault == "slow":
            # The request has fully arrived; only the answer is late (the client may give up meanwhile).
            await call.request.read()
            await asyncio.sleep(self.faults.settings.slow_seconds)
        handler = getattr(self, f"op_{call.operation}", None)
        if handler is None:
            raise StorageError(
                400,
                "UnsupportedHttpVerb" if call.operation == "Unsupported" else "OperationNotSupportedOnOneLake",
                f"The operation {call.operation} is not supported by OneLake.",
            )
        response = await handler(call)
        rejected = [h for h in REJECTED_HEADERS if h in call.headers]
        if rejected:
            response.headers["x-ms-rejected-headers"] = ",".join(rejected)
        self._common_headers(call.request, response)
        if fault == "lost":
            self._drop_connection(call.request)
        return response

    @staticmethod
    def _drop_connection(request: web.Request) -> None:
        if request.transport is not None:
            request.transport.abort()
        raise ConnectionResetError

    def _authenticate(self, call: Call) -> None:
        call.token_id = self.authority.verify(call.headers.get("Authorization")).get("jti")
        target = f"{call.workspace}/{call.path}"
        for prefix in self.denied:
            if target == prefix or target.startswith(prefix.rstrip("/") + "/"):
                raise StorageError(
                    403,
                    "AuthorizationPermissionMismatch",
                    "This request is not authorized to perform this operation using this permission.",
                )

    @staticmethod
    def _common_headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["x-ms-request-id"] = str(uuid.uuid4())
        response.headers["x-ms-version"] = request.headers.get("x-ms-version", DEFAULT_VERSION)
        response.headers["Date"] = http_date(time.time())
        response.headers["Server"] = "OneLake-Emulator"
        client_id = request.headers.get("x-ms-client-request-id")
        if client_id:
            response.headers["x-ms-client-request-id"] = client_id

    def error(self, request: web.Request, error: StorageError, api: str) -> web.Response:
        message = f"{error.message}\nRequestId:{uuid.uuid4()}\nTime:{time.strftime('%Y-%m-%dT%H:%M:%S.0000000Z', time.gmtime())}"
        if request.method == "HEAD":
            body, content_type = None, None
        elif api == "dfs":
            body = json.dumps({"error": {"code": error.code, "message": message}}).encode()
            content_type = "application/json;charset=utf-8"
        else:
            body = (
                '<?xml version="1.0" encoding="utf-8"?><Error><Code>'
                f"{escape(error.code)}</Code><Message>{escape(message)}</Message></Error>"
            ).encode()
            content_type = "application/xml"
        response = web.Response(status=error.status, body=body)
        if content_type:
            response.headers["Content-Type"] = content_type
        response.headers["x-ms-error-code"] = error.code
        response.headers.update(error.headers)
        self._common_headers(request, response)
        return response

    # ---- control API (not logged, not delayed, never faulted) -------------------------------
    async def control(self, request: web.Request, what: str) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if auth != f"Bearer {self.control_token}":
            return web.json_response({"error": "the control API needs the broker client token"}, status=401)
        if what == "requests" and request.method == "GET":
            return web.json_response([r.to_dict() for r in self.log.records()])
        if what == "requests" and request.method == "DELETE":
            self.log.reset()
            return web.json_response({"reset": True})
        if what == "faults" and request.method == "GET":
            return web.json_response({"settings": self.faults.settings.to_dict(), "injected": self.faults.injected})
        if what == "faults" and request.method == "PUT":
            try:
                self.faults.configure(FaultSettings.from_dict(await request.json()))
            except (TypeError, ValueError) as error:
                return web.json_response({"error": str(error)}, status=400)
            return web.json_response(self.faults.settings.to_dict())
        if what == "latency" and request.method == "PUT":
            self.latency_ms = float((await request.json())["ms"])
            return web.json_response({"ms": self.latency_ms})
        if what == "health":
            return web.json_response({"ok": True})
        return web.json_response({"error": f"no control endpoint {request.method} {what}"}, status=404)

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
        for key, header in _CONTENT_SETTINGS_OUT.items():
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

    # ---- account and workspace level ---------------------------------------------------------
    async def op_GetServiceProperties(self, call: Call) -> web.Response:
        return web.Response(status=200)

    async def op_AccountOperation(self, call: Call) -> web.Response:
        raise StorageError(
            403, "OperationNotAllowedOnAccount", "OneLake allows only HEAD requests at the tenant (account) level."
        )

    async def op_ContainerOperation(self, call: Call) -> web.Response:
        raise StorageError(
            403,
            "OperationNotAllowedOnWorkspace",
            "Workspaces are managed in Fabric; OneLake allows only HEAD requests at the workspace (container) level.",
        )

    op_FilesystemOperation = op_ContainerOperation

    async def _workspace_properties(self, call: Call) -> web.Response:
        ws = self._ws(call)
        response = web.Response(status=200)
        response.headers.update(
            {
                "ETag": quoted(ws.etag),
                "Last-Modified": http_date(ws.created),
                "x-ms-lease-status": "unlocked",
                "x-ms-lease-state": "available",
                "x-ms-has-immutability-policy": "false",
                "x-ms-has-legal-hold": "false",
                "x-ms-default-encryption-scope": "$account-encryption-key",
                "x-ms-deny-encryption-scope-override": "false",
                "x-ms-namespace-enabled": "true",
            }
        )
        return response

    op_GetContainerProperties = _workspace_properties
    op_GetFilesystemProperties = _workspace_properties

    async def op_ListPaths(self, call: Call) -> web.Response:
        ws = self._ws(call)
        q = call.query
        if "recursive" not in q:
            raise StorageError(
                400,
                "MissingRequiredQueryParameter",
                "A query parameter that's mandatory for this request is not specified. (recursive)",
            )
        recursive = q["recursive"].lower() == "true"
        directory = q.get("directory", "").strip("/")
        max_results = _positive_int(q.get("maxResults"), MAX_LIST_RESULTS, "maxResults")
        if directory:
            node = ws.nodes.get(directory)
            if node is None:
                raise not_found("dfs")
            if not node.is_dir:
                names = [directory]
            else:
                names = (
                    self.namespace.descendants(ws, directory) if recursive else self.namespace.children(ws, directory)
                )
        else:
            names = self.namespace.descendants(ws, "") if recursive else self.namespace.children(ws, "")
        start = 0
        if q.get("continuation"):
            after = _decode_marker(q["continuation"])
            start = bisect.bisect_right([sort_key(n) for n in names], sort_key(after))
        page = names[start : start + min(max_results, MAX_LIST_RESULTS)]
        paths = []
        for name in page:
            node = ws.nodes[name]
            entry = {
                "name": name,
                "contentLength": str(node.size),
                "lastModified": http_date(node.modified),
                "etag": node.etag,
                "creationTime": filetime(node.created),
            }
            if node.is_dir:
                entry["isDirectory"] = "true"
            paths.append(entry)
        response = web.json_response({"paths": paths})
        if start + len(page) < len(names):
            response.headers["x-ms-continuation"] = _encode_marker(page[-1])
        return response

    async def op_ListBlobs(self, call: Call) -> web.Response:
        ws = self._ws(call)
        q = call.query
        if q.get("showonly"):
            raise StorageError(400, "UnsupportedQueryParameter", "Soft-deleted paths are not emulated.")
        prefix = q.get("prefix", "")
        delimiter = q.get("delimiter") or None
        max_results = min(_positive_int(q.get("maxresults"), MAX_LIST_RESULTS, "maxresults"), MAX_LIST_RESULTS)
        include = set(filter(None, q.get("include", "").split(",")))
        marker = _decode_marker(q["marker"]) if q.get("marker") else ""
        names = sorted(n for n in ws.nodes if n.startswith(prefix) and n >= marker)
        items: list[tuple[str, bool]] = []  # (name, is_prefix)
        next_marker = None
        seen_prefixes: set[str] = set()
        for name in names:
            rest = name[len(prefix) :]
            if delimiter and delimiter in rest:
                blob_prefix = prefix + rest[: rest.index(delimiter) + len(delimiter)]
                if blob_prefix in seen_prefixes:
                    continue
                item = (blob_prefix, True)
            else:
                item = (name, False)
            if len(items) == max_results:
                next_marker = item[0]
                break
            if item[1]:
                seen_prefixes.add(item[0])
            items.append(item)
        out = [
            '<?xml version="1.0" encoding="utf-8"?>',
            f'<EnumerationResults ServiceEndpoint="{escape(str(call.request.url.origin()))}/" ContainerName="{escape(ws.name)}">',
            f"<Prefix>{escape(prefix)}</Prefix>",
        ]
        if marker:
            out.append(f"<Marker>{escape(q['marker'])}</Marker>")
        out.append(f"<MaxResults>{max_results}</MaxResults>")
        if delimiter:
            out.append(f"<Delimiter>{escape(delimiter)}</Delimiter>")
        out.append("<Blobs>")
        for name, is_prefix in items:
            if is_prefix:
                out.append(f"<BlobPrefix><Name>{escape(name)}</Name></BlobPrefix>")
                continue
            node = ws.nodes[name]
            props = [
                f"<Creation-Time>{http_date(node.created)}</Creation-Time>",
                f"<Last-Modified>{http_date(node.modified)}</Last-Modified>",
                f"<Etag>{node.etag}</Etag>",
                f"<ResourceType>{'directory' if node.is_dir else 'file'}</ResourceType>",
                f"<Content-Length>{node.size}</Content-Length>",
                f"<Content-Type>{escape(node.content_settings.get('content_type', 'application/octet-stream'))}</Content-Type>",
            ]
            if node.content_md5:
                props.append(f"<Content-MD5>{base64.b64encode(node.content_md5).decode()}</Content-MD5>")
            props += [
                "<BlobType>BlockBlob</BlobType>",
                "<LeaseStatus>unlocked</LeaseStatus>",
                "<LeaseState>available</LeaseState>",
                "<ServerEncrypted>true</ServerEncrypted>",
            ]
            blob = [f"<Blob><Name>{escape(name)}</Name><Properties>{''.join(props)}</Properties>"]
            if "metadata" in include:
                metadata = dict(node.metadata)
                if node.is_dir:
                    metadata["hdi_isfolder"] = "true"
                blob.append(
                    "<Metadata>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in metadata.items()) + "</Metadata>"
                )
            blob.append("</Blob>")
            out.append("".join(blob))
        out.append("</Blobs>")
        out.append(f"<NextMarker>{_encode_marker(next_marker) if next_marker else ''}</NextMarker>")
        out.append("</EnumerationResults>")
        return web.Response(body="".join(out).encode(), content_type="application/xml", charset="utf-8")

    # ---- DFS path operations -----------------------------------------------------------------
    async def op_CreatePath(self, call: Call) -> web.Response:
        ws = self._ws(call)
        resource = call.query["resource"]
        if resource not in ("file", "directory"):
            raise StorageError(
                400,
                "InvalidQueryParameterValue",
                f"Value for one of the query parameters specified in the request URI is invalid. (resource={resource})",
            )
        metadata = parse_properties(call.headers.get("x-ms-properties"))
        self.namespace.check_writable(ws, call.path)
        existing = ws.nodes.get(call.path)
        Conditions(call.headers).check_write(existing, self._exists_error("dfs"))
        if resource == "directory":
            node = self.namespace.make_directory(ws, call.path, metadata)
        else:
            node = self.namespace.write_file(
                ws,
                call.path,
                b"",
                metadata=metadata,
                content_settings=self._content_settings(call.headers, _CONTENT_SETTINGS_DFS),
                dfs_created=True,
            )
        ws.pending.pop(call.path, None)
        return self._write_response(node, 201, **{"Content-Length": "0"})

    async def op_RenamePath(self, call: Call) -> web.Response:
        ws = self._ws(call)
        source_header = call.headers["x-ms-rename-source"].split("?", 1)[0]
        source_ws, _, source_path = unquote(source_header).lstrip("/").partition("/")
        source_path = source_path.rstrip("/")
        if source_ws != ws.name:
            raise StorageError(400, "InvalidRenameSourcePath", "OneLake renames only within one workspace.")
        source = ws.nodes.get(source_path)
        if source is None:
            raise StorageError(404, "SourcePathNotFound", "The source path for a rename operation does not exist.")
        Conditions(call.headers, "x-ms-source-").check_write(
            source,
            self._exists_error("dfs"),
            StorageError(
                412,
                "SourceConditionNotMet",
                "The source condition specified using HTTP conditional header(s) is not met.",
            ),
        )
        Conditions(call.headers).check_write(ws.nodes.get(call.path), self._exists_error("dfs"))
        node = self.namespace.rename(ws, source_path, call.path)
        return self._write_response(node, 201, **{"Content-Length": "0"})

    async def op_DeletePath(self, call: Call) -> web.Response:
        ws, node = self._node(call)
        Conditions(call.headers).check_write(node, condition_not_met_dfs())
        recursive = call.query.get("recursive", "false").lower() == "true"
        self.namespace.delete(ws, call.path, recursive)
        return web.Response(status=200)

    async def op_DeleteBlob(self, call: Call) -> web.Response:
        ws, node = self._node(call)
        Conditions(call.headers).check_write(node, condition_not_met_dfs())
        self.namespace.delete(ws, call.path, recursive=False)
        return web.Response(status=202)

    async def op_AppendData(self, call: Call) -> web.Response:
        ws, node = self._node(call)
        if node.is_dir:
            raise path_conflict()
        position = _non_negative_int(call.query.get("position"), "position")
        data = await call.request.read()
        if str(len(data)) != call.headers.get("Content-Length", str(len(data))):
            raise StorageError(400, "InvalidHeaderValue", "Content-Length does not match the body.")
        _check_transactional_md5(call.headers.get("Content-MD5"), data)
        pending = ws.pending.setdefault(call.path, Pending())
        pending.appends[position] = data
        if call.query.get("flush", "").lower() == "true":
            node = self._flush(call, ws, node, position + len(data))
            return self._write_response(node, 200)
        response = web.Response(status=202)
        response.headers["x-ms-request-server-encrypted"] = "true"
        return response

    async def op_FlushData(self, call: Call) -> web.Response:
        ws, node = self._node(call)
        if node.is_dir:
            raise path_conflict()
        Conditions(call.headers).check_write(node, condition_not_met_dfs())
        position = _non_negative_int(call.query.get("position"), "position")
        node = self._flush(call, ws, node, position)
        return self._write_response(node, 200, **{"Content-Length": "0"})

    def _flush(self, call: Call, ws: Workspace, node: Node, position: int) -> Node:
        pending = ws.pending.get(call.path) or Pending()
        data = bytearray(node.data)
        while len(data) < position:
            piece = pending.appends.get(len(data))
            if not piece:
                raise StorageError(
                    400,
                    "InvalidFlushPosition",
                    "The uploaded data is not contiguous or the position query parameter value is not equal to "
                    "the length of the file after appending the uploaded data.",
                )
            data += piece
        if len(data) != position:
            raise StorageError(
                400,
                "InvalidFlushPosition",
                "The uploaded data is not contiguous or the position query parameter value is not equal to "
                "the length of the file after appending the uploaded data.",
            )
        settings = dict(node.content_settings)
        settings.update(self._content_settings(call.headers, _CONTENT_SETTINGS_DFS))
        content_md5 = call.headers.get("x-ms-content-md5")
        new = self.namespace.write_file(
            ws,
            call.path,
            bytes(data),
            content_settings=settings,
            keep_metadata=True,
            dfs_created=True,
            content_md5=base64.b64decode(content_md5) if content_md5 else None,
        )
        if call.query.get("retainUncommittedData", "false").lower() != "true":
            ws.pending.pop(call.path, None)
        else:
            for pos in [p for p in pending.appends if p < position]:
                del pending.appends[pos]
        return new

    async def op_SetProperties(self, call: Call) -> web.Response:
        ws, node = self._node(call)
        Conditions(call.headers).check_write(node, condition_not_met_dfs())
        changes = {}
        if "x-ms-properties" in call.headers:
            changes["metadata"] = parse_properties(call.headers["x-ms-properties"])
        settings = self._content_settings(call.headers, _CONTENT_SETTINGS_DFS)
        if settings:
            changes["content_settings"] = {**node.content_settings, **settings}
        node = self.namespace.touch(ws, call.path, **changes)
        return self._write_response(node, 200)

    async def op_SetAccessControl(self, call: Call) -> web.Response:
        raise StorageError(
            400,
            "OperationNotSupportedOnOneLake",
            "OneLake permissions are managed in Fabric; setAccessControl is not supported.",
        )

    op_SetAccessControlRecursive = op_SetAccessControl

    async def op_GetPathStatus(self, call: Call) -> web.Response:
        _, node = self._node(call)
        response = web.Response(status=200)
        headers = self._properties_headers(node)
        headers["x-ms-properties"] = format_properties(node.metadata)
        headers.update(
            {
                "x-ms-owner": "$superuser",
                "x-ms-group": "$superuser",
                "x-ms-permissions": "rwxr-x---" if node.is_dir else "rw-r-----",
            }
        )
        if call.query.get("action") == "getAccessControl":
            headers["x-ms-acl"] = "user::rwx,group::r-x,other::---"
        response.headers.update(headers)
        return response

    # ---- Blob operations ---------------------------------------------------------------------
    async def op_GetBlobProperties(self, call: Call) -> web.Response:
        _, node = self._node(call)
        if not Conditions(call.headers).check_read(node):
            return self._not_modified(node)
        response = web.Response(status=200)
        response.headers.update(self._properties_headers(node))
        if node.content_md5:
            response.headers["Content-MD5"] = base64.b64encode(node.content_md5).decode()
        return response

    async def op_GetBlobMetadata(self, call: Call) -> web.Response:
        _, node = self._node(call)
        response = web.Response(status=200)
        response.headers.update(
            {
                k: v
                for k, v in self._properties_headers(node).items()
                if k.startswith("x-ms-meta-") or k in ("ETag", "Last-Modified")
            }
        )
        return response

    def _not_modified(self, node: Node) -> web.Response:
        # Azure names the failed condition on a 304 too, which the Python SDK raises as
        # ResourceModifiedError with status 304.
        response = web.Response(status=304)
        response.headers["x-ms-error-code"] = "ConditionNotMet"
        response.headers["ETag"] = quoted(node.etag)
        response.headers["Last-Modified"] = http_date(node.modified)
        return response

    async def op_GetBlob(self, call: Call) -> web.Response:
        _, node = self._node(call)
        if not Conditions(call.headers).check_read(node):
            return self._not_modified(node)
        size = node.size
        range_header = call.headers.get("x-ms-range") or call.headers.get("Range")
        if range_header:
            start, end = _parse_range(range_header)
            if start >= size:
                raise StorageError(
                    416,
                    "InvalidRange",
                    "The range specified is invalid for the current size of the resource.",
                    {"Content-Range": f"bytes */{size}"},
                )
            end = size - 1 if end is None or end >= size else end
            body = node.data[start : end + 1]
            response = web.Response(status=206, body=body)
            response.headers.update(self._properties_headers(node, content_length=len(body)))
            response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            if node.content_md5:
                response.headers["x-ms-blob-content-md5"] = base64.b64encode(node.content_md5).decode()
            if call.headers.get("x-ms-range-get-content-md5", "").lower() == "true":
                if len(body) > 4 * 1024 * 1024:
                    raise StorageError(
                        400, "OutOfRangeInput", "x-ms-range-get-content-md5 needs a range of 4 MiB or less."
                    )
                response.headers["Content-MD5"] = base64.b64encode(md5(body)).decode()
        else:
            response = web.Response(status=200, body=node.data)
            response.headers.update(self._properties_headers(node))
            if node.content_md5:
                response.headers["Content-MD5"] = base64.b64encode(node.content_md5).decode()
        response.headers.popall("Content-Length", None)
        return response

    async def op_PutBlob(self, call: Call) -> web.Response:
        ws = self._ws(call)
        if call.headers.get("x-ms-blob-type", "BlockBlob") != "BlockBlob":
            raise StorageError(400, "InvalidHeaderValue", "OneLake emulator stores block blobs only.")
        if "x-ms-copy-source" in call.headers:
            raise StorageError(400, "OperationNotSupportedOnOneLake", "Copy operations are not emulated.")
        if int(call.headers.get("Content-Length") or 0) > MAX_PUT_BLOB_BYTES:
            raise StorageError(
                413, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit."
            )
        self.namespace.check_writable(ws, call.path)
        metadata = self._metadata_from_headers(call.headers)
        existing = ws.nodes.get(call.path)
        if existing is not None and existing.is_dir:
            raise path_conflict()
        Conditions(call.headers).check_write(existing, self._exists_error("blob"))
        data = await call.request.read()
        _check_transactional_md5(call.headers.get("Content-MD5"), data)
        # The request body was read after an await: check again that nothing changed meanwhile.
        Conditions(call.headers).check_write(ws.nodes.get(call.path), self._exists_error("blob"))
        stored_md5 = call.headers.get("x-ms-blob-content-md5")
        node = self.namespace.write_file(
            ws,
            call.path,
            data,
            metadata=metadata,
            content_settings=self._content_settings(call.headers, _CONTENT_SETTINGS_BLOB),
            content_md5=base64.b64decode(stored_md5) if stored_md5 else md5(data),
        )
        ws.pending.pop(call.path, None)
        return self._write_response(node, 201, **{"Content-MD5": base64.b64encode(node.content_md5).decode()})

    async def op_PutBlock(self, call: Call) -> web.Response:
        ws = self._ws(call)
        self.namespace.check_writable(ws, call.path)
        block_id = _block_id(call.query.get("blockid"))
        if int(call.headers.get("Content-Length") or 0) > MAX_BLOCK_BYTES:
            raise StorageError(413, "RequestBodyTooLarge", "The block is larger than the maximum block size.")
        data = await call.request.read()
        _check_transactional_md5(call.headers.get("Content-MD5"), data)
        ws.pending.setdefault(call.path, Pending()).blocks[block_id] = data
        response = web.Response(status=201)
        response.headers["x-ms-request-server-encrypted"] = "true"
        return response

    async def op_PutBlockList(self, call: Call) -> web.Response:
        ws = self._ws(call)
        self.namespace.check_writable(ws, call.path)
        existing = ws.nodes.get(call.path)
        if existing is not None and existing.is_dir:
            raise path_conflict()
        if existing is not None and existing.dfs_created:
            raise StorageError(
                409,
                "BlobOperationNotSupportedOnDfsFile",
                "A file created through the Data Lake Storage API cannot be overwritten with Put Block List; use Put Blob.",
            )
        Conditions(call.headers).check_write(existing, self._exists_error("blob"))
        body = await call.request.read()
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            raise StorageError(400, "InvalidXmlDocument", "XML specified is not syntactically valid.") from None
        pending = ws.pending.get(call.path) or Pending()
        committed = {}
        if existing is not None:
            offset = 0
            for block_id, size in existing.committed_blocks:
                committed[block_id] = existing.data[offset : offset + size]
                offset += size
        parts, blocks = [], []
        for element in root:
            block_id = (element.text or "").strip()
            sources = {
                "Latest": (pending.blocks, committed),
                "Uncommitted": (pending.blocks,),
                "Committed": (committed,),
            }.get(element.tag)
            if sources is None:
                raise StorageError(400, "InvalidXmlNodeValue", f"Unknown element {element.tag} in the block list.")
            data = next((s[block_id] for s in sources if block_id in s), None)
            if data is None:
                raise StorageError(400, "InvalidBlockList", "The specified block list is invalid.")
            parts.append(data)
            blocks.append((block_id, len(data)))
        content = b"".join(parts)
        stored_md5 = call.headers.get("x-ms-blob-content-md5")
        node = self.namespace.write_file(
            ws,
            call.path,
            content,
            metadata=self._metadata_from_headers(call.headers),
            content_settings=self._content_settings(call.headers, _CONTENT_SETTINGS_BLOB),
            content_md5=base64.b64decode(stored_md5) if stored_md5 else None,
            committed_blocks=blocks,
        )
        ws.pending.pop(call.path, None)
        return self._write_response(node, 201)

    async def op_GetBlockList(self, call: Call) -> web.Response:
        ws = self._ws(call)
        node = ws.nodes.get(call.path)
        pending = ws.pending.get(call.path)
        if node is None and pending is None:
            raise not_found("blob")
        kind = call.query.get("blocklisttype", "committed").lower()
        out = ['<?xml version="1.0" encoding="utf-8"?><BlockList>']
        if kind in ("committed", "all"):
            out.append("<CommittedBlocks>")
            for block_id, size in node.committed_blocks if node else []:
                out.append(f"<Block><Name>{block_id}</Name><Size>{size}</Size></Block>")
            out.append("</CommittedBlocks>")
        if kind in ("uncommitted", "all"):
            out.append("<UncommittedBlocks>")
            for block_id, data in (pending.blocks if pending else {}).items():
                out.append(f"<Block><Name>{block_id}</Name><Size>{len(data)}</Size></Block>")
            out.append("</UncommittedBlocks>")
        out.append("</BlockList>")
        response = web.Response(body="".join(out).encode(), content_type="application/xml")
        if node is not None:
            response.headers["ETag"] = quoted(node.etag)
            response.headers["Last-Modified"] = http_date(node.modified)
        return response

    async def op_SetBlobMetadata(self, call: Call) -> web.Response:
        ws, node = self._node(call)
        Conditions(call.headers).check_write(node, condition_not_met_dfs())
        metadata = self._metadata_from_headers(call.headers)
        metadata.pop("hdi_isfolder", None)
        node = self.namespace.touch(ws, call.path, metadata=metadata)
        return self._write_response(node, 200)

    async def op_SetBlobProperties(self, call: Call) -> web.Response:
        ws, node = self._node(call)
        Conditions(call.headers).check_write(node, condition_not_met_dfs())
        settings = self._content_settings(call.headers, _CONTENT_SETTINGS_BLOB)
        stored_md5 = call.headers.get("x-ms-blob-content-md5")
        node = self.namespace.touch(
            ws,
            call.path,
            content_settings=settings,
            content_md5=base64.b64decode(stored_md5) if stored_md5 else node.content_md5,
        )
        return self._write_response(node, 200)

    async def op_Snapshot(self, call: Call) -> web.Response:
        raise StorageError(
            409,
            "FeatureNotYetSupportedForHierarchicalNamespaceAccounts",
            "OneLake supports neither blob snapshots nor blob versions.",
        )


def condition_not_met_dfs() -> StorageError:
    # `If-None-Match: *` on an existing path is the only way to get here; for updates it is a 412.
    return StorageError(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")


def _positive_int(value: str | None, default: int, name: str) -> int:
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


def _non_negative_int(value: str | None, name: str) -> int:
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


def _parse_range(header: str) -> tuple[int, int | None]:
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


def _block_id(value: str | None) -> str:
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


def _check_transactional_md5(header: str | None, data: bytes) -> None:
    if header and base64.b64decode(header) != md5(data):
        raise StorageError(
            400,
            "Md5Mismatch",
            "The MD5 value specified in the request did not match with the MD5 value calculated by the server.",
        )


def _encode_marker(name: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([name]).encode()).decode()


def _decode_marker(token: str) -> str:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))[0]
    except (ValueError, IndexError, KeyError, TypeError):
        raise StorageError(400, "InvalidQueryParameterValue", "The continuation token is not valid.") from None

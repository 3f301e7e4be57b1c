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
import json
import time
import uuid
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

from aiohttp import web

from .access import AccessPolicy, denied
from .auth import TokenAuthority
from .blob import BlobOperations
from .dfs import DfsOperations
from .instrument import FaultInjector, FaultSettings, RequestLog
from .protocol import (
    BAD_REQUEST,
    CONTROL_PREFIX,
    DEFAULT_VERSION,
    REJECTED_HEADERS,
    Call,
    classify,
    copy_source_error,
    http_date,
    quoted,
    rename_source,
    split_resource,
)
from .state import (
    MAX_PUT_BLOB_BYTES,
    Conditions,
    Namespace,
    Node,
    StorageError,
)


class OneLakeServer(DfsOperations, BlobOperations):
    """aiohttp application serving one emulated OneLake (all workspaces)."""

    def __init__(
        self,
        namespace: Namespace,
        authority: TokenAuthority,
        control_token: str,
        latency_ms: float = 0.0,
        access: AccessPolicy | None = None,
    ):
        self.namespace = namespace
        self.authority = authority
        self.control_token = control_token
        self.latency_ms = latency_ms
        self.log = RequestLog()
        self.faults = FaultInjector()
        self.denied: tuple[str, ...] = ()  # "workspace/path-prefix" entries answered with 403
        self.access = access or AccessPolicy()

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
            workspace, path = split_resource(raw)
            api, operation = classify(request.method, request.query, request.headers, workspace, path)
        except StorageError as error:
            workspace, path = "", raw
            api, operation = BAD_REQUEST["api"], BAD_REQUEST["operation"]
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
        if operation in ("ListPaths", "ListBlobs"):  # the folder listed, not the workspace
            path = (request.query.get("directory") or request.query.get("prefix") or "").strip("/")
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
            principal=call.principal if call is not None else None,
        )
        # After an injected reset the transport is gone; what is returned here is never sent.
        return response if response is not None else web.Response(status=500)

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
        claims = self.authority.verify(call.headers.get("Authorization"))
        call.token_id = claims.get("jti")
        principal = self.access.principal(claims)
        call.principal = principal.name
        path, source = call.path, None
        targets = [f"{call.workspace}/{call.path}"]
        if call.operation in ("ListPaths", "ListBlobs"):
            # the folder listed (a List Blobs prefix names one too) is what is refused or not
            path = call.query.get("directory" if call.operation == "ListPaths" else "prefix", "").strip("/")
            targets = [f"{call.workspace}/{path}"]
        elif call.operation == "RenamePath":
            source_ws, source = rename_source(call.headers)
            targets.append(f"{source_ws}/{source}")
        call.visible = self.access.authorize(principal, call.operation, path, source)
        call.readable = self.access.reader(principal)
        for prefix in self.denied:
            if any(t == prefix or t.startswith(prefix.rstrip("/") + "/") for t in targets):
                raise denied()

    def copy_source(self, call: Call) -> tuple[Node, bytes]:
        """Put Blob / Put Block From URL: the source must be a file on this service, readable with
        the OAuth token in `x-ms-copy-source-authorization` (OneLake takes no SAS here). A source
        that cannot be read is `CannotVerifyCopySource`, with its own status in
        `x-ms-copy-source-status-code`, as Azure reports it."""
        source = urlsplit(call.headers["x-ms-copy-source"])
        if source.netloc != call.request.host or source.scheme != "https":
            raise copy_source_error(400, "the copy source must be a file of this OneLake")
        workspace, path = split_resource(source.path)
        try:
            claims = self.authority.verify(call.headers.get("x-ms-copy-source-authorization"))
            principal = self.access.principal(claims)
            self.access.authorize(principal, "GetBlob", path)
            target = f"{workspace}/{path}"
            if any(target == p or target.startswith(p.rstrip("/") + "/") for p in self.denied):
                raise denied()
            node = self.namespace.workspace(workspace, "blob").nodes.get(path)
        except StorageError as error:
            raise copy_source_error(error.status, error.message) from None
        if node is None or node.is_dir:
            raise copy_source_error(404, "The specified blob does not exist.")
        try:
            readable = Conditions(call.headers, "x-ms-source-").check_read(node)
        except StorageError:
            readable = False
        if not readable:
            raise StorageError(
                412,
                "SourceConditionNotMet",
                "The source condition specified using HTTP conditional header(s) is not met.",
            )
        return node, node.data

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
        if what == "connections" and request.method == "GET":
            return web.json_response({"tls_handshakes": self.log.tls_handshakes})
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
        if what == "soft-delete" and request.method == "PUT":
            try:
                body = await request.json()
                days = None if body["days"] is None else int(body["days"])
                self.namespace.set_retention(self.namespace.workspace(str(body["workspace"]), "blob"), days)
            except (KeyError, TypeError, ValueError, StorageError) as error:
                return web.json_response({"error": str(error)}, status=400)
            return web.json_response({"workspace": body["workspace"], "days": days})
        if what == "clock" and request.method == "POST":
            try:
                self.namespace.clock_shift += float((await request.json())["advance_seconds"])
            except (KeyError, TypeError, ValueError) as error:
                return web.json_response({"error": str(error)}, status=400)
            return web.json_response({"shift_seconds": self.namespace.clock_shift})
        if what == "health":
            return web.json_response({"ok": True})
        return web.json_response({"error": f"no control endpoint {request.method} {what}"}, status=404)

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

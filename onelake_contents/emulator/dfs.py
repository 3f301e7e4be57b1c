"""The DFS operations of the emulator (Path - Create/Update/Delete/List/Get Properties).

Sources: Azure Storage REST reference for each operation; Microsoft Learn "OneLake API parity".
"""

from __future__ import annotations

import base64
import bisect

from aiohttp import web

from .protocol import (
    CONTENT_SETTINGS_DFS,
    MAX_LIST_RESULTS,
    Call,
    Operations,
    check_transactional_md5,
    condition_not_met_dfs,
    decode_marker,
    encode_marker,
    http_date,
    non_negative_int,
    positive_int,
    rename_source,
)
from .state import (
    Conditions,
    Node,
    Pending,
    StorageError,
    Workspace,
    filetime,
    format_properties,
    not_found,
    parse_properties,
    path_conflict,
    sort_key,
)


class DfsOperations(Operations):
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
        max_results = positive_int(q.get("maxResults"), MAX_LIST_RESULTS, "maxResults")
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
        if call.visible is not None:
            names = [name for name in names if call.visible(name)]
        start = 0
        if q.get("continuation"):
            after = decode_marker(q["continuation"])
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
            response.headers["x-ms-continuation"] = encode_marker(page[-1])
        return response

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
                content_settings=self._content_settings(call.headers, CONTENT_SETTINGS_DFS),
                dfs_created=True,
            )
        ws.pending.pop(call.path, None)
        return self._write_response(node, 201, **{"Content-Length": "0"})

    async def op_RenamePath(self, call: Call) -> web.Response:
        ws = self._ws(call)
        source_ws, source_path = rename_source(call.headers)
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
        deletion = self.namespace.delete(ws, call.path, recursive)
        response = web.Response(status=200)
        # hierarchical namespace with soft delete: the id that restores this very deletion
        if deletion is not None:
            response.headers["x-ms-deletion-id"] = deletion.id
        return response

    async def op_AppendData(self, call: Call) -> web.Response:
        ws, node = self._node(call)
        if node.is_dir:
            raise path_conflict()
        position = non_negative_int(call.query.get("position"), "position")
        data = await call.request.read()
        if str(len(data)) != call.headers.get("Content-Length", str(len(data))):
            raise StorageError(400, "InvalidHeaderValue", "Content-Length does not match the body.")
        check_transactional_md5(call.headers.get("Content-MD5"), data)
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
        position = non_negative_int(call.query.get("position"), "position")
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
        settings.update(self._content_settings(call.headers, CONTENT_SETTINGS_DFS))
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
        settings = self._content_settings(call.headers, CONTENT_SETTINGS_DFS)
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

    op_SetAccessControlRecursive = op_SetAccessControl

"""The Blob operations of the emulator (List Blobs, Get Blob, Put Blob, blocks, metadata).

Sources: Azure Storage REST reference for each operation; Microsoft Learn "OneLake API parity".
"""

from __future__ import annotations

import base64
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from aiohttp import web

from .protocol import (
    CONTENT_SETTINGS_BLOB,
    MAX_LIST_RESULTS,
    Call,
    Operations,
    check_transactional_md5,
    condition_not_met_dfs,
    decode_marker,
    encode_marker,
    http_date,
    parse_block_id,
    parse_range,
    positive_int,
    quoted,
)
from .state import (
    MAX_BLOCK_BYTES,
    MAX_PUT_BLOB_BYTES,
    Conditions,
    Node,
    Pending,
    StorageError,
    md5,
    not_found,
    path_conflict,
)


class BlobOperations(Operations):
    async def op_ListBlobs(self, call: Call) -> web.Response:
        ws = self._ws(call)
        q = call.query
        if q.get("showonly"):
            raise StorageError(400, "UnsupportedQueryParameter", "Soft-deleted paths are not emulated.")
        prefix = q.get("prefix", "")
        delimiter = q.get("delimiter") or None
        max_results = min(positive_int(q.get("maxresults"), MAX_LIST_RESULTS, "maxresults"), MAX_LIST_RESULTS)
        include = set(filter(None, q.get("include", "").split(",")))
        marker = decode_marker(q["marker"]) if q.get("marker") else ""
        visible = call.visible or (lambda name: True)
        names = sorted(n for n in ws.nodes if n.startswith(prefix) and n >= marker and visible(n))
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
        out.append(f"<NextMarker>{encode_marker(next_marker) if next_marker else ''}</NextMarker>")
        out.append("</EnumerationResults>")
        return web.Response(body="".join(out).encode(), content_type="application/xml", charset="utf-8")

    async def op_DeleteBlob(self, call: Call) -> web.Response:
        ws, node = self._node(call)
        Conditions(call.headers).check_write(node, condition_not_met_dfs())
        self.namespace.delete(ws, call.path, recursive=False)
        return web.Response(status=202)

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
            start, end = parse_range(range_header)
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
        check_transactional_md5(call.headers.get("Content-MD5"), data)
        # The request body was read after an await: check again that nothing changed meanwhile.
        Conditions(call.headers).check_write(ws.nodes.get(call.path), self._exists_error("blob"))
        stored_md5 = call.headers.get("x-ms-blob-content-md5")
        node = self.namespace.write_file(
            ws,
            call.path,
            data,
            metadata=metadata,
            content_settings=self._content_settings(call.headers, CONTENT_SETTINGS_BLOB),
            content_md5=base64.b64decode(stored_md5) if stored_md5 else md5(data),
        )
        ws.pending.pop(call.path, None)
        return self._write_response(node, 201, **{"Content-MD5": base64.b64encode(node.content_md5).decode()})

    async def op_PutBlobFromURL(self, call: Call) -> web.Response:
        """A block blob made from another file of this service, in one request, server side: the
        destination appears whole or not at all (up to 5,000 MiB, as Azure's limit)."""
        ws = self._ws(call)
        self.namespace.check_writable(ws, call.path)
        source, data = self.copy_source(call)
        if len(data) > MAX_PUT_BLOB_BYTES:
            raise StorageError(409, "CannotVerifyCopySource", "The source is larger than Put Blob From URL copies.")
        existing = ws.nodes.get(call.path)
        if existing is not None and existing.is_dir:
            raise path_conflict()
        Conditions(call.headers).check_write(existing, self._exists_error("blob"))
        settings = (
            dict(source.content_settings)
            if call.headers.get("x-ms-copy-source-blob-properties", "true").lower() != "false"
            else {}
        )
        settings.update(self._content_settings(call.headers, CONTENT_SETTINGS_BLOB))
        node = self.namespace.write_file(
            ws,
            call.path,
            data,
            metadata=self._metadata_from_headers(call.headers),
            content_settings=settings,
            content_md5=md5(data),
        )
        ws.pending.pop(call.path, None)
        return self._write_response(node, 201, **{"Content-MD5": base64.b64encode(node.content_md5).decode()})

    async def op_PutBlockFromURL(self, call: Call) -> web.Response:
        """A block staged from a byte range of another file of this service (`x-ms-source-range`)."""
        ws = self._ws(call)
        self.namespace.check_writable(ws, call.path)
        block_id = parse_block_id(call.query.get("blockid"))
        _, data = self.copy_source(call)
        if "x-ms-source-range" in call.headers:
            start, end = parse_range(call.headers["x-ms-source-range"])
            data = data[start : (end + 1 if end is not None else None)]
        if len(data) > MAX_BLOCK_BYTES:
            raise StorageError(413, "RequestBodyTooLarge", "The block is larger than the maximum block size.")
        ws.pending.setdefault(call.path, Pending()).blocks[block_id] = data
        response = web.Response(status=201)
        response.headers["x-ms-request-server-encrypted"] = "true"
        return response

    async def op_PutBlock(self, call: Call) -> web.Response:
        ws = self._ws(call)
        self.namespace.check_writable(ws, call.path)
        block_id = parse_block_id(call.query.get("blockid"))
        if int(call.headers.get("Content-Length") or 0) > MAX_BLOCK_BYTES:
            raise StorageError(413, "RequestBodyTooLarge", "The block is larger than the maximum block size.")
        data = await call.request.read()
        check_transactional_md5(call.headers.get("Content-MD5"), data)
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
            content_settings=self._content_settings(call.headers, CONTENT_SETTINGS_BLOB),
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
        settings = self._content_settings(call.headers, CONTENT_SETTINGS_BLOB)
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

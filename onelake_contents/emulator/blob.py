"""The Blob operations of the emulator (List Blobs, Get Blob, Put Blob, blocks, metadata).

Sources: Azure Storage REST reference for each operation; Microsoft Learn "OneLake API parity".
"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, unquote
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
    Deletion,
    Node,
    Pending,
    StorageError,
    md5,
    not_found,
    path_conflict,
)


class BlobOperations(Operations):
    async def op_ListBlobs(self, call: Call) -> web.Response:
        """List Blobs; `include=deleted` adds the soft-deleted paths (as Azure lists them on a
        hierarchical namespace: the deleted path only, not what was below a deleted directory,
        with `Deleted`, `DeletionId`, `DeletedTime` and `RemainingRetentionDays`), and
        `showonly=deleted` lists only those. Several deletions of one name are listed oldest first."""
        ws = self._ws(call)
        q = call.query
        showonly = q.get("showonly")
        if showonly not in (None, "", "deleted"):
            raise StorageError(400, "InvalidQueryParameterValue", f"showonly={showonly} is not supported by OneLake.")
        prefix = q.get("prefix", "")
        delimiter = q.get("delimiter") or None
        max_results = min(positive_int(q.get("maxresults"), MAX_LIST_RESULTS, "maxresults"), MAX_LIST_RESULTS)
        include = set(filter(None, q.get("include", "").split(",")))
        marker = _decode_position(q["marker"]) if q.get("marker") else ("", -1)
        visible = call.visible or (lambda name: True)
        listed: list[tuple[str, int, Deletion | None]] = []  # (name, rank, deletion): live first, then deletions
        if showonly != "deleted":
            listed += [(n, 0, None) for n in ws.nodes if n.startswith(prefix) and visible(n)]
        if showonly == "deleted" or "deleted" in include:
            readable = call.readable or (lambda name: True)  # a deletion shows only to who may read it
            ranks: dict[str, int] = {}
            for deletion in self.namespace.deletions(ws):
                if deletion.path.startswith(prefix) and readable(deletion.path):
                    ranks[deletion.path] = ranks.get(deletion.path, 0) + 1
                    listed.append((deletion.path, ranks[deletion.path], deletion))
        listed = sorted((item for item in listed if item[:2] > marker), key=lambda item: item[:2])
        items: list[tuple[str, Deletion | None] | str] = []  # a blob, or a prefix (str)
        next_marker = None
        seen_prefixes: set[str] = set()
        for name, rank, deletion in listed:
            rest = name[len(prefix) :]
            if delimiter and delimiter in rest:
                blob_prefix = prefix + rest[: rest.index(delimiter) + len(delimiter)]
                if blob_prefix in seen_prefixes:
                    continue
                item, position = blob_prefix, (blob_prefix, -1)
            else:
                item, position = (name, deletion), (name, rank)
            if len(items) == max_results:
                next_marker = _encode_position(position)
                break
            if isinstance(item, str):
                seen_prefixes.add(item)
            items.append(item)
        out = [
            '<?xml version="1.0" encoding="utf-8"?>',
            f'<EnumerationResults ServiceEndpoint="{escape(str(call.request.url.origin()))}/" ContainerName="{escape(ws.name)}">',
            f"<Prefix>{escape(prefix)}</Prefix>",
        ]
        if q.get("marker"):
            out.append(f"<Marker>{escape(q['marker'])}</Marker>")
        out.append(f"<MaxResults>{max_results}</MaxResults>")
        if delimiter:
            out.append(f"<Delimiter>{escape(delimiter)}</Delimiter>")
        out.append("<Blobs>")
        for item in items:
            if isinstance(item, str):
                out.append(f"<BlobPrefix><Name>{escape(item)}</Name></BlobPrefix>")
            else:
                name, deletion = item
                node = deletion.root if deletion is not None else ws.nodes[name]
                out.append(self._blob_xml(name, node, deletion, "metadata" in include))
        out.append("</Blobs>")
        out.append(f"<NextMarker>{next_marker or ''}</NextMarker>")
        out.append("</EnumerationResults>")
        return web.Response(body="".join(out).encode(), content_type="application/xml", charset="utf-8")

    def _blob_xml(self, name: str, node: Node, deletion: Deletion | None, with_metadata: bool) -> str:
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
        head = f"<Name>{escape(name)}</Name>"
        if deletion is not None:
            head += f"<Deleted>true</Deleted><DeletionId>{deletion.id}</DeletionId>"
            props += [
                f"<DeletedTime>{http_date(deletion.deleted)}</DeletedTime>",
                f"<RemainingRetentionDays>{deletion.remaining_days(self.namespace.now())}</RemainingRetentionDays>",
            ]
        blob = [f"<Blob>{head}<Properties>{''.join(props)}</Properties>"]
        if with_metadata:
            metadata = dict(node.metadata)
            if node.is_dir:
                metadata["hdi_isfolder"] = "true"
            blob.append("<Metadata>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in metadata.items()) + "</Metadata>")
        blob.append("</Blob>")
        return "".join(blob)

    async def op_UndeleteBlob(self, call: Call) -> web.Response:
        """Undelete Blob, with the hierarchical namespace's `x-ms-undelete-source:
        <path>?deletionid=<id>` naming one deletion of the path (without it, its newest)."""
        ws = self._ws(call)
        deletion_id = None
        source = call.headers.get("x-ms-undelete-source")
        if source is not None:
            source_path, _, query = source.partition("?")
            deletion_id = parse_qs(query).get("deletionid", [None])[0]
            if unquote(source_path).strip("/") != call.path or not deletion_id:
                raise StorageError(
                    400, "InvalidHeaderValue", "x-ms-undelete-source must be <this path>?deletionid=<id>."
                )
        node = self.namespace.undelete(ws, call.path, deletion_id)
        response = web.Response(status=200)
        response.headers["x-ms-resource-type"] = "directory" if node.is_dir else "file"
        return response

    async def op_DeleteBlob(self, call: Call) -> web.Response:
        ws, node = self._node(call)
        Conditions(call.headers).check_write(node, condition_not_met_dfs())
        deletion = self.namespace.delete(ws, call.path, recursive=False)
        response = web.Response(status=202)
        # a DFS file delete without `recursive` lands here too (one port): Path - Delete names its deletion id
        if deletion is not None:
            response.headers["x-ms-deletion-id"] = deletion.id
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


def _encode_position(position: tuple[str, int]) -> str:
    """A List Blobs marker: the name and rank (0 live, n the n-th deletion of the name, -1 a
    prefix) the next page starts at, since one name may be listed several times."""
    return encode_marker(json.dumps(list(position)))


def _decode_position(marker: str) -> tuple[str, int]:
    try:
        name, rank = json.loads(decode_marker(marker))
        return str(name), int(rank) - 1
    except (ValueError, TypeError):
        raise StorageError(400, "InvalidQueryParameterValue", "The continuation token is not valid.") from None

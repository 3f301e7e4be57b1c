"""OneLake's soft-deleted paths: one List Blobs of deleted blobs, as requests and answers.

OneLake documents its soft delete through the Blob API (Microsoft Learn, "Recover deleted files in
OneLake"): list with deleted blobs included, restore with Undelete Blob; retention per workspace,
7 days by default. On a hierarchical namespace a deleted directory is listed as itself (what was
below it comes back with it), and each deletion has a `DeletionId`, which Undelete Blob takes in
`x-ms-undelete-source` to restore that very deletion when a path was deleted more than once.

The request asks for `include=deleted` (what OneLake's page uses) and `showonly=deleted` (so live
blobs fill no page); an answer that lists live blobs anyway is filtered here. The Blob SDK's
`list_blobs` drops `DeletionId` and the DataLake SDK's `list_deleted_paths` drops the size, so the
answer is read here, like `listing.ListPaths`.

This module imports azure-core only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode
from xml.etree import ElementTree

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from .entry import http_date
from .listing import PAGE


@dataclass(frozen=True, slots=True)
class Deleted:
    """One soft-deleted path (workspace-relative), as OneLake lists it."""

    path: str
    deletion_id: str | None
    is_dir: bool
    size: int
    deleted: datetime
    remaining_days: int | None  # whole days before OneLake removes it for good
    last_modified: datetime | None

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]


class ListDeleted:
    """One listing of the deletions below a folder, page after page (`request()` / `read()`,
    `done` once a page names no next marker)."""

    def __init__(self, container_url: str, api_version: str, folder: str):
        self.url = container_url
        self.params = {
            "restype": "container",
            "comp": "list",
            "include": "deleted",
            "showonly": "deleted",
            "maxresults": str(PAGE),
        }
        if folder:
            self.params["prefix"] = folder.rstrip("/") + "/"
        self.headers = {"x-ms-version": api_version, "Accept": "application/xml"}
        self.done = False

    def request(self) -> HttpRequest:
        # quoted by hand: azure-core sends `params` as they are (see listing.ListPaths)
        return HttpRequest("GET", f"{self.url}?{urlencode(self.params, quote_via=quote)}", headers=self.headers)

    def read(self, answer) -> list[Deleted]:
        if answer.status_code != 200:
            raise HttpResponseError(response=answer)
        root = ElementTree.fromstring(answer.content)
        marker = root.findtext("NextMarker") or ""
        if marker:
            self.params["marker"] = marker
        else:
            self.done = True
        return [item for blob in root.iter("Blob") if (item := _deleted(blob)) is not None]


def _deleted(blob: ElementTree.Element) -> Deleted | None:
    if (blob.findtext("Deleted") or "").lower() != "true":
        return None
    props = blob.find("Properties")
    if props is None:
        return None
    deleted_time = props.findtext("DeletedTime")
    if not deleted_time:
        return None
    remaining = props.findtext("RemainingRetentionDays")
    modified = props.findtext("Last-Modified")
    return Deleted(
        path=blob.findtext("Name") or "",
        deletion_id=blob.findtext("DeletionId") or None,
        is_dir=props.findtext("ResourceType") == "directory",
        size=int(props.findtext("Content-Length") or 0),
        deleted=http_date(deleted_time),
        remaining_days=int(remaining) if remaining else None,
        last_modified=http_date(modified) if modified else None,
    )


def undelete_source(path: str, deletion_id: str) -> str:
    """`x-ms-undelete-source`: the path (quoted, without workspace) and the deletion to restore."""
    return f"{quote(path.strip('/'), safe='/~')}?deletionid={quote(deletion_id, safe='')}"

"""List Paths without the storage SDK: what the store and a quick command share.

`ListPaths` is one listing, page after page, with no I/O of its own: it names each page's request
and reads each answer. The store sends those requests through the storage SDK's pipeline;
`PathLister` sends them through azure-core's own (bearer token, retries, requests) for the
command line, whose `ls` then starts without importing the storage SDK (about half a second on a
small machine, most of a short command).

This module imports azure-core only, never `azure.storage.*` or aiohttp.
"""

from __future__ import annotations

import time
from urllib.parse import quote, urlencode

from azure.core.exceptions import AzureError, HttpResponseError
from azure.core.rest import HttpRequest

from .. import metrics
from .entry import Entry, bare_etag, filetime, http_date
from .errors import translate

PAGE = 5000  # List Paths' largest page
# The storage SDK's default service version (azure-storage-file-datalake 12.26); a test checks they agree.
API_VERSION = "2026-10-06"


def listed(item: dict) -> Entry:
    """An entry of a List Paths answer (`isDirectory` and `contentLength` come as strings)."""
    modified = http_date(item["lastModified"])
    return Entry(
        path=item["name"],
        is_dir=str(item.get("isDirectory", "")).lower() == "true",
        size=int(item.get("contentLength") or 0),
        last_modified=modified,
        # whole seconds, like every other time OneLake gives (listing and HEAD then agree)
        created=(filetime(item.get("creationTime")) or modified).replace(microsecond=0),
        etag=bare_etag(item.get("etag") or item.get("eTag")),
    )


def retry_reason(response, error) -> str:
    """The `reason` label of a retry in `metrics`: connection, 429, 5xx or the status."""
    if response is None:
        return "connection"
    status = response.status_code
    return "429" if status == 429 else "5xx" if status >= 500 else str(status)


def lists_itself(path: str, entries: list[Entry]) -> bool:
    """Whether a listing of `path` found a file there: OneLake lists a file as itself."""
    return len(entries) == 1 and entries[0].path == path and not entries[0].is_dir


# ---- one List Paths ----------------------------------------------------------------------------
class ListPaths:
    """One listing of a directory, page after page, as requests to send and answers to read.

    `request()` is the next page's request; `read(answer)` returns that page's items (raw JSON
    objects; `listed` makes entries of them) and takes its continuation, which names the next
    page. `done` once a page names none. A failed answer raises `HttpResponseError`.
    """

    def __init__(self, filesystem_url: str, api_version: str, path: str, *, recursive: bool = False):
        self.url = filesystem_url
        self.params = {"resource": "filesystem", "recursive": "true" if recursive else "false", "maxResults": str(PAGE)}
        if path:
            self.params["directory"] = path
        self.headers = {"x-ms-version": api_version, "Accept": "application/json"}
        self.done = False

    def request(self) -> HttpRequest:
        # Every value quoted here: azure-core sends `params` as they are (a folder named `R&D`,
        # `50%41` or `#1`, or a continuation holding `+`, would reach OneLake as something else),
        # and the SDK's `_send_request` formats the URL as a template (a `{` in a name fails).
        return HttpRequest("GET", f"{self.url}?{urlencode(self.params, quote_via=quote)}", headers=self.headers)

    def read(self, answer) -> list[dict]:
        if answer.status_code != 200:
            raise HttpResponseError(response=answer)
        continuation = answer.headers.get("x-ms-continuation")
        if continuation:
            self.params["continuation"] = continuation
        else:
            self.done = True
        return answer.json().get("paths", [])


# ---- List Paths for a command ------------------------------------------------------------------
class PathLister:
    """Synchronous List Paths for the command line, through azure-core's pipeline: a bearer token
    from `credential`, the request id and service version headers, retries of 408/429/5xx
    (honouring Retry-After up to `max_retry_after`) and requests' transport, each attempt counted in `metrics`."""

    def __init__(
        self,
        endpoint: str,
        workspace: str,
        credential,
        *,
        ca_file: str | None = None,
        retry_total: int = 3,
        max_retry_after: float = 5.0,
    ):
        from azure.core import PipelineClient
        from azure.core.pipeline.policies import (
            BearerTokenCredentialPolicy,
            RequestIdPolicy,
            RetryPolicy,
            UserAgentPolicy,
        )
        from azure.core.pipeline.transport import RequestsTransport

        from ..config import STORAGE_SCOPE

        class CountedRetry(RetryPolicy):
            def increment(self, settings, response=None, error=None) -> bool:
                retrying = super().increment(settings, response=response, error=error)
                if retrying:
                    metrics.count_retry(retry_reason(getattr(response, "http_response", None), error))
                return retrying

            def get_retry_after(self, response):
                hinted = super().get_retry_after(response)
                return None if hinted is None else min(hinted, max_retry_after)

        class CountedTransport(RequestsTransport):
            def send(self, request, **kwargs):
                operation = metrics.operation_of(request.method, request.url, request.headers)
                started = time.perf_counter()
                try:
                    response = super().send(request, **kwargs)
                except Exception:
                    metrics.count_request(operation, "error", time.perf_counter() - started)
                    raise
                metrics.count_request(operation, response.status_code, time.perf_counter() - started)
                return response

        self.url = f"{endpoint.rstrip('/')}/{workspace}"
        self._client = PipelineClient(
            self.url,
            policies=[
                RequestIdPolicy(),
                UserAgentPolicy(sdk_moniker="onelake-contents"),
                CountedRetry(retry_total=retry_total, retry_backoff_factor=0.25, retry_backoff_max=5),
                BearerTokenCredentialPolicy(credential, STORAGE_SCOPE),
            ],
            transport=CountedTransport(connection_verify=ca_file or True),
        )

    def list(self, path: str) -> list[Entry]:
        """The children of a directory (a file lists as itself); `StoreError`s as the store's."""
        pages = ListPaths(self.url, API_VERSION, path)
        entries: list[Entry] = []
        try:
            while not pages.done:
                entries.extend(map(listed, pages.read(self._client.send_request(pages.request()))))
        except AzureError as error:
            raise translate(error, path) from None
        return entries

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PathLister:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

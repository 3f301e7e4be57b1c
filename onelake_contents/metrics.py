"""What an operator sees: Prometheus metrics of OneLake requests, contents actions, the cache, the
broker and uploads, in prometheus_client's default registry (jupyter_server serves it at
`/metrics`; `onelake-contents --metrics-file` writes it for cron runs).

Every OneLake request is counted once per attempt at the SDK transport (retries included), with its
REST operation name as Azure's reference names it, told apart the way the service tells requests
apart (`operation_of`). `set_enabled(False)` turns every update into a no-op (the benchmark
compares both).
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit


class _Metrics:
    """The metrics, registered in prometheus_client's default registry on first use (a command
    line run without --metrics-file never imports prometheus_client)."""

    def __init__(self):
        from prometheus_client import Counter, Gauge, Histogram

        self.requests = Counter(
            "onelake_contents_requests",
            "HTTP requests to OneLake, per attempt (retries included), by REST operation and HTTP status ('error': no answer).",
            ["operation", "status"],
        )
        self.request_seconds = Histogram(
            "onelake_contents_request_duration_seconds",
            "Time of one HTTP request to OneLake, until its answer's headers (bodies stream on).",
            ["operation"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
        )
        self.retries = Counter("onelake_contents_retries", "Requests to OneLake tried again, by reason.", ["reason"])
        self.throttled = Counter(
            "onelake_contents_throttled",
            "Contents actions answered 503 because OneLake kept throttling (429) after the retries.",
        )
        self.conflicts = Counter(
            "onelake_contents_conflicts", "409s given to users (changed elsewhere, already exists, in the way)."
        )
        self.actions = Counter(
            "onelake_contents_actions",
            "Contents API actions (get, save, rename, delete, copy, upload, checkpoint, ...) by outcome and by "
            "root of the tree (empty with a single root).",
            ["action", "outcome", "root"],
        )
        self.cache_lookups = Counter(
            "onelake_contents_cache_lookups",
            "Metadata lookups: answered by the cache (hit), known missing (negative), or asked of OneLake (miss).",
            ["result"],
        )
        self.broker_requests = Counter(
            "onelake_contents_broker_requests",
            "Token requests to the broker: ok, refused (4xx), failed (5xx, unreachable, bad answer).",
            ["outcome"],
        )
        self.token_expires_in = Gauge(
            "onelake_contents_token_expires_in_seconds", "Seconds until the OneLake token in use expires."
        )
        self.upload_bytes = Counter("onelake_contents_upload_bytes", "Bytes of chunked uploads staged in OneLake.")
        self.staged_uploads = Gauge(
            "onelake_contents_staged_uploads_in_progress", "Chunked uploads begun and not yet published or abandoned."
        )


_metrics: _Metrics | None = None


def _get() -> _Metrics:
    global _metrics
    if _metrics is None:
        _metrics = _Metrics()
    return _metrics


# HTTP status of a contents action -> its outcome label
OUTCOMES = {
    400: "invalid",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "too_large",
    416: "invalid",
    503: "unavailable",
}

_enabled = True


def set_enabled(enabled: bool) -> None:
    global _enabled
    _enabled = enabled


def enabled() -> bool:
    return _enabled


def outcome_of(status: int | None) -> str:
    if status is None or status < 400:
        return "ok"
    return OUTCOMES.get(status, "error")


def count_request(operation: str, status: int | str, seconds: float) -> None:
    if _enabled:
        m = _get()
        m.requests.labels(operation, str(status)).inc()
        m.request_seconds.labels(operation).observe(seconds)


def count_retry(reason: str) -> None:
    if _enabled:
        _get().retries.labels(reason).inc()


def count_action(action: str, status: int | None, root: str = "") -> None:
    if not _enabled:
        return
    _get().actions.labels(action, outcome_of(status), root).inc()
    if status == 409:
        _get().conflicts.inc()


def count_throttled() -> None:
    if _enabled:
        _get().throttled.inc()


def count_cache(result: str) -> None:
    if _enabled:
        _get().cache_lookups.labels(result).inc()


def count_broker(outcome: str, expires_on: float | None = None) -> None:
    if not _enabled:
        return
    _get().broker_requests.labels(outcome).inc()
    if expires_on is not None:
        _get().token_expires_in.set_function(lambda: max(0.0, expires_on - time.time()))


def count_upload(data: int) -> None:
    if _enabled:
        _get().upload_bytes.inc(data)


def upload_started() -> None:
    if _enabled:
        _get().staged_uploads.inc()


def upload_ended() -> None:
    if _enabled:
        _get().staged_uploads.dec()


def write_file(path: str) -> None:
    """The default registry in Prometheus' text format, for node_exporter's textfile collector."""
    from prometheus_client import REGISTRY, write_to_textfile

    _get()  # every metric is in the file, at 0 when nothing happened
    write_to_textfile(path, REGISTRY)


_BLOB_COMP = {
    "block": "PutBlock",
    "blocklist": "PutBlockList",
    "metadata": "SetBlobMetadata",
    "properties": "SetBlobProperties",
}
_DFS_ACTIONS = {
    "append": "AppendData",
    "flush": "FlushData",
    "setProperties": "SetProperties",
    "setAccessControl": "SetAccessControl",
    "getStatus": "GetPathStatus",
    "getAccessControl": "GetPathStatus",
}


def operation_of(method: str, url: str, headers) -> str:
    """The REST operation of a request to OneLake (Path - List/Create/Rename/Delete, Put Blob, ...)."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    segments = [s for s in parts.path.split("/") if s]
    comp, method = query.get("comp"), method.upper()
    if len(segments) <= 1:  # the workspace (container) itself
        if query.get("resource") == "filesystem":
            return "ListPaths" if method == "GET" else "GetFilesystemProperties"
        return "ListBlobs" if comp == "list" else "GetContainerProperties"
    if method == "PUT":
        if "x-ms-rename-source" in headers:
            return "RenamePath"
        if "resource" in query:
            return "CreatePath"
        return _BLOB_COMP.get(comp, "PutBlob")
    if method == "PATCH":
        return _DFS_ACTIONS.get(query.get("action", ""), "UpdatePath")
    if method == "DELETE":
        return "DeletePath" if "recursive" in query or "paginated" in query else "DeleteBlob"
    if method == "HEAD":
        if "action" in query:
            return "GetPathStatus"
        return "GetBlobMetadata" if comp == "metadata" else "GetBlobProperties"
    if method == "GET":
        if comp == "blocklist":
            return "GetBlockList"
        return "GetBlobMetadata" if comp == "metadata" else "GetBlob"
    return method

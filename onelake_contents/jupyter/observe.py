"""Each contents action observed once: a counter by outcome (`metrics`), a span when tracing is on
(the OneLake requests it makes become its children through azure-core's own tracing), and one
structured log line when it fails, with OneLake's error code and request id to quote to Microsoft
support. Nested actions (a `new_untitled` that saves) count as the outer one only.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from contextvars import ContextVar

from tornado.web import HTTPError

from .. import metrics
from ..paths import InvalidPath, normalize_api_path
from ..storage import StoreError, Throttled

_inside: ContextVar[bool] = ContextVar("onelake_action", default=False)
_PATH_ARGUMENTS = ("path", "old_path", "from_path")


class Tracing:
    """OpenTelemetry spans for contents actions, with azure-core's request spans beneath."""

    def __init__(self):
        try:
            import azure.core.tracing.ext.opentelemetry_span  # noqa: F401 - the plugin azure-core loads
            from azure.core.settings import settings
            from opentelemetry import context, trace
        except ImportError:
            raise ImportError(
                'tracing needs OpenTelemetry and azure-core\'s plugin: pip install "onelake-contents[tracing]"'
            ) from None
        settings.tracing_implementation = "opentelemetry"
        self.tracer = trace.get_tracer("onelake_contents")
        from ..storage import store

        def carry():
            current = context.get_current()
            return lambda: context.attach(current)

        if not any(getattr(c, "onelake_tracing", False) for c in store.context_carriers):
            carry.onelake_tracing = True
            store.context_carriers.append(carry)

    def span(self, action: str, path: str):
        return self.tracer.start_as_current_span(
            f"onelake_contents.{action}", attributes={"onelake.action": action, "onelake.path": path}
        )


def _path_of(signature: inspect.Signature, args, kwargs) -> str:
    try:
        bound = signature.bind_partial(*args, **kwargs).arguments
    except TypeError:
        return ""
    for name in _PATH_ARGUMENTS:
        if bound.get(name) is not None:
            return str(bound[name])
    return ""


def _path_kind(result, path: str) -> str:
    if isinstance(result, dict) and result.get("type"):
        return str(result["type"])
    if path.endswith(".ipynb"):
        return "notebook"
    return "file" if "." in path.rpartition("/")[2] else "unknown"


def observed(action):
    """Decorate a manager method as the contents action `action` (a name, or a function of the
    method's arguments giving one)."""

    def decorate(method):
        signature = inspect.signature(method)

        @functools.wraps(method)
        async def run(self, *args, **kwargs):
            if _inside.get():
                return await method(self, *args, **kwargs)
            token = _inside.set(True)
            name = action(*args, **kwargs) if callable(action) else action
            path = _path_of(signature, (self, *args), kwargs)
            tracing = getattr(self, "tracer", None)
            span_context = tracing.span(name, path) if tracing is not None else contextlib.nullcontext()
            try:
                with span_context as span:
                    try:
                        result = await method(self, *args, **kwargs)
                    except HTTPError as error:
                        _failed(self, name, path, error.status_code, error.log_message, error.__context__, span)
                        raise
                    except Exception as error:
                        _failed(self, name, path, 500, str(error), error, span)
                        raise
                    metrics.count_action(name, None, _root_of(self, path))
                    if span is not None:
                        span.set_attributes({"onelake.outcome": "ok", "onelake.path_kind": _path_kind(result, path)})
                    return result
            finally:
                _inside.reset(token)

        return run

    return decorate


def _root_of(manager, path: str) -> str:
    """The root of the tree an action's path is in, for the metrics ("" with a single root)."""
    tree = getattr(manager, "tree", None)
    if tree is None or not tree.named:
        return ""
    try:
        return tree.root_of(normalize_api_path(path))
    except InvalidPath:
        return ""


def _failed(manager, action: str, path: str, status: int, message, cause, span) -> None:
    metrics.count_action(action, status, _root_of(manager, path))
    code = request_id = None
    if isinstance(cause, StoreError):
        code, request_id = cause.code, cause.request_id
        if isinstance(cause, Throttled) and status == 503:
            metrics.count_throttled()
    outcome = metrics.outcome_of(status)
    if span is not None:
        span.set_attributes(
            {
                "onelake.outcome": outcome,
                "onelake.path_kind": _path_kind(None, path),
                "http.status_code": status,
                **({"onelake.error_code": code} if code else {}),
                **({"onelake.request_id": request_id} if request_id else {}),
            }
        )
    log = manager.log.info if status == 404 else manager.log.warning
    log(
        "onelake_contents action failed: action=%s path=%r status=%s outcome=%s code=%s request_id=%s message=%r",
        action,
        path,
        status,
        outcome,
        code or "-",
        request_id or "-",
        message or "",
    )

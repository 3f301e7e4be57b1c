"""OpenTelemetry: one span per contents action, its OneLake requests beneath (azure-core's spans)."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tornado.web import HTTPError

from onelake_contents.emulator import Emulator
from tests.conftest import ITEM, WORKSPACE

NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def exporter():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter
    from azure.core.settings import settings

    from onelake_contents.storage import store

    settings.tracing_implementation = None  # the rest of the suite runs untraced
    store.context_carriers.clear()


@pytest.fixture
async def traced(exporter):
    from onelake_contents import OneLakeContentsManager

    with Emulator({WORKSPACE: [ITEM]}) as lake:
        cm = OneLakeContentsManager(
            workspace=WORKSPACE,
            root=f"{ITEM}/Files/home/tracer",
            endpoint=lake.endpoint,
            broker_url=lake.broker_url,
            broker_token=lake.broker_token,
            ca_file=lake.ca_file,
            tracing=True,
        )
        yield cm, lake
        await cm.close()


def descendants(spans, root) -> list:
    children = {}
    for span in spans:
        if span.parent is not None:
            children.setdefault(span.parent.span_id, []).append(span)
    found, todo = [], [root.context.span_id]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child.context.span_id)
    return found


def http_spans(spans) -> list:
    return [s for s in spans if s.kind == trace.SpanKind.CLIENT and s.name in ("GET", "PUT", "HEAD", "PATCH", "DELETE")]


async def test_each_action_is_a_span_with_its_onelake_requests_beneath(traced, exporter):
    cm, lake = traced
    await cm.get("")  # the root is made on first use
    exporter.clear()
    lake.reset_requests()
    await cm.save({"type": "notebook", "content": NOTEBOOK}, "a.ipynb")
    await cm.get("a.ipynb")
    await cm.rename("a.ipynb", "b.ipynb")
    spans = exporter.get_finished_spans()
    actions = [s for s in spans if s.name.startswith("onelake_contents.")]
    assert [s.name for s in actions] == ["onelake_contents.save", "onelake_contents.get", "onelake_contents.rename"]
    beneath = 0
    for action in actions:
        assert action.parent is None  # one span per action, not nested in another
        assert action.attributes["onelake.outcome"] == "ok"
        requests = http_spans(descendants(spans, action))
        assert requests, f"no OneLake request beneath {action.name}"
        beneath += len(requests)
    assert actions[0].attributes["onelake.path_kind"] == "notebook"
    assert beneath == len(http_spans(spans)) == len(lake.requests())  # every request sits under its action
    for span in spans:
        text = repr(dict(span.attributes or {}))
        assert "Bearer" not in text and lake.broker_token not in text


async def test_a_failed_action_carries_its_status_and_onelakes_error(traced, exporter):
    cm, lake = traced
    await cm.get("")
    lake.deny(f"{WORKSPACE}/{ITEM}/Files/home/tracer/locked")
    exporter.clear()
    with pytest.raises(HTTPError):
        await cm.get("locked/x.ipynb")
    lake.deny()
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "onelake_contents.get"]
    assert span.attributes["http.status_code"] == 403
    assert span.attributes["onelake.outcome"] == "forbidden"
    assert span.attributes["onelake.error_code"] == "AuthorizationPermissionMismatch"
    assert span.attributes["onelake.request_id"]

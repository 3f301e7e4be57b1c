"""Hostile input through the REST API (property-based): always a 4xx with a message, never a
500, and never a OneLake request outside the user's root."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onelake_contents.emulator import Emulator
from tests.conftest import ITEM, WORKSPACE
from tests.servers import JupyterServer

ROOT = f"{ITEM}/Files/home/hostile"

SEGMENTS = st.one_of(
    st.sampled_from(
        [
            "..",
            ".",
            "%2e%2e",
            "%2E%2e",
            "..%2f..",
            "%2f",
            "%00",
            "\\",
            "a\\b",
            ".hidden",
            ".ipynb_checkpoints",
            "ok",
            "ünï",
            "e\u0301",
            "\u00e9",
            "x" * 300,
            " ",
            "con",
            "~",
            "%",
            "#",
            "?q",
            "a:b",
            "\u202e",
            "\U0001f600",
        ]
    ),
    st.text(min_size=1, max_size=12),
)
PATHS = st.one_of(
    st.lists(SEGMENTS, min_size=1, max_size=4).map("/".join),
    st.sampled_from(["/etc/passwd", "//server/share", "C:\\Windows", "a//b", "a/./b", "../" * 5 + "etc", "\x00"]),
)
BAD_MODELS = st.sampled_from(
    [
        {"type": "file", "format": "text", "content": 42},
        {"type": "file", "format": "base64", "content": "not base64 !!!"},
        {"type": "file", "format": "text", "content": "\ud800 lone surrogate"},
        {"type": "file", "format": "bogus", "content": "x"},
        # {"type": ["file"]} is left out: jupyter_server's PUT handler itself fails on it with a 500
        # (`model.get("type") not in {...}` on a list) before any contents manager is called
        {"type": "notebook", "content": "not a notebook"},
        {"type": "notebook", "content": {"cells": "nope"}},
        {"type": "notebook", "format": "json", "content": {"nbformat": 4}},
        {"type": "file", "format": "base64", "chunk": 0, "content": ""},
        {"type": "file", "format": "base64", "chunk": 7, "content": "AAAA"},
        {"type": "file", "format": "base64", "chunk": "1", "content": "AAAA"},
        {"type": "file", "format": "base64", "chunk": True, "content": "AAAA"},
        {"type": "file", "format": "text", "content": "y" * (2 * 1024 * 1024)},
    ]
)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    with Emulator({WORKSPACE: [ITEM]}) as emu:
        server = JupyterServer(
            emu.info,
            WORKSPACE,
            ROOT,
            tmp_path_factory.mktemp("hostile"),
            "--OneLakeContentsManager.max_content_bytes=1048576",
        ).start()
        server.api("PUT", "ok", json={"type": "directory"})
        server.api("PUT", "ok/file.txt", json={"type": "file", "format": "text", "content": "x"})
        yield emu, server
        server.stop()


def raw(server, method: str, path: str, **kwargs) -> requests.Response:
    """The path as a client could send it: percent-escapes kept, the rest quoted."""
    url = f"{server.url}/api/contents/{quote(path, safe='/%')}"
    return server.session.request(method, url, timeout=60, **kwargs)


def check(emulator, response: requests.Response) -> None:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    if response.status_code >= 400:
        if "json" in response.headers.get("Content-Type", ""):
            try:
                body = response.json()
            except ValueError:
                body = response.text  # jupyter_server answers hidden paths itself with plain text
            assert body.get("message") if isinstance(body, dict) else body, response.text
        else:
            # Tornado or Jupyter refused the URL (`//`, a bare `..`) before any contents handler
            assert 400 <= response.status_code < 500 and response.text, response.text[:200]
    outside = [r.path for r in emulator.requests() if r.path and r.path != ROOT and not r.path.startswith(ROOT + "/")]
    assert outside == [], f"requests outside the root: {outside}"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=PATHS, method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "POST"]))
def test_hostile_paths(hostile, path, method):
    emulator, server = hostile
    emulator.reset_requests()
    kwargs = {}
    if method == "PUT":
        kwargs["json"] = {"type": "file", "format": "text", "content": "x"}
    elif method == "PATCH":
        kwargs["json"] = {"path": path}
        path = "ok/file.txt"
    elif method == "POST":
        kwargs["json"] = {"copy_from": path}
        path = "ok"
    response = raw(server, method, path, **kwargs)
    check(emulator, response)
    if method == "PATCH" and response.status_code == 200:
        server.api("PATCH", response.json()["path"], json={"path": "ok/file.txt"})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(model=BAD_MODELS, name=st.sampled_from(["ok/a.txt", "ok/n.ipynb", "ok/new"]))
def test_hostile_models(hostile, model, name):
    emulator, server = hostile
    emulator.reset_requests()
    response = raw(server, "PUT", name, data=json.dumps(model), headers={"Content-Type": "application/json"})
    check(emulator, response)
    assert response.status_code >= 400


def test_binary_as_text_and_garbage_json_are_4xx(hostile):
    emulator, server = hostile
    server.api(
        "PUT",
        "ok/bin.dat",
        json={"type": "file", "format": "base64", "content": base64.b64encode(b"\xff\xfe").decode()},
    )
    check(emulator, server.api("GET", "ok/bin.dat", params={"format": "text"}))
    assert server.api("GET", "ok/bin.dat", params={"format": "text"}).status_code == 400
    response = raw(server, "PUT", "ok/x.txt", data=b"{not json", headers={"Content-Type": "application/json"})
    check(emulator, response)
    assert response.status_code == 400

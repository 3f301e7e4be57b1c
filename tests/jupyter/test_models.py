"""jupyter.models: Jupyter's models from entries and bytes, and bytes from models (no server)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from tornado.web import HTTPError

from onelake_contents.jupyter import models
from onelake_contents.storage import Entry

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
KEYS = {"name", "path", "type", "writable", "created", "last_modified", "mimetype", "content", "format", "size"}


def entry(path: str, is_dir: bool = False, size: int = 3) -> Entry:
    return Entry(f"Item.Lakehouse/Files/{path}", is_dir, size, WHEN, WHEN, "e")


def test_models_without_content_have_jupyters_keys_and_types():
    directory = models.model_without_content("d", entry("d", is_dir=True), WHEN)
    notebook = models.model_without_content("d/n.ipynb", entry("d/n.ipynb"), WHEN)
    text = models.model_without_content("d/t.txt", entry("d/t.txt"), WHEN)
    assert KEYS <= set(directory) and directory["type"] == "directory" and directory["size"] is None
    assert notebook["type"] == "notebook" and notebook["name"] == "n.ipynb" and notebook["mimetype"] is None
    assert text["type"] == "file" and text["mimetype"] == "text/plain" and text["size"] == 3
    assert all(m["content"] is None and m["format"] is None for m in (directory, notebook, text))
    assert models.base_model("", entry("", is_dir=True), WHEN)["name"] == ""


def test_decode_is_text_when_it_can_be_and_base64_otherwise():
    assert models.decode("hé".encode(), None, "p") == ("hé", "text")
    content, fmt = models.decode(b"\xff\xfe", None, "p")
    assert fmt == "base64" and base64.b64decode(content) == b"\xff\xfe"
    with pytest.raises(HTTPError) as info:
        models.decode(b"\xff", "text", "p")
    assert info.value.status_code == 400


def test_file_bytes_take_text_and_strict_base64_only():
    assert models.file_bytes("héllo", "text", "p") == "héllo".encode()
    assert models.file_bytes(base64.encodebytes(b"\x00\x01" * 50).decode(), "base64", "p") == b"\x00\x01" * 50
    for content, fmt in (("%%%", "base64"), ("x", None), ("x", "json"), (1, "text")):
        with pytest.raises(HTTPError) as info:
            models.file_bytes(content, fmt, "p")
        assert info.value.status_code == 400


def test_notebooks_round_trip_and_garbage_is_400():
    nb = new_notebook(cells=[new_code_cell("print(1)")])
    data, error = models.serialise_notebook(nb, "n.ipynb")
    assert error == {}
    parsed, error = models.parse_notebook(data, "n.ipynb")
    assert error == {} and parsed.cells[0].source == "print(1)" and parsed == nbformat.reads(data.decode(), 4)
    with pytest.raises(HTTPError) as info:
        models.parse_notebook(b"{not json", "n.ipynb")
    assert info.value.status_code == 400
    with pytest.raises(HTTPError):
        models.check_notebook_content({"cells": "x", "nbformat": 4}, "n.ipynb")


def test_hash_fields_use_the_algorithm_asked_for():
    assert models.hash_fields(b"abc", "md5") == {"hash": "900150983cd24fb0d6963f7d28e17f72", "hash_algorithm": "md5"}

"""A rename changes no content: the renamed file's `last_modified` stays what it was, also once
its metadata is read from OneLake again (OneLake gives the renamed path a new ETag). The
collaboration room polls `last_modified` and takes any change of it for an edit made elsewhere."""

from __future__ import annotations

NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


async def test_a_renamed_file_keeps_its_last_modified_when_read_again(make_manager):
    cm = make_manager(metadata_ttl=0)  # every get reads OneLake again
    await cm.save({"type": "notebook", "content": NOTEBOOK}, "before.ipynb")
    before = (await cm.get("before.ipynb", content=False))["last_modified"]
    await cm.rename("before.ipynb", "after.ipynb")
    assert (await cm.get("after.ipynb", content=False))["last_modified"] == before
    saved = await cm.save({"type": "notebook", "content": {**NOTEBOOK, "metadata": {"v": 2}}}, "after.ipynb")
    assert saved["last_modified"] > before  # a real change still shows

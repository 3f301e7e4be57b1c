"""lake.history on the emulator: newest first, reads within a size limit, copy names, text diffs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from onelake_contents.lake.files import LakeFiles
from onelake_contents.lake.history import CURRENT, History, copy_name, notebook_text, text_diff
from onelake_contents.lake.versions import NoSuchVersion, Versions
from onelake_contents.paths import PathMapper
from onelake_contents.storage import OneLakeStore, TooLarge
from tests.conftest import FILES, WORKSPACE

ROOT = f"{FILES}/home/h"


@pytest.fixture
async def history(emulator, async_credential):
    store = OneLakeStore(emulator.endpoint, WORKSPACE, async_credential, ca_file=emulator.ca_file, retry_total=0)
    files = LakeFiles(store, PathMapper(ROOT))
    yield History(Versions(files))
    await files.close()


async def test_versions_newest_first_and_reads_within_a_limit(history):
    path = f"{ROOT}/a.txt"
    ids = []
    for content in (b"one", b"two!"):
        await history.files.write(path, content, None)
        ids.append((await history.versions.create(path)).name)
    assert [v.name for v in await history.list(path)] == ids[::-1]
    assert (await history.read(path, ids[0])).data == b"one"
    assert (await history.read(path, CURRENT)).data == b"two!"
    with pytest.raises(TooLarge):
        await history.read(path, ids[1], max_bytes=3)
    for bad in ("../a", "no-such"):
        with pytest.raises(NoSuchVersion):
            await history.read(path, bad)


def test_copy_names_and_diffs():
    when = datetime(2026, 12, 6, 21, 5, 3, tzinfo=UTC)
    assert copy_name("d/report.ipynb", when) == "report (version 2026-12-06 21-05-03).ipynb"
    assert copy_name("d/Makefile", when) == "Makefile (version 2026-12-06 21-05-03)"
    assert text_diff(b"\xff", b"x", "a", "b") is None
    assert text_diff(b"a\nb", b"a\nc", "a", "b").endswith("-b\n+c\n")
    text = notebook_text(b'{"cells": [{"cell_type": "code", "source": ["x = 1\\n", "y"]}]}').decode()
    assert text == "# [1] code\nx = 1\ny\n"

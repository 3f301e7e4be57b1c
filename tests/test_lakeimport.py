"""`import helpers` finds helpers.py in the notebook's OneLake folder, after everything local."""

from __future__ import annotations

import importlib
import sys
import traceback

import fsspec
import pytest

from onelake_contents import lakeimport
from tests.conftest import HOME, WORKSPACE

ROOT = HOME
HELPERS = b"X = 1\n\n\ndef boom():\n    raise ValueError('raised in helpers')\n"


@pytest.fixture
def lake(configured, monkeypatch):
    monkeypatch.setenv("ONELAKE_NOTEBOOK_DIR", f"{WORKSPACE}/{ROOT}/nb")
    before = set(sys.modules)
    yield configured
    for finder in [f for f in sys.meta_path if isinstance(f, lakeimport.OneLakeFinder)]:
        sys.meta_path.remove(finder)
    for name in set(sys.modules) - before:
        if name.split(".")[0] in ("helpers", "toolkit", "later"):
            del sys.modules[name]


def put(path: str, data: bytes) -> None:
    fsspec.filesystem("onelake").pipe(f"onelake:///nb/{path}", data)


def operations(emulator) -> list[tuple[str, int]]:
    return [(r.operation, r.status) for r in emulator.requests()]


def test_import_finds_the_module_beside_the_notebook_and_a_reload_of_an_unchanged_one_is_one_304(lake):
    put("helpers.py", HELPERS)
    finder = lakeimport.install()
    assert sys.meta_path[-1] is finder
    lake.reset_requests()
    import helpers

    assert helpers.X == 1 and helpers.__file__ == "onelake:///nb/helpers.py"
    assert operations(lake) == [("ListBlobs", 200), ("GetBlob", 206)]
    lake.reset_requests()
    importlib.reload(helpers)
    assert operations(lake) == [("GetBlob", 304)]
    put("helpers.py", b"X = 2\n")  # saved from the file browser
    lake.reset_requests()
    importlib.reload(helpers)
    assert helpers.X == 2
    assert operations(lake) == [("GetBlob", 206)]


def test_a_traceback_shows_the_onelake_path_and_the_line(lake):
    put("helpers.py", HELPERS)
    lakeimport.install()
    import helpers

    with pytest.raises(ValueError) as raised:
        helpers.boom()
    shown = "".join(traceback.format_exception(raised.value))
    assert 'File "onelake:///nb/helpers.py", line 5, in boom' in shown
    assert "raise ValueError('raised in helpers')" in shown


def test_packages_and_their_submodules_come_from_their_own_folder(lake):
    put("toolkit/__init__.py", b"from .clean import tidy\n")
    put("toolkit/clean.py", b"def tidy(s):\n    return s.strip()\n")
    lakeimport.install()
    import toolkit

    assert toolkit.tidy("  x ") == "x"
    assert toolkit.__path__ == ["onelake:///nb/toolkit"]
    assert sys.modules["toolkit.clean"].__file__ == "onelake:///nb/toolkit/clean.py"


def test_local_modules_are_never_shadowed_and_misses_share_one_listing(lake):
    put("json.py", b"raise SystemExit('the stdlib was shadowed')\n")
    put("pandas.py", b"raise SystemExit('site-packages was shadowed')\n")
    lakeimport.install()
    del sys.modules["json"]
    import json

    import pandas

    assert json.__file__.endswith("json/__init__.py") and "site-packages" in pandas.__file__
    importlib.invalidate_caches()
    lake.reset_requests()
    for name in ("not_here_1", "not_here_2", "not_here_3"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(name)
    assert operations(lake) == [("ListBlobs", 200)]


def test_a_module_saved_after_a_failed_import_is_found_once_caches_are_invalidated(lake):
    lakeimport.install()
    with pytest.raises(ModuleNotFoundError):
        import later
    put("later.py", b"VALUE = 'now here'\n")
    importlib.invalidate_caches()
    import later

    assert later.VALUE == "now here"


def test_off_with_onelake_imports_0(lake, monkeypatch):
    monkeypatch.setenv("ONELAKE_IMPORTS", "0")
    assert lakeimport.install() is None
    assert lakeimport.kernel_startup_env() == {}


def test_the_kernel_startup_keeps_the_users_own_startup_file():
    env = lakeimport.kernel_startup_env({"PYTHONSTARTUP": "/home/alice/.pythonrc"})
    assert env == {"PYTHONSTARTUP": lakeimport.STARTUP_FILE, "ONELAKE_PREVIOUS_PYTHONSTARTUP": "/home/alice/.pythonrc"}
    assert lakeimport.kernel_startup_env({}) == {"PYTHONSTARTUP": lakeimport.STARTUP_FILE}

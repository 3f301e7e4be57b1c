"""`onelake://` URLs name the file browser's paths, the notebook's folder, or any OneLake path."""

from __future__ import annotations

import pytest

from onelake_contents import lakepath, path_of

ROOT = "Item.Lakehouse/Files/home/alice"


@pytest.fixture
def settings(monkeypatch, tmp_path):
    monkeypatch.setenv("ONELAKE_CONFIG", str(tmp_path / "none.json"))
    monkeypatch.setenv("ONELAKE_WORKSPACE", "ws")
    monkeypatch.setenv("ONELAKE_ROOT", ROOT)
    monkeypatch.setenv("ONELAKE_ENDPOINT", "https://127.0.0.1:8443")
    monkeypatch.delenv("ONELAKE_NOTEBOOK_DIR", raising=False)
    return monkeypatch


def test_a_relative_url_is_beside_the_notebook_and_a_leading_slash_is_the_root(settings):
    settings.setenv("ONELAKE_NOTEBOOK_DIR", f"ws/{ROOT}/reports")
    assert lakepath.lake_path("onelake://data.csv") == f"ws/{ROOT}/reports/data.csv"
    assert lakepath.lake_path("onelake://out/x.parquet") == f"ws/{ROOT}/reports/out/x.parquet"
    assert lakepath.lake_path("onelake://../data.csv") == f"ws/{ROOT}/data.csv"
    assert lakepath.lake_path("onelake:///reports/q3.csv") == f"ws/{ROOT}/reports/q3.csv"
    assert lakepath.lake_path("onelake://") == f"ws/{ROOT}/reports"


def test_outside_a_notebook_relative_urls_start_at_the_root(settings):
    assert lakepath.lake_path("onelake://data.csv") == f"ws/{ROOT}/data.csv"


def test_four_slashes_name_any_workspace_and_the_portals_abfss_url_is_the_same_place(settings):
    full = "ws2/Sales.Lakehouse/Files/q3.csv"
    assert lakepath.lake_path("onelake:////ws2/Sales.Lakehouse/Files/q3.csv") == full
    portal = "abfss://ws2@onelake.dfs.fabric.microsoft.com/Sales.Lakehouse/Files/q3.csv"
    assert lakepath.lake_path(portal) == full
    assert path_of(portal) == "onelake:////ws2/Sales.Lakehouse/Files/q3.csv"
    assert path_of(f"abfss://ws@onelake.dfs.fabric.microsoft.com/{ROOT}/a%20b.csv") == "onelake:///a b.csv"


def test_bare_paths_are_the_filesystems_own_form_and_urls_round_trip(settings):
    assert lakepath.lake_path(f"ws/{ROOT}/x.csv") == f"ws/{ROOT}/x.csv"
    assert lakepath.lake_path("/x.csv") == f"ws/{ROOT}/x.csv"
    for path in (f"ws/{ROOT}/x.csv", f"ws/{ROOT}", "ws2/Other.Lakehouse/Files/y", "ws/Item.Lakehouse/Tables/t"):
        assert lakepath.lake_path(lakepath.url_of(path)) == path
    assert lakepath.url_of(f"ws/{ROOT}/sub/x.csv") == "onelake:///sub/x.csv"


@pytest.mark.parametrize(
    "url",
    [
        "abfss://ws@evil.example.com/Item.Lakehouse/Files/x",
        "abfss://onelake.dfs.fabric.microsoft.com/Item.Lakehouse/Files/x",
        "onelake:////ws/../../x",
        "onelake://../../../../../..",
    ],
)
def test_what_names_no_onelake_path_is_refused(settings, url):
    with pytest.raises(lakepath.NotOneLake):
        lakepath.lake_path(url)


def test_with_named_roots_the_kernel_names_what_the_file_browser_names(settings):
    import json

    roots = {"home": f"ws/{ROOT}", "sales": "Sales/Sales.Lakehouse/Files"}
    settings.setenv("ONELAKE_ROOTS", json.dumps(roots))
    assert lakepath.lake_path("onelake:///sales/q3.parquet") == "Sales/Sales.Lakehouse/Files/q3.parquet"
    assert lakepath.lake_path("/home/data.csv") == f"ws/{ROOT}/data.csv"
    assert lakepath.url_of("Sales/Sales.Lakehouse/Files/q3/x.csv") == "onelake:///sales/q3/x.csv"
    assert lakepath.url_of("Other/O.Lakehouse/Files/x.csv") == "onelake:////Other/O.Lakehouse/Files/x.csv"
    with pytest.raises(lakepath.NotOneLake, match="in no root"):
        lakepath.lake_path("onelake:///marketing/x.csv")
    settings.setenv("ONELAKE_NOTEBOOK_DIR", "Sales/Sales.Lakehouse/Files/q3")
    assert lakepath.lake_path("onelake://x.csv") == "Sales/Sales.Lakehouse/Files/q3/x.csv"

"""jupyter.settings: connection traits read as the values in use, explicit traits win (no server)."""

from __future__ import annotations

import pytest

from onelake_contents import OneLakeContentsManager


@pytest.fixture
def environment(monkeypatch):
    monkeypatch.setenv("ONELAKE_WORKSPACE", "from-env")
    monkeypatch.setenv("ONELAKE_ROOT", "Item.Lakehouse/Files/home/env")
    monkeypatch.setenv("ONELAKE_BROKER_URL", "https://broker.example")
    monkeypatch.setenv("ONELAKE_BROKER_TOKEN", "client-token")


def test_unset_traits_read_as_the_settings_in_use(environment):
    cm = OneLakeContentsManager()
    assert cm.workspace == "from-env" and cm.root == "Item.Lakehouse/Files/home/env"
    assert cm.endpoint == "https://onelake.dfs.fabric.microsoft.com"
    assert cm.settings.source("workspace") == "env ONELAKE_WORKSPACE"


def test_an_explicit_trait_wins_over_the_environment(environment):
    cm = OneLakeContentsManager(workspace="explicit")
    assert cm.workspace == "explicit" and cm.settings.source("workspace") == "config"
    assert cm.settings.workspace == "explicit"


def test_a_missing_setting_names_its_variable(monkeypatch):
    monkeypatch.delenv("ONELAKE_WORKSPACE", raising=False)
    with pytest.raises(ValueError, match="ONELAKE_WORKSPACE"):
        OneLakeContentsManager(root="Item.Lakehouse/Files", broker_url="https://b.example", broker_token="t")


def test_help_comes_from_one_place():
    from onelake_contents import config

    assert OneLakeContentsManager.class_traits()["workspace"].help == config.trait_help("workspace")
    assert "ONELAKE_WORKSPACE" in config.trait_help("workspace")

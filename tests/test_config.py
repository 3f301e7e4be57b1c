"""Settings: explicit > environment > saved config file > default, each with its source."""

from __future__ import annotations

import json

import pytest

from onelake_contents import config
from onelake_contents.config import SettingsError, read_config_file, reload_config_file, resolve, write_config_file


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    for setting in config.SETTINGS.values():
        monkeypatch.delenv(setting.env, raising=False)
    for name in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "config.json"
    monkeypatch.setenv("ONELAKE_CONFIG", str(path))
    reload_config_file()
    yield path
    reload_config_file()


def test_defaults(isolated):
    s = resolve()
    assert s.endpoint == "https://onelake.dfs.fabric.microsoft.com"
    assert s.scope == "https://storage.azure.com/.default"
    assert s.workspace is None
    assert s.source("endpoint") == "default"


def test_precedence_explicit_env_file(isolated, monkeypatch):
    isolated.write_text(json.dumps({"workspace": "from-file", "root": "F.Lakehouse/Files/f"}))
    monkeypatch.setenv("ONELAKE_WORKSPACE", "from-env")
    s = resolve({"workspace": "from-trait"})
    assert (s.workspace, s.source("workspace")) == ("from-trait", "config")
    s = resolve({"workspace": None})
    assert (s.workspace, s.source("workspace")) == ("from-env", "env ONELAKE_WORKSPACE")
    assert (s.root, s.source("root")) == ("F.Lakehouse/Files/f", f"file {isolated}")


def test_config_file_is_read_once_until_reloaded(isolated):
    isolated.write_text(json.dumps({"workspace": "one"}))
    assert resolve().workspace == "one"
    isolated.write_text(json.dumps({"workspace": "two"}))
    assert resolve().workspace == "one"
    reload_config_file()
    assert resolve().workspace == "two"


def test_write_config_file_refuses_secrets_and_unknown_names(isolated):
    with pytest.raises(SettingsError, match="secret"):
        write_config_file({"broker_token": "s3cret"})
    with pytest.raises(SettingsError, match="unknown"):
        write_config_file({"colour": "blue"})
    path = write_config_file({"workspace": "w", "root": "I.Lakehouse/Files"})
    assert read_config_file(path) == {"workspace": "w", "root": "I.Lakehouse/Files"}
    assert oct(path.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("env", "value", "fragment"),
    [
        ("ONELAKE_ENDPOINT", "http://onelake.dfs.fabric.microsoft.com", "must be an https URL"),
        ("ONELAKE_BROKER_URL", "http://broker.internal", "must use https"),
        ("ONELAKE_BROKER_URL", "ftp://x", "not an http(s) URL"),
        ("ONELAKE_ROOT", "Item.Lakehouse/Tables/x", "must be <item>/Files"),
        ("ONELAKE_ROOT", "Item.Lakehouse/Files/../../x", "must be <item>/Files"),
        ("ONELAKE_CA_FILE", "/nonexistent/ca.pem", "not a readable file"),
    ],
)
def test_invalid_settings_name_the_setting_and_source(monkeypatch, env, value, fragment):
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as info:
        resolve()
    message = str(info.value)
    assert fragment in message
    assert f"env {env}" in message


def test_invalid_file_setting_names_the_file(isolated):
    isolated.write_text(json.dumps({"endpoint": "http://plain"}))
    with pytest.raises(SettingsError) as info:
        resolve()
    assert str(isolated) in str(info.value)


def test_broken_config_file_is_a_settings_error(isolated):
    isolated.write_text("{not json")
    with pytest.raises(SettingsError, match="cannot be read"):
        resolve()


def test_loopback_http_broker_is_allowed(monkeypatch):
    monkeypatch.setenv("ONELAKE_BROKER_URL", "http://127.0.0.1:8000")
    assert resolve().broker_url == "http://127.0.0.1:8000"


def test_require_names_the_env_var():
    with pytest.raises(SettingsError, match="ONELAKE_WORKSPACE"):
        resolve().require("workspace")


def test_describe_never_shows_the_broker_token(monkeypatch):
    monkeypatch.setenv("ONELAKE_BROKER_TOKEN", "top-secret")
    rows = resolve().describe()
    assert ("broker_token", "(set)", "env ONELAKE_BROKER_TOKEN") in rows
    assert "top-secret" not in repr(rows)


def test_under_jupyterhub_the_file_cannot_redirect_tokens(isolated, monkeypatch, tmp_path):
    ca = tmp_path / "evil-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    isolated.write_text(
        json.dumps(
            {
                "workspace": "w",
                "root": "I.Lakehouse/Files/home/alice",
                "endpoint": "https://attacker.example",
                "broker_url": "https://attacker.example/broker",
                "ca_file": str(ca),
                "broker_token_file": str(ca),
            }
        )
    )
    assert resolve().endpoint == "https://attacker.example"  # outside JupyterHub the file is the user's own
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token-of-alice")
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api")
    s = resolve()
    assert (s.workspace, s.root) == ("w", "I.Lakehouse/Files/home/alice")  # still from the file
    assert s.endpoint == config.DEFAULT_ENDPOINT and s.source("endpoint") == "default"
    assert s.broker_url is None and s.ca_file is None and s.broker_token_file is None


def test_under_jupyterhub_the_hub_token_is_the_broker_credential(isolated, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token-of-alice")
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api")
    s = resolve()
    assert (s.broker_token, s.source("broker_token")) == ("hub-token-of-alice", "env JUPYTERHUB_API_TOKEN")
    monkeypatch.setenv("ONELAKE_BROKER_TOKEN", "explicit")
    assert resolve().broker_token == "explicit"
    assert ("broker_token", "(set)", "env ONELAKE_BROKER_TOKEN") in resolve().describe()


def test_a_client_token_and_a_token_file_come_from_one_source(isolated, monkeypatch, tmp_path):
    admin = tmp_path / "admin-token"
    admin.write_text("the-admins-client-token")
    # a kernel of the demo: its own token in the environment, the settings file naming the admin's
    isolated.write_text(json.dumps({"broker_token_file": str(admin)}))
    monkeypatch.setenv("ONELAKE_BROKER_TOKEN", "the-kernels-token")
    s = resolve()
    assert (s.broker_token, s.source("broker_token")) == ("the-kernels-token", "env ONELAKE_BROKER_TOKEN")
    assert (s.broker_token_file, s.source("broker_token_file")) == (None, "default")
    # a token set as a trait wins over a token file named in the environment
    monkeypatch.delenv("ONELAKE_BROKER_TOKEN")
    monkeypatch.setenv("ONELAKE_BROKER_TOKEN_FILE", str(admin))
    s = resolve({"broker_token": "the-trait-token"})
    assert (s.broker_token, s.source("broker_token")) == ("the-trait-token", "config")
    assert s.broker_token_file is None
    # and a token file set as a trait wins over a token in the environment
    monkeypatch.setenv("ONELAKE_BROKER_TOKEN", "from-env")
    s = resolve({"broker_token_file": str(admin)})
    assert (s.broker_token, s.broker_token_file) == (None, str(admin))
    # with neither set higher up, the file's token file is used
    monkeypatch.delenv("ONELAKE_BROKER_TOKEN")
    monkeypatch.delenv("ONELAKE_BROKER_TOKEN_FILE")
    assert resolve().broker_token_file == str(admin)


def test_under_jupyterhub_no_credential_comes_from_the_file(isolated, monkeypatch):
    isolated.write_text(json.dumps({"broker_token": "planted-by-notebook-code"}))
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token-of-alice")
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api")
    s = resolve()
    assert (s.broker_token, s.source("broker_token")) == ("hub-token-of-alice", "env JUPYTERHUB_API_TOKEN")


def test_the_readme_table_of_settings_is_the_declared_list():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert config.settings_table() in readme


def test_each_setting_is_a_trait_and_flags_and_kernels_follow_its_scope():
    from onelake_contents.cli import CONNECTION_FLAGS
    from onelake_contents.jupyter.settings import OneLakeSettings

    assert all(OneLakeSettings.class_traits().get(name) is not None for name in config.SETTINGS)
    assert "broker_token" not in CONNECTION_FLAGS and "roots" in CONNECTION_FLAGS
    assert set(config.WITHHELD_FROM_CHILDREN) >= {
        "ONELAKE_BROKER_TOKEN",
        "ONELAKE_BROKER_TOKEN_FILE",
        "ONELAKE_BROKER_URL",
    }
    assert config.FROM_SPAWNER_ONLY == {
        "endpoint",
        "broker_url",
        "broker_token",
        "broker_token_file",
        "ca_file",
        "scope",
    }

"""Where every setting comes from, decided in one place.

Order: an explicit value (a traitlets trait or a command-line flag) > the environment variable >
the saved config file (`$ONELAKE_CONFIG`, else `~/.config/onelake-contents/config.json`) > the
default. The broker's client token and its token file are one credential: both come from the
highest source that sets either. Under JupyterHub the file sits in the user's home, where notebook
code can write, so the settings that choose a credential or where tokens are sent
(`FROM_SPAWNER_ONLY`) are not taken from it; and when no broker token is set, the server's own
JupyterHub API token is presented to the broker (which asks the hub whose it is). The file is read
once per path and kept; `reload_config_file()` forgets it. Each resolved value remembers its
source, so a validation error (and `onelake-contents check`) can say which setting is wrong and
where it came from.
"""

from __future__ import annotations

import ipaddress
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .paths import PathMapper

STORAGE_SCOPE = "https://storage.azure.com/.default"
DEFAULT_ENDPOINT = "https://onelake.dfs.fabric.microsoft.com"


# What a setting is for decides where it may come from and where it goes:
#   place       where the files are (the manager's traits, flags, kernels, the settings file)
#   connection  where tokens are sent and whom to trust (never from the file under JupyterHub)
#   broker      where the broker is (kernels get their server's relay instead)
#   secret      the broker credential (never in a kernel, a terminal or the saved file)
PLACE, CONNECTION, BROKER, SECRET = "place", "connection", "broker", "secret"


@dataclass(frozen=True)
class Setting:
    """One setting, declared once: its trait, its command-line flag (`flag`), its environment
    variable and its line of the README's Configuration table all come from here."""

    name: str
    env: str
    default: object = None
    help: str = ""
    scope: str = PLACE
    flag: bool = True  # a command-line flag of `onelake-contents` (a secret never is)


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting(
            "endpoint",
            "ONELAKE_ENDPOINT",
            DEFAULT_ENDPOINT,
            "OneLake DFS endpoint (https only: bearer tokens are never sent in clear)",
            CONNECTION,
        ),
        Setting("workspace", "ONELAKE_WORKSPACE", None, "workspace (container) name or GUID"),
        Setting("root", "ONELAKE_ROOT", None, "Jupyter home inside the workspace, at or below <item>/Files"),
        Setting(
            "roots",
            "ONELAKE_ROOTS",
            None,
            "named OneLake folders side by side as the tree's top level, instead of workspace and root: a JSON "
            'object of names to <workspace>/<item>/Files/... ({username} is the user), e.g. {"home": '
            '"Analytics/Team.Lakehouse/Files/home/{username}", "sales": "Sales/Sales.Lakehouse/Files"}',
        ),
        Setting(
            "home_dir",
            "ONELAKE_HOME",
            None,
            "the user's own folder below the root, created on first use with the root (e.g. home/alice "
            "when the root is a folder shared by everyone)",
            flag=False,
        ),
        Setting("broker_url", "ONELAKE_BROKER_URL", None, "token broker base URL (https unless loopback)", BROKER),
        Setting(
            "broker_token",
            "ONELAKE_BROKER_TOKEN",
            None,
            "client token presented to the broker (never saved in the settings file)",
            SECRET,
            False,
        ),
        Setting(
            "broker_token_file",
            "ONELAKE_BROKER_TOKEN_FILE",
            None,
            "file holding the broker client token, read again when the broker answers 401 (rotation)",
            SECRET,
        ),
        Setting(
            "ca_file",
            "ONELAKE_CA_FILE",
            None,
            "CA bundle for the broker and OneLake (private CAs, emulator)",
            CONNECTION,
        ),
        Setting("scope", "ONELAKE_SCOPE", STORAGE_SCOPE, "OAuth scope requested from the broker", CONNECTION, False),
    )
}


# What gives access to the broker: never handed on to kernels or terminals, never saved.
SECRETS = frozenset(n for n, s in SETTINGS.items() if s.scope == SECRET)
# The client token and its file are one credential: they come together from the first source
# (explicit > environment > file) that sets either, so a lower source never overrides a higher one.
CREDENTIAL = ("broker_token", "broker_token_file")
# Under JupyterHub these come only from the spawner (environment) or the server's configuration:
# whatever chooses a credential or where a token is sent.
FROM_SPAWNER_ONLY = frozenset(n for n, s in SETTINGS.items() if s.scope in (CONNECTION, BROKER, SECRET))
# The flags of the command line, one per setting but the secret token
FLAGS = tuple(n for n, s in SETTINGS.items() if s.flag)
HUB_TOKEN_ENV = "JUPYTERHUB_API_TOKEN"
# What a server's children (kernels, terminals) must never inherit from its environment: the
# broker's secret, where the broker is (kernels get their server's relay instead), the settings
# file that may name the secret, JupyterHub's token of the server (the legacy name too) and the
# server's own login token.
WITHHELD_FROM_CHILDREN = (
    *(s.env for s in SETTINGS.values() if s.scope in (SECRET, BROKER)),
    "ONELAKE_CONFIG",
    HUB_TOKEN_ENV,
    "JPY_API_TOKEN",
    "JUPYTER_TOKEN",
)


def under_jupyterhub(env=None) -> bool:
    """True in a process started by a JupyterHub spawner (a single-user server or its kernels)."""
    env = os.environ if env is None else env
    return bool(env.get(HUB_TOKEN_ENV) and env.get("JUPYTERHUB_API_URL"))


SCOPE_WORDS = {
    PLACE: "where the files are",
    CONNECTION: "where tokens go, whom to trust",
    BROKER: "where the broker is",
    SECRET: "the broker credential",
}


def settings_table() -> str:
    """The README's table of settings, made from `SETTINGS` (a test keeps the README equal to it)."""
    rows = [
        "| setting | environment variable | default | what it is for | command-line flag | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for s in SETTINGS.values():
        default = f"`{s.default}`" if s.default else "-"
        flag = f"`--{s.name.replace('_', '-')}`" if s.flag else "-"
        rows.append(f"| `{s.name}` | `{s.env}` | {default} | {SCOPE_WORDS[s.scope]} | {flag} | {s.help} |")
    return "\n".join(rows)


def trait_help(name: str) -> str:
    """The help text of the trait for a setting (one text for the trait, the flag and the README)."""
    setting = SETTINGS[name]
    return f"{setting.help[0].upper()}{setting.help[1:]}. Environment variable: {setting.env}."


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it and its source."""


def config_file_path() -> Path:
    explicit = os.environ.get("ONELAKE_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "onelake-contents" / "config.json"


_file_cache: dict[Path, dict] = {}
_file_lock = threading.Lock()


def read_config_file(path: Path | None = None) -> dict:
    """The saved config file as a dict ({} when absent), read once per path."""
    path = path or config_file_path()
    with _file_lock:
        if path not in _file_cache:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                data = {}
            except (OSError, ValueError) as error:
                raise SettingsError(f"config file {path} cannot be read: {error}") from None
            if not isinstance(data, dict):
                raise SettingsError(f"config file {path} must hold a JSON object")
            _file_cache[path] = data
        return dict(_file_cache[path])


def reload_config_file() -> None:
    with _file_lock:
        _file_cache.clear()


def write_config_file(values: dict, path: Path | None = None) -> Path:
    """Save settings (never a broker token: tokens belong in ONELAKE_BROKER_TOKEN_FILE)."""
    path = path or config_file_path()
    unknown = set(values) - set(SETTINGS)
    if unknown:
        raise SettingsError(f"unknown settings {sorted(unknown)}; known: {sorted(SETTINGS)}")
    if values.get("broker_token"):
        raise SettingsError("broker_token is a secret and is not saved; use broker_token_file")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({k: v for k, v in values.items() if v is not None}, indent=2) + "\n", encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    reload_config_file()
    return path


@dataclass(frozen=True)
class ResolvedSettings:
    values: dict[str, object]
    sources: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def source(self, name: str) -> str:
        return self.sources.get(name, "default")

    def require(self, *names: str) -> None:
        missing = [n for n in names if not self.values.get(n)]
        if missing:
            hints = ", ".join(f"{n} (env {SETTINGS[n].env})" for n in missing)
            raise SettingsError(f"missing setting: {hints}")

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, shown value, source) rows; secrets are never shown."""
        rows = []
        for name in SETTINGS:
            value = self.values.get(name)
            shown = "(set)" if name == "broker_token" and value else ("" if value is None else str(value))
            rows.append((name, shown, self.source(name)))
        return rows


def resolve(explicit: dict[str, object] | None = None, *, env: dict[str, str] | None = None) -> ResolvedSettings:
    """Resolve every setting; `explicit` holds values given by traitlets or flags (None = not given)."""
    explicit = explicit or {}
    env = os.environ if env is None else env
    file_values = read_config_file()
    file_path = config_file_path()
    hub = under_jupyterhub(env)
    tiers = (  # (how a source is named in messages, the values it gives), highest first
        (lambda name: "config", {n: v for n, v in explicit.items() if v not in (None, "")}),
        (lambda name: f"env {SETTINGS[name].env}", {n: env[s.env] for n, s in SETTINGS.items() if env.get(s.env)}),
        (
            lambda name: f"file {file_path}",
            {n: v for n, v in file_values.items() if v not in (None, "") and not (hub and n in FROM_SPAWNER_ONLY)},
        ),
    )
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for name, setting in SETTINGS.items():
        # the client token and its file come together from the highest tier that sets either
        together = CREDENTIAL if name in CREDENTIAL else (name,)
        tier = next(((label, given) for label, given in tiers if any(n in given for n in together)), None)
        if tier is not None and name in tier[1]:
            values[name], sources[name] = tier[1][name], tier[0](name)
        else:
            values[name], sources[name] = setting.default, "default"
    if hub and not values["broker_token"] and not values["broker_token_file"]:
        values["broker_token"], sources["broker_token"] = env[HUB_TOKEN_ENV], f"env {HUB_TOKEN_ENV}"
    resolved = ResolvedSettings(values, sources)
    validate(resolved)
    return resolved


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def broker_url_problem(url: str) -> str | None:
    """What is wrong with a broker URL (None: nothing): http(s), and https unless on loopback,
    where a token never crosses the network."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"'{url}' is not an http(s) URL"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return f"'{url}' must use https (plain http is allowed only on loopback)"
    return None


def validate(settings: ResolvedSettings) -> None:
    def fail(name: str, problem: str) -> None:
        raise SettingsError(f"setting {name} ({settings.source(name)}): {problem}")

    endpoint = settings.values.get("endpoint")
    if endpoint:
        parts = urlsplit(str(endpoint))
        if parts.scheme != "https" or not parts.hostname:
            fail("endpoint", f"'{endpoint}' must be an https URL (bearer tokens are only sent over TLS)")
    broker = settings.values.get("broker_url")
    if broker and (problem := broker_url_problem(str(broker))):
        fail("broker_url", problem)
    ca_file = settings.values.get("ca_file")
    if ca_file and not Path(str(ca_file)).is_file():
        fail("ca_file", f"'{ca_file}' is not a readable file")
    token_file = settings.values.get("broker_token_file")
    if token_file and not Path(str(token_file)).is_file():
        fail("broker_token_file", f"'{token_file}' is not a readable file")
    root = settings.values.get("root")
    if root:
        try:
            PathMapper(str(root))
        except ValueError:
            fail("root", f"'{root}' must be <item>/Files or a folder below it (e.g. My.Lakehouse/Files/home/alice)")

# JupyterHub on OneLake, as `make hub` and the tests run it: each user's server works in OneLake
# as that user. For Kubernetes (zero-to-jupyterhub) see helm-values.yaml beside this file; the
# authenticator and spawner below are for one machine and for development only.
#
# Where OneLake is comes from the hub's environment (`onelake-contents hub` sets it):
#   ONELAKE_ENDPOINT, ONELAKE_WORKSPACE, ONELAKE_ITEM (e.g. Team.Lakehouse), ONELAKE_BROKER_URL,
#   ONELAKE_CA_FILE (a private CA, the emulator's), ONELAKE_HUB_LAYOUT: `home` (the default: a
#   user's Jupyter tree is <item>/Files/home/<name>) or `files` (everyone's root is <item>/Files;
#   the file browser shows home/<name> and the read-only shared/).
# No broker secret is handed to anyone: a user's server presents its own JupyterHub API token to
# the broker, which asks the hub whose it is and issues a OneLake token for that user only, and only
# when the token carries the custom scope `custom:onelake:token!user=<name>` (below): the tokens of
# other servers and services a user visits name the user too, and must not become OneLake tokens.
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub

if os.environ.get("ONELAKE_HUB_DIR"):
    state = Path(os.environ["ONELAKE_HUB_DIR"])  # its owner removes it
else:
    state = Path(tempfile.mkdtemp(prefix="onelake-hub-"))
    atexit.register(shutil.rmtree, state, ignore_errors=True)
item = os.environ.get("ONELAKE_ITEM", "Team.Lakehouse")
layout = os.environ.get("ONELAKE_HUB_LAYOUT", "home")
if layout not in ("home", "files"):
    raise ValueError(f"ONELAKE_HUB_LAYOUT must be 'home' or 'files', not {layout!r}")

c.JupyterHub.bind_url = os.environ.get("ONELAKE_HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.hub_bind_url = os.environ.get("ONELAKE_HUB_API_URL", "http://127.0.0.1:8081")
c.ConfigurableHTTPProxy.api_url = os.environ.get("ONELAKE_HUB_PROXY_API_URL", "http://127.0.0.1:8001")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
# configurable-http-proxy from npm: on PATH, or where `make` installs it (the venv's node_modules)
c.ConfigurableHTTPProxy.command = [
    shutil.which("configurable-http-proxy") or str(Path(sys.prefix) / "node_modules/.bin/configurable-http-proxy")
]

# Development only: any user name; the password is ONELAKE_HUB_PASSWORD when set.
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = os.environ.get("ONELAKE_HUB_PASSWORD", "")
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"  # every server runs as this OS user (no isolation between them)
c.SimpleLocalProcessSpawner.home_dir_template = str(state / "users" / "{username}")

# The broker's permission: a user holds it for themselves, and their server's own token (the
# `server` role) carries it; JupyterHub gives a token only scopes its owner holds, so both roles
# need it. OAuth tokens of servers and services the user visits, and tokens made with other scopes,
# do not carry it. The other scopes are JupyterHub's defaults for these roles.
c.JupyterHub.custom_scopes = {
    "custom:onelake:token": {"description": "Ask the OneLake token broker for a OneLake token as this user."}
}
c.JupyterHub.load_roles = [
    {"name": "user", "scopes": ["self", "custom:onelake:token!user"]},
    {"name": "server", "scopes": ["users:activity!user", "access:servers!server", "custom:onelake:token!user"]},
]

# A service with admin rights for scripts (tests, `make bench-hub`): its token in ONELAKE_HUB_ADMIN_TOKEN.
admin_token = os.environ.get("ONELAKE_HUB_ADMIN_TOKEN")
if admin_token:
    c.JupyterHub.services = [{"name": "onelake-admin", "api_token": admin_token}]
    c.JupyterHub.load_roles.append(
        {
            "name": "onelake-admin",
            "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "read:users", "shares"],
            "services": ["onelake-admin"],
        }
    )

# The server starts in the user's home, which notebook code can write: `-P` keeps the working
# directory off sys.path and `-s` leaves out the user's site-packages, so no file planted there
# (`~/jupyterhub/__init__.py`, a `usercustomize.py`) runs inside the next server, which holds its
# JupyterHub token. Kernels keep Python's usual path (their code is the user's own anyway).
c.Spawner.cmd = [sys.executable, "-P", "-s", "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120
# Notebook code can write the user's ~/.jupyter; the server ignores it (it could redirect tokens).
c.Spawner.disable_user_config = True
c.Spawner.env_keep = ["PATH", "PYTHONPATH", "VIRTUAL_ENV", "LANG", "LC_ALL", "PYTHONDONTWRITEBYTECODE"]


def _root(spawner) -> str:
    return f"{item}/Files/home/{spawner.user.name}" if layout == "home" else f"{item}/Files"


c.Spawner.environment = {
    "ONELAKE_ENDPOINT": os.environ.get("ONELAKE_ENDPOINT", "https://onelake.dfs.fabric.microsoft.com"),
    "ONELAKE_WORKSPACE": os.environ.get("ONELAKE_WORKSPACE", "Analytics"),
    "ONELAKE_BROKER_URL": os.environ.get("ONELAKE_BROKER_URL", "https://token-broker.platform.internal"),
    "ONELAKE_ROOT": _root,
}
if os.environ.get("ONELAKE_CA_FILE"):
    c.Spawner.environment["ONELAKE_CA_FILE"] = os.environ["ONELAKE_CA_FILE"]
if layout == "files":
    c.Spawner.environment["ONELAKE_HOME"] = lambda spawner: f"home/{spawner.user.name}"
    c.Spawner.default_url = "/lab/tree/home/{username}"


def _private_folder(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _per_user_args(spawner) -> None:
    """What differs per user on the command line: the Y store's file, in a private (0700) scratch
    folder of the hub's state, removed with it when the hub stops."""
    scratch = _private_folder(state / "scratch" / spawner.user.name)
    kernels = _private_folder(Path(spawner.home_dir if hasattr(spawner, "home_dir") else scratch) / "work")
    spawner.args = [
        "--ServerApp.contents_manager_class=onelake_contents.OneLakeContentsManager",
        # bodies above max_content_bytes (plus base64/JSON overhead) are refused before being buffered
        f"--ServerApp.max_body_size={96 * 1024 * 1024}",
        f"--ServerApp.root_dir={kernels}",  # kernels start here; notebooks live in OneLake
        "--FileIdExtension.file_id_manager_class=jupyter_server_fileid.manager.ArbitraryFileIdManager",
        "--YDocExtension.ystore_class=jupyter_server_ydoc.stores.SQLiteYStore",
        f"--SQLiteYStore.db_path={scratch / 'ystore.db'}",
        *(["--allow-root"] if os.geteuid() == 0 else []),  # containers that run everything as root
    ]


c.Spawner.pre_spawn_hook = _per_user_args

"""JupyterHub on an embedded OneLake, for development, tests and the many-users benchmark.

`python -m onelake_contents.hubdemo` (`make hub`) starts the emulator with a few users and its
broker in hub mode, then JupyterHub (configurable-http-proxy, DummyAuthenticator,
SimpleLocalProcessSpawner) with `jupyter_config/jupyterhub_config.py`, and serves until Ctrl-C.
Each user who logs in gets a server that works in OneLake as that user: the broker hands it a
token for the user its JupyterHub API token belongs to, and OneLake security confines it.
Everything the hub writes (its database, cookie secret, users' kernel folders) lives in one
temporary directory, removed at the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

from .demo import catch_sigterm, free_port, serve_until_stopped
from .emulator import Emulator

HUB_CONFIG = Path(__file__).resolve().parent.parent / "jupyter_config" / "jupyterhub_config.py"
WORKSPACE = "team"
ITEM = "Team.Lakehouse"
HUB_MODULES = ("jupyterhub", "jupyterlab", "psutil")
INSTALL_HINT = 'pip install "onelake-contents[hub]" (and configurable-http-proxy from npm)'
SAMPLE_CSV = b"region,sales\nnorth,120\nsouth,95\neast,143\nwest,88\n"
SAMPLE_CODE = f"""import os, onelake_contents, pandas
fs = onelake_contents.fs()
shared = os.environ["ONELAKE_WORKSPACE"] + "/{ITEM}/Files/shared"
with fs.open(shared + "/sales.csv") as f:
    sales = pandas.read_csv(f)
sales"""


def seed_samples(emulator, users: tuple[str, ...]) -> None:
    """What `make hub` starts with: a CSV in the read-only `shared/` and, in each user's home, a
    notebook that reads it from a kernel."""
    import nbformat

    namespace = emulator.namespace
    workspace = namespace.workspaces[WORKSPACE]
    namespace.write_file(workspace, f"{ITEM}/Files/shared/sales.csv", SAMPLE_CSV)
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(
                "# Shared data\n\n`shared/` is readable by every user and writable by none (OneLake "
                "security). Your kernel reads it with your own OneLake identity:"
            ),
            nbformat.v4.new_code_cell(SAMPLE_CODE),
        ],
        metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    )
    for user in users:
        namespace.write_file(
            workspace, f"{ITEM}/Files/home/{user}/Shared data.ipynb", nbformat.writes(notebook).encode()
        )


@dataclass
class HubStack:
    """A running JupyterHub on the emulator; REST helpers with the admin service's token."""

    emulator: Emulator
    process: subprocess.Popen
    url: str  # the proxy: what browsers open
    api_url: str  # the hub's own API
    admin_token: str
    state: Path
    layout: str
    log_path: Path
    session: requests.Session = field(default_factory=requests.Session)

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        headers = {"Authorization": f"token {self.admin_token}", **kwargs.pop("headers", {})}
        return self.session.request(method, f"{self.url}/hub/api/{path.lstrip('/')}", headers=headers, **kwargs)

    def user_token(self, name: str, scopes: list[str] | None = None) -> str:
        """A JupyterHub API token of user `name` (created with the user when needed), with all of
        the user's scopes or only `scopes`."""
        if self.api("GET", f"users/{quote(name)}").status_code == 404:
            self.api("POST", f"users/{quote(name)}").raise_for_status()
        request = {"note": "onelake-contents", **({"scopes": scopes} if scopes is not None else {})}
        answer = self.api("POST", f"users/{quote(name)}/tokens", json=request)
        answer.raise_for_status()
        return answer.json()["token"]

    def start_server(self, name: str, timeout: float = 180) -> None:
        """Spawn user `name`'s server and wait until the hub says it is ready."""
        if self.api("GET", f"users/{quote(name)}").status_code == 404:
            self.api("POST", f"users/{quote(name)}").raise_for_status()
        started = self.api("POST", f"users/{quote(name)}/server")
        if started.status_code not in (201, 202, 400):  # 400: already running
            raise RuntimeError(f"hub refused to start {name}'s server: {started.status_code} {started.text}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.api("GET", f"users/{quote(name)}").json().get("servers", {}).get("")
            if server and server.get("ready"):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited: {self.log()}")
            time.sleep(0.25)
        raise RuntimeError(f"{name}'s server did not start in {timeout:.0f} s: {self.log()}")

    def stop_server(self, name: str, timeout: float = 60) -> None:
        """Stop user `name`'s server and wait until the hub says it is gone."""
        self.api("DELETE", f"users/{quote(name)}/server")
        deadline = time.monotonic() + timeout
        while self.api("GET", f"users/{quote(name)}").json().get("servers", {}).get(""):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}'s server did not stop in {timeout:.0f} s: {self.log()}")
            time.sleep(0.25)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Stop the hub's whole process tree at once (the servers shut down in a second or two
        on SIGTERM; the hub's own stopping of each spawner would wait on timeouts), then kill
        what is left after 8 s."""
        import psutil

        try:
            tree = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        for proc in reversed(tree):  # servers and kernels before the hub
            try:
                proc.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(tree, timeout=8)
        for proc in alive:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        self.process.wait()
        self.session.close()
        self.emulator.stop()
        shutil.rmtree(self.state, ignore_errors=True)


def start_hub(
    *,
    layout: str = "home",
    users: tuple[str, ...] = ("alice", "bob"),
    latency_ms: float = 0.0,
    port: int = 0,
    password: str = "",
    log_path: Path | None = None,
    timeout: float = 120,
    samples: bool = False,
) -> HubStack:
    """The emulator (users, `shared/`, broker in hub mode) and JupyterHub on it, ready; `samples`
    puts sample data in `shared/` and a notebook reading it in each user's home."""
    state = Path(tempfile.mkdtemp(prefix="onelake-hub-"))
    api_port, port = free_port(), port or free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    emulator = Emulator({WORKSPACE: [ITEM]}, users=list(users), latency_ms=latency_ms, hub_api_url=f"{api_url}/hub/api")
    info = emulator.start()
    if samples:
        seed_samples(emulator, users)
    admin_token = secrets.token_hex(24)
    env = {
        **os.environ,
        "ONELAKE_ENDPOINT": info.endpoint,
        "ONELAKE_WORKSPACE": WORKSPACE,
        "ONELAKE_ITEM": ITEM,
        "ONELAKE_BROKER_URL": info.broker_url,
        "ONELAKE_CA_FILE": info.ca_file,
        "ONELAKE_HUB_LAYOUT": layout,
        "ONELAKE_HUB_DIR": str(state),
        "ONELAKE_HUB_URL": f"http://127.0.0.1:{port}",
        "ONELAKE_HUB_API_URL": api_url,
        "ONELAKE_HUB_PROXY_API_URL": f"http://127.0.0.1:{free_port()}",
        "ONELAKE_HUB_ADMIN_TOKEN": admin_token,
        "ONELAKE_HUB_PASSWORD": password,
    }
    for name in ("ONELAKE_BROKER_TOKEN", "ONELAKE_BROKER_TOKEN_FILE", "ONELAKE_ROOT", "JUPYTERHUB_API_TOKEN"):
        env.pop(name, None)  # nothing of another deployment leaks into the hub's users
    log_path = log_path or state / "jupyterhub.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(HUB_CONFIG)],
            env=env,
            cwd=state,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    stack = HubStack(emulator, process, f"http://127.0.0.1:{port}", api_url, admin_token, state, layout, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            emulator.stop()
            raise RuntimeError(f"jupyterhub exited: {stack.log()}")
        try:
            if stack.api("GET", "", timeout=2).status_code == 200:
                return stack
        except requests.ConnectionError:
            pass
        time.sleep(0.25)
    stack.stop()
    raise RuntimeError(f"jupyterhub did not start in {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m onelake_contents.hubdemo",
        description="JupyterHub on a local OneLake emulator with a few users, until Ctrl-C (development only).",
    )
    parser.add_argument(
        "--port", type=int, default=8000, help='the hub\'s public port (default 8000; make hub ARGS="--port N")'
    )
    parser.add_argument(
        "--layout", choices=("home", "files"), default="home", help="each root: the user's home, or Files"
    )
    parser.add_argument("--user", action="append", help="a user (repeatable; default alice, bob, carol)")
    parser.add_argument("--password", default="", help="the one password every user logs in with (default: any)")
    args = parser.parse_args(argv)
    from .emulator import missing_modules

    proxy = shutil.which("configurable-http-proxy") or Path(sys.prefix) / "node_modules/.bin/configurable-http-proxy"
    if missing_modules() or any(importlib.util.find_spec(m) is None for m in HUB_MODULES) or not Path(proxy).exists():
        print(f"the hub demo needs the hub extra: {INSTALL_HINT}", file=sys.stderr)
        return 2
    users = tuple(args.user or ("alice", "bob", "carol"))
    stopping = catch_sigterm()
    stack = start_hub(layout=args.layout, users=users, port=args.port, password=args.password, samples=True)
    print(f"JupyterHub on OneLake: {stack.url}/hub/login (users: {', '.join(users)}; others are added on login)")
    print(f"OneLake emulator: {stack.emulator.endpoint}; the hub's log: {stack.log_path}. Ctrl-C stops everything.")
    return serve_until_stopped(stack.process, stack.stop, stopping)


if __name__ == "__main__":
    sys.exit(main())

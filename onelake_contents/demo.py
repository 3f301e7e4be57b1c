"""JupyterLab on an embedded OneLake: the emulator (persisted in a data directory) and its
development broker, and JupyterLab with OneLakeContentsManager on
`demo-workspace/Demo.Lakehouse/Files/home/<user>`. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

DEMO_WORKSPACE = "demo-workspace"
DEMO_ITEM = "Demo.Lakehouse"

WELCOME = {
    "cells": [
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": (
                "# Welcome to JupyterLab on OneLake\n\n"
                "This folder is `{root}` in the workspace `{workspace}` of a local OneLake emulator.\n"
                "Everything you save here is written to OneLake (the emulator keeps it in `{data_dir}`).\n\n"
                "Kernels run in a local folder; to read OneLake files from code, use "
                "`onelake_contents.fs()` (an fsspec filesystem)."
            ),
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": "print('hello, OneLake')",
        },
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def default_user() -> str:
    user = os.environ.get("JUPYTERHUB_USER") or os.environ.get("USER") or getpass.getuser()
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in user) or "user"


@dataclass
class DemoStack:
    """The running demo: emulator info, the JupyterLab process and its URL."""

    emulator: object
    lab: subprocess.Popen
    url: str
    token: str
    root: str
    env: dict

    def stop(self) -> None:
        if self.lab.poll() is None:
            self.lab.send_signal(signal.SIGTERM)
            try:
                self.lab.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.lab.kill()
                self.lab.wait()
        self.emulator.stop()


def lab_arguments(
    port: int, token: str, kernel_dir: Path, host: str = "127.0.0.1", extra: tuple[str, ...] = ()
) -> list[str]:
    """JupyterLab's command line for the demo (see jupyter_config/demo_config.py for the same as a file)."""
    return [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.contents_manager_class=onelake_contents.OneLakeContentsManager",
        # jupyter-collaboration needs file ids that do not come from a local filesystem
        "--FileIdExtension.file_id_manager_class=jupyter_server_fileid.manager.ArbitraryFileIdManager",
        f"--ServerApp.ip={host}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={kernel_dir}",
        f"--IdentityProvider.token={token}",
        "--OneLakeContentsManager.metadata_ttl=5",
        # jupytext's server extension wraps any contents manager; its async wrapper (1.19) calls
        # `exists` without awaiting it when naming a new notebook and loops forever
        "--ServerApp.jpserver_extensions={'jupyterlab_jupytext': False}",
        *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        *extra,
    ]


def start(
    data_dir: str | Path = ".onelake-demo",
    *,
    port: int = 8888,
    user: str | None = None,
    token: str | None = None,
    host: str = "127.0.0.1",
    log_file: str | Path | None = None,
    extra_args: tuple[str, ...] = (),
) -> DemoStack:
    from .emulator import Emulator

    data_dir = Path(data_dir).absolute()
    data_dir.mkdir(parents=True, exist_ok=True)
    user = user or default_user()
    root = f"{DEMO_ITEM}/Files/home/{user}"
    emulator = Emulator({DEMO_WORKSPACE: [DEMO_ITEM]}, data_dir=data_dir / "onelake")
    info = emulator.start()
    _welcome(emulator, root, data_dir)
    kernel_dir = data_dir / "kernels"
    kernel_dir.mkdir(exist_ok=True)
    token = token or secrets.token_hex(16)
    env = dict(os.environ)
    env.update(info.environment(DEMO_WORKSPACE, root), ONELAKE_CONFIG=str(data_dir / "onelake-contents.json"))
    log = open(log_file, "ab") if log_file else None
    lab = subprocess.Popen(
        lab_arguments(port, token, kernel_dir, host, extra_args),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT if log else None,
    )
    if log:
        log.close()
    url = f"http://{host}:{port}/lab?token={token}"
    stack = DemoStack(emulator, lab, url, token, root, env)
    try:
        _wait_ready(stack, f"http://{host}:{port}/api/status")
    except BaseException:
        stack.stop()
        raise
    return stack


def _welcome(emulator, root: str, data_dir: Path) -> None:
    """A first notebook in a new user's empty folder (written like any other OneLake file)."""
    namespace = emulator.namespace
    workspace = namespace.workspaces[DEMO_WORKSPACE]
    if any(path.startswith(root + "/") for path in workspace.nodes):
        return
    text = json.dumps(WELCOME, indent=1)
    text = text.replace("{root}", root).replace("{workspace}", DEMO_WORKSPACE).replace("{data_dir}", str(data_dir))
    namespace.write_file(workspace, f"{root}/Welcome.ipynb", text.encode())


def _wait_ready(stack: DemoStack, status_url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"token {stack.token}"}
    while time.monotonic() < deadline:
        if stack.lab.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {stack.lab.returncode}")
        try:
            if requests.get(status_url, headers=headers, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise RuntimeError("JupyterLab did not start in time")


def run(
    data_dir: str | Path = ".onelake-demo", *, port: int = 8888, user: str | None = None, host: str = "127.0.0.1"
) -> int:
    """Start the demo, print where to go, serve until Ctrl-C (or SIGTERM), then stop everything."""
    stack = start(data_dir, port=port, user=user, host=host)
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    print(
        "\nJupyterLab on OneLake is running.\n"
        f"  open:      {stack.url}\n"
        f"  OneLake:   {stack.env['ONELAKE_ENDPOINT']}  workspace {DEMO_WORKSPACE}, folder {stack.root}\n"
        f"  data:      {Path(data_dir).absolute()} (kept between runs)\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )
    try:
        while not stopping and stack.lab.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0

"""JupyterLab on an embedded OneLake: the emulator (persisted in a data directory) and its
development broker, and JupyterLab with OneLakeContentsManager on
`demo-workspace/Demo.Lakehouse/Files/home/<user>`. Ctrl-C stops everything it started.

The data directory (0700) holds the emulator's OneLake, the kernels' local folder, JupyterLab's
workspace layouts, the server's notebook signatures and file ids (`jupyter/`) and
`onelake-contents.json`, the settings with which `onelake-contents` (the
command line) reaches the running demo. Nothing of a user's notebooks is kept outside OneLake:
jupyter-collaboration's Y store lives in a temporary file per run, deleted when the demo stops.
"""

from __future__ import annotations

import getpass
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

DEMO_WORKSPACE = "demo-workspace"
DEMO_ITEM = "Demo.Lakehouse"

WELCOME_TEXT = (
    "# Welcome to JupyterLab on OneLake\n\n"
    "This folder is `{root}` in the workspace `{workspace}` of a local OneLake emulator.\n"
    "Everything you save here is written to OneLake (the emulator keeps it in `{data_dir}`).\n\n"
    "Kernels run in a local folder; the notebook's code reads and writes the files you see here "
    "through `onelake://` URLs (pandas, pyarrow, DuckDB...), and imports modules kept beside it."
)
WELCOME_CODE = "print('hello, OneLake')"
SAMPLE_TEXT = "`sample.csv` sits beside this notebook in OneLake; the kernel reads it from there:"
SAMPLE_CODE = 'import pandas\nsales = pandas.read_csv("onelake://sample.csv")\nsales.groupby("region").sum()'
SAMPLE_CSV = b"region,sales\nnorth,120\nsouth,95\neast,143\nwest,88\n"


def default_user() -> str:
    user = os.environ.get("JUPYTERHUB_USER") or os.environ.get("USER") or getpass.getuser()
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in user) or "user"


class DemoError(Exception):
    """The demo cannot start for a reason the user can fix (a busy port); one line says which."""


@dataclass
class DemoStack:
    """The running demo: emulator info, the JupyterLab process and its URL."""

    emulator: object
    lab: subprocess.Popen
    url: str
    token: str
    root: str
    env: dict
    cli_config: Path
    scratch: Path

    def stop(self) -> None:
        if self.lab.poll() is None:
            self.lab.send_signal(signal.SIGTERM)
            try:
                self.lab.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.lab.kill()
                self.lab.wait()
        self.emulator.stop()
        shutil.rmtree(self.scratch, ignore_errors=True)


def free_port() -> int:
    """A port nothing listens on now, on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def catch_sigterm() -> threading.Event:
    """From now on SIGTERM and SIGHUP (a closed terminal) only set the returned event (cleanup
    follows, as after Ctrl-C)."""
    stopping = threading.Event()
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)):
        signal.signal(sig, lambda *_: stopping.set())
    return stopping


def serve_until_stopped(process: subprocess.Popen, stop, stopping: threading.Event) -> int:
    """Wait until Ctrl-C, SIGTERM (`stopping`) or the end of `process`, then call `stop()`."""
    try:
        while not stopping.is_set() and process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
    return 0


def check_port_free(host: str, port: int) -> None:
    """One line when something listens on the port. Bound as tornado binds (SO_REUSEADDR), so the
    connections a demo just stopped left in TIME_WAIT do not count."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise DemoError(
                f'port {port} on {host} is in use: pick another with ARGS="--port N" (make demo) or --port N'
            ) from None


def lab_arguments(
    port: int,
    kernel_dir: Path,
    scratch: Path,
    jupyter_dir: Path,
    host: str = "127.0.0.1",
    extra: tuple[str, ...] = (),
) -> list[str]:
    """JupyterLab's command line for the demo (see jupyter_config/demo_config.py for the same as a
    file). The token is not on it (any local user can read a command line): it is in JUPYTER_TOKEN,
    which the server extension takes out of the environment kernels inherit once it is read."""
    return [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.contents_manager_class=onelake_contents.OneLakeContentsManager",
        # jupyter-collaboration needs file ids that do not come from a local filesystem
        "--FileIdExtension.file_id_manager_class=jupyter_server_fileid.manager.ArbitraryFileIdManager",
        # the file ids and the notebook signatures stay in the data folder, not in ~/.local/share
        f"--ArbitraryFileIdManager.db_path={jupyter_dir / 'file_id_manager.db'}",
        f"--NotebookNotary.data_dir={jupyter_dir}",
        f"--ServerApp.ip={host}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={kernel_dir}",
        # the contents API refuses bodies above what the manager would save anyway (64 MiB plus
        # the JSON/base64 overhead); larger files travel as chunked uploads
        f"--ServerApp.max_body_size={MAX_BODY_BYTES}",
        "--OneLakeContentsManager.metadata_ttl=5",
        # real-time collaboration's edit history: a temporary file of this run, not a lasting
        # local copy of the users' notebooks
        "--YDocExtension.ystore_class=jupyter_server_ydoc.stores.SQLiteYStore",
        f"--SQLiteYStore.db_path={scratch / 'ystore.db'}",
        *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        *extra,
    ]


# 64 MiB of content (max_content_bytes) as base64 inside a JSON model, with room for the envelope
MAX_BODY_BYTES = 96 * 1024 * 1024


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

    check_port_free(host, port)
    data_dir = Path(data_dir).absolute()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(data_dir, 0o700)  # the emulator keeps its token secret and broker token in here
    jupyter_dir = data_dir / "jupyter"
    jupyter_dir.mkdir(exist_ok=True)
    user = user or default_user()
    root = f"{DEMO_ITEM}/Files/home/{user}"
    emulator = Emulator({DEMO_WORKSPACE: [DEMO_ITEM]}, data_dir=data_dir / "onelake")
    info = emulator.start()
    write_welcome(emulator, root, data_dir, jupyter_dir)
    kernel_dir = data_dir / "kernels"
    kernel_dir.mkdir(exist_ok=True)
    cli_config = write_cli_settings(data_dir, info, root)
    scratch = Path(tempfile.mkdtemp(prefix="onelake-demo-"))
    token = token or secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        info.environment(DEMO_WORKSPACE, root),
        ONELAKE_CONFIG=str(cli_config),
        JUPYTER_TOKEN=token,
        JUPYTERLAB_WORKSPACES_DIR=str(data_dir / "lab-workspaces"),
    )
    log = open(log_file, "ab") if log_file else None
    lab = subprocess.Popen(
        lab_arguments(port, kernel_dir, scratch, jupyter_dir, host, extra_args),
        env=env,
        cwd=scratch,
        stdin=subprocess.DEVNULL,  # no "Shutdown? (y/n)"
        stdout=log,
        stderr=subprocess.STDOUT if log else None,
        # out of the terminal's process group: Ctrl-C reaches the demo alone, which stops the lab
        # with SIGTERM (its clean shutdown, kernels included); a SIGINT would stop its event loop
        # without shutting its kernels down
        start_new_session=True,
    )
    if log:
        log.close()
    url = f"http://{host}:{port}/lab?token={token}"
    stack = DemoStack(emulator, lab, url, token, root, env, cli_config, scratch)
    try:
        _wait_ready(stack, f"http://{host}:{port}/api/status")
    except BaseException:
        stack.stop()
        raise
    return stack


def write_cli_settings(data_dir: Path, info, root: str) -> Path:
    """`onelake-contents.json` (and the broker client token beside it, 0600): with
    ONELAKE_CONFIG pointing at it, `onelake-contents ls /` works against the running demo."""
    from . import config

    token_file = data_dir / "broker-token"
    token_file.touch(mode=0o600)
    os.chmod(token_file, 0o600)
    token_file.write_text(info.broker_token + "\n")
    values = info.environment(DEMO_WORKSPACE, root)
    settings = {name: values[s.env] for name, s in config.SETTINGS.items() if values.get(s.env)}
    settings.pop("broker_token")
    settings["broker_token_file"] = str(token_file)
    return config.write_config_file(settings, data_dir / "onelake-contents.json")


def kernel_metadata() -> dict:
    """What JupyterLab records in a notebook once its python3 kernel answers (the kernel's spec
    and its language as ipykernel reports it), so that opening the Welcome notebook changes
    nothing in it. The demo's kernels run this Python."""
    from ipykernel.ipkernel import IPythonKernel
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    return {
        "kernelspec": {"display_name": spec.display_name, "language": spec.language, "name": "python3"},
        "language_info": dict(IPythonKernel.language_info),
    }


def write_welcome(emulator, root: str, data_dir: Path, jupyter_dir: Path) -> None:
    """A first notebook in a new user's empty folder, and the sample file it reads (written like
    any other OneLake file): cell
    ids and bytes as the server writes a notebook, signed with the server's notary (its data in
    `jupyter_dir`), so opening it neither warns, nor shows it untrusted, nor rewrites it."""
    import nbformat
    from nbformat.sign import NotebookNotary
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    namespace = emulator.namespace
    workspace = namespace.workspaces[DEMO_WORKSPACE]
    if any(path.startswith(root + "/") for path in workspace.nodes):
        return
    text = WELCOME_TEXT.format(root=root, workspace=DEMO_WORKSPACE, data_dir=data_dir)
    cells = [
        new_markdown_cell(text),
        new_code_cell(WELCOME_CODE),
        new_markdown_cell(SAMPLE_TEXT),
        new_code_cell(SAMPLE_CODE),
    ]
    nb = new_notebook(cells=cells, metadata=kernel_metadata())
    notary = NotebookNotary(data_dir=str(jupyter_dir))
    try:
        notary.sign(nb)
    finally:
        notary.store.close()
    data = nbformat.writes(nb, version=nbformat.NO_CONVERT).encode("utf-8")
    namespace.write_file(workspace, f"{root}/Welcome.ipynb", data)
    namespace.write_file(workspace, f"{root}/sample.csv", SAMPLE_CSV)


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


def _cli_command() -> str:
    """`onelake-contents`, with its path when it is not on PATH (a venv that is not activated)."""
    beside = Path(sys.executable).parent / "onelake-contents"
    if beside.exists() and shutil.which("onelake-contents") != str(beside):
        return str(beside)
    return "onelake-contents"


def run(
    data_dir: str | Path = ".onelake-demo", *, port: int = 8888, user: str | None = None, host: str = "127.0.0.1"
) -> int:
    """Start the demo, print where to go, serve until Ctrl-C (or SIGTERM), then stop everything."""
    stopping = catch_sigterm()
    stack = start(data_dir, port=port, user=user, host=host)
    print(
        "\nJupyterLab on OneLake is running.\n"
        f"  open:      {stack.url}\n"
        f"  OneLake:   {stack.env['ONELAKE_ENDPOINT']}  workspace {DEMO_WORKSPACE}, folder {stack.root}\n"
        f"  data:      {Path(data_dir).absolute()} (kept between runs)\n"
        f"  CLI:       ONELAKE_CONFIG={stack.cli_config} {_cli_command()} ls /\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )
    return serve_until_stopped(stack.lab, stack.stop, stopping)

"""A real Jupyter Server in a subprocess, configured for OneLake through environment variables."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import requests

from onelake_contents.demo import free_port


class JupyterServer:
    """`jupyter server` with OneLakeContentsManager; REST helpers that return `requests` responses."""

    def __init__(
        self,
        info,
        workspace: str,
        root: str,
        workdir: Path,
        *extra_args: str,
        env: dict | None = None,
        extensions: dict[str, bool] | None = None,
        contents_manager_class: str = "onelake_contents.OneLakeContentsManager",
        root_dir: Path | None = None,
    ):
        """`info` is the emulator's (None for a server that does not use OneLake)."""
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.log_path = workdir / f"jupyter-{self.port}.log"
        environment = dict(os.environ)
        if info is not None:
            environment.update(info.environment(workspace, root))
        environment.update(
            ONELAKE_CONFIG=str(workdir / "no-config.json"),
            JUPYTER_CONFIG_DIR=str(workdir / "jupyter-config"),
            JUPYTER_DATA_DIR=str(workdir / "jupyter-data"),
            JUPYTER_RUNTIME_DIR=str(workdir / "jupyter-runtime"),
            JUPYTER_TOKEN=self.token,
        )
        environment.update(env or {})
        self.args = [
            sys.executable,
            "-m",
            "jupyter_server",
            f"--ServerApp.contents_manager_class={contents_manager_class}",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={root_dir or workdir}",
            "--allow-root",
            *([f"--ServerApp.jpserver_extensions={extensions!r}"] if extensions else []),
            *extra_args,
        ]
        self.env = environment
        self.process: subprocess.Popen | None = None
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {self.token}"

    def start(self, timeout: float = 60) -> JupyterServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter server exited: {self.log()}")
            try:
                if self.session.get(f"{self.url}/api/status", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"jupyter server did not start: {self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.session.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except FileNotFoundError:
            return ""

    # ---- REST ----------------------------------------------------------------------------------
    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return self.session.request(method, f"{self.url}/api/contents/{quote(path)}", **kwargs)

    def files(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 120)
        return self.session.get(f"{self.url}/files/{quote(path)}", **kwargs)


def run_in_kernel(
    server,
    notebook_path: str | None,
    code: str,
    timeout: float = 120,
    session_type: str = "notebook",
    kernel_name: str = "python3",
) -> str:
    """Start a session for a notebook (or a console: `session_type`) through the REST API (None: a
    kernel without a session), run code in its kernel (`kernel_name`) over the websocket, and
    return what it printed (raises with the traceback on an error). `server` has `url` (with any
    base URL), `token` and an authenticated `session`."""
    import asyncio
    import json
    import uuid

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    if notebook_path is None:  # a kernel of its own, as POST /api/kernels starts one
        started = server.session.post(f"{server.url}/api/kernels", json={"name": kernel_name}, timeout=60)
        started.raise_for_status()
        kernel_id, cleanup = started.json()["id"], f"{server.url}/api/kernels/{started.json()['id']}"
    else:
        session = server.session.post(
            f"{server.url}/api/sessions",
            json={"path": notebook_path, "type": session_type, "name": notebook_path, "kernel": {"name": kernel_name}},
            timeout=60,
        )
        session.raise_for_status()
        kernel_id, cleanup = session.json()["kernel"]["id"], f"{server.url}/api/sessions/{session.json()['id']}"

    async def execute() -> str:
        ws_url = server.url.replace("http://", "ws://", 1) + f"/api/kernels/{kernel_id}/channels"
        request = HTTPRequest(ws_url, headers={"Authorization": f"token {server.token}"})
        connection = await websocket_connect(request)
        msg_id = uuid.uuid4().hex
        connection.write_message(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "username": "test",
                        "session": uuid.uuid4().hex,
                        "msg_type": "execute_request",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": False,
                        "user_expressions": {},
                        "allow_stdin": False,
                    },
                }
            )
        )
        printed, error = [], None
        while True:
            raw = await asyncio.wait_for(connection.read_message(), timeout)
            if raw is None:
                raise RuntimeError("kernel websocket closed")
            message = json.loads(raw)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["msg_type"]
            if kind == "stream":
                printed.append(message["content"]["text"])
            elif kind == "error":
                error = "\n".join(message["content"]["traceback"])
            elif kind == "status" and message["content"]["execution_state"] == "idle":
                break
        connection.close()
        if error:
            raise RuntimeError(error)
        return "".join(printed)

    try:
        return asyncio.run(execute())
    finally:
        server.session.delete(cleanup, timeout=60)


def run_in_terminal(server, command: str, marker: str, timeout: float = 60) -> str:
    """Open a terminal through the REST API, type `command` into its shell over the websocket and
    return the first output line holding `marker` (from the marker on); the terminal is closed."""
    import asyncio
    import json

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    started = server.session.post(f"{server.url}/api/terminals", timeout=60)
    started.raise_for_status()
    name = started.json()["name"]

    async def converse() -> str:
        ws_url = server.url.replace("http://", "ws://", 1) + f"/terminals/websocket/{name}"
        connection = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {server.token}"}))
        connection.write_message(json.dumps(["stdin", command + "\r"]))
        seen = ""
        while True:
            raw = await asyncio.wait_for(connection.read_message(), timeout)
            if raw is None:
                raise RuntimeError(f"terminal closed; it printed {seen[-2000:]!r}")
            kind, *rest = json.loads(raw)
            if kind == "stdout":
                seen += rest[0]
                for line in seen.split("\n")[:-1]:  # whole lines only: output arrives in pieces
                    if marker in line:
                        connection.close()
                        return line[line.index(marker) :].strip()

    try:
        return asyncio.run(converse())
    finally:
        server.session.delete(f"{server.url}/api/terminals/{name}", timeout=60)


# Every child a server starts, and how its environment is read: a kernel for a notebook, one for a
# console, one without a session (POST /api/kernels), and a terminal's shell.
ENV_OF_A_KERNEL = "import json, os\nprint(json.dumps(dict(os.environ)))"
ENV_OF_A_SHELL = 'python3 -c \'import base64,json,os; print("EN"+"V:"+base64.b64encode(json.dumps(dict(os.environ)).encode()).decode())\''


def environments_of_children(server, notebook_path: str) -> dict[str, dict[str, str]]:
    """The environment of each kind of process `server` starts for its user."""
    import base64
    import json

    shell = run_in_terminal(server, ENV_OF_A_SHELL, "ENV:")
    return {
        "notebook": json.loads(run_in_kernel(server, notebook_path, ENV_OF_A_KERNEL).strip().splitlines()[-1]),
        "console": json.loads(
            run_in_kernel(server, notebook_path, ENV_OF_A_KERNEL, session_type="console").strip().splitlines()[-1]
        ),
        "sessionless": json.loads(run_in_kernel(server, None, ENV_OF_A_KERNEL).strip().splitlines()[-1]),
        "terminal": json.loads(base64.b64decode(shell.removeprefix("ENV:"))),
    }

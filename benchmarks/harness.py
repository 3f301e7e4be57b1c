"""The benchmark's moving parts: three contents managers behind real Jupyter Servers, each with
the same injected round-trip time to its store, and a way to count the store requests an action
costs.

- onelake: OneLakeContentsManager on the emulator (a separate process, `--latency-ms`), requests
  counted from the emulator's request log (control API);
- local: jupyter_server's AsyncLargeFileManager on local disk (no store, no latency: the speed of a
  local home);
- s3: s3contents on moto's S3 server, through DelayProxy (the same RTT), requests counted by the
  proxy.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).parents[1]))

from onelake_contents.emulator import EmulatorInfo
from tests.servers import JupyterServer, free_port

WORKSPACE, ITEM = "bench", "Bench.Lakehouse"
ROOT = f"{ITEM}/Files/home/bench"


class DelayProxy:
    """A TCP proxy adding `rtt_ms` to every request/response exchange (half each way), with the
    bytes' order and the throughput kept; counts HTTP/1.1 requests (Content-Length framing)."""

    def __init__(self, target_port: int, rtt_ms: float):
        self.target_port = target_port
        self.delay = rtt_ms / 2000
        self.port = free_port()
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server = None

    def start(self) -> DelayProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    def stop(self) -> None:
        async def close():
            self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _client(self, reader, writer) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(
            self._pipe(reader, upstream_writer, count=True), self._pipe(upstream_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader, writer, count: bool = False) -> None:
        queue: asyncio.Queue = asyncio.Queue()
        framer = _RequestCounter() if count else None

        async def deliver():
            while True:
                due, data = await queue.get()
                if data is None:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.create_task(deliver())
        try:
            while data := await reader.read(65536):
                if framer is not None:
                    self.requests += framer.feed(data)
                queue.put_nowait((time.monotonic() + self.delay, data))
        finally:
            queue.put_nowait((0, None))
            await sender


class _RequestCounter:
    """Counts HTTP/1.1 request heads in a client's byte stream (bodies skipped by Content-Length)."""

    def __init__(self):
        self.buffer = b""
        self.body_left = 0

    def feed(self, data: bytes) -> int:
        self.buffer += data
        found = 0
        while True:
            if self.body_left:
                taken = min(self.body_left, len(self.buffer))
                self.buffer = self.buffer[taken:]
                self.body_left -= taken
                if self.body_left:
                    return found
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return found
            head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4 :]
            found += 1
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    self.body_left = int(value.strip())


class Backend:
    name = ""
    store = ""

    def __init__(self, workdir: Path, rtt_ms: float):
        self.workdir = workdir
        self.rtt_ms = rtt_ms
        self.server: JupyterServer | None = None

    def requests(self) -> int | None:
        return None

    def reset(self) -> None:
        pass

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


class OneLakeBackend(Backend):
    name, store = "onelake-contents", "OneLake emulator"
    server_args: tuple[str, ...] = ()

    def __init__(self, workdir: Path, rtt_ms: float, seed: dict[str, bytes]):
        super().__init__(workdir, rtt_ms)
        from onelake_contents.emulator.state import Namespace

        data = workdir / "onelake"
        namespace = Namespace(data)
        namespace.add_workspace(WORKSPACE)
        namespace.add_item(WORKSPACE, ITEM)
        ws = namespace.workspaces[WORKSPACE]
        for path, content in seed.items():
            namespace.write_file(ws, f"{ROOT}/{path}", content)
        namespace.close()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "onelake_contents.emulator",
                "--data-dir",
                str(data),
                "--workspace",
                WORKSPACE,
                "--item",
                ITEM,
                "--latency-ms",
                str(rtt_ms),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.info = json.loads(self.process.stdout.readline())
        self.control = requests.Session()
        self.control.headers["Authorization"] = f"Bearer {self.info['broker_token']}"

        self.server = JupyterServer(
            EmulatorInfo(**self.info),
            WORKSPACE,
            ROOT,
            workdir / "jupyter",
            *self.server_args,
            extensions={"benchmarks.probe": True},
            env={"PYTHONPATH": str(Path(__file__).parents[1])},
        ).start()

    def _control(self, method: str, what: str = "requests") -> requests.Response:
        # verify per request: a session-level `verify` loses to REQUESTS_CA_BUNDLE in requests
        url = f"{self.info['endpoint']}/$emulator/{what}"
        return self.control.request(method, url, timeout=30, verify=self.info["ca_file"])

    def records(self) -> list[dict]:
        """The emulator's request log since the last reset."""
        return self._control("GET").json()

    def requests(self) -> int:
        return len(self.records())

    def handshakes(self) -> int:
        """TLS handshakes the server made with the emulator since the last reset."""
        return self._control("GET", "connections").json()["tls_handshakes"]

    def reset(self) -> None:
        self._control("DELETE")

    def stop(self) -> None:
        super().stop()
        self.control.close()
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


class OneLakeNoMetricsBackend(OneLakeBackend):
    """The same with Prometheus metrics off: what the metrics cost."""

    name = "onelake-contents, metrics off"
    server_args = ("--OneLakeContentsManager.metrics=False",)


class LocalBackend(Backend):
    name, store = "jupyter_server file manager", "local disk"

    def __init__(self, workdir: Path, rtt_ms: float, seed: dict[str, bytes]):
        super().__init__(workdir, rtt_ms)
        home = workdir / "home"
        for path, content in seed.items():
            target = home / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        self.server = JupyterServer(
            None,
            "",
            "",
            workdir / "jupyter",
            root_dir=home,
            contents_manager_class="jupyter_server.services.contents.largefilemanager.AsyncLargeFileManager",
            extensions={"benchmarks.probe": True},
            env={"PYTHONPATH": str(Path(__file__).parents[1])},
        ).start()


class S3Backend(Backend):
    name, store = "s3contents 0.11 (s3fs)", "moto S3 server"

    def __init__(self, workdir: Path, rtt_ms: float, seed: dict[str, bytes]):
        super().__init__(workdir, rtt_ms)
        import boto3

        moto_port = free_port()
        self.moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-p", str(moto_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        endpoint = f"http://127.0.0.1:{moto_port}"
        _wait_http(endpoint)
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            region_name="us-east-1",
        )
        s3.create_bucket(Bucket="notebooks")
        for path, content in seed.items():
            s3.put_object(Bucket="notebooks", Key=path, Body=content)
        self.proxy = DelayProxy(moto_port, rtt_ms).start()
        self.server = JupyterServer(
            None,
            "",
            "",
            workdir / "jupyter",
            f"--S3ContentsManager.endpoint_url=http://127.0.0.1:{self.proxy.port}",
            "--S3ContentsManager.bucket=notebooks",
            "--S3ContentsManager.access_key_id=bench",
            "--S3ContentsManager.secret_access_key=bench",
            "--S3ContentsManager.region_name=us-east-1",
            contents_manager_class="s3contents.S3ContentsManager",
            extensions={"benchmarks.probe": True},
            env={"PYTHONPATH": str(Path(__file__).parents[1])},
        ).start()

    def requests(self) -> int:
        return self.proxy.requests

    def reset(self) -> None:
        self.proxy.requests = 0

    def stop(self) -> None:
        super().stop()
        self.proxy.stop()
        self.moto.terminate()
        self.moto.wait(30)


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def clean(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)

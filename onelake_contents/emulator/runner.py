"""Start the emulator and its broker over HTTPS, in this thread (command line) or a background one (tests)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import trustme
from aiohttp import web

from .access import HOME_FOLDER, SHARED_FOLDER, AccessPolicy
from .auth import TokenAuthority
from .broker import DevelopmentBroker
from .instrument import FaultSettings, RequestRecord
from .server import OneLakeServer
from .state import Namespace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmulatorInfo:
    endpoint: str
    broker_url: str
    broker_token: str
    ca_file: str
    workspaces: dict[str, list[str]]
    users: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> broker_token, home

    def environment(self, workspace: str, root: str, user: str | None = None) -> dict[str, str]:
        """The ONELAKE_* settings for a server using this emulator, as the admin or as `user`."""
        return {
            "ONELAKE_ENDPOINT": self.endpoint,
            "ONELAKE_WORKSPACE": workspace,
            "ONELAKE_ROOT": root,
            "ONELAKE_BROKER_URL": self.broker_url,
            "ONELAKE_BROKER_TOKEN": self.users[user]["broker_token"] if user else self.broker_token,
            "ONELAKE_CA_FILE": self.ca_file,
        }

    def to_dict(self) -> dict:
        return {
            "endpoint": self.endpoint,
            "broker_url": self.broker_url,
            "broker_token": self.broker_token,
            "ca_file": self.ca_file,
            "workspaces": self.workspaces,
            "users": self.users,
        }


def parse_layout(workspaces: list[str], items: list[str]) -> dict[str, list[str]]:
    """`--item X.Lakehouse` goes into every workspace; `--item ws/X.Lakehouse` into `ws` only."""
    layout: dict[str, list[str]] = {name: [] for name in workspaces}
    for item in items:
        target, sep, name = item.rpartition("/")
        if sep:
            layout.setdefault(target, [])
            layout[target].append(name)
        else:
            for names in layout.values():
                names.append(item)
    return layout


class Emulator:
    """A local OneLake: DFS + Blob on one HTTPS port, a development broker on another.

    Use as a context manager from tests (it runs on its own event loop in a daemon thread), or
    call `serve_forever()` from the command line.
    """

    def __init__(
        self,
        layout: dict[str, list[str]] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        broker_port: int = 0,
        data_dir: str | Path | None = None,
        latency_ms: float = 0.0,
        token_lifetime: float = 3600.0,
        broker_token: str | None = None,
        users: list[str] = (),
        hub_api_url: str | None = None,
    ):
        self.layout = layout if layout is not None else {"dev": ["Dev.Lakehouse"]}
        self.host = host
        self.port = port
        self.broker_port = broker_port
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.namespace = Namespace(self.data_dir)
        secret = self.namespace.setting("token_secret")
        self.authority = TokenAuthority(secret)
        self.namespace.save_setting("token_secret", self.authority.secret)
        client_token = broker_token or self.namespace.setting("broker_token") or secrets.token_urlsafe(24)
        self.namespace.save_setting("broker_token", client_token)
        self.access = AccessPolicy()
        self.broker = DevelopmentBroker(self.authority, client_token, token_lifetime, self.access)
        self.broker.state.hub_api_url = hub_api_url
        self.server = OneLakeServer(self.namespace, self.authority, client_token, latency_ms, self.access)
        for workspace, items in self.layout.items():
            self.namespace.add_workspace(workspace)
            for item in items:
                self.namespace.add_item(workspace, item)
        self.info: EmulatorInfo | None = None
        self.user_tokens: dict[str, str] = {}
        for name in users:
            self.add_user(name)
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []

    def add_user(self, name: str) -> str:
        """A user who reads and writes `<item>/Files/home/<name>` and reads `<item>/Files/shared`
        (see `access`); returns their broker client token (kept in the data dir)."""
        token = self.namespace.setting(f"user_token:{name}") or secrets.token_urlsafe(24)
        self.namespace.save_setting(f"user_token:{name}", token)
        self.user_tokens[name] = self.broker.add_user(name, token)
        for workspace, items in self.layout.items():
            ws = self.namespace.workspace(workspace, "dfs")
            for item in items:
                if f"{item}/{SHARED_FOLDER}" not in ws.nodes:
                    self.namespace.make_directory(ws, f"{item}/{SHARED_FOLDER}", {})
        if self.info is not None:
            self.info.users[name] = self._user_facts(name)
        return token

    def _user_facts(self, name: str) -> dict[str, str]:
        items = next((items for items in self.layout.values() if items), ["Dev.Lakehouse"])
        return {"broker_token": self.user_tokens[name], "home": f"{items[0]}/{HOME_FOLDER}/{name}"}

    def token_for(self, name: str | None = None, lifetime: float = 3600.0) -> str:
        """An access token for user `name` (None: the workspace admin), as the broker issues it."""
        principal = self.access.admin if name is None else self.access.add_user(name)
        return self.authority.issue(lifetime, principal)[0]

    # ---- TLS ---------------------------------------------------------------------------------
    def _tls(self) -> tuple[list[ssl.SSLContext], str]:
        """The server contexts of the storage port (counting its handshakes) and of the broker."""
        ca = trustme.CA(organization_name="onelake-contents emulator")
        cert = ca.issue_cert("127.0.0.1", "localhost", "::1", self.host)
        if self.data_dir is not None:
            folder = self.data_dir
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="onelake-emulator-")
            folder = Path(self._tmp.name)
        ca_file = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        contexts = []
        for _ in range(2):
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert.configure_cert(context)
            contexts.append(context)
        contexts[0].sni_callback = self.server.log.handshake
        return contexts, str(ca_file)

    # ---- lifecycle ---------------------------------------------------------------------------
    async def start_async(self) -> EmulatorInfo:
        contexts, ca_file = self._tls()
        ports = []
        sites = ((self.server.app(), self.port), (self.broker.app(), self.broker_port))
        for (app, port), context in zip(sites, contexts, strict=True):
            runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
            await runner.setup()
            site = web.TCPSite(runner, self.host, port, ssl_context=context, backlog=1024)
            await site.start()
            self._runners.append(runner)
            ports.append(runner.addresses[0][1])
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.info = EmulatorInfo(
            endpoint=f"https://{host}:{ports[0]}",
            broker_url=f"https://{host}:{ports[1]}",
            broker_token=self.broker.client_token,
            ca_file=ca_file,
            workspaces={ws: list(items) for ws, items in self.layout.items()},
            users={name: self._user_facts(name) for name in self.user_tokens},
        )
        return self.info

    async def stop_async(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    def start(self) -> EmulatorInfo:
        """Run in a daemon thread with its own event loop; returns when both servers listen."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="onelake-emulator", daemon=True)
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self.start_async(), self._loop).result(timeout=30)

    def stop(self) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self.stop_async(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
            self._loop = None
        self.namespace.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- facts -------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return self.info.endpoint

    @property
    def broker_url(self) -> str:
        return self.info.broker_url

    @property
    def broker_token(self) -> str:
        return self.info.broker_token

    @property
    def ca_file(self) -> str:
        return self.info.ca_file

    # ---- instruments -------------------------------------------------------------------------
    def requests(self, operation: str | None = None) -> list[RequestRecord]:
        records = self.server.log.records()
        return [r for r in records if operation is None or r.operation == operation]

    def tls_handshakes(self) -> int:
        """TLS handshakes on the storage port since the last `reset_requests`."""
        return self.server.log.tls_handshakes

    def reset_requests(self) -> None:
        self.server.log.reset()

    def set_latency(self, ms: float) -> None:
        self.server.latency_ms = ms

    def set_faults(self, **settings) -> None:
        """e.g. `set_faults(probability=0.2, kinds={"503": 1, "429": 1}, operations={"PutBlob"})`."""
        if settings.get("operations") is not None:
            settings["operations"] = frozenset(settings["operations"])
        if "script" in settings:
            settings["script"] = tuple(settings["script"])
        self.server.faults.configure(FaultSettings(**settings))

    def clear_faults(self) -> None:
        self.server.faults.clear()

    @property
    def faults_injected(self) -> dict[str, int]:
        return dict(self.server.faults.injected)

    def deny(self, *prefixes: str) -> None:
        """Answer 403 AuthorizationPermissionMismatch for `workspace/path` prefixes (none to clear)."""
        self.server.denied = tuple(prefixes)

    def set_retention(self, workspace: str, days: int | None) -> None:
        """The workspace's soft-delete retention (1 to 365 days; OneLake's default is 7), or
        None: soft delete turned off (deletions are final)."""
        self._on_loop(self.namespace.set_retention, self.namespace.workspace(workspace, "blob"), days)

    def advance_clock(self, seconds: float) -> None:
        """Move the soft-delete clock on: deletions past their retention are purged for good."""
        self.namespace.clock_shift += seconds

    def _on_loop(self, func, *args):
        """`func(*args)` on the emulator's loop, between two requests (the namespace is the loop's)."""
        if self._loop is None:
            return func(*args)

        async def call():
            return func(*args)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout=30)

    def issue_token(self, lifetime: float = 3600.0) -> str:
        return self.authority.issue(lifetime)[0]

    # ---- command line ------------------------------------------------------------------------
    def serve_forever(self, on_ready) -> None:
        async def main() -> None:
            import signal

            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)  # before the ready line: a signal right after it stops cleanly
            info = await self.start_async()
            on_ready(info)
            await stop.wait()
            await self.stop_async()

        try:
            asyncio.run(main())
        finally:
            self.namespace.close()

"""OneLake tokens for kernels, handed out by their own server: kernels never see the broker secret.

A kernel started for a notebook gets, instead of the server's broker settings, the broker contract
pointed at its server: `ONELAKE_BROKER_URL` is the server's own address (on loopback) and
`ONELAKE_BROKER_TOKEN` a random token of that kernel. `GET <server>/onelake/token` with it answers
as a broker does (`access_token`, `expires_on`, `expires_in`), with the OneLake token the server
itself uses, so a kernel can do what its user can do in OneLake and no more. A kernel's token
stops working when the kernel is shut down; it is never written to a file. Only requests made on
loopback, directly (no proxy's forwarding headers), are answered: a kernel token printed into a
saved notebook is no OneLake token for whoever reaches the server through JupyterHub's proxy.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar

from tornado import web

from ..config import is_loopback

TOKEN_PATH = "onelake/token"
# Headers a proxy adds (configurable-http-proxy, nginx, ...); a kernel's direct request has none.
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip")
# the token issued inside `get_kernel_env`, bound to the kernel id once the kernel has started
issued_token: ContextVar[str | None] = ContextVar("onelake_kernel_token", default=None)


class KernelTokens:
    """Which kernel holds which token. A token not yet bound to a kernel (it is issued before the
    kernel starts) is accepted for `grace` seconds."""

    def __init__(self, alive: Callable[[str], bool], grace: float = 120.0):
        self._alive = alive
        self._grace = grace
        self._lock = threading.Lock()
        self._pending: dict[str, float] = {}
        self._bound: dict[str, str] = {}

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._pending[token] = time.monotonic()
        issued_token.set(token)
        return token

    def bind(self, token: str, kernel_id: str) -> None:
        with self._lock:
            if self._pending.pop(token, None) is not None:
                self._bound[token] = kernel_id

    def valid(self, token: str) -> bool:
        with self._lock:
            kernel_id = self._bound.get(token)
            if kernel_id is not None:
                if self._alive(kernel_id):
                    return True
                del self._bound[token]
                return False
            issued = self._pending.get(token)
            if issued is None:
                return False
            if time.monotonic() - issued <= self._grace:
                return True
            del self._pending[token]
            return False


class KernelTokenHandler(web.RequestHandler):
    """`GET /onelake/token`: the broker contract, answered for this server's kernels."""

    def initialize(self, tokens: KernelTokens, contents_manager) -> None:
        self.tokens = tokens
        self.contents_manager = contents_manager

    def _refuse(self, status: int, error: str, description: str) -> None:
        self.set_status(status)
        if status == 401:
            self.set_header("WWW-Authenticate", "Bearer")
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": error, "error_description": description}))

    def _from_beside(self) -> bool:
        """Kernels run beside their server and reach it directly on loopback (or its Unix socket).
        A request that came through a proxy (JupyterHub's public one, any other) carries forwarding
        headers, and one from elsewhere a non-loopback peer: neither is a kernel of this server.
        The peer is the socket's, whatever `X-Real-Ip` says (under JupyterHub tornado trusts it)."""
        if any(header in self.request.headers for header in FORWARDING_HEADERS):
            return False
        context = self.request.connection.context
        if getattr(context, "address_family", None) not in (socket.AF_INET, socket.AF_INET6):
            return getattr(context, "address_family", None) == socket.AF_UNIX
        return is_loopback(context.address[0])

    async def get(self) -> None:
        if not self._from_beside():
            self._refuse(403, "access_denied", "this server hands OneLake tokens only to its own kernels, on loopback")
            return
        scheme, _, presented = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip() or not self.tokens.valid(presented.strip()):
            self._refuse(401, "invalid_client", "not the token of a running kernel of this server")
            return
        scope = self.get_query_argument("scope", None)
        cm = self.contents_manager
        if scope is not None and scope != cm.token_scope:
            self._refuse(400, "invalid_scope", f"this server issues only {cm.token_scope}")
            return
        try:
            info = await cm.access_token()
        except Exception as error:  # the server has no token either: say so, as a broker would
            self._refuse(503, "temporarily_unavailable", f"the server has no OneLake token: {type(error).__name__}")
            return
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Type", "application/json")
        self.finish(
            json.dumps(
                {
                    "access_token": info.token,
                    "expires_on": info.expires_on,
                    "expires_in": max(0, int(info.expires_on - time.time())),
                    "token_type": "Bearer",
                }
            )
        )

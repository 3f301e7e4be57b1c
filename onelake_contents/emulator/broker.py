"""The development token broker: the contract a platform broker implements.

`GET /onelake/token` with `Authorization: Bearer <client token>` answers
`{"access_token": ..., "expires_on": <unix seconds>, "expires_in": <seconds>, "token_type": "Bearer"}`
for the scope `https://storage.azure.com/.default` (an optional `scope` query parameter must name
it). A missing or wrong client token is a 401. Tests change its behaviour at runtime: token
lifetime, an outage (every request fails with a status), a number of failures, a delay (to make
clients time out), and the accepted client tokens (rotation).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from dataclasses import dataclass, field

from aiohttp import web

from .auth import STORAGE_SCOPE, TokenAuthority


@dataclass
class BrokerState:
    client_tokens: set[str]
    token_lifetime: float = 3600.0
    outage_status: int | None = None
    fail_next: list[int] = field(default_factory=list)
    delay_seconds: float = 0.0
    requests: int = 0
    tokens_issued: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class DevelopmentBroker:
    def __init__(self, authority: TokenAuthority, client_token: str | None = None, token_lifetime: float = 3600.0):
        self.authority = authority
        self.state = BrokerState({client_token or secrets.token_urlsafe(24)}, token_lifetime)

    @property
    def client_token(self) -> str:
        return next(iter(self.state.client_tokens))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/onelake/token", self.token)
        app.router.add_get("/healthz", self.health)
        return app

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def token(self, request: web.Request) -> web.Response:
        s = self.state
        with s.lock:
            s.requests += 1
            failure = s.fail_next.pop(0) if s.fail_next else s.outage_status
        if s.delay_seconds:
            await asyncio.sleep(s.delay_seconds)
        if failure:
            return web.json_response(
                {"error": "broker_unavailable", "error_description": "injected failure"}, status=failure
            )
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or presented.strip() not in s.client_tokens:
            return web.json_response(
                {"error": "invalid_client", "error_description": "missing or unknown client token"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        scope = request.query.get("scope", STORAGE_SCOPE)
        if scope != STORAGE_SCOPE:
            return web.json_response(
                {"error": "invalid_scope", "error_description": f"this broker issues only {STORAGE_SCOPE}"},
                status=400,
            )
        token, expires_on = self.authority.issue(s.token_lifetime)
        with s.lock:
            s.tokens_issued += 1
        return web.json_response(
            {
                "access_token": token,
                "expires_on": expires_on,
                "expires_in": int(s.token_lifetime),
                "token_type": "Bearer",
            },
            headers={"Cache-Control": "no-store"},
        )

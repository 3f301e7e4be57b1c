"""The development token broker: the contract a platform broker implements.

`GET /onelake/token` with `Authorization: Bearer <client token>` answers
`{"access_token": ..., "expires_on": <unix seconds>, "expires_in": <seconds>, "token_type": "Bearer"}`
for the scope `https://storage.azure.com/.default` (an optional `scope` query parameter must name
it). The token is for the principal the client token belongs to: the workspace admin's client
token (`client_tokens`), a user's own (`user_tokens`), or, when the broker knows a JupyterHub
(`hub_api_url`), a token the hub issued for asking OneLake tokens: the broker asks the hub whose
it is (`GET {hub_api_url}/user`) and answers only for a user (`kind: user`) whose token carries
the custom scope `custom:onelake:token!user=<that user>`. A token that merely names a user (the
OAuth tokens of servers and services a user visits, tokens with other scopes) is refused with 403.
A missing or unknown client token is a 401. Tests change its behaviour at runtime: token lifetime,
an outage (every request fails with a status), a number of failures, a delay (to make clients time
out), and the accepted client tokens (rotation).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from .access import AccessPolicy, Principal
from .auth import STORAGE_SCOPE, TokenAuthority

# The JupyterHub custom scope that makes a hub token a client token of this broker (JupyterHub 3+).
HUB_SCOPE = "custom:onelake:token"


class HubUnavailable(Exception):
    """The hub could not say whose token was presented (a 503, not a 401: the token may be good)."""


class NotForTheBroker(Exception):
    """The hub knows the token, but it is not one for asking OneLake tokens (a 403, one line why)."""


@dataclass
class BrokerState:
    client_tokens: set[str]  # the workspace admin's
    token_lifetime: float = 3600.0
    user_tokens: dict[str, str] = field(default_factory=dict)  # client token -> user name
    hub_api_url: str | None = None
    outage_status: int | None = None
    fail_next: list[int] = field(default_factory=list)
    delay_seconds: float = 0.0
    requests: int = 0
    tokens_issued: int = 0
    hub_lookups: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class DevelopmentBroker:
    def __init__(
        self,
        authority: TokenAuthority,
        client_token: str | None = None,
        token_lifetime: float = 3600.0,
        access: AccessPolicy | None = None,
    ):
        self.authority = authority
        self.access = access or AccessPolicy()
        self.state = BrokerState({client_token or secrets.token_urlsafe(24)}, token_lifetime)

    def add_user(self, name: str, client_token: str | None = None) -> str:
        """A user (a Viewer, see `access`) and the client token the broker knows them by."""
        self.access.add_user(name)
        token = client_token or secrets.token_urlsafe(24)
        with self.state.lock:
            self.state.user_tokens[token] = name
        return token

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
        try:
            principal = await self._principal(presented.strip()) if scheme.lower() == "bearer" else None
        except HubUnavailable as error:
            return web.json_response({"error": "temporarily_unavailable", "error_description": str(error)}, status=503)
        except NotForTheBroker as error:
            return web.json_response({"error": "access_denied", "error_description": str(error)}, status=403)
        if principal is None:
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
        token, expires_on = self.authority.issue(s.token_lifetime, principal)
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

    async def _principal(self, presented: str) -> Principal | None:
        s = self.state
        if not presented:
            return None
        if presented in s.client_tokens:
            return self.access.admin
        name = s.user_tokens.get(presented)
        if name is None and s.hub_api_url:
            name = await self._hub_user(presented)
        if not name:
            return None
        try:
            return self.access.add_user(name)
        except ValueError:
            raise NotForTheBroker(f"the user {name!r} has no OneLake identity here") from None

    async def _hub_user(self, token: str) -> str | None:
        """The JupyterHub user `token` was issued to for asking OneLake tokens (a user's server
        presents its JUPYTERHUB_API_TOKEN, which carries `custom:onelake:token!user=<name>`);
        None for a token the hub does not know. A token of a service, of an unknown kind, or
        without that scope for its very user raises NotForTheBroker."""
        with self.state.lock:
            self.state.hub_lookups += 1
        url = self.state.hub_api_url.rstrip("/") + "/user"
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            try:
                async with session.get(url, headers={"Authorization": f"token {token}"}) as response:
                    if response.status in (401, 403, 404):
                        return None
                    if response.status != 200:
                        raise HubUnavailable(
                            f"JupyterHub answered HTTP {response.status} when asked whose token this is"
                        )
                    model = await response.json()
            except (TimeoutError, aiohttp.ClientError, ValueError) as error:
                raise HubUnavailable(f"JupyterHub did not answer who the client is ({type(error).__name__})") from None
        if not isinstance(model, dict) or model.get("kind") != "user" or not isinstance(model.get("name"), str):
            raise NotForTheBroker("this JupyterHub token does not belong to a user")
        name = model["name"]
        scopes = model.get("scopes")
        if not isinstance(scopes, list) or f"{HUB_SCOPE}!user={name}" not in scopes:
            raise NotForTheBroker(f"this JupyterHub token lacks the scope {HUB_SCOPE}!user={name}")
        return name

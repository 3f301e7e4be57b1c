"""Token credentials backed by the platform token broker.

The broker contract: `GET {broker_url}/onelake/token` with `Authorization: Bearer <client token>`
answers JSON with `access_token` and `expires_on` (unix seconds) or `expires_in` (seconds). The
client token comes from `ONELAKE_BROKER_TOKEN` or the file `ONELAKE_BROKER_TOKEN_FILE`, which is
read again when the broker answers 401 (so a rotated file is picked up).

azure-core asks its credential for a token before every request once the cached one has less than
five minutes left; a broker token living less than that would cost one broker round trip per
storage request. These credentials therefore keep the token themselves and hand it out until
`expires_on - margin`, where the margin is `refresh_margin` but never more than half the token's
lifetime. Only one fetch runs at a time (threads: a lock; coroutines: an asyncio lock, with the
blocking HTTP call in a worker thread). When the broker fails while the cached token is still
valid, the cached token is used and one warning is logged; otherwise `ClientAuthenticationError`
names the broker URL and the cause. Tokens are never logged or put into messages.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import requests
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import ClientAuthenticationError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from . import metrics
from .config import STORAGE_SCOPE, ResolvedSettings, SettingsError, broker_url_problem

if TYPE_CHECKING:  # the event loop's modules load with the async credential's first use, not for `ls`
    import asyncio

log = logging.getLogger(__name__)
TOKEN_PATH = "/onelake/token"


# azure-core's bearer policy adds up to 60 s of random jitter to `refresh_on` (capped at the
# expiry) before it asks the credential again, so it may keep a token to its last second. We
# report `refresh_on` that much earlier: azure-core then asks us in time, and we answer from our
# own cache (for short-lived tokens it simply asks on every request, which costs nothing).
AZURE_CORE_REFRESH_JITTER = 60


def _reported_refresh_on(token) -> int:
    return math.floor(token.refresh_on - AZURE_CORE_REFRESH_JITTER)


class BrokerError(Exception):
    """The broker did not hand out a token; the message never holds a secret. `refused`: it
    answered 4xx (our client token or request), rather than failing."""

    def __init__(self, message: str, refused: bool = False):
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True)
class _Token:
    token: str
    expires_on: int
    refresh_on: float

    def usable(self, now: float) -> bool:
        return now < self.refresh_on

    def valid(self, now: float) -> bool:
        return now < self.expires_on


class _BrokerClient:
    """The HTTP side: one `requests.Session`, retries for connection errors and 5xx, parsing."""

    def __init__(
        self,
        broker_url: str,
        *,
        client_token: str | None = None,
        client_token_file: str | None = None,
        ca_file: str | None = None,
        scope: str = STORAGE_SCOPE,
        refresh_margin: float = 300.0,
        timeout: tuple[float, float] = (5.0, 15.0),
        retries: int = 3,
        backoff: float = 0.25,
    ):
        problem = broker_url_problem(broker_url)
        if problem:
            raise SettingsError(f"broker_url {problem}")
        if not client_token and not client_token_file:
            raise SettingsError(
                "the broker needs a client token: set ONELAKE_BROKER_TOKEN or ONELAKE_BROKER_TOKEN_FILE"
            )
        self.broker_url = broker_url.rstrip("/")
        self.scope = scope
        self.refresh_margin = refresh_margin
        self._client_token = client_token
        self._client_token_file = Path(client_token_file) if client_token_file else None
        self._file_token: str | None = None
        self._timeout = timeout
        # Passed on every request: a session-level `verify` loses to REQUESTS_CA_BUNDLE in requests.
        self._verify = ca_file or True
        self._session = requests.Session()
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        self._session.mount("https://", HTTPAdapter(max_retries=retry))
        self._session.mount("http://", HTTPAdapter(max_retries=retry))
        self._token: _Token | None = None
        self._warned_stale = False
        self.fetches = 0

    # ---- client token ------------------------------------------------------------------------
    def _read_client_token(self, force: bool = False) -> str:
        if self._client_token_file is None:
            return self._client_token
        if self._file_token is None or force:
            try:
                self._file_token = self._client_token_file.read_text(encoding="utf-8").strip()
            except OSError as error:
                raise BrokerError(
                    f"cannot read the broker client token file {self._client_token_file}: {error.strerror}"
                ) from None
            if not self._file_token:
                raise BrokerError(f"the broker client token file {self._client_token_file} is empty")
        return self._file_token

    # ---- fetching ----------------------------------------------------------------------------
    def _check_scopes(self, scopes: tuple[str, ...]) -> None:
        if scopes and any(s != self.scope for s in scopes):
            raise ClientAuthenticationError(
                message=f"the OneLake broker credential issues only the scope {self.scope}, not {list(scopes)}"
            )

    def _request(self, client_token: str) -> requests.Response:
        try:
            return self._session.get(
                self.broker_url + TOKEN_PATH,
                params={"scope": self.scope},
                headers={"Authorization": f"Bearer {client_token}", "Accept": "application/json"},
                timeout=self._timeout,
                verify=self._verify,
            )
        except requests.exceptions.SSLError as error:
            raise BrokerError(
                f"TLS verification failed ({type(error).__name__}); set ONELAKE_CA_FILE for a private CA"
            ) from None
        except requests.exceptions.RequestException as error:
            raise BrokerError(f"broker unreachable: {type(error).__name__}") from None

    def fetch(self) -> _Token:
        """One token from the broker (blocking)."""
        try:
            token = self._fetch()
        except BrokerError as error:
            metrics.count_broker("refused" if error.refused else "failed")
            raise
        metrics.count_broker("ok", token.expires_on)
        return token

    def _fetch(self) -> _Token:
        started = time.time()
        response = self._request(self._read_client_token())
        if response.status_code == 401 and self._client_token_file is not None:
            previous = self._file_token
            if self._read_client_token(force=True) != previous:
                log.info("broker refused the client token; retrying with the rotated token file")
                response = self._request(self._file_token)
        self.fetches += 1
        if response.status_code != 200:
            raise BrokerError(
                f"broker answered HTTP {response.status_code}{_broker_reason(response)}",
                refused=400 <= response.status_code < 500,
            )
        try:
            body = response.json()
            token = body["access_token"]
            if "expires_on" in body:
                expires_on = int(float(body["expires_on"]))
            else:
                expires_on = int(started + float(body["expires_in"]))
        except (ValueError, KeyError, TypeError):
            raise BrokerError("broker answered 200 without access_token and expires_on/expires_in") from None
        if not isinstance(token, str) or not token:
            raise BrokerError("broker answered an empty access_token")
        lifetime = max(expires_on - started, 0)
        margin = min(self.refresh_margin, lifetime / 2)
        log.debug("got a OneLake token from %s, valid for %.0f s", self.broker_url, lifetime)
        return _Token(token, expires_on, expires_on - margin)

    def _cached(self) -> _Token | None:
        token = self._token
        return token if token is not None and token.usable(time.time()) else None

    def _store(self, token: _Token) -> _Token:
        self._token = token
        self._warned_stale = False
        return token

    def _fallback(self, error: BrokerError) -> _Token:
        """The broker failed: keep using a still-valid token, or raise naming the broker and cause."""
        current = self._token
        if current is not None and current.valid(time.time()):
            if not self._warned_stale:
                log.warning(
                    "token broker %s failed (%s); using the cached token until it expires in %.0f s",
                    self.broker_url,
                    error,
                    current.expires_on - time.time(),
                )
                self._warned_stale = True
            return current
        raise ClientAuthenticationError(message=f"no OneLake token from the broker at {self.broker_url}: {error}")

    def close(self) -> None:
        self._session.close()


def _broker_reason(response: requests.Response) -> str:
    try:
        body = response.json()
        reason = body.get("error_description") or body.get("error")
    except ValueError:
        reason = None
    return f" ({str(reason)[:200]})" if reason else ""


def _kwargs_from_settings(settings: ResolvedSettings, **overrides) -> dict:
    settings.require("broker_url")
    kwargs = {
        "client_token": settings.values.get("broker_token"),
        "client_token_file": settings.values.get("broker_token_file"),
        "ca_file": settings.values.get("ca_file"),
        "scope": settings.values.get("scope") or STORAGE_SCOPE,
    }
    kwargs.update(overrides)
    return kwargs


class BrokerCredential(_BrokerClient):
    """azure-core `TokenCredential` and `SupportsTokenInfo` backed by the token broker; thread-safe."""

    def __init__(self, broker_url: str, **kwargs):
        super().__init__(broker_url, **kwargs)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: ResolvedSettings, **overrides) -> BrokerCredential:
        return cls(str(settings.values["broker_url"]), **_kwargs_from_settings(settings, **overrides))

    def _get(self, scopes: tuple[str, ...]) -> _Token:
        self._check_scopes(scopes)
        token = self._cached()
        if token is not None:
            return token
        with self._lock:
            token = self._cached()
            if token is not None:
                return token
            try:
                return self._store(self.fetch())
            except BrokerError as error:
                return self._fallback(error)

    def get_token(self, *scopes: str, claims=None, tenant_id=None, enable_cae: bool = False, **kwargs) -> AccessToken:
        token = self._get(scopes)
        return AccessToken(token.token, token.expires_on)

    def get_token_info(self, *scopes: str, options=None) -> AccessTokenInfo:
        token = self._get(scopes)
        return AccessTokenInfo(token.token, token.expires_on, refresh_on=_reported_refresh_on(token))

    def __enter__(self) -> BrokerCredential:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AsyncBrokerCredential(_BrokerClient):
    """azure-core `AsyncTokenCredential` / `AsyncSupportsTokenInfo` backed by the token broker.

    Concurrent awaits share one fetch; the blocking broker call runs in a worker thread.
    """

    def __init__(self, broker_url: str, **kwargs):
        super().__init__(broker_url, **kwargs)
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_settings(cls, settings: ResolvedSettings, **overrides) -> AsyncBrokerCredential:
        return cls(str(settings.values["broker_url"]), **_kwargs_from_settings(settings, **overrides))

    def _async_lock(self) -> asyncio.Lock:
        import asyncio

        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    async def _get(self, scopes: tuple[str, ...]) -> _Token:
        self._check_scopes(scopes)
        token = self._cached()
        if token is not None:
            return token
        async with self._async_lock():
            token = self._cached()
            if token is not None:
                return token
            try:
                import asyncio

                return self._store(await asyncio.to_thread(self.fetch))
            except BrokerError as error:
                return self._fallback(error)

    async def get_token(
        self, *scopes: str, claims=None, tenant_id=None, enable_cae: bool = False, **kwargs
    ) -> AccessToken:
        token = await self._get(scopes)
        return AccessToken(token.token, token.expires_on)

    async def get_token_info(self, *scopes: str, options=None) -> AccessTokenInfo:
        token = await self._get(scopes)
        return AccessTokenInfo(token.token, token.expires_on, refresh_on=_reported_refresh_on(token))

    async def close(self) -> None:
        super().close()  # closes pooled sockets; nothing to wait for

    async def __aenter__(self) -> AsyncBrokerCredential:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

"""Bearer tokens of the development broker: signed JWTs with the Storage audience and an expiry.

The emulator accepts only tokens its own broker signed, as OneLake accepts only Entra ID tokens for
`https://storage.azure.com`. Failures are answered with Azure's 401 codes and a `WWW-Authenticate`
challenge; a valid token for a path it may not touch gets 403 `AuthorizationPermissionMismatch`.
"""

from __future__ import annotations

import math
import secrets
import time
import uuid

import jwt

from .access import ADMIN_NAME, Principal
from .state import StorageError

STORAGE_AUDIENCE = "https://storage.azure.com"
STORAGE_SCOPE = "https://storage.azure.com/.default"
ISSUER = "https://onelake-emulator.local/broker"
TENANT = "00000000-0000-0000-0000-0000000e1a4e"
_CHALLENGE = (
    f"Bearer authorization_uri=https://login.microsoftonline.com/{TENANT}/oauth2/authorize "
    f"resource_id={STORAGE_AUDIENCE}"
)


class TokenAuthority:
    """Signs and checks the emulator's access tokens (HS256 with a per-emulator secret)."""

    def __init__(self, secret: str | None = None):
        self.secret = secret or secrets.token_urlsafe(32)

    def issue(
        self, lifetime: float, principal: Principal | None = None, audience: str = STORAGE_AUDIENCE
    ) -> tuple[str, int]:
        """A token for `principal` (default: the workspace admin), carrying its `oid` and `upn`."""
        now = time.time()
        expires_on = math.ceil(now + lifetime)  # lives at least `lifetime` seconds
        claims = {
            "aud": audience,
            "iss": ISSUER,
            "tid": TENANT,
            **(principal or Principal(ADMIN_NAME, admin=True)).claims(),
            "iat": int(now),
            "nbf": int(now) - 1,
            "exp": expires_on,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.secret, algorithm="HS256"), expires_on

    def verify(self, authorization: str | None) -> dict:
        if not authorization:
            raise StorageError(
                401,
                "NoAuthenticationInformation",
                "Server failed to authenticate the request. Please refer to the information in the "
                "www-authenticate header.",
                {"WWW-Authenticate": _CHALLENGE},
            )
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise StorageError(
                403,
                "AuthenticationFailed",
                "OneLake accepts only Microsoft Entra bearer tokens; shared keys and other schemes are refused.",
            )
        try:
            return jwt.decode(
                token.strip(), self.secret, algorithms=["HS256"], audience=STORAGE_AUDIENCE, issuer=ISSUER
            )
        except jwt.ExpiredSignatureError:
            reason = "Lifetime validation failed. The token is expired."
        except jwt.InvalidAudienceError:
            reason = "Audience validation failed. Audience did not match."
        except jwt.InvalidTokenError:
            reason = "Signature validation failed. The token was not issued by a trusted authority."
        raise StorageError(
            401,
            "InvalidAuthenticationInfo",
            f"Server failed to authenticate the request. {reason}",
            {"WWW-Authenticate": _CHALLENGE},
        )

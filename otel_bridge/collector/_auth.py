"""Bearer-token checks shared by the HTTP and gRPC receivers and the query API."""

from __future__ import annotations

import hmac

__all__ = ["bearer_matches"]

_SCHEME = "bearer "


def bearer_matches(authorization: str | bytes | None, token: str | None) -> bool:
    """True when no token is configured, or ``Authorization: Bearer <token>`` carries it.

    The token comparison takes constant time (``hmac.compare_digest``).
    """
    if token is None:
        return True
    if authorization is None:
        return False
    if isinstance(authorization, bytes):
        authorization = authorization.decode("latin-1")
    if authorization[: len(_SCHEME)].lower() != _SCHEME:
        return False
    given = authorization[len(_SCHEME) :].strip().encode()
    return hmac.compare_digest(given, token.encode())

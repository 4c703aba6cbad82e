"""The collector's token: the bearer header (HTTP, gRPC, query API) or the UI's cookie.

``TokenAuth`` guards the HTTP app. A request passes with ``Authorization: Bearer <token>``
or the cookie ``otel_bridge_token`` (set by the web UI's login form). Without either, a page
(a GET asking for HTML) is sent to the login form when the app has one; anything else gets
401 as JSON (``/v1/traces``: in the OTLP status form).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection
from http.cookies import CookieError, SimpleCookie
from urllib.parse import quote, unquote

from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "COOKIE_NAME",
    "LOGIN_PATH",
    "TokenAuth",
    "bearer_matches",
    "cookie_matches",
    "cookie_value",
    "token_matches",
]

_SCHEME = "bearer "
COOKIE_NAME = "otel_bridge_token"
LOGIN_PATH = "/login"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="otel-bridge"'}
UNAUTHORIZED = "missing or wrong bearer token (Authorization: Bearer <token>)"


def token_matches(given: str | bytes, token: str) -> bool:
    """Constant-time comparison (``hmac.compare_digest``) of a given token with the token."""
    if isinstance(given, str):
        given = given.encode("utf-8", "surrogateescape")
    return hmac.compare_digest(given, token.encode())


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
    return token_matches(authorization[len(_SCHEME) :].strip(), token)


def cookie_value(token: str) -> str:
    """The cookie's value for a token: percent-encoded (a token may hold ``;`` or ``"``)."""
    return quote(token, safe="")


def cookie_matches(cookie_header: str | bytes | None, token: str | None) -> bool:
    """True when no token is configured, or the ``Cookie`` header carries the token's cookie."""
    if token is None:
        return True
    if not cookie_header:
        return False
    if isinstance(cookie_header, bytes):
        cookie_header = cookie_header.decode("latin-1")
    try:
        cookies = SimpleCookie(cookie_header)
    except CookieError:
        return False
    morsel = cookies.get(COOKIE_NAME)
    return morsel is not None and token_matches(unquote(morsel.value), token)


class TokenAuth:
    """ASGI middleware: every path but ``public`` ones needs the token (bearer or cookie).

    A public path ending in ``*`` is a prefix (``/static/login.*``).

    ``is_page`` (the app has the web UI and its login form): a GET or HEAD without the token
    of a page path, or asking for HTML, is redirected (303) to ``/login?next=<path and
    query>``. ``refusal`` makes
    the 401 answer of a path (the OTLP receiver answers in its own form).
    """

    def __init__(
        self,
        app: ASGIApp,
        token: str | None,
        *,
        public: Collection[str] = (),
        is_page: Callable[[str], bool] | None = None,
        refusal: Callable[[Scope], Response | None] | None = None,
    ) -> None:
        self.app = app
        self.token = token
        self.public = frozenset(p for p in public if not p.endswith("*"))
        self.public_prefixes = tuple(p[:-1] for p in public if p.endswith("*"))
        self.is_page = is_page
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or self.token is None
            or path in self.public
            or path.startswith(self.public_prefixes)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if bearer_matches(headers.get(b"authorization"), self.token) or cookie_matches(
            headers.get(b"cookie"), self.token
        ):
            await self.app(scope, receive, send)
            return
        response = self._refuse(scope, headers)
        await response(scope, receive, send)

    def _refuse(self, scope: Scope, headers: dict[bytes, bytes]) -> Response:
        accept = headers.get(b"accept", b"").decode("latin-1").lower()
        is_page = self.is_page
        if (
            is_page is not None
            and scope["method"] in ("GET", "HEAD")
            and ("text/html" in accept or is_page(scope["path"]))
        ):
            query = scope.get("query_string", b"").decode("latin-1")
            target = scope["path"] + (f"?{query}" if query else "")
            return RedirectResponse(f"{LOGIN_PATH}?next={quote(target, safe='')}", 303)
        custom = self.refusal(scope) if self.refusal is not None else None
        return custom or JSONResponse({"error": UNAUTHORIZED}, 401, CHALLENGE)

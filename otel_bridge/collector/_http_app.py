"""The collector's HTTP application: OTLP receiver, query API and health, behind the token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Scope

from ..errors import StoreError
from ..otlp import JSON, TRACES_PATH
from ._auth import CHALLENGE, UNAUTHORIZED, TokenAuth
from ._config import CollectorConfig
from ._live import LiveTraces
from ._otlp_http import OtlpHttpReceiver, media_type, status_response
from ._query_api import error, query_routes
from ._runs import RunCache
from ._store import SpanStore
from ._uploads import ClientSlots

__all__ = ["HEALTH_PATH", "AppParts", "Extension", "build_app"]

HEALTH_PATH = "/healthz"


@dataclass(frozen=True)
class AppParts:
    """What an extension adds to the collector's HTTP app (the web UI): routes, paths that
    need no token, which paths are pages (sent to the login form without the token), and
    the answer to a path no route takes."""

    routes: Sequence[BaseRoute] = ()
    public: Collection[str] = field(default_factory=frozenset)
    is_page: Callable[[str], bool] | None = None
    not_found: Callable[[Request, Exception], Response] | None = None


# Called once when the HTTP app is built, with what the query API reads.
Extension = Callable[[SpanStore, RunCache, LiveTraces, CollectorConfig], AppParts]


def _otlp_refusal(scope: Scope) -> Response | None:
    """The 401 of ``/v1/traces`` in the OTLP form its client expects."""
    if scope["path"] != TRACES_PATH:
        return None
    content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
    return status_response(
        401, UNAUTHORIZED, json_body=media_type(content_type) == JSON, headers=CHALLENGE
    )


def build_app(
    store: SpanStore,
    config: CollectorConfig,
    runs: RunCache,
    slots: ClientSlots,
    live: LiveTraces,
    extension: Extension | None = None,
) -> ASGIApp:
    """Starlette app with ``POST /v1/traces``, the query API, ``GET /healthz`` and what the
    extension adds, behind the token (``TokenAuth``)."""

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def store_failed(request: Request, exc: Exception) -> Response:
        # The server's own fault (a closed store, a failing disk): 503, never a 500.
        return error(503, str(exc))

    parts = extension(store, runs, live, config) if extension is not None else AppParts()
    routes = [
        Route(TRACES_PATH, OtlpHttpReceiver(store, config, slots).export, methods=["POST"]),
        Route(HEALTH_PATH, health, methods=["GET"]),
        *query_routes(store, runs, live, config),
        *parts.routes,
    ]
    handlers: dict[Any, Callable[[Request, Exception], Response | Awaitable[Response]]] = {
        StoreError: store_failed
    }
    if parts.not_found is not None:
        handlers[404] = parts.not_found
    app = Starlette(routes=routes, exception_handlers=handlers)
    return TokenAuth(
        app,
        config.token,
        public={HEALTH_PATH, *parts.public},
        is_page=parts.is_page,
        refusal=_otlp_refusal,
    )

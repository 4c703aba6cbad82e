"""The collector's HTTP application: OTLP receiver, query API and health, behind the token."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import StoreError
from ..otlp import JSON, TRACES_PATH
from ._auth import bearer_matches
from ._config import CollectorConfig
from ._otlp_http import OtlpHttpReceiver, media_type, status_response
from ._query_api import error, query_routes
from ._runs import RunCache
from ._store import SpanStore
from ._uploads import ClientSlots

__all__ = ["build_app"]

HEALTH_PATH = "/healthz"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="otel-bridge"'}


class BearerAuth:
    """ASGI middleware: every route but ``/healthz`` needs ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.token is None or scope["path"] == HEALTH_PATH:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if bearer_matches(headers.get(b"authorization"), self.token):
            await self.app(scope, receive, send)
            return
        message = "missing or wrong bearer token (Authorization: Bearer <token>)"
        response: Response
        if scope["path"] == TRACES_PATH:
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            response = status_response(
                401, message, json_body=media_type(content_type) == JSON, headers=_CHALLENGE
            )
        else:
            response = JSONResponse({"error": message}, 401, _CHALLENGE)
        await response(scope, receive, send)


def build_app(
    store: SpanStore, config: CollectorConfig, runs: RunCache, slots: ClientSlots
) -> ASGIApp:
    """Starlette app with ``POST /v1/traces``, the query API and ``GET /healthz``."""

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def store_failed(request: Request, exc: Exception) -> Response:
        # The server's own fault (a closed store, a failing disk): 503, never a 500.
        return error(503, str(exc))

    routes = [
        Route(TRACES_PATH, OtlpHttpReceiver(store, config, slots).export, methods=["POST"]),
        Route(HEALTH_PATH, health, methods=["GET"]),
        *query_routes(store, runs, config),
    ]
    app = Starlette(routes=routes, exception_handlers={StoreError: store_failed})
    return BearerAuth(app, config.token)

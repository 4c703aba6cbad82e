"""The web UI over any span source, read-only (``otel-bridge ui SOURCE``).

The same pages and the same query API as on the collector, read through a ``SourceReader``:
``/api/traces``, ``/api/traces/{id}``, ``/api/traces/{id}/spans`` (OTLP/JSON),
``/api/traces/{id}/run``, the UI's routes (``_api``), and ``/api/events`` whose hello says
``"live": false``. A source that fails or went away answers 503 (a page for pages). The token,
the loopback rule and the login form are the collector's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from .._threaded_server import ThreadedServer, tcp_socket
from ..collector import HEALTH_PATH, TokenAuth, check_token, error, is_loopback
from ..errors import ConfigError, RunTooLarge, SourceError, SpanFormatError, TraceIdError
from ..otlp import request_to_json, to_request
from ..sources import SpanSource
from ..spans import format_trace_id
from ._api import api_routes
from ._events import StillFeed, events_route, new_server_id
from ._pages import PUBLIC_PATHS, html_error, is_page, not_found, page_routes
from ._source_reader import SourceReader

__all__ = ["SourceUI", "source_app"]

logger = logging.getLogger(__name__)


def _source_failed(request: Request, exc: Exception) -> Response:
    message = f"The source cannot be read: {exc}"
    if "text/html" in request.headers.get("accept", ""):
        return html_error(503, message)
    return error(503, message)


def _trace_routes(reader: SourceReader) -> list[BaseRoute]:
    """``/api/traces`` and one trace's summary, spans and run, over the source."""

    def trace_id_of(request: Request) -> str | Response:
        try:
            return format_trace_id(str(request.path_params["trace_id"]))
        except TraceIdError as exc:
            return error(400, str(exc))

    def unknown(trace_id: str) -> Response:
        return error(404, f"no spans of trace {trace_id}")

    def list_traces(request: Request) -> Response:
        try:
            return JSONResponse(reader.traces(request.query_params))
        except ValueError as exc:  # BadParameter
            return error(400, str(exc))

    def one(request: Request) -> Response:
        trace_id = trace_id_of(request)
        if isinstance(trace_id, Response):
            return trace_id
        found = reader.summary(trace_id)
        return JSONResponse(found) if found else unknown(trace_id)

    def spans(request: Request) -> Response:
        trace_id = trace_id_of(request)
        if isinstance(trace_id, Response):
            return trace_id
        found = reader.spans(trace_id)
        if found:
            return JSONResponse(request_to_json(to_request(found)))
        return error(404, reader.without_spans(trace_id))

    def run(request: Request) -> Response:
        trace_id = trace_id_of(request)
        if isinstance(trace_id, Response):
            return trace_id
        try:
            found = reader.run(trace_id)
        except (RunTooLarge, SpanFormatError) as exc:
            return error(422, str(exc))
        return JSONResponse(found) if found else unknown(trace_id)

    return [
        Route("/api/traces", list_traces, methods=["GET"]),
        Route("/api/traces/{trace_id}", one, methods=["GET"]),
        Route("/api/traces/{trace_id}/spans", spans, methods=["GET"]),
        Route("/api/traces/{trace_id}/run", run, methods=["GET"]),
    ]


def source_app(
    source: SpanSource | None, token: str | None = None, reader: SourceReader | None = None
) -> tuple[ASGIApp, StillFeed]:
    """The UI's app over a source (or the reader given), and its event feed (``close`` it
    before stopping)."""
    reader = reader or SourceReader(source)
    feed = StillFeed()

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes = [
        Route(HEALTH_PATH, health, methods=["GET"]),
        *_trace_routes(reader),
        events_route(new_server_id(), feed, live=False),
        *api_routes(reader),
        *page_routes(token),
    ]
    app = Starlette(routes=routes, exception_handlers={SourceError: _source_failed, 404: not_found})
    return TokenAuth(app, token, public={HEALTH_PATH, *PUBLIC_PATHS}, is_page=is_page), feed


@dataclass
class SourceUI:
    """The UI over a source on ``host:port`` (0: a free port), served from a thread."""

    source: SpanSource | None  # None: the reader's (an export directory's ExportReader)
    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = None
    allow_remote: bool = False
    reader: SourceReader | None = None  # one that read the source already

    def __post_init__(self) -> None:
        if self.token is not None:
            check_token(self.token)
        if not is_loopback(self.host) and not self.allow_remote:
            raise ConfigError(
                f"refusing to listen on {self.host!r}: not a loopback address. The spans hold "
                "prompts and answers; pass --allow-remote to listen on a network interface, "
                "preferably with a token"
            )
        self._server: ThreadedServer | None = None
        self._feed: StillFeed | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the running UI."""
        if self._server is None:
            raise ConfigError("the UI is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._server.port}"

    def start(self) -> SourceUI:
        """Serve in a background thread; returns self."""
        app, self._feed = source_app(self.source, self.token, self.reader)
        try:
            sock = tcp_socket(self.host, self.port)
        except OSError as exc:
            raise ConfigError(f"{exc}. Choose another with --port PORT") from exc
        self._server = ThreadedServer(app, sock, "otel-bridge-ui").start()
        return self

    def stop(self) -> None:
        """End the event streams and stop serving."""
        if self._feed is not None:
            self._feed.close()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> SourceUI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

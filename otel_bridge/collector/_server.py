"""Collector: the store plus the OTLP/HTTP (with query API) and OTLP/gRPC servers, in-process.

``Collector(db_path).start()`` binds 127.0.0.1 (free ports by default), serves in background
threads and returns; ``stop()`` stops accepting, commits what was queued and closes the
database. ``serve()`` is the blocking form the CLI uses (until SIGINT or SIGTERM).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import grpc

from .._threaded_server import ThreadedServer, tcp_socket
from ..errors import ConfigError, ServerError
from ._config import CollectorConfig
from ._http_app import Extension, build_app
from ._live import LiveTraces
from ._otlp_grpc import start_grpc_server
from ._runs import RunCache, RunLimits, RunPreparer
from ._store import SpanStore
from ._uploads import ClientSlots, guarded_h11

__all__ = ["Collector", "serve"]

logger = logging.getLogger(__name__)


class Collector:
    """The embedded OTLP collector: receive over HTTP and gRPC, store in SQLite, answer queries.

    Ports default to 0 (free ports, read back from ``http_port``/``grpc_port``); None disables
    a receiver. ``extension`` adds to the HTTP app (``otel_bridge.ui.collector_ui``: the web
    UI). Other keyword arguments are ``CollectorConfig`` fields (limits, ``synchronous``).
    """

    def __init__(
        self,
        db_path: str | Path = "otel-bridge-spans.db",
        *,
        host: str = "127.0.0.1",
        http_port: int | None = 0,
        grpc_port: int | None = 0,
        token: str | None = None,
        allow_remote: bool = False,
        config: CollectorConfig | None = None,
        extension: Extension | None = None,
        **limits: Any,
    ) -> None:
        self.config = config or CollectorConfig(
            db_path=db_path,
            host=host,
            http_port=http_port,
            grpc_port=grpc_port,
            token=token,
            allow_remote=allow_remote,
            **limits,
        )
        self.extension = extension
        self.store: SpanStore | None = None
        self.live: LiveTraces | None = None  # open traces, and the web UI's events
        self.runs = RunCache()
        self.uploads = ClientSlots(self.config.max_uploads_per_client)  # per client, HTTP + gRPC
        self.preparer: RunPreparer | None = None  # derives ended runs ahead (prepare_runs)
        self._http: ThreadedServer | None = None
        self._grpc: grpc.Server | None = None
        self.http_port: int | None = None
        self.grpc_port: int | None = None

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> Collector:
        """Open the database and start both receivers; returns self."""
        if self.store is not None:
            raise ServerError("the collector is already running")
        cfg = self.config
        self.store = SpanStore(
            cfg.db_path,
            synchronous=cfg.synchronous,
            max_pending_bytes=cfg.max_pending_bytes,
            max_batch_spans=cfg.max_batch_spans,
        )
        self.live = LiveTraces(self.store)
        self.store.writer.on_traces = self.live.touch
        self.store.on_facts = self.live.changed
        if cfg.prepare_runs:
            limits = RunLimits(cfg.max_run_spans, cfg.max_run_depth)
            self.preparer = RunPreparer(self.store, self.runs, limits)
            self.store.writer.on_roots = self.preparer.schedule
        try:
            if cfg.grpc_port is not None:
                self._grpc, self.grpc_port = start_grpc_server(
                    self.store, cfg, cfg.host, cfg.grpc_port, self.uploads
                )
            if cfg.http_port is not None:
                self._start_http(cfg.http_port, timeout_s)
        except BaseException:
            self.stop()
            raise
        logger.info("otel-bridge collector: %s", self.describe())
        return self

    def _start_http(self, port: int, timeout_s: float) -> None:
        assert self.store is not None and self.live is not None
        try:
            sock = tcp_socket(self.config.host, port)
        except OSError as exc:
            raise OSError(f"cannot listen for OTLP/HTTP: {exc}") from exc
        app = build_app(self.store, self.config, self.runs, self.uploads, self.live, self.extension)
        # uvicorn's h11 protocol with a deadline for a request's headers.
        timeout = self.config.header_timeout_s
        self._http = ThreadedServer(
            app,
            sock,
            "otel-bridge-collector-http",
            http=guarded_h11(timeout),
            timeout_keep_alive=max(1, round(timeout)),
        ).start(timeout_s)
        self.http_port = self._http.port

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop accepting, commit what was acknowledged or queued, close the database."""
        live, self.live = self.live, None
        if live is not None:
            live.close()  # event streams end, so the HTTP server stops at once
        http, self._http = self._http, None
        if http is not None:
            http.stop(timeout_s)
        grpc_server, self._grpc = self._grpc, None
        if grpc_server is not None:
            grpc_server.stop(grace=min(timeout_s, 5.0)).wait(timeout_s)
        preparer, self.preparer = self.preparer, None
        if preparer is not None:
            preparer.close()
        store, self.store = self.store, None
        if store is not None:
            store.close()
        self.http_port = self.grpc_port = None

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- where it listens ------------------------------------------------------------------

    @property
    def _url_host(self) -> str:
        host = self.config.host
        return f"[{host}]" if ":" in host else host

    @property
    def http_url(self) -> str:
        """Base URL of OTLP/HTTP and the query API, e.g. ``http://127.0.0.1:4318``."""
        if self.http_port is None:
            raise ServerError("the collector's HTTP receiver is not running")
        return f"http://{self._url_host}:{self.http_port}"

    @property
    def grpc_endpoint(self) -> str:
        """OTLP/gRPC endpoint for an exporter (``insecure=True``), e.g. ``http://127.0.0.1:4317``."""
        if self.grpc_port is None:
            raise ServerError("the collector's gRPC receiver is not running")
        return f"http://{self._url_host}:{self.grpc_port}"

    def endpoints(self) -> list[tuple[str, str]]:
        """What it listens on and where it stores, as (label, value) pairs."""
        found = []
        if self.http_port is not None:
            found.append(("OTLP/HTTP, query API", self.http_url))
        if self.grpc_port is not None:
            found.append(("OTLP/gRPC", self.grpc_endpoint))
        found.append(("database", str(Path(self.config.db_path))))
        return found

    @property
    def access(self) -> str:
        """Whether a client needs the bearer token: "token required" or "no token"."""
        return "token required" if self.config.token else "no token"

    def describe(self) -> str:
        """One line: where it listens and stores."""
        return ", ".join([*(f"{label} {value}" for label, value in self.endpoints()), self.access])


def serve(
    config: CollectorConfig,
    on_ready: Callable[[Collector], None] | None = None,
    extension: Extension | None = None,
) -> None:
    """Run a collector until SIGINT or SIGTERM, then stop it cleanly."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Collector(config=config, extension=extension) as collector:
            if on_ready is not None:
                on_ready(collector)
            stop.wait()
    except OSError as exc:
        raise ConfigError(str(exc)) from exc
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)

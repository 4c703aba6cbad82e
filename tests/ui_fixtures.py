"""Helpers for the web UI's server tests: a collector with the UI, spans sent by the real OTel
SDK exporter, and an event stream read on a thread."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from otel_bridge.collector import Collector
from otel_bridge.ui import collector_ui


@contextmanager
def ui_collector(tmp_path: Path, token: str | None = None) -> Iterator[Collector]:
    """A collector with the web UI on free loopback ports, stopped afterwards."""
    with Collector(tmp_path / "spans.db", token=token, extension=collector_ui) as running:
        yield running


def provider(url: str, service: str) -> TracerProvider:
    """A TracerProvider exporting each span as it ends to ``url`` (OTLP/HTTP protobuf)."""
    traced = TracerProvider(resource=Resource.create({"service.name": service}))
    traced.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{url}/v1/traces")))
    return traced


def send_run(
    traced: TracerProvider,
    name: str,
    *,
    session: str | None = None,
    task: str | None = None,
    error: bool = False,
) -> str:
    """One small run (a root span and a child), exported span by span; its trace id."""
    tracer = traced.get_tracer("ui-tests")
    attributes = {"session.id": session} if session else {}
    if task:
        attributes["maseval.task.id"] = task
    with (
        tracer.start_as_current_span(name, attributes=attributes) as root,
        tracer.start_as_current_span("step") as child,
    ):
        if error:
            child.set_status(Status(StatusCode.ERROR, "boom"))
    return f"{root.get_span_context().trace_id:032x}"


class EventReader:
    """``/api/events`` read on a thread: each event ``(arrival time, name, data)`` in a queue."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.events: queue.Queue[tuple[float, str, Any]] = queue.Queue()
        self.comments: list[str] = []
        self.headers: dict[str, str] = {}
        self._url, self._headers = url, headers or {}
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> EventReader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        pass  # the stream ends when its server stops (``ended``)

    def ended(self, timeout_s: float = 10.0) -> bool:
        """True once the stream has ended (waiting up to ``timeout_s``)."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _read(self) -> None:
        with httpx.stream(
            "GET", f"{self._url}/api/events", headers=self._headers, timeout=30
        ) as answer:
            self.headers = dict(answer.headers)
            name, data = "message", ""
            for line in answer.iter_lines():
                if line.startswith(":"):
                    self.comments.append(line)
                elif line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif not line and data:
                    self.events.put((time.monotonic(), name, json.loads(data)))
                    name, data = "message", ""

    def next(self, timeout_s: float = 10.0) -> tuple[float, str, Any]:
        """The next event (``queue.Empty`` after ``timeout_s``)."""
        return self.events.get(timeout=timeout_s)

    def wait_for(self, trace_id: str, timeout_s: float = 10.0, **wanted: Any) -> tuple[float, Any]:
        """The first trace event of this trace whose summary has the ``wanted`` values."""
        deadline = time.monotonic() + timeout_s
        while True:
            at, name, data = self.next(max(0.01, deadline - time.monotonic()))
            if (
                name == "trace"
                and data["trace_id"] == trace_id
                and all(data.get(k) == v for k, v in wanted.items())
            ):
                return at, data

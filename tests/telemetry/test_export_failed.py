"""A run whose spans could not be exported says so where MASEval reads: ``adapter.last_run`` and
``gather_traces()``, right when ``run()`` returns, with no flush by the caller.

``Telemetry.run_trace`` exports the run's spans at once and waits for that (``export_wait_s``,
default the export timeout + 1 s): a dead endpoint (nothing listens) and a silent one (a TCP
listener that accepts and never answers) give ``export_failed``; a wait shorter than the
exporter's timeout gives ``export_pending``, and a later ``run_trace`` the final word. A
healthy endpoint holds the run's spans by the time ``run()`` returns.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from support.adapter_fixtures import calc_agent, calc_replies, scripted_server
from support.collector_fixtures import collector
from support.phoenix_server import LOOPBACK, free_port

from otel_bridge import Telemetry, load_spans
from otel_bridge.collector import Collector
from otel_bridge.maseval_adapter import LlamaIndexAgentAdapter
from otel_bridge.scripted import ScriptedLLMServer

__all__ = ["collector", "scripted_server"]  # fixtures, imported for pytest


class SilentEndpoint:
    """A TCP listener on 127.0.0.1 that accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server((LOOPBACK, 0))
        self.port = int(self.sock.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted.append(conn)  # held open, never read from or written to

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent() -> Iterator[SilentEndpoint]:
    endpoint = SilentEndpoint()
    try:
        yield endpoint
    finally:
        endpoint.stop()


def adapter_run(server: ScriptedLLMServer, telemetry: Telemetry) -> LlamaIndexAgentAdapter:
    """One calculator run through the MASEval adapter."""
    server.set_script(calc_replies(2, 3))
    adapter = LlamaIndexAgentAdapter(calc_agent(server), "calc", telemetry)
    assert adapter.run("What is 2 + 3?") == "The sum is 5."
    return adapter


def issues_where_maseval_reads(adapter: LlamaIndexAgentAdapter) -> tuple[list[str], list[str]]:
    run = adapter.last_run
    assert run is not None
    return run.issues, adapter.gather_traces()["issues"]


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_a_dead_endpoint_gives_export_failed_when_the_run_returns(
    scripted_server: ScriptedLLMServer, protocol: str
) -> None:
    with Telemetry(
        otlp_endpoint=f"http://{LOOPBACK}:{free_port()}",
        protocol=protocol,  # type: ignore[arg-type]
        export_timeout_s=0.5,
    ) as telemetry:
        adapter = adapter_run(scripted_server, telemetry)
        assert issues_where_maseval_reads(adapter) == (["export_failed"], ["export_failed"])


def test_a_silent_endpoint_gives_export_failed_after_the_bounded_wait(
    scripted_server: ScriptedLLMServer, silent: SilentEndpoint
) -> None:
    with Telemetry(
        otlp_endpoint=f"http://{LOOPBACK}:{silent.port}", export_timeout_s=1.0, export_wait_s=4.0
    ) as telemetry:
        adapter = adapter_run(scripted_server, telemetry)
        assert issues_where_maseval_reads(adapter) == (["export_failed"], ["export_failed"])
        assert silent.accepted, "the exporter did connect"


def test_a_wait_shorter_than_the_export_marks_the_run_pending_until_it_is_known(
    scripted_server: ScriptedLLMServer, silent: SilentEndpoint
) -> None:
    with Telemetry(
        otlp_endpoint=f"http://{LOOPBACK}:{silent.port}", export_timeout_s=1.5, export_wait_s=0.2
    ) as telemetry:
        adapter = adapter_run(scripted_server, telemetry)
        assert issues_where_maseval_reads(adapter) == (["export_pending"], ["export_pending"])
        run = adapter.last_run
        assert run is not None
        telemetry.force_flush()  # the export gives up after its timeout
        assert telemetry.run_trace(run.trace_id).issues == ["export_failed"]


def test_without_waiting_a_run_not_yet_exported_is_pending(
    scripted_server: ScriptedLLMServer, collector: Collector
) -> None:
    with Telemetry(otlp_endpoint=collector.http_url, export_wait_s=0) as telemetry:
        adapter = adapter_run(scripted_server, telemetry)
        assert issues_where_maseval_reads(adapter) == (["export_pending"], ["export_pending"])
        telemetry.force_flush()
        run = adapter.last_run
        assert run is not None and telemetry.run_trace(run.trace_id).issues == []


def test_a_healthy_endpoint_holds_the_run_when_it_returns(
    scripted_server: ScriptedLLMServer, collector: Collector
) -> None:
    with Telemetry(otlp_endpoint=collector.http_url) as telemetry:
        adapter = adapter_run(scripted_server, telemetry)
        assert issues_where_maseval_reads(adapter) == ([], [])
        run = adapter.last_run
        assert run is not None
        # No flush: run_trace already exported the run and waited for the collector's answer.
        stored = load_spans(collector.http_url, run.trace_id)
        assert len(stored) == len(telemetry.spans(run.trace_id))


def test_the_file_exporter_alone_is_waited_for_too(
    scripted_server: ScriptedLLMServer, tmp_path: pytest.TempPathFactory
) -> None:
    path = tmp_path / "run.otlp.json"  # type: ignore[operator]
    with Telemetry(otlp_json_file=path) as telemetry:
        adapter = adapter_run(scripted_server, telemetry)
        run = adapter.last_run
        assert run is not None and run.issues == []
        assert len(load_spans(path, run.trace_id)) == len(telemetry.spans(run.trace_id))

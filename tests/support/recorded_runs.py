"""Labelled runs recorded in a collector, for the tests of what reads many runs back.

``record_runs`` sends three real adapter runs (the scripted demo, MASEval-labelled with tasks
t1/0, t1/1, t2/0) over OTLP/HTTP, plus a run whose root span has not ended (``OPEN_TRACE``);
the ``recorded`` fixture does it into a collector of the test module's own. Import both
``recorded`` and ``scripted_server`` into the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from otel_bridge import LlamaIndexAgentAdapter, RunTrace, SpanRecord, Telemetry
from otel_bridge.collector import Collector
from otel_bridge.otlp import to_request
from otel_bridge.scripted import ScriptedLLMServer
from support.adapter_fixtures import demo, demo_workflow

TASKS = (("t1", 0), ("t1", 1), ("t2", 0))
OPEN_TRACE = 0x0BE1_0000_0000_0000_0000_0000_0000_0001


@dataclass
class Recorded:
    """Three labelled runs (and one run still open) in a collector."""

    url: str
    traces: list[RunTrace]
    sessions: list[str]


def record_runs(
    endpoint: str, server: ScriptedLLMServer, service: str, project: str | None = None
) -> Recorded:
    """Three real adapter runs exported over OTLP/HTTP, plus a run whose root has not ended."""
    telemetry = Telemetry(otlp_endpoint=endpoint, service_name=service, project_name=project)
    traces, sessions = [], []
    try:
        for task, repetition in TASKS:
            server.set_script(demo().router())
            adapter = LlamaIndexAgentAdapter(
                demo_workflow(server),
                name="team",
                telemetry=telemetry,
                task_id=task,
                repetition=repetition,
            )
            adapter.run(demo().user_msg)
            assert adapter.last_run is not None
            traces.append(adapter.last_run)
            sessions.append(adapter.session_id)
    finally:
        telemetry.shutdown()  # flushes: exported runs are committed in the collector
    # A run still going: a step has ended, its root span has not (so it was not exported).
    step = SpanRecord(OPEN_TRACE, 2, 1, "AgentWorkflow.run_agent_step", 10**18, 10**18 + 5)
    body = to_request([step]).SerializeToString()
    response = httpx.post(
        f"{endpoint}/v1/traces",
        content=body,
        headers={"content-type": "application/x-protobuf"},
    )
    assert response.status_code == 200
    return Recorded(endpoint, traces, sessions)


@pytest.fixture(scope="module")
def recorded(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    scripted_server: ScriptedLLMServer,
) -> Iterator[Recorded]:
    """The runs in a collector of the module's own, from service ``<module>-tests`` (for
    ``test_traces.py``: ``traces-tests``)."""
    service = request.module.__name__.removeprefix("test_") + "-tests"
    with Collector(tmp_path_factory.mktemp("collector") / "spans.db") as collector:
        yield record_runs(collector.http_url, scripted_server, service)

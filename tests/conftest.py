"""Shared fixtures: the scripted OpenAI-compatible server and a Telemetry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_bridge import Telemetry
from otel_bridge.scripted_llm import ScriptedLLMServer


@pytest.fixture(scope="session")
def llm_server() -> Iterator[ScriptedLLMServer]:
    """One scripted server for the session; tests set their own script."""
    with ScriptedLLMServer() as server:
        yield server


@pytest.fixture
def llm(llm_server: ScriptedLLMServer) -> Iterator[ScriptedLLMServer]:
    """The scripted server with an empty log (set the script with ``set_script``)."""
    llm_server.clear_log()
    yield llm_server
    llm_server.clear_log()


@pytest.fixture
def otlp_file(tmp_path: Path) -> Path:
    """Where the test's Telemetry writes OTLP/JSON."""
    return tmp_path / "run.otlp.json"


@pytest.fixture
def telemetry(otlp_file: Path) -> Iterator[Telemetry]:
    """A Telemetry with in-memory capture and an OTLP/JSON file; shut down after the test."""
    telemetry = Telemetry(otlp_json_file=otlp_file, service_name="otel-bridge-tests")
    try:
        yield telemetry
    finally:
        telemetry.shutdown()

"""Shared fixtures: the scripted OpenAI-compatible server, a Telemetry, a real Phoenix."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.phoenix_server import DEFAULT_PROJECT, PhoenixServer, find_phoenix_python

from otel_bridge import Telemetry
from otel_bridge.scripted import ScriptedLLMServer


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


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoenixServer]:
    """One real Phoenix server (loopback only) for the session, stopped by its pid."""
    python = find_phoenix_python()
    if python is None:
        message = (
            "no interpreter with arize-phoenix: create .venv-phoenix "
            "(python3 -m venv .venv-phoenix && .venv-phoenix/bin/pip install -r "
            "requirements-phoenix.txt) or set OTEL_BRIDGE_PHOENIX_PYTHON"
        )
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs .venv-phoenix: a missing one is a CI bug
        pytest.skip(message)
    server = PhoenixServer(python, tmp_path_factory.mktemp("phoenix"), project=DEFAULT_PROJECT)
    server.start()
    pid = server.pid
    yield server
    server.stop()
    assert not Path(f"/proc/{pid}").exists(), f"Phoenix pid {pid} still running after stop()"

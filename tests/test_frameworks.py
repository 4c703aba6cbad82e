"""The framework wing: choosing frameworks, and a missing one as one clear error."""

from __future__ import annotations

import subprocess
import sys

import pytest

from otel_bridge import ConfigError, Telemetry
from otel_bridge.errors import FrameworkNotInstalled
from otel_bridge.frameworks import FRAMEWORKS, Framework, Instrumentation, by_name, select
from otel_bridge.telemetry._routing import ensure_instrumented


class Missing(Framework):
    title = "Nowhere"
    name = "nowhere"
    instrumentation = Instrumentation(
        instrumentor="no_such_instrumentor_pkg:Instrumentor",
        requires=("no_such_framework_pkg",),
        extra="nowhere",
    )


def test_a_framework_asked_for_but_not_installed_names_its_extra() -> None:
    with pytest.raises(FrameworkNotInstalled) as caught:
        ensure_instrumented([Missing()])
    assert str(caught.value) == "Nowhere is not installed: pip install 'otel-bridge[nowhere]'"
    assert isinstance(caught.value, ConfigError)


def test_an_unknown_framework_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown framework 'crewai': expected one of "):
        Telemetry(frameworks=["crewai"])
    with pytest.raises(ConfigError, match="a list of names, not the text"):
        select("llama_index")
    assert by_name("openai_agents").name == "openai_agents"
    assert select(None) == FRAMEWORKS


def test_a_telemetry_can_narrow_its_frameworks() -> None:
    telemetry = Telemetry(frameworks=["llama_index"])
    try:
        assert [f.name for f in telemetry.frameworks] == ["llama_index"]
    finally:
        telemetry.shutdown()


def test_importing_otel_bridge_imports_no_framework() -> None:
    code = (
        "import sys, otel_bridge; from otel_bridge import derive, load_spans; "
        "print(sorted(m for m in ('agents', 'smolagents', 'langgraph', 'langchain_core', "
        "'llama_index.core', 'maseval') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

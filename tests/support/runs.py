"""Helpers for tests that trace one agent run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from otel_bridge import RunTrace, Telemetry


async def traced(
    telemetry: Telemetry, run: Callable[[], Awaitable[Any]], name: str = "test-run"
) -> tuple[Any, str]:
    """Run one agent call inside a root span of ours: its result (or exception), the trace id."""
    result: Any
    try:
        with telemetry.start_run(name) as span:
            result = await run()
    except Exception as exc:
        result = exc
    return result, f"{span.get_span_context().trace_id:032x}"


async def traced_run(
    telemetry: Telemetry, run: Callable[[], Awaitable[Any]], name: str = "test-run"
) -> tuple[Any, RunTrace]:
    """Like ``traced``, and derive the run from the in-memory capture."""
    result, trace_id = await traced(telemetry, run, name)
    return result, telemetry.run_trace(trace_id)

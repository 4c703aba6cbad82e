"""The shared background loop: results, errors and exits reach the caller; the loop survives."""

from __future__ import annotations

import asyncio

import pytest

from otel_bridge.maseval_adapter._background_loop import run_sync


async def answer() -> int:
    await asyncio.sleep(0)
    return 42


def test_a_tool_that_exits_does_not_kill_the_loop() -> None:
    async def exits() -> None:
        raise SystemExit(3)

    with pytest.raises(SystemExit) as exited:
        run_sync(exits)
    assert exited.value.code == 3
    assert run_sync(answer) == 42  # the same loop still serves runs


def test_errors_and_results_reach_the_caller_from_inside_a_running_loop() -> None:
    async def fails() -> None:
        raise ValueError("bad tool")

    async def caller() -> tuple[int, str]:
        with pytest.raises(ValueError) as failed:
            run_sync(fails)
        return run_sync(answer), str(failed.value)

    assert asyncio.run(caller()) == (42, "bad tool")

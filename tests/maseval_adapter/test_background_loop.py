"""The shared background loop: results, errors and exits reach the caller; the loop survives."""

from __future__ import annotations

import asyncio
import threading

import pytest
from support.interrupts import (
    ctrl_c_raises_keyboard_interrupt,
    interrupt_on_return_from,
    press_ctrl_c_while_the_caller_waits,
)

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


def test_ctrl_c_while_the_caller_waits_cancels_the_run_and_the_loop_serves_on() -> None:
    cancelled = threading.Event()

    async def waits_for_ever() -> None:
        await press_ctrl_c_while_the_caller_waits()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with ctrl_c_raises_keyboard_interrupt(), pytest.raises(KeyboardInterrupt):
        run_sync(waits_for_ever)
    assert cancelled.wait(30), "the run's task was not cancelled"
    assert run_sync(answer) == 42


def test_ctrl_c_right_after_the_run_is_handed_to_the_loop_stops_it_too() -> None:
    """The interrupt lands as the caller returns from scheduling the run, before it waits."""
    started, cancelled = threading.Event(), threading.Event()

    async def waits_for_ever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with interrupt_on_return_from("call_soon_threadsafe"), pytest.raises(KeyboardInterrupt):
        run_sync(waits_for_ever)
    # Every callback scheduled before this run has run once it answers: the interrupted run was
    # either never started or cancelled, never left waiting for ever.
    assert run_sync(answer) == 42
    assert cancelled.is_set() or not started.is_set(), "the interrupted run goes on unowned"

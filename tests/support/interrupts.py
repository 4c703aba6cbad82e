"""Ctrl-C in tests: SIGINT sent to the main thread at a chosen moment of a run."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


def caller_waits_for_a_result() -> bool:
    """True while the main thread blocks in ``Future.result``, where a run's caller waits."""
    frame = sys._current_frames().get(threading.main_thread().ident or 0)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "result" and code.co_filename.endswith("_base.py"):
            return True
        frame = frame.f_back
    return False


async def press_ctrl_c_while_the_caller_waits() -> None:
    """Send SIGINT to the main thread once it waits for the run's result (as Ctrl-C would)."""
    while not caller_waits_for_a_result():
        await asyncio.sleep(0.001)
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


@contextmanager
def ctrl_c_raises_keyboard_interrupt() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt in the main thread (Python's default), restored after."""
    assert threading.current_thread() is threading.main_thread(), "signals reach the main thread"
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def interrupt_on_return_from(function_name: str) -> Iterator[None]:
    """Raise KeyboardInterrupt in this thread the moment ``function_name`` returns.

    Ctrl-C at one exact point of the caller's code, without a race: a trace function (the
    standard ``sys.settrace`` hook) raises as that function returns to its caller.
    """

    def on_return(frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if event == "return":
            raise KeyboardInterrupt
        return on_return

    def on_call(frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        return on_return if event == "call" and frame.f_code.co_name == function_name else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        yield
    finally:
        sys.settrace(previous)

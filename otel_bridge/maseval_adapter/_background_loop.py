"""One background event loop per process that runs agent coroutines for synchronous callers.

Why one shared loop rather than ``asyncio.run`` per call: LLM clients (``AsyncOpenAI`` and its
httpx pool) are cached on the LLM object and bound to the loop that first used them, so the
second ``asyncio.run`` reuses a connection of a closed loop ("Event loop is closed"). Running
every agent run on one long-lived loop keeps clients, workflow Contexts and agent memory on
one loop, whatever thread calls, inside or outside a running event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")


class _LoopThread:
    """A daemon thread running an event loop forever, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None

    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop (started now if needed)."""
        with self._lock:
            if self._loop is None or self.thread is None or not self.thread.is_alive():
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(
                    target=_serve, args=(loop, ready), name="otel-bridge-loop", daemon=True
                )
                thread.start()
                ready.wait()
                self._loop, self.thread = loop, thread
            return self._loop


def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    loop.run_forever()


_shared = _LoopThread()


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``factory()`` on the shared background loop and wait for its result.

    Works from plain code, from inside a running event loop (a notebook, an async caller) and
    from any thread. The coroutine runs in a copy of the caller's context, so contextvars (the
    OpenTelemetry context, the Telemetry routing) carry over. Exceptions propagate unchanged;
    an interrupted caller cancels the coroutine.
    """
    if threading.current_thread() is _shared.thread:
        # Called from a coroutine on the shared loop (a tool that runs an agent): blocking the
        # loop would deadlock, so this run gets a loop of its own.
        return _run_on_own_loop(factory)
    loop = _shared.loop()
    context = contextvars.copy_context()
    result: concurrent.futures.Future[T] = concurrent.futures.Future()
    abandoned = threading.Event()
    tasks: list[asyncio.Task[None]] = []

    async def guarded() -> None:
        try:
            value = await factory()
        except asyncio.CancelledError:
            _settle(result, asyncio.CancelledError())
            raise
        except BaseException as exc:  # SystemExit too: it is the caller's, not the loop thread's
            _settle(result, exc)
        else:
            if not result.done():
                result.set_result(value)

    def start() -> None:  # runs on the loop thread, inside ``context``
        if abandoned.is_set():  # the caller gave up before the run began
            _settle(result, asyncio.CancelledError())
            return
        tasks.append(loop.create_task(guarded()))

    try:
        # Inside the try: an interrupt right after the hand-over must still cancel the run.
        loop.call_soon_threadsafe(context.run, start)
        return result.result()
    except BaseException:
        if not result.done():
            abandoned.set()
            loop.call_soon_threadsafe(lambda: [task.cancel() for task in tasks])
        raise


def _settle(result: concurrent.futures.Future[Any], error: BaseException) -> None:
    if not result.done():
        result.set_exception(error)


def _run_on_own_loop(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    context = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="otel-bridge-run") as pool:
        return pool.submit(context.run, lambda: asyncio.run(factory())).result()

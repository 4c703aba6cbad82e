"""``GET /api/events``: Server-Sent Events of the traces that change, for live pages.

On connect, ``event: hello`` with ``{"server_id", "live"}`` (a new ``server_id`` after a
reconnect: the server restarted, reload the list); then ``event: trace`` with a trace summary
whenever a trace is new, got spans or its run was derived (at most one per trace per 250 ms:
``LiveTraces``); a ``: keepalive`` comment every ``KEEPALIVE_S``. ``retry: 1000`` asks the
browser to reconnect a second after the stream breaks. Over a read-only source nothing
changes: hello (``live`` false) and keepalives only.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ..collector import Changes

__all__ = ["KEEPALIVE_S", "Feed", "StillFeed", "events_route", "new_server_id"]

KEEPALIVE_S = 15.0
RETRY_MS = 1000

Queue = asyncio.Queue[Changes | None]


class Feed(Protocol):
    """Where trace summaries come from as traces change (``LiveTraces`` on a collector)."""

    def subscribe(self) -> Queue:
        """A queue of the changed traces' summaries, a batch at a time; None ends the stream."""
        ...

    def unsubscribe(self, queue: Queue) -> None:
        """Stop feeding this queue."""
        ...


class StillFeed:
    """The feed of a read-only source: nothing changes; ``close`` ends every stream."""

    def __init__(self) -> None:
        self._queues: list[Queue] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def subscribe(self) -> Queue:
        """See ``Feed.subscribe``."""
        queue: Queue = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        if self._closed:
            queue.put_nowait(None)
        self._queues.append(queue)
        return queue

    def unsubscribe(self, queue: Queue) -> None:
        """See ``Feed.unsubscribe``."""
        if queue in self._queues:
            self._queues.remove(queue)

    def close(self) -> None:
        """End every stream (from any thread)."""
        self._closed = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            for queue in list(self._queues):
                loop.call_soon_threadsafe(queue.put_nowait, None)


def new_server_id() -> str:
    """A random id for this process's start."""
    return secrets.token_hex(8)


def _event(name: str, data: dict[str, Any]) -> bytes:
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))  # one line, always
    return f"event: {name}\ndata: {text}\n\n".encode()


def _trace_events(summaries: list[dict[str, Any]]) -> bytes:
    """One ``trace`` event per summary, as one chunk (written once for every stream)."""
    return b"".join(_event("trace", summary) for summary in summaries)


def events_route(server_id: str, feed: Feed, live: bool) -> Route:
    """The ``/api/events`` route of a server."""

    async def stream() -> AsyncIterator[bytes]:
        queue = feed.subscribe()
        try:
            yield f"retry: {RETRY_MS}\n".encode() + _event(
                "hello", {"server_id": server_id, "live": live}
            )
            while True:
                try:
                    changes = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                if changes is None:
                    return
                yield changes.encoded(_trace_events)
        finally:
            feed.unsubscribe(queue)

    async def events(request: Request) -> Response:
        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return Route("/api/events", events, methods=["GET"])

"""LiveTraces: which traces are open, and the changes the web UI's event stream sends.

The writer tells ``touch`` which traces a commit added spans to, and the store tells
``changed`` which runs it derived; both only update in-memory sets under a lock, on the
writer's (or the facts') thread. Everything else happens off that path, and only while an
event stream is connected: the first ``subscribe`` starts one task on the server's event
loop that waits for a change, lets more gather for ``COALESCE_S``, reads the changed traces'
summaries in one query (on a worker thread) and hands them to every subscriber. With no
subscriber nothing is gathered and no task runs.

A trace is *open* while it has spans but no root span, or got spans in the last
``OPEN_WINDOW_S`` seconds (late children of an ended run still arriving). A run sent as open
with its root is sent again once that window has passed, so that pages stop showing it in
progress.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from ._store import SpanStore
from ._traces import TraceSummary

__all__ = ["COALESCE_S", "OPEN_WINDOW_S", "Changes", "LiveTraces"]

logger = logging.getLogger(__name__)

OPEN_WINDOW_S = 5.0
COALESCE_S = 0.25  # at most one event per trace per this long
RECENT_MAX = 5000  # traces remembered as recently changed (the open flag)
QUEUE_MAX = 2400  # batches (10 minutes) waiting for one slow subscriber; beyond, it ends


class Changes:
    """The summaries of the traces that changed in one ``COALESCE_S``, shared by every
    subscriber: ``encoded`` turns them into bytes once for all of them."""

    __slots__ = ("_encoded", "summaries")

    def __init__(self, summaries: list[dict[str, Any]]) -> None:
        self.summaries = summaries
        self._encoded: bytes | None = None

    def encoded(self, encode: Callable[[list[dict[str, Any]]], bytes]) -> bytes:
        """``encode(summaries)``, computed by the first subscriber that asks (on the loop)."""
        if self._encoded is None:
            self._encoded = encode(self.summaries)
        return self._encoded


Queue = asyncio.Queue["Changes | None"]


class LiveTraces:
    """Recently changed traces (the ``open`` flag) and their summaries as a stream of events."""

    def __init__(self, store: SpanStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._recent: OrderedDict[bytes, float] = OrderedDict()  # id -> monotonic time
        self._dirty: set[bytes] = set()
        self._subscribers: list[Queue] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.sent = 0  # events handed to subscribers
        self.dropped = 0  # subscribers cut off for not reading
        self.busy_s = 0.0  # time spent reading and building the changes (benchmarks)

    # ---- called on the writer's and the facts' threads ---------------------------------------

    def touch(self, trace_ids: Iterable[bytes]) -> None:
        """These traces got spans just now."""
        now = time.monotonic()
        with self._lock:
            recent = self._recent
            for trace_id in trace_ids:
                recent[trace_id] = now
                recent.move_to_end(trace_id)
            while len(recent) > RECENT_MAX:
                recent.popitem(last=False)
            if self._subscribers:
                self._mark(trace_ids)

    def changed(self, trace_ids: Iterable[bytes]) -> None:
        """These traces changed otherwise (their run was derived)."""
        with self._lock:
            if self._subscribers:
                self._mark(trace_ids)

    def _mark(self, trace_ids: Iterable[bytes]) -> None:
        was_empty = not self._dirty
        self._dirty.update(trace_ids)
        if was_empty and self._dirty and self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # ---- the open flag -----------------------------------------------------------------------

    def recent_ids(self) -> list[bytes]:
        """Traces that got spans within ``OPEN_WINDOW_S``, newest first."""
        since = time.monotonic() - OPEN_WINDOW_S
        found = []
        with self._lock:
            for trace_id, at in reversed(self._recent.items()):
                if at < since:
                    break
                found.append(trace_id)
        return found

    def is_open(self, summary: TraceSummary) -> bool:
        """No root span yet, or spans within ``OPEN_WINDOW_S``."""
        if summary.root_name is None:
            return True
        with self._lock:
            at = self._recent.get(bytes.fromhex(summary.trace_id))
        return at is not None and at >= time.monotonic() - OPEN_WINDOW_S

    def to_dict(self, summary: TraceSummary) -> dict[str, Any]:
        """The query API's form of a summary, with its ``open`` flag."""
        return {**summary.to_dict(), "open": self.is_open(summary)}

    # ---- the event stream --------------------------------------------------------------------

    def subscribe(self) -> Queue:
        """A queue of the ``Changes`` from now on; None ends it (the server stops, or the
        subscriber fell ``QUEUE_MAX`` batches behind). Call on the server's event loop;
        ``unsubscribe`` when done."""
        queue: Queue = asyncio.Queue(QUEUE_MAX)
        with self._lock:
            if self._closed:
                queue.put_nowait(None)
                return queue
            self._subscribers.append(queue)
            if self._task is None:
                self._loop = asyncio.get_running_loop()
                self._wake = asyncio.Event()
                self._task = self._loop.create_task(self._drain())
        return queue

    def unsubscribe(self, queue: Queue) -> None:
        """Stop sending to this queue (on the server's event loop)."""
        with self._lock:
            if queue in self._subscribers:
                self._subscribers.remove(queue)
            if not self._subscribers:
                self._dirty.clear()
                if self._wake is not None:
                    self._wake.set()  # the drain sees nobody and ends

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        with self._lock:
            self._closed = True
            subscribers, loop = list(self._subscribers), self._loop
        if loop is None or loop.is_closed():
            return
        for queue in subscribers:
            loop.call_soon_threadsafe(_end, queue)

    async def _drain(self) -> None:
        """While anyone listens: wait for changes, gather them briefly, send summaries."""
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            with self._lock:
                if not self._subscribers:
                    self._task = None
                    return
            await asyncio.sleep(COALESCE_S)
            with self._lock:
                dirty, self._dirty = self._dirty, set()
                subscribers = list(self._subscribers)
            if not dirty or not subscribers:
                continue
            started = time.perf_counter()
            try:
                summaries = await asyncio.to_thread(self.store.summaries, list(dirty))
                changes = Changes([self.to_dict(s) for s in summaries])
            except Exception:  # a closed store: the streams end with the server
                logger.exception("otel-bridge collector: could not read changed traces")
                continue
            self._send_again_when_closed(summaries, changes)
            for queue in subscribers:
                if queue.full():
                    self.dropped += 1
                    _end(queue)
                else:
                    queue.put_nowait(changes)
            self.sent += len(changes.summaries) * len(subscribers)
            self.busy_s += time.perf_counter() - started

    def _send_again_when_closed(self, summaries: list[TraceSummary], changes: Changes) -> None:
        """Mark the runs sent as open only by their recent spans changed again once their
        window has passed (later spans send them anew and schedule this again)."""
        loop = self._loop
        if loop is None:
            return
        now = time.monotonic()
        with self._lock:
            ends = {
                key: at + OPEN_WINDOW_S
                for summary, sent in zip(summaries, changes.summaries, strict=True)
                if sent["open"] and summary.root_name is not None
                if (at := self._recent.get(key := bytes.fromhex(summary.trace_id))) is not None
            }
        for key, end in ends.items():
            loop.call_later(max(0.0, end - now) + 0.01, self.changed, (key,))


def _end(queue: Queue) -> None:
    """Tell a subscriber its stream is over (the queue keeps one place for that)."""
    while queue.full():
        queue.get_nowait()
    queue.put_nowait(None)

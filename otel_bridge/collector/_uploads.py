"""How much one client can hold: uploads in progress per remote address, and slow connections.

``ClientSlots`` caps the exports in progress per remote address, shared by the HTTP and gRPC
receivers (a client over the cap is told to retry later). ``guarded_h11`` is uvicorn's h11
protocol with the one timeout uvicorn lacks: a connection must send a request's headers within
a deadline, or it is closed (uvicorn only times out idle keep-alive connections, so a client
that connects and sends nothing, or a header a byte at a time, would hold it forever). Body
timeouts are the receiver's (``_otlp_http``): they need an answer, not just a closed socket.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["ClientSlots", "guarded_h11"]


class ClientSlots:
    """At most ``limit`` uploads in progress per remote address; thread-safe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.refused = 0
        self._busy: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, client: str) -> bool:
        """Take a slot for ``client``; False (and counted) when it has ``limit`` already."""
        with self._lock:
            held = self._busy.get(client, 0)
            if held >= self.limit:
                self.refused += 1
                return False
            self._busy[client] = held + 1
            return True

    def release(self, client: str) -> None:
        """Give back a slot taken with ``acquire``."""
        with self._lock:
            held = self._busy.pop(client, 0) - 1
            if held > 0:
                self._busy[client] = held

    def in_progress(self, client: str) -> int:
        """Uploads of ``client`` in progress now."""
        with self._lock:
            return self._busy.get(client, 0)


class _GuardedH11(H11Protocol):
    """H11Protocol that closes a connection whose request headers are not in on time."""

    header_timeout_s = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._awaiting_request():
            self._arm()  # a kept-alive connection starts on a new request: time its headers
        super().data_received(data)
        if not self._awaiting_request():
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _awaiting_request(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        if self._awaiting_request() and not self.transport.is_closing():
            self.transport.close()


def guarded_h11(header_timeout_s: float) -> type[H11Protocol]:
    """The h11 protocol class for uvicorn with this header deadline."""
    return type("GuardedH11", (_GuardedH11,), {"header_timeout_s": header_timeout_s})

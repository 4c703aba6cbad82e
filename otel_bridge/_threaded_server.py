"""Serving an ASGI app with uvicorn in a daemon thread of this process, on a socket we bind.

Used by the embedded collector, the scripted model and the tests' small servers.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import uvicorn

from .errors import ServerError

__all__ = ["ThreadedServer", "tcp_socket"]


def tcp_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for uvicorn; ``OSError`` says which address could not be used."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and without
    # it a response written in two parts waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # Lets the port be bound again at once after a stop, despite TIME_WAIT connections.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc}") from exc
    return sock


class _Uvicorn(uvicorn.Server):
    """uvicorn.Server that tells the starting thread when startup is over."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self._ready.set()


class ThreadedServer:
    """An ASGI app served on an already bound socket in a daemon thread; ``stop`` frees it."""

    def __init__(self, app: Any, sock: socket.socket, name: str, **uvicorn_options: Any) -> None:
        """Serve ``app`` on ``sock``; ``uvicorn_options`` go to ``uvicorn.Config``."""
        self.sock = sock
        self.port = int(sock.getsockname()[1])
        options: dict[str, Any] = {
            "loop": "asyncio",
            "http": "h11",
            "lifespan": "off",
            "log_config": None,
            "log_level": "warning",
            "access_log": False,
            "timeout_graceful_shutdown": 2,
        }
        config = uvicorn.Config(app, **{**options, **uvicorn_options})
        self._ready = threading.Event()
        self._server = _Uvicorn(config, self._ready)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=name, daemon=True
        )

    def start(self, timeout_s: float = 10.0) -> ThreadedServer:
        """Serve; ``ServerError`` (and everything released) when startup fails."""
        self._thread.start()
        self._ready.wait(timeout_s)
        if not self._server.started:
            self.stop(timeout_s)
            raise ServerError(f"{self._thread.name}: the HTTP server did not start")
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop serving, join the thread and close the socket (idempotent)."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout_s)
        self.sock.close()

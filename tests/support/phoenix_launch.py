"""Run ``phoenix serve`` with its OTLP/gRPC listener bound to 127.0.0.1.

Run this file with the interpreter that has arize-phoenix installed:
``python tests/support/phoenix_launch.py serve``. The arguments are Phoenix's own CLI arguments.

Why a launcher: Phoenix 20.x binds its gRPC server with
``server.add_insecure_port(f"[::]:{port}")`` in Phoenix's gRPC server module, i.e. on
every interface, whatever ``PHOENIX_HOST`` says (``PHOENIX_HOST`` only reaches uvicorn). Tests
must listen on loopback only, so every gRPC ``aio`` server in this process is made to bind to
``127.0.0.1`` instead of the host it asks for. The HTTP side needs no patch:
``PHOENIX_HOST=127.0.0.1`` reaches uvicorn.

This module imports nothing from the project: it runs in Phoenix's own virtualenv.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from typing import Any

LOOPBACK = "127.0.0.1"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def loopback_address(address: str) -> str:
    """``"[::]:4317"`` / ``"0.0.0.0:4317"`` / ``"localhost:4317"`` -> ``"127.0.0.1:4317"``."""
    _host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"cannot rewrite gRPC bind address {address!r} to loopback")
    return f"{LOOPBACK}:{port}"


def patch_grpc_aio_to_loopback() -> None:
    """Make ``grpc.aio`` servers bind to 127.0.0.1 whatever address they are given."""
    from grpc.aio import _server  # the concrete class behind grpc.aio.server()

    server_class: Any = _server.Server
    insecure = server_class.add_insecure_port
    secure = server_class.add_secure_port

    def add_insecure_port(self: Any, address: str) -> int:
        return insecure(self, loopback_address(address))

    def add_secure_port(self: Any, address: str, server_credentials: Any) -> int:
        return secure(self, loopback_address(address), server_credentials)

    server_class.add_insecure_port = add_insecure_port
    server_class.add_secure_port = add_secure_port


def die_with_parent() -> None:
    """Ask Linux to SIGTERM us when the test process dies, so no server outlives its test run."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return  # not Linux: the fixture's stop() is the only guard
    if os.getppid() != parent:  # the parent died before prctl took effect
        sys.exit(1)


def main() -> None:
    """Patch gRPC, then hand over to Phoenix's own ``main`` with our argv."""
    die_with_parent()
    patch_grpc_aio_to_loopback()
    from phoenix.server.main import main as phoenix_main

    sys.argv = ["phoenix", *sys.argv[1:]]
    phoenix_main()


if __name__ == "__main__":
    main()
